import { createHash } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'

/**
 * GUIDs as GPT stores them. Text form is the usual `8-4-4-4-12` hex (upper case, as UEFI and
 * sfdisk print them); on disk the first three fields are little-endian and the last two are bytes
 * in order (UEFI 2.10 Appendix A "GUID and Time Formats"; §5.3.3 Table 5.7 stores GUIDs this way).
 *
 *   text   00112233-4455-6677-8899-AABBCCDDEEFF
 *   bytes  33 22 11 00 55 44 77 66 88 99 AA BB CC DD EE FF
 */

const GUID_RE = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** True for a GUID in `8-4-4-4-12` text form. */
export function isGuid (text: string): boolean {
  return GUID_RE.test(text)
}

/** The 16 bytes of a GUID in GPT (mixed-endian) order. */
export function guidToBytes (text: string): Buffer {
  if (!isGuid(text)) throw new CodedError('ERR_INVALID_UUID', `not a GUID: ${text}`)
  const hex = Buffer.from(text.replaceAll('-', ''), 'hex')
  const out = Buffer.alloc(16)
  out.writeUInt32LE(hex.readUInt32BE(0), 0)
  out.writeUInt16LE(hex.readUInt16BE(4), 4)
  out.writeUInt16LE(hex.readUInt16BE(6), 6)
  hex.copy(out, 8, 8, 16)
  return out
}

/** The text form (upper case) of 16 GPT-order GUID bytes at `offset`. */
export function guidFromBytes (buf: Buffer, offset = 0): string {
  const hex = Buffer.alloc(16)
  hex.writeUInt32BE(buf.readUInt32LE(offset), 0)
  hex.writeUInt16BE(buf.readUInt16LE(offset + 4), 4)
  hex.writeUInt16BE(buf.readUInt16LE(offset + 6), 6)
  buf.copy(hex, 8, offset + 8, offset + 16)
  const h = hex.toString('hex').toUpperCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}

/**
 * A name-based UUID, version 5 (RFC 9562 §5.5: SHA-1 over namespace bytes + name, version and
 * variant bits set), upper case. The image derives its disk and partition GUIDs this way from the
 * image name and version, so two builds of one version agree and two versions never collide.
 */
export function uuidV5 (namespace: string, name: string): string {
  if (!isGuid(namespace)) throw new CodedError('ERR_INVALID_UUID', `not a UUID: ${namespace}`)
  const ns = Buffer.from(namespace.replaceAll('-', ''), 'hex') // RFC 9562 order: big-endian fields
  const digest = createHash('sha1').update(ns).update(name, 'utf8').digest().subarray(0, 16)
  digest[6] = ((digest[6] ?? 0) & 0x0f) | 0x50 // version 5
  digest[8] = ((digest[8] ?? 0) & 0x3f) | 0x80 // variant 10xx
  const h = digest.toString('hex').toUpperCase()
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`
}
