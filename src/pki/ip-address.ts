/**
 * IP addresses as the octets an X.509 iPAddress SAN holds: 4 for IPv4, 16 for IPv6 in network
 * order (RFC 5280 §4.2.1.6). Pure, and strict: what it accepts is what OpenSSL's checkIP matches.
 */
import { ipv4ToBytes, isIpv4 } from '../lib/ipv4.ts'

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/** The 4 or 16 octets of a dotted-quad IPv4 or an RFC 4291 §2.2 IPv6 text address; undefined if it is neither. */
export function ipAddressBytes (text: string): Buffer | undefined {
  if (isIpv4(text)) return ipv4ToBytes(text)
  return ipv6Bytes(text)
}

/** True for an address ipAddressBytes accepts. */
export function isIpAddress (text: string): boolean {
  return ipAddressBytes(text) !== undefined
}

/**
 * RFC 4291 §2.2: eight groups of 1–4 hex digits, one `::` for a run of zero groups, and an
 * optional dotted-quad tail (::ffff:10.0.0.1) standing for the last two. No zone id (fe80::1%eth0):
 * a zone is local to one host and has no place in a certificate.
 */
function ipv6Bytes (text: string): Buffer | undefined {
  if (text.length > 45 || !text.includes(':')) return undefined
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const head = groups(halves[0] ?? '', halves.length === 1)
  const tail = halves.length === 2 ? groups(halves[1] ?? '', true) : []
  if (head === undefined || tail === undefined) return undefined
  const given = head.length + tail.length
  if (halves.length === 1 ? given !== 8 : given > 7) return undefined
  const all = [...head, ...new Array<number>(8 - given).fill(0), ...tail]
  const out = Buffer.alloc(16)
  all.forEach((g, i) => out.writeUInt16BE(g, 2 * i))
  return out
}

/** The 16-bit groups of one side of `::` (an empty side has none); the IPv4 tail only where `last`. */
function groups (side: string, last: boolean): number[] | undefined {
  if (side === '') return []
  const parts = side.split(':')
  const out: number[] = []
  for (const [i, part] of parts.entries()) {
    if (last && i === parts.length - 1 && isIpv4(part)) {
      const v4 = ipv4ToBytes(part)
      out.push(v4.readUInt16BE(0), v4.readUInt16BE(2))
    } else if (HEX_GROUP.test(part)) {
      out.push(parseInt(part, 16))
    } else {
      return undefined
    }
  }
  return out
}
