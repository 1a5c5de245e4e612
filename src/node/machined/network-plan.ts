/**
 * What applying a machine config's network means, as argv lists for busybox `ip` and `udhcpc`
 * (run with execFile, never a shell: nothing from the config is ever parsed by sh). Pure: the
 * caller lists the NICs (/sys/class/net) and runs the plan in its phases:
 *
 *   links   each selected NIC (and its VLANs): mtu, up, static addresses
 *   dhcp    one udhcpc per DHCP link, in parallel (blocking until a lease or its tries run out)
 *   routes  after the addresses exist (a gateway must be on-link when its route is added)
 *
 * NICs are selected as network-schema.ts says: by MAC, or by a kernel-name pattern (`*` matches
 * any run) that exactly one NIC must match. A selector that matches nothing is a problem the
 * caller reports; the other interfaces are still set up.
 */
import type { MachineConfig } from '../../machine-config/schema.ts'

/** A NIC as sysfs lists it. */
export type Link = { readonly name: string, readonly mac: string }

export type Argv = readonly [string, ...string[]]

export type NetworkPlan = {
  /** The kernel names the config selected (NICs and VLAN links): their addresses go into the report. */
  readonly links: readonly string[]
  readonly setup: readonly Argv[]
  readonly dhcp: readonly string[]
  readonly routes: readonly Argv[]
  /** /run/resolv.conf's text when the config names resolvers or search domains (else DHCP's stands). */
  readonly resolvConf: string | undefined
  readonly problems: readonly string[]
}

type Net = MachineConfig['network']
type Addressed = { readonly dhcp: boolean, readonly addresses: readonly string[], readonly routes: Net['interfaces'][number]['routes'], readonly mtu?: number | undefined }

/** Where busybox udhcpc's event script is in the node's root. */
export const UDHCPC_SCRIPT = '/usr/lib/anvil/udhcpc.script'
/** DISCOVERs udhcpc sends before it gives up (-t), 2 s apart (-T). */
const DHCP_TRIES = 10
/** IFNAMSIZ - 1: the longest kernel interface name. */
const MAX_IFNAME = 15

/** The plan for `net` on a machine with `links`. */
export function planNetwork (net: Net, links: readonly Link[]): NetworkPlan {
  const setup: Argv[] = []
  const routes: Argv[] = []
  const dhcp: string[] = []
  const selected: string[] = []
  const problems: string[] = []
  net.interfaces.forEach((iface, i) => {
    const link = select(iface, links)
    if (typeof link === 'string') {
      problems.push(`network.interfaces[${i}]: ${link}`)
      return
    }
    selected.push(link.name)
    addressLink(link.name, iface, setup, routes, dhcp)
    for (const vlan of iface.vlans) {
      const suffix = `.${vlan.id}`
      const name = link.name.slice(0, MAX_IFNAME - suffix.length) + suffix
      setup.push(['ip', 'link', 'add', 'link', link.name, 'name', name, 'type', 'vlan', 'id', String(vlan.id)])
      selected.push(name)
      addressLink(name, vlan, setup, routes, dhcp)
    }
  })
  const resolvConf = net.nameservers.length === 0 && net.searchDomains.length === 0
    ? undefined
    : [...(net.searchDomains.length > 0 ? [`search ${net.searchDomains.join(' ')}`] : []), ...net.nameservers.map(s => `nameserver ${s}`)].join('\n') + '\n'
  return { links: selected, setup, dhcp, routes, resolvConf, problems }
}

function select (iface: Net['interfaces'][number], links: readonly Link[]): Link | string {
  if (iface.mac !== undefined) {
    return links.find(l => l.mac.toLowerCase() === iface.mac) ?? `no NIC has MAC ${iface.mac}`
  }
  const pattern = iface.name ?? ''
  const re = new RegExp(`^${pattern.split('*').map(p => p.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`)
  const matches = links.filter(l => re.test(l.name))
  if (matches.length === 1 && matches[0] !== undefined) return matches[0]
  return matches.length === 0 ? `no NIC is named like ${pattern}` : `${matches.length} NICs match ${pattern} (${matches.map(l => l.name).join(', ')}): exactly one must`
}

function addressLink (name: string, link: Addressed, setup: Argv[], routes: Argv[], dhcp: string[]): void {
  if (link.mtu !== undefined) setup.push(['ip', 'link', 'set', 'dev', name, 'mtu', String(link.mtu)])
  setup.push(['ip', 'link', 'set', 'dev', name, 'up'])
  if (link.dhcp) dhcp.push(name)
  for (const a of link.addresses) setup.push(['ip', ...family(a), 'addr', 'add', a, 'dev', name])
  for (const r of link.routes) {
    const to = r.to.endsWith('/0') ? 'default' : r.to
    routes.push(['ip', ...family(r.to), 'route', 'add', to, ...(r.via === undefined ? [] : ['via', r.via]), 'dev', name, ...(r.metric === undefined ? [] : ['metric', String(r.metric)])])
  }
}

const family = (cidr: string): string[] => cidr.includes(':') ? ['-6'] : ['-4']

/** busybox udhcpc for one link: foreground, exit when no lease (-n), quit once bound (-q). */
export function udhcpcArgv (link: string): Argv {
  return ['udhcpc', '-i', link, '-n', '-q', '-t', String(DHCP_TRIES), '-T', '2', '-s', UDHCPC_SCRIPT]
}
