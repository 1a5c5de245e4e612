/**
 * The installed node's first boot from its disk (issue 10), step by step; every step says on the
 * console what it did, never a secret (the token, the identity key, the config's text):
 *
 *   1. STATE: the ANVIL-STATE partition (by GPT name), both copies, the current record.
 *      None valid: nothing to do, no report (an image booted without an install).
 *   2. The config: signature, machine, generation, expiry (trusted-config.ts), then the schema.
 *      Refused: no network, no report.
 *   3. Identity: an Ed25519 key made here on the first boot and written to STATE (the other copy).
 *   4. The network from the config (network-plan.ts), hostname and resolvers.
 *   5. ReportIn with the token from STATE (report-in.ts); once taken, STATE is written again with
 *      `reported` and without the token (the other copy). A node that reported before (a reboot)
 *      has no token left and skips this.
 *   6. The slot is committed in grubenv (`<slot>_OK=1`): GRUB stops counting tries. Only now: a
 *      node that never reaches its server runs out of tries and falls back (docs/image.md).
 *      Not while an upgrade or rollback is pending in STATE: then the health gate commits.
 * The outcome decides what the stage-2 init does next (main.ts: exit codes).
 */
import { sign } from 'node:crypto'
import { readdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { isCodedError } from '../../lib/errors.ts'
import { nodeReportProof } from '../../node-state/report-proof.ts'
import type { StatePayload } from '../../node-state/record.ts'
import { PartitionName } from '../../image/layout.ts'
import { parseNodeCmdline } from './cmdline.ts'
import { commitSlot, findPartition, readState, writeState, type DiskRoots } from './disk-io.ts'
import { identityKey, makeIdentity } from './identity.ts'
import { planNetwork, udhcpcArgv, type Argv, type Link } from './network-plan.ts'
import { ReportError, type ReportTarget } from './report-in.ts'
import type { NodeReportInput } from '../../proto/generated/anvil/provisioning/v1/NodeReport.ts'
import { trustedConfig } from './trusted-config.ts'

export type FirstBootOutcome = 'reported' | 'no-state' | 'refused' | 'failed'

/** Everything the program touches, so tests run it against files, a loopback server and a fake `ip`. */
export type FirstBootDeps = {
  /** /sys and /dev (partitions), /proc (cmdline, boot id, hostname), /etc/anvil (release, keys), /run (resolv.conf). */
  readonly roots: DiskRoots & { readonly proc: string, readonly etcAnvil: string, readonly run: string }
  readonly console: (line: string) => void
  /** Runs a program with an explicit argv (no shell); rejects when it fails or times out. */
  readonly exec: (argv: Argv, timeoutMs: number) => Promise<void>
  readonly now: () => number
  readonly reportIn: (target: ReportTarget, token: string, report: NodeReportInput) => Promise<{ machineId: string, state: string }>
  /** The addresses (CIDR) now on these links. */
  readonly addresses: (links: readonly string[]) => string[]
}

const MAX_ADDRESSES = 16

/** Runs the first boot; never throws (every failure is a console line and an outcome). */
export async function runFirstBoot (d: FirstBootDeps): Promise<FirstBootOutcome> {
  const say = (line: string): void => { d.console(`anvil-node: ${line}`) }
  try {
    return await firstBoot(d, say)
  } catch (err) {
    say(`failed: ${isCodedError(err) || err instanceof ReportError ? `${err.code} ` : ''}${oneLine(err instanceof Error ? err.message : String(err))}`)
    return 'failed'
  }
}

async function firstBoot (d: FirstBootDeps, say: (line: string) => void): Promise<FirstBootOutcome> {
  const cmdline = parseNodeCmdline(await readFile(join(d.roots.proc, 'cmdline'), 'utf8'))
  const partition = await findPartition(d.roots, PartitionName.state)
  if (partition === undefined) {
    say(`no ${PartitionName.state} partition on this machine: nothing to apply, no report`)
    return 'no-state'
  }
  let current
  try {
    current = await readState(partition.device)
  } catch (err) {
    say(`no valid STATE on ${partition.device}: ${oneLine((err as Error).message)}; nothing to apply, no report`)
    return 'no-state'
  }
  let state = current.payload
  say(`STATE: machine ${state.machineId}, ${state.install.imageName} ${state.install.imageVersion}, copy ${current.copy} seq ${current.seq}`)

  const baked = await readOptional(join(d.roots.etcAnvil, 'keys/config.pub'))
  let trusted
  try {
    trusted = trustedConfig(state, baked)
  } catch (err) {
    say(`config refused: ${isCodedError(err) ? err.code : 'ERR_INTERNAL'} ${oneLine((err as Error).message)}`)
    return 'refused'
  }
  say(`config generation ${trusted.generation} verified with ${trusted.keySource === 'image' ? 'the config key baked into this image' : 'the config key in STATE (this image has none baked in)'}, key ${trusted.keyId}`)

  let seq = current.seq
  let copy = current.nextCopy
  const write = async (payload: StatePayload): Promise<void> => {
    const done = await writeState(partition.device, payload, seq + 1n, copy)
    seq = done.seq
    copy = done.nextCopy
    state = payload
  }
  if (state.identity === undefined) {
    await write({ ...state, identity: makeIdentity(d.now()) })
    say(`identity: a new Ed25519 key, stored in STATE copy ${1 - copy}`)
  }
  const identity = state.identity
  if (identity === undefined) throw new Error('unreachable: identity written above')

  const links = await applyNetwork(d, trusted.config, say)
  const slot = cmdline.slot ?? state.install.slot
  if (cmdline.slot === undefined) say(`no anvil.slot on the kernel command line: taking slot ${slot} from STATE`)

  const credential = state.credential
  if (credential === undefined) {
    if (state.reported === undefined) {
      say('STATE holds no node token and no earlier report: this node cannot report in')
      return 'failed'
    }
    say(`reported in before (config generation ${state.reported.configGeneration}); no token left, nothing to send`)
  } else {
    const report: NodeReportInput = {
      machineId: state.machineId,
      imageName: state.install.imageName,
      imageVersion: state.install.imageVersion,
      slot,
      configGeneration: trusted.generation,
      publicKey: Buffer.from(identity.publicKeySpki, 'base64'),
      proof: sign(null, nodeReportProof(state.machineId, trusted.generation, credential.nodeToken), identityKey(identity)),
      addresses: d.addresses(links).slice(0, MAX_ADDRESSES),
      hostname: trusted.config.hostname,
      bootId: (await readOptional(join(d.roots.proc, 'sys/kernel/random/boot_id')))?.trim() ?? ''
    }
    say(`reporting in to ${state.server.host}:${state.server.port} (pinned certificate ${state.server.fingerprint.slice(0, 16)}…) with addresses ${report.addresses?.join(' ') ?? ''}`)
    try {
      const reply = await d.reportIn(state.server, credential.nodeToken, report)
      say(`the server took the report: machine ${reply.machineId} is ${reply.state}`)
    } catch (err) {
      // Taken once, then this node died before it could drop the token: the report stands.
      if (!(err instanceof ReportError && err.code === 'ERR_NODE_TOKEN_USED' && state.reported !== undefined)) throw err
      say('the token was used already, by this node\'s earlier report')
    }
    const { credential: _spent, ...rest } = state
    await write({ ...rest, reported: { at: d.now(), configGeneration: trusted.generation } })
    say(`STATE: report recorded, token removed (copy ${1 - copy}, seq ${seq})`)
  }

  const esp = await findPartition(d.roots, PartitionName.efi)
  if (esp === undefined) throw new Error(`no ${PartitionName.efi} partition: cannot commit slot ${slot}`)
  // A slot on trial after an upgrade is committed only by the health gate (upgrade/upgrader.ts).
  if (state.pending !== undefined) say(`slot ${slot}: the ${state.pending.kind} ${state.pending.operationId} is pending: the health gate decides, not the report`)
  else say(await commitSlot(esp.device, slot) ? `slot ${slot} committed in grubenv (${slot}_OK=1)` : `slot ${slot} was committed already`)
  say(`reported in as ${state.machineId} (slot ${slot}, config generation ${trusted.generation})`)
  return 'reported'
}

/** Hostname, links, DHCP, routes, resolvers; a step that fails is reported and the rest goes on. */
async function applyNetwork (d: FirstBootDeps, config: ReturnType<typeof trustedConfig>['config'], say: (line: string) => void): Promise<readonly string[]> {
  await writeFile(join(d.roots.proc, 'sys/kernel/hostname'), config.hostname).catch((err: unknown) => { say(`hostname: ${oneLine((err as Error).message)}`) })
  const plan = planNetwork(config.network, await listLinks(d.roots.sys))
  for (const p of plan.problems) say(`network: ${p}`)
  const run = async (argv: Argv, timeoutMs: number): Promise<boolean> => {
    try {
      await d.exec(argv, timeoutMs)
      return true
    } catch (err) {
      say(`network: ${argv.join(' ')}: ${oneLine((err as Error).message)}`)
      return false
    }
  }
  for (const argv of plan.setup) await run(argv, 10_000)
  const leased = await Promise.all(plan.dhcp.map(async link => await run(udhcpcArgv(link), 60_000)))
  plan.dhcp.forEach((link, i) => { say(`network: ${link}: ${leased[i] === true ? 'DHCP lease' : 'no DHCP lease'}`) })
  for (const argv of plan.routes) await run(argv, 10_000)
  if (plan.resolvConf !== undefined) await writeFile(join(d.roots.run, 'resolv.conf'), plan.resolvConf, { mode: 0o644 })
  say(`network: ${config.hostname}: ${plan.links.map(l => `${l} ${d.addresses([l]).join(',') || '(no address)'}`).join('; ') || 'no links'}`)
  return plan.links
}

/** The machine's NICs: every /sys/class/net entry with a MAC, loopback aside. */
export async function listLinks (sys: string): Promise<Link[]> {
  const base = join(sys, 'class/net')
  const links: Link[] = []
  for (const name of (await readdir(base).catch(() => [])).sort()) {
    if (name === 'lo') continue
    const mac = (await readOptional(join(base, name, 'address')))?.trim()
    if (mac !== undefined && mac !== '') links.push({ name, mac })
  }
  return links
}

async function readOptional (file: string): Promise<string | undefined> {
  try {
    return await readFile(file, 'utf8')
  } catch {
    return undefined
  }
}

/** Multi-line messages (a config's issue list) as one console line. */
function oneLine (text: string): string {
  return text.replace(/\s*\n\s*/g, '; ').slice(0, 2000)
}
