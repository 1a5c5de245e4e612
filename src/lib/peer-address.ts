import { isIpv4 } from './ipv4.ts'

/**
 * An IP address in one canonical text form, so two spellings of one address compare equal:
 * IPv4 as dotted quad; IPv4-mapped IPv6 (`::ffff:10.77.0.5`, RFC 4291 §2.5.5.2) as the IPv4
 * address; other IPv6 in the RFC 5952 §4 form (lower case, longest zero run as `::`), without a
 * zone. Undefined for anything that is not an IP address.
 */
export function normalizeIp (text: string): string | undefined {
  const t = text.trim().toLowerCase().replace(/%.*$/, '')
  if (isIpv4(t)) return t
  const groups = parseIpv6(t)
  if (groups === undefined) return undefined
  if (groups.slice(0, 5).every(g => g === 0) && groups[5] === 0xffff) {
    const [hi = 0, lo = 0] = groups.slice(6)
    return [hi >> 8, hi & 0xff, lo >> 8, lo & 0xff].join('.')
  }
  return compressIpv6(groups)
}

/** The eight 16-bit groups of an IPv6 address in RFC 4291 §2.2 text form, or undefined. */
function parseIpv6 (t: string): number[] | undefined {
  const halves = t.split('::')
  if (halves.length > 2) return undefined
  const parse = (part: string, last: boolean): number[] | undefined => {
    if (part === '') return []
    const out: number[] = []
    const pieces = part.split(':')
    for (const [i, piece] of pieces.entries()) {
      if (last && i === pieces.length - 1 && piece.includes('.')) {
        if (!isIpv4(piece)) return undefined
        const [a = 0, b = 0, c = 0, d = 0] = piece.split('.').map(Number)
        out.push((a << 8) | b, (c << 8) | d)
      } else if (/^[0-9a-f]{1,4}$/.test(piece)) {
        out.push(parseInt(piece, 16))
      } else {
        return undefined
      }
    }
    return out
  }
  const head = parse(halves[0] ?? '', halves.length === 1)
  const tail = halves.length === 2 ? parse(halves[1] ?? '', true) : []
  if (head === undefined || tail === undefined) return undefined
  if (halves.length === 1) return head.length === 8 ? head : undefined
  const zeros = 8 - head.length - tail.length
  return zeros >= 1 ? [...head, ...Array<number>(zeros).fill(0), ...tail] : undefined
}

/** RFC 5952 §4.2: the longest run of two or more zero groups (the first of equals) becomes `::`. */
function compressIpv6 (groups: readonly number[]): string {
  let best = { at: -1, len: 0 }
  for (let i = 0; i < groups.length;) {
    if (groups[i] !== 0) { i++; continue }
    let j = i
    while (j < groups.length && groups[j] === 0) j++
    if (j - i > best.len && j - i >= 2) best = { at: i, len: j - i }
    i = j
  }
  const hex = groups.map(g => g.toString(16))
  if (best.at < 0) return hex.join(':')
  return `${hex.slice(0, best.at).join(':')}::${hex.slice(best.at + best.len).join(':')}`
}

/**
 * The remote IP address in a transport's peer string, or undefined when there is none to trust.
 * grpc-js gives `${remoteAddress}:${remotePort}` (IPv6 unbracketed: `::ffff:10.77.0.5:43210`),
 * gRPC core `ipv4:10.77.0.5:43210` / `ipv6:[::1]:43210`, others `[::1]:43210` or a bare address.
 * An unbracketed IPv6 with a port is ambiguous (`2001:db8::1:443` is itself an address), so the
 * grpc-js form wins: a trailing `:digits` after a valid address is the port.
 */
export function peerAddress (peer: string): string | undefined {
  const s = peer.trim().replace(/^ipv[46]:/i, '')
  if (s.startsWith('[')) {
    const end = s.indexOf(']')
    if (end < 0) return undefined
    const rest = s.slice(end + 1)
    if (rest !== '' && !/^:\d{1,5}$/.test(rest)) return undefined
    return normalizeIp(s.slice(1, end))
  }
  const colons = s.split(':').length - 1
  if (colons === 0) return normalizeIp(s)
  const withPort = /^(.*):(\d{1,5})$/.exec(s)
  const host = withPort?.[1] === undefined ? undefined : normalizeIp(withPort[1])
  if (host !== undefined) return host
  // One colon and no address before it: a host name or garbage, never an address.
  return colons === 1 ? undefined : normalizeIp(s)
}
