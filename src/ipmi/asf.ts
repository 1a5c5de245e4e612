import { BufferReader } from '../lib/buffer-reader.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'
import { RmcpClass, readRmcpHeader, writeRmcpHeader } from './rmcp.ts'

/** ASF 2.0 §3.2.2.3: the IANA enterprise number of the ASF (4542) that prefixes every ASF message. */
export const ASF_IANA = 0x000011be

/** ASF 2.0 §3.2.4: presence ping and pong message types. */
export const AsfMessageType = {
  presencePong: 0x40,
  presencePing: 0x80
} as const
export type AsfMessageType = typeof AsfMessageType[keyof typeof AsfMessageType]

/** A decoded presence pong (IPMI v2.0 §13.2.3, ASF 2.0 §3.2.4.3). */
export type AsfPong = {
  readonly tag: number
  /** The responder's IANA enterprise number (4542 when it has no OEM-defined data). */
  readonly iana: number
  readonly oemDefined: number
  /** Supported entities bit 7: IPMI is supported (the BMC answers RMCP class 07h). */
  readonly ipmiSupported: boolean
  /** Supported entities bits 3:0: ASF version (1 = ASF 1.0). */
  readonly asfVersion: number
  /** Supported interactions byte: bit 5 RMCP security extensions, bit 0 DASH. */
  readonly supportedInteractions: number
}

/*
 * IPMI v2.0 §13.2.3, ASF 2.0 §3.2.4: after the RMCP header (class 06h)
 *   0..3  IANA enterprise number (000011BEh, big-endian)
 *   4     message type (80h ping, 40h pong)
 *   5     message tag (echoed by the pong)
 *   6     reserved (00h)
 *   7     data length (ping 00h, pong 10h)
 *   pong data: 0..3 IANA, 4..7 OEM-defined, 8 supported entities, 9 supported interactions, 10..15 reserved
 */

/** Encode a presence ping with the given message tag (0..254; FFh means "no response expected"). */
export function encodeAsfPing (tag: number): Buffer {
  const w = new BufferWriter(12)
  writeRmcpHeader(w, RmcpClass.asf)
  w.u32(ASF_IANA).u8(AsfMessageType.presencePing).u8(tag).u8(0x00).u8(0x00)
  return w.toBuffer()
}

/** Encode a presence pong (used by tests standing in for a BMC). */
export function encodeAsfPong (pong: AsfPong): Buffer {
  const w = new BufferWriter(28)
  writeRmcpHeader(w, RmcpClass.asf)
  w.u32(ASF_IANA).u8(AsfMessageType.presencePong).u8(pong.tag).u8(0x00).u8(0x10)
  w.u32(pong.iana).u32(pong.oemDefined)
  w.u8((pong.ipmiSupported ? 0x80 : 0x00) | (pong.asfVersion & 0x0f)).u8(pong.supportedInteractions)
  w.zeros(6)
  return w.toBuffer()
}

/** Decode an ASF datagram that must be a presence pong; anything else throws MalformedPacketError. */
export function decodeAsfPong (buf: Buffer): AsfPong {
  const r = new BufferReader(buf)
  const header = readRmcpHeader(r)
  if (header.messageClass !== RmcpClass.asf) r.fail(`RMCP class 0x${header.messageClass.toString(16)} is not ASF`)
  if (r.u32('ASF IANA') !== ASF_IANA) r.fail('ASF IANA number is not 4542')
  const type = r.u8('ASF message type')
  if (type !== AsfMessageType.presencePong) r.fail(`ASF message type 0x${type.toString(16)} is not a presence pong`)
  const tag = r.u8('ASF message tag')
  r.u8('ASF reserved')
  const length = r.u8('ASF data length')
  if (length < 0x10) r.fail(`presence pong data length ${length} is below 16`)
  const data = new BufferReader(r.bytes(length, 'presence pong data'))
  const iana = data.u32('pong IANA')
  const oemDefined = data.u32('pong OEM data')
  const entities = data.u8('supported entities')
  const supportedInteractions = data.u8('supported interactions')
  return { tag, iana, oemDefined, ipmiSupported: (entities & 0x80) !== 0, asfVersion: entities & 0x0f, supportedInteractions }
}

/** Decode a presence ping (for tests standing in for a BMC); returns its tag. */
export function decodeAsfPing (buf: Buffer): { tag: number } {
  const r = new BufferReader(buf)
  const header = readRmcpHeader(r)
  if (header.messageClass !== RmcpClass.asf) r.fail('not an ASF message')
  if (r.u32('ASF IANA') !== ASF_IANA) r.fail('ASF IANA number is not 4542')
  if (r.u8('ASF message type') !== AsfMessageType.presencePing) r.fail('not a presence ping')
  const tag = r.u8('ASF message tag')
  r.u8('ASF reserved')
  r.u8('ASF data length')
  return { tag }
}
