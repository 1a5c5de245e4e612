import { BufferReader } from '../lib/buffer-reader.ts'
import { MalformedPacketError } from '../lib/errors.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'

/** IPMI v2.0 §5.5: the BMC's responder address on IPMB (20h). */
export const BMC_SLAVE_ADDRESS = 0x20
/** IPMI v2.0 §5.5 / §13.8: a remote console's software ID (81h: software ID 40h, bit 0 set). */
export const REMOTE_CONSOLE_SWID = 0x81

/** A request as carried on the LAN (IPMI v2.0 §13.8 Table 13-8 "IPMI LAN Request Message"). */
export type LanRequest = {
  readonly rsAddr: number
  readonly netFn: number
  readonly rsLun: number
  readonly rqAddr: number
  /** 6 bits: matches the response to this request; kept across retransmissions (§6.12.13). */
  readonly rqSeq: number
  readonly rqLun: number
  readonly cmd: number
  readonly data: Buffer
}

/** A response as carried on the LAN (IPMI v2.0 §13.8 "IPMI LAN Response Message"). */
export type LanResponse = {
  readonly rqAddr: number
  /** The response NetFn (the request's + 1). */
  readonly netFn: number
  readonly rqLun: number
  readonly rsAddr: number
  readonly rqSeq: number
  readonly rsLun: number
  readonly cmd: number
  readonly completionCode: number
  readonly data: Buffer
}

/*
 * IPMI v2.0 §13.8 (both directions share the frame; §5.5 defines the checksums):
 *   0  rsAddr (request) / rqAddr (response)
 *   1  netFn (bits 7:2) | LUN (bits 1:0)
 *   2  checksum 1: two's complement of bytes 0..1
 *   3  rqAddr (request) / rsAddr (response)
 *   4  rqSeq (bits 7:2) | LUN (bits 1:0)
 *   5  command
 *   6… request data, or completion code + response data
 *   n  checksum 2: two's complement of bytes 3..n-1
 */

/** IPMI v2.0 §5.5: the 8-bit two's-complement checksum, so that the bytes plus it sum to zero. */
export function ipmiChecksum (buf: Uint8Array, start = 0, end = buf.length): number {
  let sum = 0
  for (let i = start; i < end; i++) sum = (sum + (buf[i] as number)) & 0xff
  return (0x100 - sum) & 0xff
}

function encodeFrame (addr1: number, netFn: number, lun1: number, addr2: number, seq: number, lun2: number,
  cmd: number, body: Uint8Array): Buffer {
  const w = new BufferWriter(7 + body.length)
  w.u8(addr1).u8(((netFn & 0x3f) << 2) | (lun1 & 0x03)).u8(0)
  w.u8(addr2).u8(((seq & 0x3f) << 2) | (lun2 & 0x03)).u8(cmd).bytes(body).u8(0)
  const out = w.toBuffer()
  out[2] = ipmiChecksum(out, 0, 2)
  out[out.length - 1] = ipmiChecksum(out, 3, out.length - 1)
  return out
}

type Frame = { addr1: number, netFn: number, lun1: number, addr2: number, seq: number, lun2: number, cmd: number, body: Buffer }

function decodeFrame (buf: Buffer): Frame {
  const r = new BufferReader(buf)
  const addr1 = r.u8('address')
  const netFnLun = r.u8('netFn/LUN')
  const ck1 = r.u8('checksum 1')
  if (((addr1 + netFnLun + ck1) & 0xff) !== 0) throw new MalformedPacketError('IPMI header checksum mismatch', 2)
  const addr2 = r.u8('address')
  const seqLun = r.u8('sequence/LUN')
  const cmd = r.u8('command')
  if (r.remaining < 1) r.fail('truncated IPMI message: no data checksum')
  const body = r.bytes(r.remaining - 1, 'message data')
  const ck2 = r.u8('checksum 2')
  if (ck2 !== ipmiChecksum(buf, 3, buf.length - 1)) throw new MalformedPacketError('IPMI data checksum mismatch', buf.length - 1)
  return { addr1, netFn: netFnLun >> 2, lun1: netFnLun & 0x03, addr2, seq: seqLun >> 2, lun2: seqLun & 0x03, cmd, body }
}

/** Encode a LAN request message with both checksums. */
export function encodeLanRequest (m: LanRequest): Buffer {
  return encodeFrame(m.rsAddr, m.netFn, m.rsLun, m.rqAddr, m.rqSeq, m.rqLun, m.cmd, m.data)
}

/** Decode a LAN request message, checking both checksums. */
export function decodeLanRequest (buf: Buffer): LanRequest {
  const f = decodeFrame(buf)
  return { rsAddr: f.addr1, netFn: f.netFn, rsLun: f.lun1, rqAddr: f.addr2, rqSeq: f.seq, rqLun: f.lun2, cmd: f.cmd, data: f.body }
}

/** Encode a LAN response message (tests that stand in for a BMC use this). */
export function encodeLanResponse (m: LanResponse): Buffer {
  const body = Buffer.concat([Buffer.of(m.completionCode), m.data])
  return encodeFrame(m.rqAddr, m.netFn, m.rqLun, m.rsAddr, m.rqSeq, m.rsLun, m.cmd, body)
}

/** Decode a LAN response message, checking both checksums; it must carry a completion code. */
export function decodeLanResponse (buf: Buffer): LanResponse {
  const f = decodeFrame(buf)
  if (f.body.length < 1) throw new MalformedPacketError('IPMI response without a completion code', 6)
  return {
    rqAddr: f.addr1,
    netFn: f.netFn,
    rqLun: f.lun1,
    rsAddr: f.addr2,
    rqSeq: f.seq,
    rsLun: f.lun2,
    cmd: f.cmd,
    completionCode: f.body[0] as number,
    data: f.body.subarray(1)
  }
}
