import { randomInt } from 'node:crypto'
import { run, tryRun } from './proc.ts'

/** The lab's fixed addressing inside its namespace (docs/lab.md). */
export const LAB_NET = {
  bridge: 'br0',
  serverAddress: '10.77.0.1',
  prefixLength: 24,
  subnet: '10.77.0.0/24',
  ipv6: 'fd77::1/64',
  /** The "site" DHCP server (proxy mode) and a test client, each in a namespace on the bridge. */
  siteAddress: '10.77.0.2',
  clientAddress: '10.77.0.3'
} as const

/** The veth pair that lets the host reach the admin API inside the namespace. */
export type HostLink = {
  /** Interface name on the host side (at most 15 characters). */
  readonly hostIf: string
  readonly hostAddress: string
  readonly nsAddress: string
}

/** Undo steps, run in reverse order; every step runs even when an earlier one fails. */
export class Teardown {
  #steps: Array<{ what: string, fn: () => Promise<unknown> }> = []

  push (what: string, fn: () => Promise<unknown>): void {
    this.#steps.push({ what, fn })
  }

  /** Runs all steps in reverse; returns what failed (empty when everything was undone). */
  async run (): Promise<string[]> {
    const failures: string[] = []
    for (const step of this.#steps.reverse()) {
      try {
        await step.fn()
      } catch (err) {
        failures.push(`${step.what}: ${(err as Error).message}`)
      }
    }
    this.#steps = []
    return failures
  }
}

/** Every network namespace on the host, by name. */
export async function listNamespaces (): Promise<string[]> {
  const out = await run(['ip', 'netns', 'list'])
  return out.split('\n').map(l => l.split(' ')[0] ?? '').filter(n => n.length > 0)
}

/** A fresh namespace name for tests: <prefix>-<6 hex> (anvlab by default), never the interactive lab's "rack". */
export function testNamespaceName (prefix = 'anvlab'): string {
  return `${prefix}-${randomInt(0, 0xffffff).toString(16).padStart(6, '0')}`
}

/**
 * Picks a host-side /30 for the API link: 10.77.255.0/30 for the interactive lab, a random free
 * one of 10.77.255.4/30 … 10.77.255.252/30 for tests, so a test and a running lab never share it.
 */
export async function chooseHostLink (ns: string): Promise<HostLink> {
  if (ns === 'rack') return { hostIf: 'rack-api', hostAddress: '10.77.255.1', nsAddress: '10.77.255.2' }
  const used = await run(['ip', '-4', '-o', 'addr', 'show'])
  for (let attempt = 0; attempt < 50; attempt++) {
    const base = 4 * randomInt(1, 64)
    if (used.includes(`10.77.255.${base + 1}/`)) continue
    return { hostIf: `av-${ns.slice(-6)}`, hostAddress: `10.77.255.${base + 1}`, nsAddress: `10.77.255.${base + 2}` }
  }
  throw new Error('no free 10.77.255.x/30 for the API link')
}

/**
 * Creates the namespace with lo up and the bridge br0 (10.77.0.1/24, fd77::1/64, STP off, forward
 * delay 0 so a new tap forwards at once), a route that sends 255.255.255.255 out of br0 (DHCP replies
 * to clients without an address), and the host↔namespace veth for the admin API.
 */
export async function createRackNetwork (ns: string, link: HostLink, teardown: Teardown): Promise<void> {
  const { bridge } = LAB_NET
  await run(['ip', 'netns', 'add', ns])
  teardown.push(`delete namespace ${ns}`, async () => await run(['ip', 'netns', 'del', ns]))
  const inNs = (...args: string[]): string[] => ['ip', '-n', ns, ...args]
  await run(inNs('link', 'set', 'lo', 'up'))
  await run(inNs('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0'))
  await run(inNs('addr', 'add', `${LAB_NET.serverAddress}/${LAB_NET.prefixLength}`, 'dev', bridge))
  // nodad: the address is usable at once, so dnsmasq can send router advertisements right away.
  await run(inNs('-6', 'addr', 'add', LAB_NET.ipv6, 'dev', bridge, 'nodad'))
  await run(inNs('link', 'set', bridge, 'up'))
  await run(inNs('route', 'add', '255.255.255.255/32', 'dev', bridge))

  await run(['ip', 'link', 'add', link.hostIf, 'type', 'veth', 'peer', 'name', 'api0', 'netns', ns])
  // Deleting the namespace removes the pair too; this explicit step covers a failure halfway.
  teardown.push(`delete host link ${link.hostIf}`, async () => await tryRun(['ip', 'link', 'del', link.hostIf]))
  await run(['ip', 'addr', 'add', `${link.hostAddress}/30`, 'dev', link.hostIf])
  await run(['ip', 'link', 'set', link.hostIf, 'up'])
  await run(inNs('addr', 'add', `${link.nsAddress}/30`, 'dev', 'api0'))
  await run(inNs('link', 'set', 'api0', 'up'))
}

/** Adds a tap device on the bridge for one VM; QEMU opens it by name (script=no). */
export async function addTap (ns: string, tap: string, teardown: Teardown): Promise<void> {
  await run(['ip', '-n', ns, 'tuntap', 'add', 'dev', tap, 'mode', 'tap'])
  teardown.push(`delete ${tap}`, async () => await tryRun(['ip', '-n', ns, 'link', 'del', tap]))
  await run(['ip', '-n', ns, 'link', 'set', tap, 'master', LAB_NET.bridge, 'up'])
}

/**
 * Creates a second namespace plugged into the rack's bridge, like another host on the segment
 * (the site's DHCP server, a test client): its eth0 gets address/24 and a broadcast route.
 * Returns the new namespace's name (`<ns>-<role>`).
 */
export async function attachHost (ns: string, role: string, address: string | undefined, teardown: Teardown): Promise<string> {
  const peer = `${ns}-${role}`
  const port = `p-${role}`.slice(0, 15)
  await run(['ip', 'netns', 'add', peer])
  teardown.push(`delete namespace ${peer}`, async () => await run(['ip', 'netns', 'del', peer]))
  await run(['ip', '-n', ns, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', peer])
  await run(['ip', '-n', ns, 'link', 'set', port, 'master', LAB_NET.bridge, 'up'])
  await run(['ip', '-n', peer, 'link', 'set', 'lo', 'up'])
  await run(['ip', '-n', peer, 'link', 'set', 'eth0', 'up'])
  if (address !== undefined) {
    await run(['ip', '-n', peer, 'addr', 'add', `${address}/${LAB_NET.prefixLength}`, 'dev', 'eth0'])
  }
  await run(['ip', '-n', peer, 'route', 'add', '255.255.255.255/32', 'dev', 'eth0'])
  return peer
}

/** argv prefix that runs a program inside a namespace (`ip netns exec` execs it: same PID). */
export function inNamespace (ns: string, argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', ns, ...argv]
}
