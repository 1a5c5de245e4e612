import { isIpv4, ipv4ToInt } from '../lib/ipv4.ts'

// IPv4 and IPv6 addresses as one value type (family + 128-bit integer), so that subnet checks are
// one comparison whatever the family. src/lib/ipv4.ts stays the IPv4 codec the DHCP path uses.

/** An IP address: its family and its value as an unsigned integer (32 or 128 bits). */
export type IpAddress = { readonly family: 4 | 6, readonly value: bigint }
/** An address with a prefix length: an interface address (host bits set) or a network. */
export type IpPrefix = { readonly ip: IpAddress, readonly prefix: number }

const HEX_GROUP = /^[0-9a-fA-F]{1,4}$/

/** RFC 4291 §2.2 text forms 1 and 2 (no embedded dotted quad, no zone): eight groups, one `::`. */
function parseIpv6 (text: string): bigint | undefined {
  const halves = text.split('::')
  if (halves.length > 2) return undefined
  const groups = (s: string): string[] => s === '' ? [] : s.split(':')
  const head = groups(halves[0] as string)
  const tail = halves.length === 2 ? groups(halves[1] as string) : []
  const missing = 8 - head.length - tail.length
  if (halves.length === 1 ? missing !== 0 : missing < 1) return undefined
  let value = 0n
  for (const g of [...head, ...Array<string>(halves.length === 2 ? missing : 0).fill('0'), ...tail]) {
    if (!HEX_GROUP.test(g)) return undefined
    value = (value << 16n) | BigInt(parseInt(g, 16))
  }
  return value
}

/** Parses an IPv4 dotted quad (no leading zeros) or an IPv6 address; undefined when neither. */
export function parseIp (text: string): IpAddress | undefined {
  if (isIpv4(text)) return { family: 4, value: BigInt(ipv4ToInt(text)) }
  if (!text.includes(':') || text.length > 39) return undefined
  const value = parseIpv6(text)
  return value === undefined ? undefined : { family: 6, value }
}

/** Canonical text: dotted quad, or RFC 5952 §4 (lower case, no leading zeros, longest zero run as `::`). */
export function formatIp (ip: IpAddress): string {
  if (ip.family === 4) {
    const n = Number(ip.value)
    return `${(n >>> 24) & 255}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`
  }
  const groups = Array.from({ length: 8 }, (_, i) => Number((ip.value >> BigInt(112 - 16 * i)) & 0xffffn))
  let best = { at: -1, len: 0 }
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < 8 && groups[j] === 0) j++
    if (j - i > best.len) best = { at: i, len: j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (best.len < 2) return hex.join(':') // §4.2.2: a single zero group is not shortened
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`
}

/** Bits in an address of this family. */
export function bitsOf (family: 4 | 6): number {
  return family === 4 ? 32 : 128
}

/** "address/prefix" of either family; undefined when it is not one. */
export function parsePrefix (text: string): IpPrefix | undefined {
  const slash = text.indexOf('/')
  if (slash < 0) return undefined
  const ip = parseIp(text.slice(0, slash))
  const len = text.slice(slash + 1)
  if (ip === undefined || !/^(0|[1-9]\d{0,2})$/.test(len)) return undefined
  const prefix = Number(len)
  return prefix <= bitsOf(ip.family) ? { ip, prefix } : undefined
}

/** The netmask of a prefix as an integer of its family's width. */
function maskOf (family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family))
  return ((1n << bits) - 1n) ^ ((1n << (bits - BigInt(prefix))) - 1n)
}

/** The network a prefix lies in (host bits cleared). */
export function networkOf (p: IpPrefix): IpAddress {
  return { family: p.ip.family, value: p.ip.value & maskOf(p.ip.family, p.prefix) }
}

/** The IPv4 broadcast address of a prefix (all host bits set). */
export function broadcastOf (p: IpPrefix): IpAddress {
  const all = (1n << BigInt(bitsOf(p.ip.family))) - 1n
  return { family: p.ip.family, value: networkOf(p).value | (all ^ maskOf(p.ip.family, p.prefix)) }
}

/** True when `ip` lies inside the subnet of `p` (same family, same network bits). */
export function prefixContains (p: IpPrefix, ip: IpAddress): boolean {
  if (ip.family !== p.ip.family) return false
  const mask = maskOf(ip.family, p.prefix)
  return (ip.value & mask) === (p.ip.value & mask)
}

/** Canonical "address/prefix" text. */
export function formatPrefix (p: IpPrefix): string {
  return `${formatIp(p.ip)}/${p.prefix}`
}
