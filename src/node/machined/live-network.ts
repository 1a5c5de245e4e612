/**
 * Changing a running node's network from one config's plan to another's (network-plan.ts), as argv
 * lists for busybox `ip` and `udhcpc`. Pure. The order keeps the node reachable when it can: the
 * new VLANs, links and addresses come first, then DHCP and the new routes (`ip route replace`, so
 * a default route moves to its new gateway without a moment with none), and only then are the old
 * routes, addresses and VLANs removed. A caller connected to an old address loses that connection
 * at the very end, and reaches the node at its new address. Addresses a DHCP lease gave are not
 * touched (they lapse with the lease).
 */
import { udhcpcArgv, type Argv, type NetworkPlan } from './network-plan.ts'

export type LiveNetworkSteps = {
  /** Before DHCP: VLANs added, links set (mtu, up), new addresses added. */
  readonly add: readonly Argv[]
  /** udhcpc for the links that take DHCP now and did not before. */
  readonly dhcp: readonly Argv[]
  /** After DHCP: routes replaced or added, then old routes, old addresses and old VLANs removed. */
  readonly settle: readonly Argv[]
}

const key = (argv: Argv): string => argv.join('\u0000')
const isAddr = (a: Argv): boolean => a[0] === 'ip' && a.includes('addr')
const isVlanAdd = (a: Argv): boolean => a[0] === 'ip' && a[1] === 'link' && a[2] === 'add'

/** `ip … route add TO …` as its route's identity: family, destination, device and metric (not the gateway). */
function routeId (a: Argv): string {
  const at = (word: string): string => { const i = a.indexOf(word); return i < 0 ? '' : a[i + 1] ?? '' }
  return [a[1], a[a.indexOf('add') + 1], at('dev'), at('metric')].join(' ')
}

const replaceWord = (a: Argv, from: string, to: string): Argv => {
  const i = a.indexOf(from)
  return a.map((w, j) => j === i ? to : w) as unknown as Argv
}

/** The steps from the network `before` set up to the one `after` asks for. */
export function liveNetworkSteps (before: NetworkPlan, after: NetworkPlan): LiveNetworkSteps {
  const had = new Set(before.setup.map(key))
  const wants = new Set(after.setup.map(key))
  const add: Argv[] = []
  // VLANs first (their links are set and addressed next), then mtu and up (idempotent), then the new addresses.
  for (const a of after.setup) if (isVlanAdd(a) && !had.has(key(a))) add.push(a)
  for (const a of after.setup) if (!isVlanAdd(a) && !isAddr(a)) add.push(a)
  for (const a of after.setup) if (isAddr(a) && !had.has(key(a))) add.push(a)
  const dhcp = after.dhcp.filter(l => !before.dhcp.includes(l)).map(udhcpcArgv)
  const settle: Argv[] = []
  const oldRoutes = new Set(before.routes.map(key))
  for (const r of after.routes) if (!oldRoutes.has(key(r))) settle.push(replaceWord(r, 'add', 'replace'))
  const kept = new Set(after.routes.map(routeId))
  for (const r of before.routes) if (!kept.has(routeId(r))) settle.push(replaceWord(r, 'add', 'del'))
  for (const a of before.setup) if (isAddr(a) && !wants.has(key(a))) settle.push(replaceWord(a, 'add', 'del'))
  for (const a of before.setup) {
    if (isVlanAdd(a) && !wants.has(key(a))) settle.push(['ip', 'link', 'del', 'dev', a[a.indexOf('name') + 1] ?? ''])
  }
  return { add, dhcp, settle }
}
