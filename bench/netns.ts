// The benchmark network: two namespaces joined by one veth pair (BENCHMARKS.md "Setup"), the
// server pinned to CPU 0 and the load generators to CPU 1 so they never share a core.
import { existsSync } from 'node:fs'
import { run, which } from './proc.ts'

export const SERVER_NS = 'anvbn-srv'
export const CLIENT_NS = 'anvbn-cli'
export const SERVER_IP = '10.99.0.1'
export const CLIENT_IP = '10.99.0.2'
export const SERVER_IF = 'anvbn-s'
export const CLIENT_IF = 'anvbn-c'
/** The CPU every server under test is pinned to (taskset), and the one its CPU time is read from. */
export const SERVER_CPU = '0'
const CLIENT_CPU = '1'
const LOSS_TABLE = 'anvbn_loss'

async function ip (args: readonly string[], allowFail = false, teardown = false): Promise<string> {
  const r = await run(['ip', ...args], { timeoutMs: 10_000, teardown })
  if (r.code !== 0 && !allowFail) throw new Error(`ip ${args.join(' ')}: ${r.stderr.trim()}`)
  return r.stdout
}

async function exists (ns: string): Promise<boolean> {
  return existsSync(`/run/netns/${ns}`)
}

/**
 * Deletes a namespace left by an earlier run that was killed hard. `ip netns del` does not stop
 * what runs inside (LAB-NOTES "Network"), so the processes an earlier benchmark started in our
 * own namespaces are stopped first, by PID.
 */
async function removeNamespace (ns: string): Promise<void> {
  if (!await exists(ns)) return
  const pids = (await ip(['netns', 'pids', ns], true, true)).split('\n').map(Number).filter(p => Number.isInteger(p) && p > 1)
  for (const pid of pids) {
    try { process.kill(pid, 'SIGKILL') } catch { /* already gone */ }
  }
  await ip(['netns', 'del', ns], true, true)
}

/** Creates the pair from scratch (removing a stale one first); 10.99.0.1/24 ↔ 10.99.0.2/24. */
export async function createPair (): Promise<void> {
  await deletePair()
  await ip(['netns', 'add', SERVER_NS])
  await ip(['netns', 'add', CLIENT_NS])
  await ip(['link', 'add', SERVER_IF, 'netns', SERVER_NS, 'type', 'veth', 'peer', 'name', CLIENT_IF, 'netns', CLIENT_NS])
  await ip(['-n', SERVER_NS, 'addr', 'add', `${SERVER_IP}/24`, 'dev', SERVER_IF])
  await ip(['-n', CLIENT_NS, 'addr', 'add', `${CLIENT_IP}/24`, 'dev', CLIENT_IF])
  for (const [ns, dev] of [[SERVER_NS, SERVER_IF], [CLIENT_NS, CLIENT_IF]] as const) {
    await ip(['-n', ns, 'link', 'set', 'lo', 'up'])
    await ip(['-n', ns, 'link', 'set', dev, 'up'])
  }
}

/** Deletes both namespaces (the veth goes with them); safe to call twice. */
export async function deletePair (): Promise<void> {
  await removeNamespace(SERVER_NS)
  await removeNamespace(CLIENT_NS)
}

/** argv that runs a server program in the server namespace, pinned to CPU 0. */
export function onServer (argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', SERVER_NS, 'taskset', '-c', SERVER_CPU, ...argv]
}

/** argv that runs a load generator in the client namespace, pinned to CPU 1. */
export function onClient (argv: readonly string[]): string[] {
  return ['ip', 'netns', 'exec', CLIENT_NS, 'taskset', '-c', CLIENT_CPU, ...argv]
}

/** True once something in the server namespace listens on the port (udp or tcp). */
export async function listening (proto: 'udp' | 'tcp', port: number): Promise<boolean> {
  const r = await run(['ip', 'netns', 'exec', SERVER_NS, 'ss', '-Hln', proto === 'udp' ? '-u' : '-t', `sport = :${port}`], { timeoutMs: 5000 })
  return r.code === 0 && r.stdout.trim() !== ''
}

/**
 * Drops `percent`% of packets in each direction. `tc netem loss` on both veth ends when the
 * kernel has sch_netem; otherwise an nftables rule with a random number per packet (nft numgen)
 * on each side's input hook, which drops the same share. Returns how it was done.
 */
export async function addLoss (percent: number): Promise<string> {
  const netem = await run(['tc', '-n', SERVER_NS, 'qdisc', 'add', 'dev', SERVER_IF, 'root', 'netem', 'loss', `${percent}%`], { timeoutMs: 5000 })
  if (netem.code === 0) {
    const r = await run(['tc', '-n', CLIENT_NS, 'qdisc', 'add', 'dev', CLIENT_IF, 'root', 'netem', 'loss', `${percent}%`], { timeoutMs: 5000 })
    if (r.code !== 0) throw new Error(`tc netem on ${CLIENT_IF}: ${r.stderr.trim()}`)
    return `tc netem loss ${percent}% on both veth ends`
  }
  const nft = which('nft')
  if (nft === undefined) throw new Error(`no way to emulate loss: tc netem failed (${netem.stderr.trim()}) and nft (Debian package nftables) is missing`)
  if (!Number.isInteger(percent) || percent < 1 || percent > 99) throw new Error('nft loss needs a whole percentage')
  const rules = `table inet ${LOSS_TABLE} {\n  chain input { type filter hook input priority 0; policy accept; meta l4proto udp numgen random mod 100 < ${percent} drop; }\n}\n`
  for (const ns of [SERVER_NS, CLIENT_NS]) {
    const r = await run(['sh', '-c', `printf '%s' "$1" | ip netns exec ${ns} ${nft} -f -`, 'sh', rules], { timeoutMs: 5000 })
    if (r.code !== 0) throw new Error(`nft in ${ns}: ${r.stderr.trim()}`)
  }
  return `${percent}% of UDP packets dropped on input in each namespace (nft numgen; this kernel has no sch_netem)`
}

/** Removes whichever loss addLoss installed. */
export async function clearLoss (): Promise<void> {
  await run(['tc', '-n', SERVER_NS, 'qdisc', 'del', 'dev', SERVER_IF, 'root'], { timeoutMs: 5000 })
  await run(['tc', '-n', CLIENT_NS, 'qdisc', 'del', 'dev', CLIENT_IF, 'root'], { timeoutMs: 5000 })
  const nft = which('nft')
  if (nft === undefined) return
  for (const ns of [SERVER_NS, CLIENT_NS]) {
    await run(['ip', 'netns', 'exec', ns, nft, 'delete', 'table', 'inet', LOSS_TABLE], { timeoutMs: 5000 })
  }
}
