/**
 * machined's side of the node API: anvil.node.v1.Node (src/proto/node.proto) on a unix socket,
 * answered from the readers in api/ and the supervisor. apid, the mutual-TLS gateway, checks the
 * caller's role and forwards each call unchanged with metadata anvil-caller-name and
 * anvil-caller-role; nothing here re-checks roles. The socket is the boundary instead: its
 * directory is 0700 and the socket 0600, owned by root (or by socketOwner, the uid apid runs as),
 * so only apid and root reach it.
 */
import { Server, ServerCredentials, type Metadata, type sendUnaryData, type ServerWritableStream } from '@grpc/grpc-js'
import { once } from 'node:events'
import { chmod, chown, lstat, mkdir, readFile, unlink } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { toStatus } from '../../grpc/errors.ts'
import { loadNodeProto } from '../../grpc/proto.ts'
import { CodedError } from '../../lib/errors.ts'
import { sanitizeText } from '../../lib/text.ts'
import type { Logger } from '../../log/logger.ts'
import type { StatePayload, StoredOperation } from '../../node-state/record.ts'
import type { LogLineInput } from '../../proto/generated/anvil/node/v1/LogLine.ts'
import type { OperationInput } from '../../proto/generated/anvil/node/v1/Operation.ts'
import type { OperationReplyInput } from '../../proto/generated/anvil/node/v1/OperationReply.ts'
import type { NodeHandlers } from '../../proto/generated/anvil/node/v1/Node.ts'
import type { ServiceInput } from '../../proto/generated/anvil/node/v1/Service.ts'
import { kmsgLines, openKmsg } from './api/dmesg.ts'
import { readDisks } from './api/disks.ts'
import { serviceLines } from './api/logs.ts'
import { readMemory } from './api/memory.ts'
import { readMounts } from './api/mounts.ts'
import { PowerOperations, runSync, type PowerKind, type PowerPort } from './api/power.ts'
import { readProcesses } from './api/processes.ts'
import { readTrimmed, type NodeRoots } from './api/roots.ts'
import type { ServiceLog } from './api/service-log.ts'
import { parseUptime, readVersion } from './api/version.ts'
import { fromOperationInput, toOperationInput, type NodeOperations } from './operations.ts'
import type { Supervisor } from './supervisor.ts'
import { BusyGuard } from './busy.ts'
import { findPartition, rewriteGrubenv, zeroRange } from './disk-io.ts'
import { sendNodeNotice, type NodeNoticePort } from './node-notice.ts'
import { NO_BOOTABLE_SLOT, ResetOperations } from './reset.ts'
import type { Upgrader } from './upgrade/upgrader.ts'
import { ApplyConfigOperations, type LivePort, type StatePort } from './apply-config.ts'
import { execArgv, nodeLivePort, nodeStatePort } from './apply-ports.ts'

export type NodeApiOptions = {
  /** `unix:///run/anvil/machined.sock`, or the path alone. */
  readonly socket: string
  readonly roots: NodeRoots
  /** The STATE record read at boot (undefined: an image booted without an install). */
  readonly state: StatePayload | undefined
  readonly supervisor: Supervisor
  readonly power: PowerPort
  /** The console: one line per call. */
  readonly log: (line: string) => void
  /** machined's own output, served as Logs("machined") when given. */
  readonly ownLog?: ServiceLog
  /** Whom the socket and its directory belong to (default: machined's own uid, root). */
  readonly socketOwner?: { readonly uid: number, readonly gid: number }
  /** sync(1) unless a test passes its own. */
  readonly sync?: () => Promise<void>
  /** Passed to PowerOperations (default 250 ms). */
  readonly settleMs?: number
  readonly kmsgPollMs?: number
  readonly protoFile?: string
  /** The guard reset, upgrade and rollback share (default: one of this API's own). */
  readonly busy?: BusyGuard
  /** How the node tells Anvil (default: sendNodeNotice with STATE; none without STATE). */
  readonly notice?: NodeNoticePort
  /** STATE's owner after the first boot: Operations/GetOperation, and Reboot/Shutdown recorded (absent: no STATE). */
  readonly operations?: NodeOperations
  /** Upgrade and Rollback (absent: refused, ERR_INVALID_STATE). */
  readonly upgrader?: Upgrader
  /** An Upgrade still writing after this long is answered with its operation as it is (default 90 s). */
  readonly upgradeAnswerMs?: number
  /** What ApplyConfig changes live (default: execFile for ip/udhcpc, files under the roots, resolv.conf in /run). */
  readonly live?: Partial<LivePort>
  /** ApplyConfig's clock and try timer (tests). */
  readonly now?: () => number
  readonly timer?: (fn: () => void, ms: number) => () => void
  /**
   * How ApplyConfig reads and changes STATE (default: the ANVIL-STATE partition, read fresh each
   * time). Where machined has one owner of STATE, pass it here: two writers would race for the copy.
   */
  readonly statePort?: StatePort
  /** Where ApplyConfig's operations are kept for Operations/GetOperation (default: this boot's last one only). */
  readonly recordOperation?: (op: OperationInput) => Promise<void>
}

/** The running node API. */
export type NodeApi = {
  readonly socketPath: string
  /** A reboot through the power path (services stopped, disks synced), as Reboot does: the upgrade's. */
  reboot (): Promise<void>
  /** Ends the follow streams, stops the server and removes the socket. */
  stop (): Promise<void>
}

/** Within apid's unary deadline (120 s, src/node/apid/server.ts), with room for the relay. */
const UPGRADE_ANSWER_MS = 90_000

/** Requests are a few bytes (a service id, two flags) but ApplyConfig's: a config of at most 256 KiB and its signature. */
const MAX_REQUEST_BYTES = 320 * 1024

/** Binds the node API to its socket and serves it until stop(). */
export async function startNodeApi (o: NodeApiOptions): Promise<NodeApi> {
  const socketPath = socketPathOf(o.socket)
  const proto = await loadNodeProto(o.protoFile)
  const streams = new Set<AbortController>()
  const server = new Server({ 'grpc.max_receive_message_length': MAX_REQUEST_BYTES })
  const served = handlers(o, streams)
  server.addService(proto.anvil.node.v1.Node.service, served.handlers)
  await prepareSocket(socketPath, o.socketOwner)
  await new Promise<void>((resolve, reject) => {
    server.bindAsync(`unix:${socketPath}`, ServerCredentials.createInsecure(), err => { if (err === null) resolve(); else reject(err) })
  })
  await chmod(socketPath, 0o600)
  if (o.socketOwner !== undefined) await chown(socketPath, o.socketOwner.uid, o.socketOwner.gid)
  o.log(`anvil-node: node API on unix:${socketPath}`)
  return {
    socketPath,
    reboot: async () => { await served.ops.begin('reboot', false) },
    stop: async () => {
      for (const c of streams) c.abort()
      await new Promise<void>(resolve => {
        const force = setTimeout(() => { server.forceShutdown(); resolve() }, 2000)
        server.tryShutdown(() => { clearTimeout(force); resolve() })
      })
      await unlink(socketPath).catch(() => {})
    }
  }
}

/** The socket's path from `unix:///p`, `unix:/p` or `/p`. */
export function socketPathOf (socket: string): string {
  const path = socket.replace(/^unix:(\/\/)?/, '')
  if (!path.startsWith('/')) throw new CodedError('ERR_INVALID_CONFIG', `node API socket must be an absolute path, got ${JSON.stringify(socket)}`)
  return path
}

/** The directory made 0700, a stale socket removed (never anything else that has the name). */
async function prepareSocket (path: string, owner: NodeApiOptions['socketOwner']): Promise<void> {
  const dir = dirname(path)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  if (owner !== undefined) await chown(dir, owner.uid, owner.gid)
  const existing = await lstat(path).catch(() => undefined)
  if (existing === undefined) return
  if (!existing.isSocket()) throw new CodedError('ERR_LISTEN', `${path} exists and is not a socket: not removing it`)
  await unlink(path)
}

/**
 * Every method of anvil.node.v1.Node (a Pick, so that a method added to node.proto fails to compile here until it is served).
 */
export type ServedHandlers = Pick<NodeHandlers, 'Version' | 'Services' | 'Memory' | 'Disks' | 'Mounts' | 'Processes' | 'Dmesg' | 'Logs' | 'Reboot' | 'Shutdown' | 'Reset' | 'ApplyConfig' | 'Upgrade' | 'Rollback' | 'Operations' | 'GetOperation'>

function handlers (o: NodeApiOptions, streams: Set<AbortController>): { handlers: ServedHandlers, ops: PowerOperations } {
  const statusLog = consoleLogger(o.log)
  const fail = (err: unknown, method: string): ReturnType<typeof toStatus> => toStatus(err, statusLog, { method })
  const unary = <T>(method: string, answer: () => Promise<T>) => (_call: unknown, callback: sendUnaryData<T>): void => {
    answer().then(v => { callback(null, v) }, (err: unknown) => { callback(fail(err, method)) })
  }
  const bootId = async (): Promise<string> => (await readTrimmed(join(o.roots.proc, 'sys/kernel/random/boot_id'))) ?? ''
  const ops = new PowerOperations({
    stopServices: async () => { await o.supervisor.stopAll() },
    power: o.power,
    sync: o.sync ?? (async () => { await runSync() }),
    bootId,
    log: o.log,
    ...(o.settleMs === undefined ? {} : { settleMs: o.settleMs })
  })
  const busy = o.busy ?? new BusyGuard()
  const resets = resetOperations(o, bootId, busy)
  const applies = applyOperations(o, bootId, busy)
  const power = (kind: PowerKind, force: boolean, metadata: Metadata, callback: sendUnaryData<OperationReplyInput>): void => {
    o.log(`anvil-node: ${kind}${force ? ' (force)' : ''} asked by ${caller(metadata)}`)
    ops.begin(kind, force).then(async op => {
      if (op === undefined) callback(fail(new CodedError('ERR_INVALID_STATE', `another power operation is under way; ${kind} refused`), kind))
      else {
        // Recorded so that Operations still shows it after the reboot (best effort: the reboot goes on).
        await o.operations?.put(fromOperationInput(op)).catch((err: unknown) => { o.log(`anvil-node: ${kind}: not recorded in STATE: ${(err as Error).message}`) })
        callback(null, { operation: op })
      }
    }, (err: unknown) => { callback(fail(err, kind)) })
  }
  const stream = (call: ServerWritableStream<unknown, LogLineInput>, method: string, lines: (signal: AbortSignal) => Promise<AsyncIterable<LogLineInput>>): void => {
    const controller = new AbortController()
    streams.add(controller)
    call.on('cancelled', () => { controller.abort() })
    pipeLines(call, lines, controller.signal).then(() => { call.end() }, (err: unknown) => { call.emit('error', fail(err, method)) })
      .finally(() => { streams.delete(controller) })
  }
  const upgrader = (): Upgrader => {
    if (o.upgrader === undefined) throw new CodedError('ERR_INVALID_STATE', 'this node has no STATE (an image booted without an install): nothing to upgrade or roll back')
    return o.upgrader
  }
  const listOps = (): readonly StoredOperation[] => o.upgrader?.operations() ?? o.operations?.list() ?? []
  const switching = (method: 'Upgrade' | 'Rollback', metadata: Metadata, run: () => Promise<StoredOperation>, callback: sendUnaryData<OperationReplyInput>): void => {
    o.log(`anvil-node: ${method.toLowerCase()} asked by ${caller(metadata)}`)
    run().then(op => { callback(null, { operation: toOperationInput(op) }) }, (err: unknown) => { callback(fail(err, method)) })
  }
  const handlers: ServedHandlers = {
    Upgrade: (call, callback) => {
      // Answered when the slot is selected, or with the operation as it is (fetch/write/verify)
      // once that takes longer than apid's unary deadline allows: the client follows it by id.
      let begun: StoredOperation | undefined
      let answered = false
      const timer = setTimeout(() => {
        if (begun === undefined || answered) return
        answered = true
        callback(null, { operation: toOperationInput(o.upgrader?.operation(begun.id) ?? begun) })
      }, o.upgradeAnswerMs ?? UPGRADE_ANSWER_MS)
      switching('Upgrade', call.metadata, async () => await upgrader().upgrade(call.request, op => { begun = op }), (err, value) => {
        clearTimeout(timer)
        if (answered) return
        answered = true
        callback(err, value)
      })
    },
    Rollback: (call, callback) => { switching('Rollback', call.metadata, async () => await upgrader().rollback(), callback) },
    Operations: unary('Operations', async () => ({ operations: listOps().map(toOperationInput) })),
    GetOperation: (call, callback) => {
      const id = call.request.id
      const op = o.upgrader?.operation(id) ?? listOps().find(x => x.id === id)
      if (op === undefined) callback(fail(new CodedError('ERR_OPERATION_NOT_FOUND', `no operation ${JSON.stringify(sanitizeText(id).slice(0, 64))} on this node`), 'GetOperation'))
      else callback(null, { operation: toOperationInput(op) })
    },
    Version: unary('Version', async () => await readVersion({ roots: o.roots, state: applies.writtenState() ?? o.state })),
    Services: unary('Services', async () => ({ services: [machinedService(), ...o.supervisor.list()] })),
    Memory: unary('Memory', async () => await readMemory(o.roots)),
    Disks: unary('Disks', async () => ({ disks: await readDisks(o.roots) })),
    Mounts: unary('Mounts', async () => ({ mounts: await readMounts({ roots: o.roots }) })),
    Processes: unary('Processes', async () => ({ processes: await readProcesses(o.roots) })),
    Dmesg: (call) => {
      stream(call, 'Dmesg', async (signal) => {
        const source = await openKmsg(join(o.roots.dev, 'kmsg'))
        const uptime = parseUptime((await readTrimmed(join(o.roots.proc, 'uptime'))) ?? '')
        return closing(kmsgLines({ source, tail: call.request.tail, follow: call.request.follow, signal, bootTimeMs: Date.now() - uptime * 1000, ...(o.kmsgPollMs === undefined ? {} : { pollMs: o.kmsgPollMs }) }), source)
      })
    },
    Logs: (call) => {
      stream(call, 'Logs', async (signal) => {
        const id = call.request.service
        const log = id === 'machined' && o.ownLog !== undefined ? o.ownLog : o.supervisor.log(id)
        if (log === undefined) throw new CodedError('ERR_NODE_SERVICE_UNKNOWN', `no service ${JSON.stringify(sanitizeText(id).slice(0, 64))} on this node`)
        return serviceLines({ id, log, tail: call.request.tail, follow: call.request.follow, signal })
      })
    },
    Reboot: (call, callback) => {
      const mode = call.request.mode
      if (mode !== '' && mode !== 'default' && mode !== 'force') {
        callback(fail(new CodedError('ERR_VALIDATION', `reboot mode ${JSON.stringify(sanitizeText(mode).slice(0, 32))}: expected default or force`), 'Reboot'))
        return
      }
      power('reboot', mode === 'force', call.metadata, callback)
    },
    Shutdown: (call, callback) => { power('shutdown', call.request.force, call.metadata, callback) },
    Reset: (call, callback) => {
      o.log(`anvil-node: reset${call.request.graceful ? ' (graceful)' : ''}, wipe ${JSON.stringify(sanitizeText(call.request.wipe).slice(0, 32))}, asked by ${caller(call.metadata)}`)
      resets.begin(call.request).then(op => { callback(null, { operation: op }) }, (err: unknown) => { callback(fail(err, 'Reset')) })
    },
    ApplyConfig: (call, callback) => {
      const r = call.request
      // The mode and flags only: the config's text may hold secrets.
      o.log(`anvil-node: apply-config (${r.config.length} bytes), mode ${JSON.stringify(sanitizeText(r.mode).slice(0, 32))}${r.dryRun ? ', dry run' : ''}, asked by ${caller(call.metadata)}`)
      applies.begin(r).then(a => { callback(null, a) }, (err: unknown) => { callback(fail(err, 'ApplyConfig')) })
    }
  }
  return { handlers, ops }
}

/** Reset over the node's real disk (partitions by GPT name under the roots), its services and power. */
function resetOperations (o: NodeApiOptions, bootId: () => Promise<string>, busy: BusyGuard): ResetOperations {
  const state = o.state
  const notice: NodeNoticePort = o.notice ?? (async (n) => {
    if (state === undefined) throw new CodedError('ERR_STATE_INVALID', 'no STATE: this node never was installed, so Anvil knows no key of it')
    return await sendNodeNotice({ state, notice: n })
  })
  return new ResetOperations({
    busy,
    findPartition: async (name) => await findPartition(o.roots, name),
    notice,
    running: async () => {
      const v = await readVersion({ roots: o.roots, state })
      return { imageName: v.imageName ?? '', imageVersion: v.imageVersion ?? '', slot: v.slot ?? '' }
    },
    stopServices: async () => { await o.supervisor.stopAll() },
    zero: zeroRange,
    disableSlots: async (esp) => { await rewriteGrubenv(esp, vars => ({ ...vars, ...NO_BOOTABLE_SLOT })) },
    power: o.power,
    sync: o.sync ?? (async () => { await runSync() }),
    bootId,
    log: o.log,
    ...(o.settleMs === undefined ? {} : { settleMs: o.settleMs })
  })
}

/** ApplyConfig over the node's STATE partition, its links and files, its services and power. */
function applyOperations (o: NodeApiOptions, bootId: () => Promise<string>, busy: BusyGuard): ApplyConfigOperations {
  return new ApplyConfigOperations({
    busy,
    state: o.statePort ?? nodeStatePort(o.roots),
    bakedKey: async () => await readFile(join(o.roots.etcAnvil, 'keys/config.pub'), 'utf8').catch(() => undefined),
    live: { ...nodeLivePort(o.roots, { exec: execArgv }), ...o.live },
    stopServices: async () => { await o.supervisor.stopAll() },
    power: o.power,
    sync: o.sync ?? (async () => { await runSync() }),
    bootId,
    log: o.log,
    ...(o.now === undefined ? {} : { now: o.now }),
    ...(o.timer === undefined ? {} : { timer: o.timer }),
    ...(o.recordOperation === undefined ? {} : { recordOperation: o.recordOperation }),
    ...(o.settleMs === undefined ? {} : { settleMs: o.settleMs })
  })
}

/** Writes each line, waiting for the client when grpc-js's buffer is full; ends when the lines do or the call is cancelled. */
async function pipeLines (call: ServerWritableStream<unknown, LogLineInput>, lines: (signal: AbortSignal) => Promise<AsyncIterable<LogLineInput>>, signal: AbortSignal): Promise<void> {
  for await (const line of await lines(signal)) {
    if (signal.aborted) break
    if (!call.write(line)) await once(call, 'drain', { signal }).catch(() => {})
  }
}

/** The kmsg lines, closing the device once they end whichever way. */
async function * closing (lines: AsyncIterable<LogLineInput>, source: { close (): Promise<void> }): AsyncGenerator<LogLineInput> {
  try {
    yield * lines
  } finally {
    await source.close().catch(() => {})
  }
}

/** machined itself, first in Services: it is answering, so it is running and healthy. */
function machinedService (): ServiceInput {
  return { id: 'machined', state: 'running', pid: process.pid, restarts: 0, startedAtMs: Math.round(Date.now() - process.uptime() * 1000), health: 'healthy', lastExit: '' }
}

/** Who asked, from apid's metadata, fit for one console line. */
function caller (metadata: Metadata): string {
  const value = (key: string): string => {
    const v = metadata.get(key)[0]
    return typeof v === 'string' ? sanitizeText(v).slice(0, 128) : ''
  }
  const name = value('anvil-caller-name')
  const role = value('anvil-caller-role')
  return name === '' && role === '' ? 'a local caller (no apid metadata)' : `${name === '' ? '?' : name} (${role === '' ? '?' : role})`
}

/**
 * toStatus logs the errors it does not map with `log.error(obj, msg)` and nothing else; machined
 * has a console, not pino (the node bundle carries no logger), so this is that one method.
 */
function consoleLogger (say: (line: string) => void): Logger {
  const error = (obj: { err?: unknown, method?: unknown }, msg: string): void => {
    const err = obj.err instanceof Error ? obj.err.message : String(obj.err)
    say(`anvil-node: node API ${String(obj.method)}: ${msg}: ${sanitizeText(err).slice(0, 300)}`)
  }
  return { error } as unknown as Logger
}
