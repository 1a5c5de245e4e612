import { BufferReader } from '../../lib/buffer-reader.ts'
import { MalformedPacketError } from '../../lib/errors.ts'
import { CIPHER_SUITES, type CipherSuite, type CipherSuiteId } from '../crypto.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { THIS_CHANNEL } from './get-channel-auth-capabilities.ts'

/** IPMI v2.0 §22.15: Get Channel Cipher Suites (NetFn App, command 54h). */
export const GET_CHANNEL_CIPHER_SUITES = 0x54

/** §22.15: each response carries at most 16 bytes of record data; fewer means the list ended. */
export const CIPHER_SUITE_CHUNK = 16

/** §22.15: list indexes run 00h–3Fh, so a list is at most 64 chunks. */
export const MAX_CIPHER_SUITE_INDEX = 0x3f

/** One cipher suite record (IPMI v2.0 §22.15.1 Table 22-19). */
export type CipherSuiteRecord = {
  readonly id: number
  /** Set for an OEM record (start byte C1h). */
  readonly oemIana: number | undefined
  readonly authentication: readonly number[]
  readonly integrity: readonly number[]
  readonly confidentiality: readonly number[]
}

/** One response's data: the channel and this chunk of record bytes. */
export type CipherSuitesChunk = { readonly channel: number, readonly records: Buffer }

/*
 * IPMI v2.0 §22.15 request: 1 channel | 2 payload type (00h IPMI) | 3 bit 7: list by cipher suite,
 *   bits 5:0 list index (each index returns the next 16 bytes of record data)
 * response data: 1 channel | 2..17 up to 16 bytes of record data
 * §22.15.1 records: C0h, suite ID, algorithm tags…  or  C1h, suite ID, OEM IANA (3, LS first), tags…
 *   tag bits 7:6: 00b authentication, 01b integrity, 10b confidentiality; bits 5:0 the algorithm
 */

/** Ask for chunk `index` of the channel's list of cipher suites for IPMI payloads. */
export function encodeGetChannelCipherSuites (index: number, channel = THIS_CHANNEL): IpmiRequest {
  return { netFn: NetFn.app, cmd: GET_CHANNEL_CIPHER_SUITES, data: Buffer.of(channel & 0x0f, 0x00, 0x80 | (index & 0x3f)) }
}

/** Decode one response's data; short data throws MalformedPacketError. */
export function decodeGetChannelCipherSuites (data: Buffer): CipherSuitesChunk {
  const r = new BufferReader(data)
  const channel = r.u8('channel') & 0x0f
  const records = r.rest()
  if (records.length > CIPHER_SUITE_CHUNK) throw new MalformedPacketError('more than 16 bytes of cipher suite data', 1 + CIPHER_SUITE_CHUNK)
  return { channel, records }
}

/** Parse the concatenated record bytes of every chunk (records may span chunks). */
export function decodeCipherSuiteRecords (bytes: Buffer): CipherSuiteRecord[] {
  const r = new BufferReader(bytes)
  const out: CipherSuiteRecord[] = []
  while (r.remaining > 0) {
    const start = r.u8('record start')
    if (start !== 0xc0 && start !== 0xc1) throw new MalformedPacketError(`cipher suite record starts with 0x${start.toString(16)}`, r.offset - 1)
    const id = r.u8('cipher suite ID')
    const oemIana = start === 0xc1 ? r.u8('OEM IANA') | (r.u8('OEM IANA') << 8) | (r.u8('OEM IANA') << 16) : undefined
    const authentication: number[] = []
    const integrity: number[] = []
    const confidentiality: number[] = []
    while (r.remaining > 0 && (bytes[r.offset] as number) < 0xc0) {
      const tag = r.u8('algorithm tag')
      const list = tag < 0x40 ? authentication : tag < 0x80 ? integrity : confidentiality
      list.push(tag & 0x3f)
    }
    out.push({ id, oemIana, authentication, integrity, confidentiality })
  }
  return out
}

/** Pick the strongest suite Anvil speaks from a Get Channel Cipher Suites list (17 before 3). */
export function chooseSuite (records: readonly CipherSuiteRecord[]): CipherSuiteId | undefined {
  const offers = (s: CipherSuite): boolean => records.some(r => r.oemIana === undefined && r.id === s.id &&
    r.authentication.includes(s.authentication) && r.integrity.includes(s.integrity) && r.confidentiality.includes(s.confidentiality))
  return ([17, 3] as const).find(id => offers(CIPHER_SUITES[id]))
}
