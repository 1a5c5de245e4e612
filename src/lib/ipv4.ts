import { CodedError } from './errors.ts'

const IPV4_RE = /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/

export function isIpv4 (text: string): boolean {
  return IPV4_RE.test(text)
}

/**
 * Dotted quad to an unsigned 32-bit number. Hand-parsed (no regex, no split): DHCP converts a
 * handful of addresses per packet. Accepts exactly what IPV4_RE accepts: four decimal parts of
 * 0-255 without leading zeros.
 */
export function ipv4ToInt (text: string): number {
  let value = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (c === 46) { // '.'
      if (digits === 0 || dots === 3) return invalidIpv4(text)
      value = value * 256 + part
      part = 0
      digits = 0
      dots++
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return invalidIpv4(text) // leading zero
      part = part * 10 + (c - 48)
      if (part > 255) return invalidIpv4(text)
      digits++
    } else {
      return invalidIpv4(text)
    }
  }
  if (dots !== 3 || digits === 0) return invalidIpv4(text)
  return value * 256 + part
}

function invalidIpv4 (text: string): never {
  throw new CodedError('ERR_INVALID_IPV4', `not an IPv4 address: ${JSON.stringify(text)}`)
}

export function intToIpv4 (n: number): string {
  return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
}

export function ipv4ToBytes (text: string): Buffer {
  const b = Buffer.allocUnsafe(4)
  b.writeUInt32BE(ipv4ToInt(text), 0)
  return b
}

export function bytesToIpv4 (b: Uint8Array, offset = 0): string {
  return `${b[offset]}.${b[offset + 1]}.${b[offset + 2]}.${b[offset + 3]}`
}

/** A parsed CIDR block: network address, prefix length and netmask as integers. */
export type Cidr = { readonly network: number, readonly prefix: number, readonly mask: number }

export function parseCidr (text: string): Cidr {
  const [addr, len, extra] = text.split('/')
  const prefix = Number(len)
  if (addr === undefined || extra !== undefined || !Number.isInteger(prefix) || prefix < 0 || prefix > 32 || !isIpv4(addr)) {
    throw new CodedError('ERR_INVALID_CIDR', `not an IPv4 CIDR block: ${JSON.stringify(text)}`)
  }
  const mask = prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0
  return { network: (ipv4ToInt(addr) & mask) >>> 0, prefix, mask }
}

export function cidrContains (cidr: Cidr, ip: number): boolean {
  return ((ip & cidr.mask) >>> 0) === cidr.network
}

export function broadcastOf (cidr: Cidr): number {
  return (cidr.network | (~cidr.mask >>> 0)) >>> 0
}

/** "a.b.c.d-e.f.g.h" to an inclusive integer range. */
export function parseRange (text: string): { start: number, end: number } {
  const [a, b, extra] = text.split('-').map(s => s.trim())
  if (a === undefined || b === undefined || extra !== undefined || !isIpv4(a) || !isIpv4(b)) {
    throw new CodedError('ERR_INVALID_RANGE', `not an IPv4 range (a.b.c.d-e.f.g.h): ${JSON.stringify(text)}`)
  }
  const start = ipv4ToInt(a)
  const end = ipv4ToInt(b)
  if (end < start) throw new CodedError('ERR_INVALID_RANGE', `range ends before it starts: ${text}`)
  return { start, end }
}
