import { BufferReader } from '../lib/buffer-reader.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'

/** IPMI v2.0 §13.24 Table 13-15: RMCP+ and RAKP message status codes, by name. */
export const RAKP_STATUS_NAMES: Readonly<Record<number, string>> = {
  0x00: 'no errors',
  0x01: 'insufficient resources to create a session',
  0x02: 'invalid session ID',
  0x03: 'invalid payload type',
  0x04: 'invalid authentication algorithm',
  0x05: 'invalid integrity algorithm',
  0x06: 'no matching authentication payload',
  0x07: 'no matching integrity payload',
  0x08: 'inactive session ID',
  0x09: 'invalid role',
  0x0a: 'unauthorized role or privilege level requested',
  0x0b: 'insufficient resources to create a session at the requested role',
  0x0c: 'invalid name length',
  0x0d: 'unauthorized name',
  0x0e: 'unauthorized GUID',
  0x0f: 'invalid integrity check value',
  0x10: 'invalid confidentiality algorithm',
  0x11: 'no cipher suite match with proposed security algorithms',
  0x12: 'illegal or unrecognized parameter'
}

/** A readable name for an RMCP+ status code. */
export function rakpStatusName (code: number): string {
  const hex = `0x${code.toString(16).padStart(2, '0')}`
  const name = RAKP_STATUS_NAMES[code]
  return name === undefined ? `status ${hex}` : `${name} (${hex})`
}

/** The three algorithms an Open Session Request proposes (IPMI v2.0 §13.28 Tables 13-17..13-19). */
export type AlgorithmProposal = {
  readonly authentication: number
  readonly integrity: number
  readonly confidentiality: number
}

/** IPMI v2.0 §13.17 Open Session Request. */
export type OpenSessionRequest = {
  readonly tag: number
  /** 0 asks for the highest level the proposed algorithms allow (what ipmitool sends). */
  readonly maxPrivilege: number
  readonly consoleSessionId: number
} & AlgorithmProposal

/** IPMI v2.0 §13.18 Open Session Response; the fields after the status may be absent on an error. */
export type OpenSessionResponse = {
  readonly tag: number
  readonly status: number
  readonly maxPrivilege: number | undefined
  readonly consoleSessionId: number | undefined
  readonly bmcSessionId: number | undefined
  readonly algorithms: AlgorithmProposal | undefined
}

/** IPMI v2.0 §13.20 RAKP Message 1. */
export type Rakp1 = {
  readonly tag: number
  readonly bmcSessionId: number
  readonly consoleRandom: Buffer
  /** Requested maximum privilege (bits 3:0) | name-only lookup (bit 4), as hashed into RAKP 2/3 and the SIK. */
  readonly role: number
  readonly username: Buffer
}

/** IPMI v2.0 §13.21 RAKP Message 2; the fields after the status may be absent on an error. */
export type Rakp2 = {
  readonly tag: number
  readonly status: number
  readonly consoleSessionId: number | undefined
  readonly bmcRandom: Buffer | undefined
  readonly bmcGuid: Buffer | undefined
  readonly authCode: Buffer
}

/** IPMI v2.0 §13.22 RAKP Message 3. */
export type Rakp3 = {
  readonly tag: number
  readonly status: number
  readonly bmcSessionId: number
  readonly authCode: Buffer
}

/** IPMI v2.0 §13.23 RAKP Message 4; the fields after the status may be absent on an error. */
export type Rakp4 = {
  readonly tag: number
  readonly status: number
  readonly consoleSessionId: number | undefined
  readonly integrityCheck: Buffer
}

/*
 * IPMI v2.0 §13.17 Open Session Request (session-ID fields little-endian):
 *   0 tag | 1 max privilege | 2..3 reserved | 4..7 remote console session ID
 *   | 8..15 authentication payload | 16..23 integrity payload | 24..31 confidentiality payload
 * each algorithm payload: 0 type (00h/01h/02h) | 1..2 reserved | 3 length 08h | 4 algorithm | 5..7 reserved
 * §13.18 Open Session Response:
 *   0 tag | 1 status | 2 max privilege | 3 reserved | 4..7 console session ID | 8..11 BMC session ID
 *   | 12..19, 20..27, 28..35 the three algorithm payloads the BMC chose
 */

function writeAlgorithm (w: BufferWriter, type: number, algorithm: number): void {
  w.u8(type).u16(0).u8(0x08).u8(algorithm & 0x3f).zeros(3)
}

function readAlgorithm (r: BufferReader, type: number, what: string): number {
  if (r.u8(`${what} payload type`) !== type) r.fail(`${what} payload type is not 0x0${type}`)
  r.skip(2, `${what} reserved`)
  if (r.u8(`${what} payload length`) !== 0x08) r.fail(`${what} payload length is not 8`)
  const algorithm = r.u8(`${what} algorithm`) & 0x3f
  r.skip(3, `${what} reserved`)
  return algorithm
}

function readAlgorithms (r: BufferReader): AlgorithmProposal {
  const authentication = readAlgorithm(r, 0x00, 'authentication')
  const integrity = readAlgorithm(r, 0x01, 'integrity')
  const confidentiality = readAlgorithm(r, 0x02, 'confidentiality')
  return { authentication, integrity, confidentiality }
}

/** Encode an Open Session Request payload. */
export function encodeOpenSessionRequest (m: OpenSessionRequest): Buffer {
  const w = new BufferWriter(32)
  w.u8(m.tag).u8(m.maxPrivilege & 0x0f).u16(0).u32le(m.consoleSessionId)
  writeAlgorithm(w, 0x00, m.authentication)
  writeAlgorithm(w, 0x01, m.integrity)
  writeAlgorithm(w, 0x02, m.confidentiality)
  return w.toBuffer()
}

/** Decode an Open Session Request payload (tests and fixtures). */
export function decodeOpenSessionRequest (buf: Buffer): OpenSessionRequest {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  const maxPrivilege = r.u8('max privilege') & 0x0f
  r.skip(2, 'reserved')
  const consoleSessionId = r.u32le('console session ID')
  return { tag, maxPrivilege, consoleSessionId, ...readAlgorithms(r) }
}

/** Encode an Open Session Response payload (tests that stand in for a BMC). */
export function encodeOpenSessionResponse (m: OpenSessionResponse): Buffer {
  const w = new BufferWriter(36)
  w.u8(m.tag).u8(m.status)
  if (m.algorithms === undefined) return w.toBuffer()
  w.u8(m.maxPrivilege ?? 0).u8(0).u32le(m.consoleSessionId ?? 0).u32le(m.bmcSessionId ?? 0)
  writeAlgorithm(w, 0x00, m.algorithms.authentication)
  writeAlgorithm(w, 0x01, m.algorithms.integrity)
  writeAlgorithm(w, 0x02, m.algorithms.confidentiality)
  return w.toBuffer()
}

/** Decode an Open Session Response payload; an error status may end right after the status byte. */
export function decodeOpenSessionResponse (buf: Buffer): OpenSessionResponse {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  const status = r.u8('status')
  if (status !== 0 && r.remaining < 34) {
    return { tag, status, maxPrivilege: undefined, consoleSessionId: undefined, bmcSessionId: undefined, algorithms: undefined }
  }
  const maxPrivilege = r.u8('max privilege') & 0x0f
  r.skip(1, 'reserved')
  const consoleSessionId = r.u32le('console session ID')
  const bmcSessionId = r.u32le('BMC session ID')
  return { tag, status, maxPrivilege, consoleSessionId, bmcSessionId, algorithms: readAlgorithms(r) }
}

/*
 * §13.20 RAKP 1: 0 tag | 1..3 reserved | 4..7 BMC session ID | 8..23 console random Rm
 *   | 24 role | 25..26 reserved | 27 user name length | 28.. user name (0..16)
 * §13.21 RAKP 2: 0 tag | 1 status | 2..3 reserved | 4..7 console session ID | 8..23 BMC random Rc
 *   | 24..39 BMC GUID | 40.. key exchange AuthCode (20 SHA-1, 32 SHA-256)
 * §13.22 RAKP 3: 0 tag | 1 status | 2..3 reserved | 4..7 BMC session ID | 8.. key exchange AuthCode
 * §13.23 RAKP 4: 0 tag | 1 status | 2..3 reserved | 4..7 console session ID | 8.. integrity check value
 */

/** Encode RAKP Message 1. */
export function encodeRakp1 (m: Rakp1): Buffer {
  if (m.consoleRandom.length !== 16) throw new RangeError('RAKP 1 random number must be 16 bytes')
  if (m.username.length > 16) throw new RangeError('IPMI user names are at most 16 bytes')
  const w = new BufferWriter(28 + m.username.length)
  w.u8(m.tag).zeros(3).u32le(m.bmcSessionId).bytes(m.consoleRandom).u8(m.role).u16(0).u8(m.username.length).bytes(m.username)
  return w.toBuffer()
}

/** Decode RAKP Message 1 (tests and fixtures). */
export function decodeRakp1 (buf: Buffer): Rakp1 {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  r.skip(3, 'reserved')
  const bmcSessionId = r.u32le('BMC session ID')
  const consoleRandom = r.bytes(16, 'console random')
  const role = r.u8('role')
  r.skip(2, 'reserved')
  const length = r.u8('user name length')
  if (length > 16) r.fail(`user name length ${length} is over 16`)
  return { tag, bmcSessionId, consoleRandom, role, username: r.bytes(length, 'user name') }
}

/** Encode RAKP Message 2 (tests that stand in for a BMC). */
export function encodeRakp2 (m: Rakp2): Buffer {
  const w = new BufferWriter(40 + m.authCode.length)
  w.u8(m.tag).u8(m.status).u16(0)
  if (m.consoleSessionId === undefined || m.bmcRandom === undefined || m.bmcGuid === undefined) return w.toBuffer()
  w.u32le(m.consoleSessionId).bytes(m.bmcRandom).bytes(m.bmcGuid).bytes(m.authCode)
  return w.toBuffer()
}

function exactRest (r: BufferReader, length: number | undefined, what: string): Buffer {
  if (length !== undefined && r.remaining !== length) r.fail(`${what} is ${r.remaining} bytes, not ${length}`)
  return r.rest()
}

/** Decode RAKP Message 2; an error status may end early. `authCodeLength` (the suite's) is enforced when given. */
export function decodeRakp2 (buf: Buffer, authCodeLength?: number): Rakp2 {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  const status = r.u8('status')
  if (status !== 0 && r.remaining < 38) {
    return { tag, status, consoleSessionId: undefined, bmcRandom: undefined, bmcGuid: undefined, authCode: Buffer.alloc(0) }
  }
  r.skip(2, 'reserved')
  const consoleSessionId = r.u32le('console session ID')
  const bmcRandom = r.bytes(16, 'BMC random')
  const bmcGuid = r.bytes(16, 'BMC GUID')
  return { tag, status, consoleSessionId, bmcRandom, bmcGuid, authCode: exactRest(r, authCodeLength, 'RAKP 2 AuthCode') }
}

/** Encode RAKP Message 3. */
export function encodeRakp3 (m: Rakp3): Buffer {
  const w = new BufferWriter(8 + m.authCode.length)
  w.u8(m.tag).u8(m.status).u16(0).u32le(m.bmcSessionId).bytes(m.authCode)
  return w.toBuffer()
}

/** Decode RAKP Message 3 (tests and fixtures); `authCodeLength` is enforced when given. */
export function decodeRakp3 (buf: Buffer, authCodeLength?: number): Rakp3 {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  const status = r.u8('status')
  r.skip(2, 'reserved')
  const bmcSessionId = r.u32le('BMC session ID')
  return { tag, status, bmcSessionId, authCode: exactRest(r, authCodeLength, 'RAKP 3 AuthCode') }
}

/** Encode RAKP Message 4 (tests that stand in for a BMC). */
export function encodeRakp4 (m: Rakp4): Buffer {
  const w = new BufferWriter(8 + m.integrityCheck.length)
  w.u8(m.tag).u8(m.status).u16(0)
  if (m.consoleSessionId === undefined) return w.toBuffer()
  w.u32le(m.consoleSessionId).bytes(m.integrityCheck)
  return w.toBuffer()
}

/** Decode RAKP Message 4; an error status may end early. `checkLength` (the suite's) is enforced when given. */
export function decodeRakp4 (buf: Buffer, checkLength?: number): Rakp4 {
  const r = new BufferReader(buf)
  const tag = r.u8('tag')
  const status = r.u8('status')
  if (status !== 0 && r.remaining < 6) return { tag, status, consoleSessionId: undefined, integrityCheck: Buffer.alloc(0) }
  r.skip(2, 'reserved')
  const consoleSessionId = r.u32le('console session ID')
  return { tag, status, consoleSessionId, integrityCheck: exactRest(r, checkLength, 'RAKP 4 integrity check value') }
}
