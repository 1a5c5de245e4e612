import { BufferReader } from '../lib/buffer-reader.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'
import { MalformedPacketError } from '../lib/errors.ts'

/** TFTP opcodes: RFC 1350 §5 (1–5) and RFC 2347 (6, OACK). */
export const Opcode = { RRQ: 1, WRQ: 2, DATA: 3, ACK: 4, ERROR: 5, OACK: 6 } as const
export type Opcode = typeof Opcode[keyof typeof Opcode]

/** TFTP error codes: RFC 1350 appendix, plus 8 from RFC 2347. */
export const ErrorCode = {
  NOT_DEFINED: 0,
  FILE_NOT_FOUND: 1,
  ACCESS_VIOLATION: 2,
  DISK_FULL: 3,
  ILLEGAL_OPERATION: 4,
  UNKNOWN_TID: 5,
  FILE_EXISTS: 6,
  NO_SUCH_USER: 7,
  OPTION_REFUSED: 8
} as const
export type ErrorCode = typeof ErrorCode[keyof typeof ErrorCode]

/** One option of a request or OACK, name and value as sent (RFC 2347: names are case-insensitive). */
export type TftpOption = { readonly name: string, readonly value: string }

/** A read or write request. */
export type RequestPacket = {
  readonly op: typeof Opcode.RRQ | typeof Opcode.WRQ
  readonly filename: string
  readonly mode: string
  readonly options: readonly TftpOption[]
}
/** A block of file data; `data` is a view into the datagram. */
export type DataPacket = { readonly op: typeof Opcode.DATA, readonly block: number, readonly data: Buffer }
/** Acknowledges a DATA block (block 0 acknowledges an OACK, RFC 2347). */
export type AckPacket = { readonly op: typeof Opcode.ACK, readonly block: number }
/** Ends a transfer with a reason. */
export type ErrorPacket = { readonly op: typeof Opcode.ERROR, readonly code: number, readonly message: string }
/** Option acknowledgment: the options the server accepted, with their final values. */
export type OackPacket = { readonly op: typeof Opcode.OACK, readonly options: readonly TftpOption[] }

/** Any TFTP datagram. */
export type TftpPacket = RequestPacket | DataPacket | AckPacket | ErrorPacket | OackPacket

// Filenames, modes and options are netascii (RFC 1350 §5); we accept UTF-8 but never invalid bytes,
// so that a name decoded here is exactly the name encoded back. Error messages are only logged, so
// any bytes are accepted there, as latin1 (one char per byte, so they too encode back exactly).
const strict = new TextDecoder('utf-8', { fatal: true })

function cstring (r: BufferReader, buf: Buffer, what: string, anyBytes = false): string {
  const start = r.offset
  const nul = buf.indexOf(0, start)
  if (nul < 0) r.fail(`unterminated ${what}`)
  const bytes = r.bytes(nul - start, what)
  r.skip(1, `${what} terminator`)
  if (anyBytes) return bytes.toString('latin1')
  try {
    return strict.decode(bytes)
  } catch {
    throw new MalformedPacketError(`${what} is not valid text`, start)
  }
}

function options (r: BufferReader, buf: Buffer): TftpOption[] {
  const out: TftpOption[] = []
  while (r.remaining > 0) {
    const at = r.offset
    const name = cstring(r, buf, 'option name')
    if (name.length === 0) throw new MalformedPacketError('empty option name', at)
    const value = cstring(r, buf, `value of option ${name}`)
    out.push({ name, value })
  }
  return out
}

/*
 * RFC 1350 §5, RFC 2347 §2 — RRQ/WRQ:
 *    2 bytes     string    1    string   1    string   1    string   1
 *   ---------------------------------------------------------------------
 *  | 01/02 |  filename  | 0 |  mode  | 0 |  opt1  | 0 | value1 | 0 | ...
 *   ---------------------------------------------------------------------
 * DATA:   | 03 | block# (2) | data (0..blksize) |
 * ACK:    | 04 | block# (2) |
 * ERROR:  | 05 | code (2) | message | 0 |
 * OACK:   | 06 | opt1 | 0 | value1 | 0 | ... |        (RFC 2347 §2, at least one option)
 * The datagram length is the only framing: a DATA packet of any length ≥ 4 is well formed.
 */
/** Decodes one datagram; throws MalformedPacketError (only) when it is not a TFTP packet. */
export function decodePacket (buf: Buffer): TftpPacket {
  const r = new BufferReader(buf)
  const op = r.u16('opcode')
  switch (op) {
    case Opcode.RRQ:
    case Opcode.WRQ: {
      const at = r.offset
      const filename = cstring(r, buf, 'filename')
      if (filename.length === 0) throw new MalformedPacketError('empty filename', at)
      const modeAt = r.offset
      const mode = cstring(r, buf, 'mode')
      if (mode.length === 0) throw new MalformedPacketError('empty mode', modeAt)
      return { op, filename, mode, options: options(r, buf) }
    }
    case Opcode.DATA:
      return { op, block: r.u16('block number'), data: r.rest() }
    case Opcode.ACK: {
      const block = r.u16('block number')
      // RFC 1350 §5: an ACK is exactly 4 bytes; anything after it is not a TFTP ACK.
      if (r.remaining > 0) r.fail('trailing bytes after ACK')
      return { op, block }
    }
    case Opcode.ERROR: {
      const code = r.u16('error code')
      const message = cstring(r, buf, 'error message', true)
      if (r.remaining > 0) r.fail('trailing bytes after ERROR message')
      return { op, code, message }
    }
    case Opcode.OACK: {
      const opts = options(r, buf)
      if (opts.length === 0) r.fail('OACK without options')
      return { op, options: opts }
    }
    default:
      throw new MalformedPacketError(`unknown opcode ${op}`, 0)
  }
}

function writeOptions (w: BufferWriter, opts: readonly TftpOption[]): void {
  for (const o of opts) {
    w.bytes(Buffer.from(o.name, 'utf8')).u8(0).bytes(Buffer.from(o.value, 'utf8')).u8(0)
  }
}

/** Encodes any packet (used for control packets and tests; the data path writes headers in place). */
export function encodePacket (p: TftpPacket): Buffer {
  const w = new BufferWriter(64)
  w.u16(p.op)
  switch (p.op) {
    case Opcode.RRQ:
    case Opcode.WRQ:
      w.bytes(Buffer.from(p.filename, 'utf8')).u8(0).bytes(Buffer.from(p.mode, 'utf8')).u8(0)
      writeOptions(w, p.options)
      break
    case Opcode.DATA:
      w.u16(p.block).bytes(p.data)
      break
    case Opcode.ACK:
      w.u16(p.block)
      break
    case Opcode.ERROR:
      w.u16(p.code).bytes(Buffer.from(p.message, 'latin1')).u8(0)
      break
    case Opcode.OACK:
      writeOptions(w, p.options)
      break
  }
  return w.toBuffer()
}

/** An ERROR packet (RFC 1350 §5). */
export function encodeError (code: ErrorCode, message: string): Buffer {
  return encodePacket({ op: Opcode.ERROR, code, message })
}

/** Writes a DATA header (opcode 3, block number mod 2^16) into `into` at `at`: no allocation. */
export function writeDataHeader (into: Buffer, at: number, block: number): void {
  into[at] = 0
  into[at + 1] = Opcode.DATA
  into[at + 2] = (block >>> 8) & 0xff
  into[at + 3] = block & 0xff
}
