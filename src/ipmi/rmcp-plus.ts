import { BufferReader } from '../lib/buffer-reader.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'
import { MalformedPacketError } from '../lib/errors.ts'
import { RMCP_HEADER_LENGTH, RmcpClass, readRmcpHeader, writeRmcpHeader } from './rmcp.ts'

/** IPMI v2.0 §13.6: the AuthType/Format byte. 06h marks an RMCP+ (v2.0) session header. */
export const AuthType = {
  none: 0x00,
  md2: 0x01,
  md5: 0x02,
  straight: 0x04,
  oem: 0x05,
  rmcpPlus: 0x06
} as const
export type AuthType = typeof AuthType[keyof typeof AuthType]

/** IPMI v2.0 §13.27.3 Table 13-16: payload types. */
export const PayloadType = {
  ipmi: 0x00,
  sol: 0x01,
  oem: 0x02,
  openSessionRequest: 0x10,
  openSessionResponse: 0x11,
  rakp1: 0x12,
  rakp2: 0x13,
  rakp3: 0x14,
  rakp4: 0x15
} as const
export type PayloadType = typeof PayloadType[keyof typeof PayloadType]

/** IPMI v2.0 §13.28.4: the session trailer's Next Header byte (07h, "IPMI" as the RMCP class). */
export const NEXT_HEADER = 0x07

/** A v1.5 session-wrapped message (IPMI v2.0 §13.6 Table 13-4, used before a session exists). */
export type V15Packet = {
  readonly format: 'v1.5'
  readonly authType: number
  readonly sessionSeq: number
  readonly sessionId: number
  readonly authCode: Buffer | undefined
  readonly message: Buffer
}

/** An RMCP+ session-wrapped payload (IPMI v2.0 §13.6 Table 13-8). */
export type V20Packet = {
  readonly format: 'v2.0'
  readonly payloadType: number
  readonly encrypted: boolean
  readonly authenticated: boolean
  readonly sessionId: number
  readonly sessionSeq: number
  /** The payload as sent (still encrypted when `encrypted`). */
  readonly payload: Buffer
  /** Bytes covered by the AuthCode: from AuthType/Format through Next Header (§13.28.4); empty if unauthenticated. */
  readonly signed: Buffer
  readonly authCode: Buffer
}

/** Any IPMI-class datagram. */
export type SessionPacket = V15Packet | V20Packet

/** What to put in an RMCP+ packet; `authCode` is called on the signed bytes when `authenticated`. */
export type V20Outbound = {
  readonly payloadType: PayloadType
  readonly encrypted: boolean
  readonly sessionId: number
  readonly sessionSeq: number
  readonly payload: Buffer
} & ({ readonly authenticated: false } | { readonly authenticated: true, readonly authCode: (signed: Buffer) => Buffer })

/*
 * IPMI v2.0 §13.6 Table 13-4 (v1.5 header, multi-byte fields little-endian):
 *   RMCP header (4) | authType (1) | session seq (4) | session ID (4) | [authCode (16) unless authType 0]
 *   | message length (1) | IPMI message
 * Table 13-8 (RMCP+ header) and §13.28.4 (trailer):
 *   RMCP header (4) | 06h | payload type: bit 7 encrypted, bit 6 authenticated, bits 5:0 type
 *   | [OEM IANA (4) + OEM payload ID (2) when type 02h] | session ID (4) | session seq (4)
 *   | payload length (2) | payload
 *   | when authenticated: integrity pad (FFh × 0..3, so AuthType..Next Header is a multiple of 4)
 *     | pad length (1) | next header 07h (1) | AuthCode (12 for HMAC-SHA1-96, 16 for HMAC-SHA256-128)
 */

/** Encode a v1.5 session-wrapped message with AuthType none (pre-session: sequence and session ID 0). */
export function encodeV15Packet (message: Buffer, sessionSeq = 0, sessionId = 0): Buffer {
  if (message.length > 0xff) throw new RangeError('IPMI v1.5 message longer than 255 bytes')
  const w = new BufferWriter(RMCP_HEADER_LENGTH + 10 + message.length)
  writeRmcpHeader(w, RmcpClass.ipmi)
  w.u8(AuthType.none).u32le(sessionSeq).u32le(sessionId).u8(message.length).bytes(message)
  return w.toBuffer()
}

/** Encode an RMCP+ packet, adding the integrity trailer when authenticated. */
export function encodeV20Packet (p: V20Outbound): Buffer {
  const w = new BufferWriter(RMCP_HEADER_LENGTH + 12 + p.payload.length + 24)
  writeRmcpHeader(w, RmcpClass.ipmi)
  const typeByte = (p.encrypted ? 0x80 : 0) | (p.authenticated ? 0x40 : 0) | (p.payloadType & 0x3f)
  w.u8(AuthType.rmcpPlus).u8(typeByte).u32le(p.sessionId).u32le(p.sessionSeq).u16le(p.payload.length).bytes(p.payload)
  if (!p.authenticated) return w.toBuffer()
  // §13.28.4: pad so that AuthType/Format through Next Header is a multiple of 4 bytes.
  const pad = (4 - ((w.length - RMCP_HEADER_LENGTH + 2) % 4)) % 4
  for (let i = 0; i < pad; i++) w.u8(0xff)
  w.u8(pad).u8(NEXT_HEADER)
  const head = w.toBuffer()
  return Buffer.concat([head, p.authCode(head.subarray(RMCP_HEADER_LENGTH))])
}

/**
 * Decode an IPMI-class datagram (v1.5 or RMCP+). `authCodeLength` is the session's integrity
 * AuthCode length (0 before keys exist); an authenticated packet's trailer must match it.
 */
export function decodeSessionPacket (buf: Buffer, authCodeLength: number): SessionPacket {
  const r = new BufferReader(buf)
  const rmcp = readRmcpHeader(r)
  if (rmcp.ack || rmcp.messageClass !== RmcpClass.ipmi) r.fail(`RMCP class 0x${rmcp.messageClass.toString(16)} is not IPMI`)
  const authType = r.u8('auth type')
  if (authType === AuthType.rmcpPlus) return decodeV20(buf, r, authCodeLength)
  if (authType > AuthType.oem || authType === 0x03) throw new MalformedPacketError(`unknown auth type 0x${authType.toString(16)}`, r.offset - 1)
  const sessionSeq = r.u32le('session sequence')
  const sessionId = r.u32le('session ID')
  const authCode = authType === AuthType.none ? undefined : r.bytes(16, 'v1.5 AuthCode')
  const length = r.u8('message length')
  const message = r.bytes(length, 'IPMI message')
  return { format: 'v1.5', authType, sessionSeq, sessionId, authCode, message }
}

function decodeV20 (buf: Buffer, r: BufferReader, authCodeLength: number): V20Packet {
  const signedStart = r.offset - 1
  const typeByte = r.u8('payload type')
  const payloadType = typeByte & 0x3f
  if (payloadType === PayloadType.oem) r.skip(6, 'OEM IANA and payload ID')
  const sessionId = r.u32le('session ID')
  const sessionSeq = r.u32le('session sequence')
  const length = r.u16le('payload length')
  const payload = r.bytes(length, 'payload')
  const authenticated = (typeByte & 0x40) !== 0
  const encrypted = (typeByte & 0x80) !== 0
  if (!authenticated) {
    return { format: 'v2.0', payloadType, encrypted, authenticated, sessionId, sessionSeq, payload, signed: Buffer.alloc(0), authCode: Buffer.alloc(0) }
  }
  if (authCodeLength <= 0) r.fail('authenticated packet before integrity keys exist')
  const trailer = r.remaining
  const pad = trailer - 2 - authCodeLength
  if (pad < 0) r.fail(`session trailer of ${trailer} bytes is too short`)
  if (pad > 3) r.fail(`integrity pad of ${pad} bytes is longer than 3`)
  r.skip(pad, 'integrity pad')
  if (r.u8('pad length') !== pad) throw new MalformedPacketError('integrity pad length does not match the trailer', r.offset - 1)
  if (r.u8('next header') !== NEXT_HEADER) throw new MalformedPacketError('next header is not 07h', r.offset - 1)
  const signed = buf.subarray(signedStart, r.offset)
  const authCode = r.bytes(authCodeLength, 'AuthCode')
  return { format: 'v2.0', payloadType, encrypted, authenticated, sessionId, sessionSeq, payload, signed, authCode }
}
