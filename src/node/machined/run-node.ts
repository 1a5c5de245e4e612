/**
 * machined after the first boot (issue 11): the node's long-running manager. It serves the node
 * API on its unix socket (node-api.ts), and supervises the two daemons every node runs, each a
 * process of the one node bundle with an explicit argv:
 *   trustd  keeps apid's server certificate fresh from Anvil's node CA (src/node/trustd/);
 *   apid    the node API on TCP 50000 with mutual TLS and roles, forwarding to machined (src/node/apid/).
 * apid starts once trustd has written its first certificate (it has nothing to serve before),
 * and is told to reload (SIGHUP) whenever trustd writes a renewed one.
 */
import { existsSync, unwatchFile, watchFile } from 'node:fs'
import { mkdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PartitionName } from '../../image/layout.ts'
import type { StatePayload } from '../../node-state/record.ts'
import { BUNDLE_FILES } from '../trustd/bundle-files.ts'
import { ServiceLog } from './api/service-log.ts'
import { sysrqPower } from './api/power.ts'
import { zstdDecompress } from '../../agent/install-decompress.ts'
import { kernelZeroOut } from '../../agent/install-zero.ts'
import { parseNodeCmdline } from './cmdline.ts'
import { findPartition, readState, writeState, type DiskRoots } from './disk-io.ts'
import { fromOperationInput, NodeOperations, settleAfterBoot } from './operations.ts'
import type { OperationInput } from '../../proto/generated/anvil/node/v1/Operation.ts'
import { healthProblem } from './upgrade/health.ts'
import { Upgrader } from './upgrade/upgrader.ts'
import { startNodeApi, type NodeApi, type NodeApiOptions } from './node-api.ts'
import { sendNodeNotice, type NodeNotice } from './node-notice.ts'
import { Supervisor } from './supervisor.ts'

export const RUN_DIR = '/run/anvil'
export const MACHINED_SOCKET = `${RUN_DIR}/machined.sock`
/** Where trustd writes apid's key, certificate and CA (tmpfs: gone at power-off, made anew each boot). */
export const APID_DIR = `${RUN_DIR}/apid`

export type RunNodeOptions = {
  readonly roots: DiskRoots & { readonly proc: string, readonly etcAnvil: string }
  /** The node bundle (process.argv[1]) and the protos beside it. */
  readonly bundle: string
  readonly nodeProto: string
  readonly provisioningProto: string
  readonly say: (line: string) => void
  /** A console line as it is (the node API prefixes its own). */
  readonly console: (line: string) => void
  /** machined's own console lines, for Logs("machined"). */
  readonly ownLog: ServiceLog
  readonly runDir?: string
}

export type RunningNode = { readonly api: NodeApi, readonly supervisor: Supervisor, stop: () => Promise<void> }

/** Starts the node API and the daemons; resolves once the API serves (the daemons come up after). */
export async function runNode (o: RunNodeOptions): Promise<RunningNode> {
  const runDir = o.runDir ?? RUN_DIR
  const apidDir = join(runDir, 'apid')
  await mkdir(runDir, { recursive: true, mode: 0o700 })
  const partition = await findPartition(o.roots, PartitionName.state)
  let state: StatePayload | undefined
  const record = partition === undefined ? undefined : await readState(partition.device)
  if (record !== undefined) state = record.payload
  const supervisor = new Supervisor({ log: o.say })
  // Reset and the upgrade's outcome tell Anvil through the provisioning proto beside the bundle, as trustd does.
  const notice = state === undefined ? undefined : { state, protoFile: o.provisioningProto }
  const notify = notice === undefined ? undefined : async (n: NodeNotice) => await sendNodeNotice({ ...notice, notice: n })
  const upgradeNotify = notify === undefined ? undefined : async (n: NodeNotice): Promise<void> => { await notify(n) }
  const cert = join(apidDir, BUNDLE_FILES.certificate)
  const switching = partition === undefined || record === undefined
    ? undefined
    : await upgrades({ ...o, device: partition.device, record, supervisor, cert, reboot: async () => { await api.reboot() }, ...(upgradeNotify === undefined ? {} : { notify: upgradeNotify }) })
  const api: NodeApi = await startNodeApi({ socket: `unix://${join(runDir, 'machined.sock')}`, roots: o.roots, state, supervisor, power: sysrqPower(), log: o.console, ownLog: o.ownLog, protoFile: o.nodeProto, ...(notify === undefined ? {} : { notice: notify }), ...switching?.api })
  if (partition === undefined || state === undefined) {
    o.say('no STATE: no trustd, no apid (an image booted without an install)')
    return { api, supervisor, stop: async () => { await supervisor.stopAll(); await api.stop() } }
  }
  const gate = new AbortController()
  // The health gate of a slot on trial runs beside the daemons it waits for.
  switching?.upgrader.afterBoot(gate.signal).catch((err: unknown) => { o.say(`after the reboot: ${(err as Error).message}`) })
  supervisor.start({ id: 'trustd', argv: [process.execPath, o.bundle, 'trustd', '--state', partition.device, '--out', apidDir, '--proto', o.provisioningProto] })
  let apidStarted = false
  const startApid = (): void => {
    apidStarted = true
    supervisor.start({
      id: 'apid',
      argv: [process.execPath, o.bundle, 'apid', '--ca', join(apidDir, BUNDLE_FILES.ca), '--cert', cert, '--key', join(apidDir, BUNDLE_FILES.key), '--machined-socket', join(runDir, 'machined.sock')]
    })
  }
  // Polled (fs.watch misses renames on some file systems): at most one reload per 2 s.
  watchFile(cert, { interval: 2000 }, (now) => {
    if (now.mtimeMs === 0) return
    if (!apidStarted) startApid()
    else if (supervisor.signal('apid', 'SIGHUP')) o.say('apid: certificate renewed, reloading')
  })
  if (existsSync(cert)) startApid()
  return {
    api,
    supervisor,
    stop: async () => {
      gate.abort()
      unwatchFile(cert)
      await supervisor.stopAll()
      await api.stop()
    }
  }
}

/** STATE's owner and the upgrader, once STATE was read; the reboot is the node API's power path. */
async function upgrades (o: RunNodeOptions & { notify?: (n: NodeNotice) => Promise<void>, device: string, record: Awaited<ReturnType<typeof readState>>, supervisor: Supervisor, cert: string, reboot: () => Promise<void> }): Promise<{ upgrader: Upgrader, api: Pick<NodeApiOptions, 'operations' | 'upgrader' | 'statePort' | 'recordOperation'> }> {
  const cmdline = parseNodeCmdline(await readFile(join(o.roots.proc, 'cmdline'), 'utf8').catch(() => ''))
  const bootId = async (): Promise<string> => (await readFile(join(o.roots.proc, 'sys/kernel/random/boot_id'), 'utf8')).trim()
  const operations = new NodeOperations({ store: { write: async (p, seq, copy) => await writeState(o.device, p, seq, copy) }, record: o.record })
  const settled = settleAfterBoot(operations.list(), await bootId().catch(() => ''), operations.state.pending?.operationId, Date.now())
  if (JSON.stringify(settled) !== JSON.stringify(operations.list())) await operations.update(p => ({ ...p, operations: settled }))
  const upgrader = new Upgrader({
    roots: o.roots,
    cmdline,
    operations,
    reboot: o.reboot,
    health: async () => healthProblem(o.supervisor.list(), existsSync(o.cert), Date.now()),
    ...(o.notify === undefined ? {} : { notify: o.notify }),
    decompress: () => zstdDecompress(),
    zeroOut: kernelZeroOut(),
    log: o.console,
    bootId
  })
  // The one writer of STATE: apply-config goes through it too (two writers would race for the copy),
  // and its operations join the same list as the upgrade's.
  const statePort = { read: async () => operations.state, update: async (f: (p: StatePayload) => StatePayload) => { await operations.update(f); return operations.state } }
  const recordOperation = async (op: OperationInput): Promise<void> => { await operations.put(fromOperationInput(op)) }
  return { upgrader, api: { operations, upgrader, statePort, recordOperation } }
}
