import { z } from 'zod'
import { isMac, normalizeMac } from '../lib/mac.ts'
import { broadcastOf, formatIp, formatPrefix, networkOf, parseIp, parsePrefix, prefixContains, type IpPrefix } from './ip.ts'
import { dnsNameProblem, interfacePatternProblem, show } from './names.ts'

// network: the machine's links. Every interface is selected by its MAC or a name pattern, never
// by a bare kernel name it might not get (predictable names change with firmware and slots).
// Bonds are not in v1alpha1; VLANs are, with the same addressing rules as their parent.

/** An IP address of either family, canonical (RFC 5952 for IPv6). */
export const ipAddress = z.string().transform((v, ctx) => {
  const ip = parseIp(v)
  if (ip !== undefined) return formatIp(ip)
  ctx.addIssue({ code: 'custom', message: `${show(v)} is not an IP address` })
  return z.NEVER
})

function cidrHint (v: string): string {
  const ip = parseIp(v)
  if (ip !== undefined) return `${v} is not a CIDR (${v}/${ip.family === 4 ? 24 : 64})`
  return `${show(v)} is not a CIDR (address/prefix, e.g. 10.0.0.5/24 or 2001:db8::5/64)`
}

/** An interface address with its prefix length ("10.0.0.5/24"), canonical. */
const interfaceAddress = z.string().transform((v, ctx) => {
  const p = parsePrefix(v)
  if (p === undefined) {
    ctx.addIssue({ code: 'custom', message: cidrHint(v) })
    return z.NEVER
  }
  // RFC 3021: /31 and /32 have no network or broadcast address; shorter IPv4 prefixes have both.
  if (p.ip.family === 4 && p.prefix <= 30) {
    const net = formatPrefix({ ip: networkOf(p), prefix: p.prefix })
    if (p.ip.value === networkOf(p).value) ctx.addIssue({ code: 'custom', message: `${v} is the network address of ${net}; use a host address` })
    if (p.ip.value === broadcastOf(p).value) ctx.addIssue({ code: 'custom', message: `${v} is the broadcast address of ${net}; use a host address` })
  }
  return formatPrefix(p)
})

/** A destination network ("10.1.0.0/16", "0.0.0.0/0"): no host bits set. */
const destination = z.string().transform((v, ctx) => {
  const p = parsePrefix(v)
  if (p === undefined) {
    ctx.addIssue({ code: 'custom', message: `${show(v)} is not a network in CIDR notation (e.g. 10.1.0.0/16, or 0.0.0.0/0 and ::/0 for the default route)` })
    return z.NEVER
  }
  const network = { ip: networkOf(p), prefix: p.prefix }
  if (network.ip.value !== p.ip.value) ctx.addIssue({ code: 'custom', message: `${v} has host bits set: the network is ${formatPrefix(network)}` })
  return formatPrefix(p)
})

const macAddress = z.string().transform((v, ctx) => {
  if (!isMac(v)) {
    ctx.addIssue({ code: 'custom', message: `${show(v)} is not a MAC address (e.g. 52:54:00:12:34:56)` })
    return z.NEVER
  }
  const mac = normalizeMac(v)
  // IEEE 802 §8.2: the low bit of the first octet marks a group address; no NIC owns one.
  if ((parseInt(mac.slice(0, 2), 16) & 1) === 1) ctx.addIssue({ code: 'custom', message: `${mac} is a multicast address; a NIC's own address is unicast` })
  return mac
})

const interfacePattern = z.string().superRefine((v, ctx) => {
  const problem = interfacePatternProblem(v)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${show(v)} ${problem}` })
})

/** A DNS domain (search list entry). */
export const domainName = z.string().transform((v, ctx) => {
  const problem = dnsNameProblem(v)
  if (problem === undefined) return v.toLowerCase()
  ctx.addIssue({ code: 'custom', message: `${show(v)} ${problem}` })
  return z.NEVER
})

const route = z.strictObject({
  /** Destination network in CIDR notation; 0.0.0.0/0 (or ::/0) is the default route. */
  to: destination,
  /** The gateway: an address inside one of this link's subnets. Absent: the destination is on-link. */
  via: ipAddress.optional(),
  /** Route priority, lower preferred (Linux: 0-4294967295). Absent: the kernel's default for the family. */
  metric: z.int().min(0).max(4294967295).optional()
})

/** Keys shared by an interface and a VLAN on it: how the link is addressed and routed. */
const linkShape = {
  /** Addresses, routes and DNS from DHCPv4. Exclusive with `addresses`. */
  dhcp: z.boolean().default(false),
  /** Static addresses in CIDR notation (address/prefix), IPv4 or IPv6; required when `dhcp` is false. */
  addresses: z.array(interfaceAddress).max(32).default([]),
  /** Static routes through this link. */
  routes: z.array(route).max(64).default([]),
  /** Maximum transmission unit in bytes, 68-65535 (9000 for jumbo frames). Absent: the driver's default. */
  mtu: z.int().min(68).max(65535).optional()
}

/** What a refinement sees: keys may be missing or still invalid when another key failed. */
type RawLink = { dhcp?: unknown, addresses?: unknown, routes?: unknown, mtu?: unknown, vlans?: unknown, mac?: unknown, name?: unknown }

/** A refinement's value as an object, or undefined when the input was not one (zod reported that already). */
function record (v: unknown): RawLink | undefined {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? v as RawLink : undefined
}

function list (v: unknown): unknown[] {
  return Array.isArray(v) ? v : []
}

function prefixesOf (link: RawLink): IpPrefix[] {
  return list(link.addresses).flatMap(a => typeof a === 'string' ? (parsePrefix(a) ?? []) : [])
}

/** DHCP xor addresses; gateways inside the link's subnets; no duplicate routes; IPv6's minimum MTU. */
function checkLink (link: RawLink, ctx: z.RefinementCtx, carriesVlans: boolean): void {
  const prefixes = prefixesOf(link)
  const addresses = list(link.addresses)
  if (link.dhcp === true && addresses.length > 0) {
    ctx.addIssue({ code: 'custom', path: ['addresses'], message: 'dhcp: true takes the addresses from DHCP; remove addresses, or set dhcp: false for a static interface' })
  }
  if (link.dhcp !== true && addresses.length === 0 && !carriesVlans) {
    ctx.addIssue({ code: 'custom', path: ['addresses'], message: 'a static interface (dhcp: false) needs at least one address, e.g. 10.0.0.5/24; or set dhcp: true' })
  }
  const seen = new Map<string, number>()
  list(link.routes).forEach((r, i) => {
    if (r === null || typeof r !== 'object') return
    const { to, via, metric } = r as { to?: unknown, via?: unknown, metric?: unknown }
    const key = `${String(to)} ${String(metric)}`
    const first = seen.get(key)
    if (typeof to === 'string' && first !== undefined) {
      ctx.addIssue({ code: 'custom', path: ['routes', i], message: `duplicate route to ${to}${metric === undefined ? '' : ` (metric ${String(metric)})`}: routes[${first}] has it` })
    }
    seen.set(key, first ?? i)
    // With an address already refused, "outside every subnet" would only repeat that issue.
    if (typeof via === 'string' && prefixes.length === addresses.length) checkGateway(via, typeof to === 'string' ? to : undefined, link, prefixes, (message) => { ctx.addIssue({ code: 'custom', path: ['routes', i, 'via'], message }) })
  })
  if (typeof link.mtu === 'number' && link.mtu < 1280 && prefixes.some(p => p.ip.family === 6)) {
    ctx.addIssue({ code: 'custom', path: ['mtu'], message: `${link.mtu} is below 1280, the minimum MTU of a link with IPv6 addresses (RFC 8200 §5)` })
  }
}

function checkGateway (via: string, to: string | undefined, link: RawLink, prefixes: IpPrefix[], report: (message: string) => void): void {
  const gw = parseIp(via)
  if (gw === undefined) return
  const dest = to === undefined ? undefined : parsePrefix(to)
  if (dest !== undefined && dest.ip.family !== gw.family) {
    report(`${via} is IPv${gw.family} but the destination ${to as string} is IPv${dest.ip.family}`)
    return
  }
  if (prefixes.some(p => p.ip.value === gw.value && p.ip.family === gw.family)) {
    report(`${via} is this interface's own address; the gateway is another host on its subnet`)
    return
  }
  if (prefixes.some(p => prefixContains(p, gw))) return
  if (link.dhcp === true) {
    report(`${via} cannot be checked against a DHCP interface's subnet, which is known only at run time; route via a gateway on a static interface, or omit via for an on-link route`)
    return
  }
  const subnets = prefixes.filter(p => p.ip.family === gw.family).map(p => formatPrefix({ ip: networkOf(p), prefix: p.prefix }))
  report(`${via} is outside every subnet of this interface${subnets.length === 0 ? ` (it has no IPv${gw.family} address)` : ` (${subnets.join(', ')})`}: a gateway must be reachable on the link`)
}

const vlan = z.strictObject({
  /** 802.1Q VLAN ID, 1-4094 (0 and 4095 are reserved, IEEE 802.1Q §9.6). */
  id: z.int().min(1).max(4094),
  ...linkShape
}).superRefine((v, ctx) => {
  const link = record(v)
  if (link !== undefined) checkLink(link, ctx, false)
}, { when: () => true })

const networkInterface = z.strictObject({
  /** Selects the NIC by its MAC address (any of aa:bb:.., aa-bb-.., aabb..; stored lower-case with colons). Exclusive with `name`. */
  mac: macAddress.optional(),
  /** Selects the NIC by its kernel name, `*` matching any run (e.g. `enp*s0`); exactly one NIC must match. Exclusive with `mac`. */
  name: interfacePattern.optional(),
  ...linkShape,
  /** 802.1Q VLANs carried by this interface, each addressed like an interface. */
  vlans: z.array(vlan).max(64).default([])
}).superRefine((v, ctx) => {
  const iface = record(v)
  if (iface !== undefined) checkInterface(iface, ctx)
}, { when: () => true })

function checkInterface (iface: RawLink, ctx: z.RefinementCtx): void {
  if (iface.mac !== undefined && iface.name !== undefined) {
    ctx.addIssue({ code: 'custom', path: ['name'], message: 'select the interface by mac or by name, not both' })
  } else if (iface.mac === undefined && iface.name === undefined) {
    ctx.addIssue({ code: 'custom', path: [], message: 'select the interface by mac (its MAC address) or by name (a kernel name pattern such as enp*)' })
  }
  const vlans = list(iface.vlans)
  checkLink(iface, ctx, vlans.length > 0)
  const ids = new Map<unknown, number>()
  vlans.forEach((v, i) => {
    if (v === null || typeof v !== 'object') return
    const { id, mtu } = v as { id?: unknown, mtu?: unknown }
    const first = ids.get(id)
    if (typeof id === 'number' && first !== undefined) ctx.addIssue({ code: 'custom', path: ['vlans', i, 'id'], message: `VLAN ${id} is already vlans[${first}]` })
    if (first === undefined) ids.set(id, i)
    if (typeof mtu === 'number' && typeof iface.mtu === 'number' && mtu > iface.mtu) {
      ctx.addIssue({ code: 'custom', path: ['vlans', i, 'mtu'], message: `${mtu} is larger than the parent interface's mtu ${iface.mtu}` })
    }
  })
}

/** Reports each value that repeats an earlier one, at its own path, naming the first. */
function noDuplicates (ctx: z.RefinementCtx, entries: readonly { key: string, path: (string | number)[], what: string }[]): void {
  const seen = new Map<string, (string | number)[]>()
  for (const e of entries) {
    const first = seen.get(e.key)
    if (first === undefined) seen.set(e.key, e.path)
    else ctx.addIssue({ code: 'custom', path: e.path, message: `${e.what} is already at network.${formatRelative(first)}` })
  }
}

function formatRelative (path: readonly (string | number)[]): string {
  return path.map((p, i) => typeof p === 'number' ? `[${p}]` : (i === 0 ? p : `.${p}`)).join('')
}

/** Selectors, addresses and resolvers are unique across the whole network section. */
function checkNetwork (net: { interfaces?: unknown, nameservers?: unknown, searchDomains?: unknown }, ctx: z.RefinementCtx): void {
  const interfaces = list(net.interfaces).map(i => record(i) ?? {})
  noDuplicates(ctx, interfaces.flatMap((iface, i) => typeof iface.mac === 'string' ? [{ key: iface.mac, path: ['interfaces', i, 'mac'], what: `${iface.mac}` }] : []))
  noDuplicates(ctx, interfaces.flatMap((iface, i) => typeof iface.name === 'string' ? [{ key: iface.name, path: ['interfaces', i, 'name'], what: `${show(iface.name)}` }] : []))
  const addresses = interfaces.flatMap((iface, i) => [
    ...addressEntries(iface, ['interfaces', i]),
    ...list(iface.vlans).flatMap((v, j) => addressEntries(record(v) ?? {}, ['interfaces', i, 'vlans', j]))
  ])
  noDuplicates(ctx, addresses)
  noDuplicates(ctx, list(net.nameservers).flatMap((s, i) => typeof s === 'string' ? [{ key: s, path: ['nameservers', i], what: s }] : []))
  noDuplicates(ctx, list(net.searchDomains).flatMap((s, i) => typeof s === 'string' ? [{ key: s.toLowerCase(), path: ['searchDomains', i], what: s }] : []))
}

function addressEntries (link: RawLink, at: (string | number)[]): { key: string, path: (string | number)[], what: string }[] {
  return list(link.addresses).flatMap((a, k) => {
    const p = typeof a === 'string' ? parsePrefix(a) : undefined
    return p === undefined ? [] : [{ key: formatIp(p.ip), path: [...at, 'addresses', k], what: `address ${formatIp(p.ip)}` }]
  })
}

/** The `network` section. */
export const networkSchema = z.strictObject({
  /** The machine's interfaces, each selected by `mac` or `name`; at least one. */
  interfaces: z.array(networkInterface).min(1).max(32),
  /** DNS resolvers (IP addresses), at most 3: glibc reads no more (resolv.conf(5) MAXNS). */
  nameservers: z.array(ipAddress).max(3).default([]),
  /** DNS search domains, at most 6 (resolv.conf(5)). */
  searchDomains: z.array(domainName).max(6).default([])
}).superRefine((v, ctx) => {
  const net = record(v)
  if (net !== undefined) checkNetwork(net as { interfaces?: unknown, nameservers?: unknown, searchDomains?: unknown }, ctx)
}, { when: () => true })
