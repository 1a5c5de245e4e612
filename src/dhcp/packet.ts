import { BufferReader } from '../lib/buffer-reader.ts'
import { BufferWriter } from '../lib/buffer-writer.ts'
import { CodedError, MalformedPacketError } from '../lib/errors.ts'
import { bytesToIpv4, ipv4ToInt } from '../lib/ipv4.ts'
import { formatMac } from '../lib/mac.ts'
import { DhcpOption, OptionGatherer, encodeOptions, encodedOptionsLength, validateKnownOptions, type DhcpOptions } from './options.ts'

/** BOOTP op field (RFC 951, RFC 2131 §2). */
export const BootOp = { Request: 1, Reply: 2 } as const
export type BootOp = typeof BootOp[keyof typeof BootOp]

/** The flags field's only defined bit (RFC 2131 §2, figure 2). */
export const BROADCAST_FLAG = 0x8000

/** RFC 2131 §3: the first four option bytes, 99.130.83.99. */
export const MAGIC_COOKIE = 0x63825363

/** Bytes before the options: fixed header plus magic cookie. */
export const HEADER_LENGTH = 240

/** A BOOTP/DHCP message, options already gathered from every area (RFC 3396). */
export type DhcpMessage = {
  readonly op: BootOp
  /** Hardware address type, 1 = Ethernet (RFC 1700). */
  readonly htype: number
  readonly hlen: number
  readonly hops: number
  readonly xid: number
  readonly secs: number
  readonly flags: number
  readonly ciaddr: string
  readonly yiaddr: string
  readonly siaddr: string
  readonly giaddr: string
  /** All 16 bytes of chaddr; the hardware address is the first hlen of them. */
  readonly chaddr: Buffer
  /** Server host name, "" when empty or used for options (overload). */
  readonly sname: string
  /** Boot file name, "" when empty or used for options (overload). */
  readonly file: string
  readonly options: DhcpOptions
}

/*
 * RFC 2131 §2, figure 1:
 *   0                   1                   2                   3
 *   0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1 2 3 4 5 6 7 8 9 0 1
 *  +---------------+---------------+---------------+---------------+
 *  |     op (1)    |   htype (1)   |   hlen (1)    |   hops (1)    |   0
 *  +---------------+---------------+---------------+---------------+
 *  |                            xid (4)                            |   4
 *  +-------------------------------+-------------------------------+
 *  |           secs (2)            |           flags (2)           |   8
 *  +-------------------------------+-------------------------------+
 *  |                          ciaddr  (4)                          |  12
 *  |                          yiaddr  (4)                          |  16
 *  |                          siaddr  (4)                          |  20
 *  |                          giaddr  (4)                          |  24
 *  |                          chaddr  (16)                         |  28
 *  |                          sname   (64)                         |  44
 *  |                          file    (128)                        | 108
 *  +---------------------------------------------------------------+
 *  |                  magic cookie 99.130.83.99 (4)                | 236
 *  |                          options (variable)                   | 240
 *  +---------------------------------------------------------------+
 */
const SNAME_OFFSET = 44
const FILE_OFFSET = 108
const COOKIE_OFFSET = 236

function cString (b: Buffer): string {
  const nul = b.indexOf(0)
  return b.subarray(0, nul === -1 ? b.length : nul).toString('latin1')
}

/**
 * The largest datagram the decoder accepts: what one jumbo Ethernet frame carries, MTU 9000 less
 * the IPv4 (20) and UDP (8) headers. RFC 2131 §2 only sets a floor (a client must accept 576-octet
 * messages) and option 57 (RFC 2132 §9.10) lets a client announce up to 65535; neither says what a
 * client may send. Boot firmware and OS clients send one frame (every capture in
 * test/fixtures/dhcp is under 420 bytes, within a 1500-byte frame's 1472); anything larger came
 * in IP fragments, which no DHCP client we know sends. Refusing it first bounds the work and the
 * copies spent on one unauthenticated datagram.
 */
export const MAX_DHCP_DATAGRAM = 9000 - 20 - 8

/**
 * Decodes a BOOTP/DHCP datagram. Throws MalformedPacketError (only) when the datagram exceeds
 * MAX_DHCP_DATAGRAM, the header is short, the cookie is wrong, an option runs past its area, an
 * area lacks End, there are more than MAX_OPTION_INSTANCES options, or a fixed-length option has
 * the wrong length. Option overload (52) pulls options from file and sname, in that order after
 * the options field (RFC 3396 §7, RFC 2132 §9.3); repeats are joined across all three.
 */
export function decodeDhcpPacket (buf: Buffer): DhcpMessage {
  if (buf.length > MAX_DHCP_DATAGRAM) {
    throw new MalformedPacketError(`datagram of ${buf.length} bytes exceeds ${MAX_DHCP_DATAGRAM}, one jumbo frame`, MAX_DHCP_DATAGRAM)
  }
  const r = new BufferReader(buf)
  const rawOp = r.u8('op')
  if (rawOp !== BootOp.Request && rawOp !== BootOp.Reply) r.fail(`op ${rawOp} is neither BOOTREQUEST nor BOOTREPLY`)
  const op = rawOp as BootOp
  const htype = r.u8('htype')
  const hlen = r.u8('hlen')
  if (hlen > 16) r.fail(`hlen ${hlen} exceeds chaddr (16 bytes)`)
  const hops = r.u8('hops')
  const xid = r.u32('xid')
  const secs = r.u16('secs')
  const flags = r.u16('flags')
  const ciaddr = bytesToIpv4(r.bytes(4, 'ciaddr'))
  const yiaddr = bytesToIpv4(r.bytes(4, 'yiaddr'))
  const siaddr = bytesToIpv4(r.bytes(4, 'siaddr'))
  const giaddr = bytesToIpv4(r.bytes(4, 'giaddr'))
  const chaddr = Buffer.from(r.bytes(16, 'chaddr'))
  const snameRaw = r.bytes(64, 'sname')
  const fileRaw = r.bytes(128, 'file')
  if (r.u32('magic cookie') !== MAGIC_COOKIE) {
    throw new MalformedPacketError('magic cookie is not 99.130.83.99 (RFC 2131 §3)', COOKIE_OFFSET)
  }
  const gatherer = new OptionGatherer()
  gatherer.readArea(buf, HEADER_LENGTH, buf.length, 'options field')
  const overload = gatherer.take(DhcpOption.Overload)
  let file = cString(fileRaw)
  let sname = cString(snameRaw)
  if (overload !== undefined) {
    const mode = overload.length === 1 ? overload[0] as number : 0
    if (mode < 1 || mode > 3) throw new MalformedPacketError(`option 52 (overload) must be 1, 2 or 3 (RFC 2132 §9.3), got ${overload.toString('hex')}`, HEADER_LENGTH)
    if ((mode & 1) !== 0) {
      gatherer.readArea(buf, FILE_OFFSET, FILE_OFFSET + 128, 'file field (overloaded)')
      file = ''
    }
    if ((mode & 2) !== 0) {
      gatherer.readArea(buf, SNAME_OFFSET, SNAME_OFFSET + 64, 'sname field (overloaded)')
      sname = ''
    }
  }
  const options: DhcpOptions = gatherer.finish()
  validateKnownOptions(options, HEADER_LENGTH)
  return { op, htype, hlen, hops, xid, secs, flags, ciaddr, yiaddr, siaddr, giaddr, chaddr, sname, file, options }
}

/** Minimum BOOTP message (RFC 951's 64-byte vend field): some relays and ROMs drop shorter ones. */
export const MIN_BOOTP_LENGTH = 300

/** Bytes `encodeDhcpPacket` will produce for this message, before padding to 300. */
export function encodedLength (msg: Pick<DhcpMessage, 'options'>): number {
  return HEADER_LENGTH + encodedOptionsLength(msg.options)
}

function writeAddress (w: BufferWriter, ip: string): void {
  w.u32(ipv4ToInt(ip))
}

function writeText (w: BufferWriter, text: string, size: number, field: string): void {
  const b = Buffer.from(text, 'latin1')
  // A full field has no NUL; RFC 2131 §2 only says "null terminated string" is optional.
  if (b.length > size) throw new CodedError('ERR_DHCP_FIELD_TOO_LONG', `${field} is ${b.length} bytes; at most ${size} fit`)
  w.bytes(b).zeros(size - b.length)
}

/**
 * Encodes a message: header, cookie, options (long ones split, RFC 3396 §6), End, then zero
 * padding up to 300 bytes (RFC 1542 §3.1.1 asks relays to accept no less). Throws a CodedError
 * for fields that do not fit; it never writes overload itself.
 */
export function encodeDhcpPacket (msg: DhcpMessage): Buffer {
  const w = new BufferWriter(Math.max(MIN_BOOTP_LENGTH, encodedLength(msg)))
  w.u8(msg.op).u8(msg.htype).u8(msg.hlen).u8(msg.hops).u32(msg.xid).u16(msg.secs).u16(msg.flags)
  writeAddress(w, msg.ciaddr)
  writeAddress(w, msg.yiaddr)
  writeAddress(w, msg.siaddr)
  writeAddress(w, msg.giaddr)
  if (msg.chaddr.length > 16) throw new CodedError('ERR_DHCP_FIELD_TOO_LONG', `chaddr is ${msg.chaddr.length} bytes; at most 16 fit`)
  w.bytes(msg.chaddr).zeros(16 - msg.chaddr.length)
  writeText(w, msg.sname, 64, 'sname')
  writeText(w, msg.file, 128, 'file')
  w.u32(MAGIC_COOKIE)
  encodeOptions(w, msg.options)
  if (w.length < MIN_BOOTP_LENGTH) w.zeros(MIN_BOOTP_LENGTH - w.length)
  return w.toBuffer()
}

/** The client's hardware address in colon form, when it is Ethernet (htype 1, hlen 6). */
export function clientMac (msg: DhcpMessage): string | undefined {
  if (msg.htype !== 1 || msg.hlen !== 6) return undefined
  return formatMac(msg.chaddr.subarray(0, 6))
}
