import { setTimeout as delay } from 'node:timers/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { terminalSafe } from '../lib/text.ts'
import { humanBytes } from '../provisioning/hardware-summary.ts'
import type { OperationJson } from '../http/api-types.ts'
import type { ApiClient } from './client.ts'
import { progressLine } from './discovery.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderFields, renderTable, type Column } from './output.ts'

const ENDED = new Set(['done', 'failed', 'cancelled'])
export const DEFAULT_WATCH_INTERVAL_MS = 1000

/** How long ago, in the largest whole unit: 45s, 12m, 3h, 2d. */
export function age (iso: string, now: number): string {
  const s = Math.max(0, Math.floor((now - Date.parse(iso)) / 1000))
  if (s < 60) return `${s}s`
  if (s < 3600) return `${Math.floor(s / 60)}m`
  if (s < 86_400) return `${Math.floor(s / 3600)}h`
  return `${Math.floor(s / 86_400)}d`
}

/** `42% (1.2 GiB of 3 GiB)`, or `-` before the first progress report. */
export function progressCell (o: Pick<OperationJson, 'percent' | 'bytesDone' | 'bytesTotal'>): string {
  if (o.percent === null) return '-'
  return o.bytesDone === null || o.bytesTotal === null ? `${o.percent}%` : `${o.percent}% (${humanBytes(o.bytesDone)} of ${humanBytes(o.bytesTotal)})`
}

/** One line of `watch`: `t-… running write 42% (1.2 GiB of 3 GiB)`, and the error once failed. */
export function operationLine (o: OperationJson): string {
  const parts = [o.id, o.state, o.phase ?? '-', progressCell(o)]
  if (o.error !== null && o.state !== 'running' && o.state !== 'queued') parts.push(`error: ${o.error}`)
  return parts.join('  ')
}

export type WatchOptions = {
  /** Between polls (default 1 s). */
  readonly intervalMs?: number
  /** Aborting it (Ctrl-C) stops the watch with ERR_INTERRUPTED; the operation itself goes on. */
  readonly signal?: AbortSignal
}

function interrupted (id: string): CodedError {
  return new CodedError('ERR_INTERRUPTED', `stopped watching operation ${id}; it goes on (anvil operations watch ${id})`)
}

/**
 * Polls an operation until it ends and returns it as it ended. `print` gets a line (terminal-safe:
 * phases and errors come from machines) whenever the state, phase or percent changes. It never
 * throws for a failed operation: the caller decides (see `requireSucceeded`).
 */
export async function watchOperation (client: ApiClient, id: string, print: (line: string) => void, options: WatchOptions = {}): Promise<OperationJson> {
  const path = `/api/v1/operations/${encodeURIComponent(id)}`
  const interval = options.intervalMs ?? DEFAULT_WATCH_INTERVAL_MS
  let shown: string | undefined
  for (;;) {
    if (options.signal?.aborted === true) throw interrupted(id)
    const o = await client.get<OperationJson>(path)
    const key = `${o.state} ${o.phase ?? ''} ${o.percent ?? ''}`
    if (key !== shown) {
      shown = key
      print(terminalSafe(operationLine(o)) + '\n')
    }
    if (ENDED.has(o.state)) return o
    try {
      await delay(interval, undefined, options.signal === undefined ? {} : { signal: options.signal })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw interrupted(id)
      throw err
    }
  }
}

/** Throws ERR_OPERATION_FAILED (the CLI exits 1 with the error) unless the operation is done. */
export function requireSucceeded (o: OperationJson): void {
  if (o.state === 'done') return
  throw new CodedError('ERR_OPERATION_FAILED', `operation ${o.id} (${o.kind}${o.machineId === null ? '' : ` of ${o.machineId}`}) ${o.state}${o.error === null ? '' : `: ${o.error}`}`, { id: o.id, state: o.state })
}

/** Runs `fn` with a signal that Ctrl-C aborts, and puts SIGINT back as it was afterwards. */
export async function untilInterrupted<T> (fn: (signal: AbortSignal) => Promise<T>): Promise<T> {
  const ctl = new AbortController()
  const onSigint = (): void => { ctl.abort() }
  process.on('SIGINT', onSigint)
  try {
    return await fn(ctl.signal)
  } finally {
    process.off('SIGINT', onSigint)
  }
}

type RolloutMachineJson = NonNullable<OperationJson['rollout']>['machines'][number]

/** The machines of a rollout as a table: upgrade order, from → to, node operation, outcome. */
export const ROLLOUT_MACHINE_COLUMNS: Column<RolloutMachineJson>[] = [
  { header: 'MACHINE', get: m => m.machineId },
  { header: 'STATE', get: m => m.state },
  { header: 'PHASE', get: m => m.phase },
  { header: 'FROM', get: m => m.fromVersion },
  { header: 'TO', get: m => m.toVersion },
  { header: 'NODE OPERATION', get: m => m.nodeOperationId },
  { header: 'ERROR', get: m => m.error }
]

const COLUMNS = (now: number): Column<OperationJson>[] => [
  { header: 'ID', get: o => o.id },
  { header: 'MACHINE', get: o => o.machineId },
  { header: 'KIND', get: o => o.kind },
  { header: 'STATE', get: o => o.state },
  { header: 'PHASE', get: o => o.phase },
  { header: 'PROGRESS', get: o => o.percent === null ? null : `${o.percent}%` },
  { header: 'AGE', get: o => age(o.createdAt, now) }
]

function positiveInt (max: number) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d+$/.test(v) || n < 1 || n > max) throw new InvalidArgumentError(`an integer from 1 to ${max}`)
    return n
  }
}

/** Every field of one operation, and a bar per disk while it runs. */
function operationFields (o: OperationJson): string {
  const fields = renderFields([
    ['id', o.id], ['machine', o.machineId], ['kind', o.kind], ['state', o.state], ['phase', o.phase],
    ['progress', o.rollout === undefined ? progressCell(o) : `${o.rollout.machinesDone}/${o.rollout.machinesTotal} machines`],
    ...(o.rollout === undefined ? [] : [['image', o.rollout.image], ['selector', o.rollout.selector], ['max parallel', o.rollout.maxParallel]] as const),
    ['error', o.error], ['result', o.rollout === undefined ? o.result : null],
    ['created', o.createdAt], ['started', o.startedAt], ['finished', o.finishedAt],
    ['cancel requested', o.cancelRequestedAt], ['progress at', o.progressAt]
  ])
  const machines = o.rollout === undefined ? '' : renderTable(o.rollout.machines, ROLLOUT_MACHINE_COLUMNS)
  return fields + o.progress.map(p => progressLine(p) + '\n').join('') + machines
}

/** `anvil operations list|show|watch`. */
export function registerOperationsCommands (program: Command, ctx: CliContext): void {
  const ops = program.command('operations').alias('operation').alias('ops').description('long tasks (wipe, install) of every machine and fleet upgrades (rollouts): state, phase, progress, result')

  ops.command('list').alias('ls').description('operations, newest first')
    .option('--machine <id>', 'only this machine\'s (id, MAC, UUID or serial)')
    .option('--state <state>', 'queued, running, done, failed or cancelled')
    .option('--kind <kind>', 'wipe, install, reboot, powerOff or rollout')
    .option('--limit <n>', 'at most this many (1 to 500)', positiveInt(500), 50)
    .action(async (o: { machine?: string, state?: string, kind?: string, limit: number }) => {
      const q = new URLSearchParams({ limit: String(o.limit) })
      if (o.machine !== undefined) q.set('machine', o.machine)
      if (o.state !== undefined) q.set('state', o.state)
      if (o.kind !== undefined) q.set('kind', o.kind)
      const { operations } = await ctx.client().get<{ operations: OperationJson[] }>(`/api/v1/operations?${q.toString()}`)
      const format = ctx.output()
      ctx.print(format === 'table' ? renderTable(operations, COLUMNS(Date.now())) : renderData(operations, format))
    })

  ops.command('show').description('one operation: every field, its result, and live per-disk progress while it runs')
    .argument('<id>')
    .action(async (id: string) => {
      const o = await ctx.client().get<OperationJson>(`/api/v1/operations/${encodeURIComponent(id)}`)
      const format = ctx.output()
      ctx.print(format === 'table' ? operationFields(o) : renderData(o, format))
    })

  ops.command('watch').description('follow an operation until it ends: a line per change of state, phase or percent; exit 1 if it failed or was cancelled (Ctrl-C stops watching, not the operation)')
    .argument('<id>')
    .option('--interval <ms>', 'between polls', positiveInt(60_000), DEFAULT_WATCH_INTERVAL_MS)
    .action(async (id: string, o: { interval: number }) => {
      const format = ctx.output()
      // JSON and YAML print the operation as it ended, alone, so the output parses.
      const print = format === 'table' ? ctx.print : () => {}
      const ended = await untilInterrupted(async (signal) => await watchOperation(ctx.client(), id, print, { intervalMs: o.interval, signal }))
      if (format !== 'table') ctx.print(renderData(ended, format))
      requireSucceeded(ended)
    })
}
