import { CodedError } from '../lib/errors.ts'
import type { StoredTask, TaskKind, TaskResultJson, TaskState } from './discovery-ports.ts'
import { aggregateProgress, type DiskProgress } from './progress-board.ts'
import type { RolloutFilter, RolloutStore } from './rollout-ports.ts'
import { rolloutOperationView, type RolloutDetail } from './rollout-view.ts'

/*
 * Every long operation of the product (a wipe, an install, later an upgrade) is a task row: the
 * operation id is the task id, and one table holds its state, phase, bytes and result. A fleet
 * upgrade (a rollout, r-<uuid>) is no one machine's task: it has its own rows (rollout-ports.ts)
 * and is listed here beside the tasks. This module is the read side that `GET /api/v1/operations`
 * and `anvil operations` serve.
 */

/** What an operation is: a machine's task, or a rollout over machines. */
export type OperationKind = TaskKind | 'rollout'

export const OPERATION_STATES: readonly TaskState[] = ['queued', 'running', 'done', 'failed', 'cancelled']
export const OPERATION_KINDS: readonly OperationKind[] = ['wipe', 'install', 'reboot', 'powerOff', 'rollout']
export const DEFAULT_OPERATION_LIMIT = 50
export const MAX_OPERATION_LIMIT = 500

/**
 * An operation as shown. The task's parameters and session stay out: an install's parameters
 * name its signed config and node token, which are no operator view's business.
 */
export type OperationView = {
  readonly id: string
  /** The machine of a task; null for a rollout (its machines are in `rollout`). */
  readonly machineId: string | null
  readonly kind: OperationKind
  readonly state: TaskState
  /** The phase it is in (or ended in); null before its first progress report. */
  readonly phase: string | null
  /** Bytes summed over its disks; null before its first progress report. */
  readonly bytesDone: number | null
  readonly bytesTotal: number | null
  /** 0–100 from the bytes; 100 once done; null while nothing was reported. */
  readonly percent: number | null
  /** When phase and bytes were last reported. */
  readonly progressAt: number | null
  /** Live per-disk progress while it runs in this server process (empty otherwise). */
  readonly progress: readonly DiskProgress[]
  readonly error: string | null
  readonly result: TaskResultJson | null
  /** A rollout's selector, image, machines and their outcomes; absent for a task. */
  readonly rollout?: RolloutDetail
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly cancelRequestedAt: number | null
}

/** Which operations to list, newest first. */
export type OperationQuery = {
  /** A machine id, or any key the machine service resolves (MAC, UUID, serial). */
  readonly machine?: string
  /** One of OPERATION_STATES; anything else is ERR_VALIDATION. */
  readonly state?: string
  /** One of OPERATION_KINDS; anything else is ERR_VALIDATION. */
  readonly kind?: string
  /** 1 to 500; default 50. */
  readonly limit?: number
  /** An operation id: only operations older than it (the next page after it). */
  readonly before?: string
}

/** A resolved query as the store runs it. */
export type OperationFilter = {
  readonly machineId?: string
  readonly state?: TaskState
  readonly kind?: TaskKind
  readonly limit: number
  /** Only rows ordered after this one: (createdAt, id) strictly less. */
  readonly before?: { readonly createdAt: number, readonly id: string }
}

/** The task rows of every machine, read as operations. */
export interface OperationStore {
  operation (id: string): Promise<StoredTask | undefined>
  /** Newest first by (createdAt, id), at most `limit`. */
  operations (filter: OperationFilter): Promise<StoredTask[]>
}

export type OperationsOptions = {
  readonly store: OperationStore
  /** Resolves a machine key (id, MAC, UUID, serial); throws ERR_MACHINE_NOT_FOUND. */
  readonly machine: (key: string) => Promise<{ readonly id: string }>
  /** Live per-disk progress of a running task (AgentService.progressOf). */
  readonly progress: (taskId: string) => readonly DiskProgress[]
  /** Rollouts (fleet upgrades); without it only tasks are operations. */
  readonly rollouts?: Pick<RolloutStore, 'get' | 'list'>
}

const isRolloutId = (id: string): boolean => id.startsWith('r-')
const ROLLOUT_STATES: ReadonlySet<string> = new Set(['running', 'done', 'failed'])

/** 0–100 from the bytes; a finished operation is 100 whatever it reported last. */
export function operationPercent (state: TaskState, bytesDone: number | null, bytesTotal: number | null): number | null {
  if (state === 'done') return 100
  if (bytesDone === null || bytesTotal === null) return null
  if (bytesTotal <= 0) return 100
  return Math.max(0, Math.min(100, Math.floor((bytesDone / bytesTotal) * 100)))
}

/**
 * A task as an operation. While it runs here, phase and bytes come from the live board (the row
 * holds them only at 10% steps); elsewhere, and after it ended, from the row.
 */
export function operationView (t: StoredTask, live: readonly DiskProgress[]): OperationView {
  const sum = t.state === 'running' ? aggregateProgress(live) : undefined
  const phase = sum?.phase ?? t.phase
  const bytesDone = sum?.bytesDone ?? t.bytesDone
  const bytesTotal = sum?.bytesTotal ?? t.bytesTotal
  return {
    id: t.id,
    machineId: t.machineId,
    kind: t.kind,
    state: t.state,
    phase,
    bytesDone,
    bytesTotal,
    percent: operationPercent(t.state, bytesDone, bytesTotal),
    progressAt: sum?.at ?? t.progressAt,
    progress: t.state === 'running' ? live : [],
    error: t.error,
    result: t.result,
    createdAt: t.createdAt,
    startedAt: t.startedAt,
    finishedAt: t.finishedAt,
    cancelRequestedAt: t.cancelRequestedAt
  }
}

function oneOf<T extends string> (field: string, value: string | undefined, allowed: readonly T[]): T | undefined {
  if (value === undefined) return undefined
  if ((allowed as readonly string[]).includes(value)) return value as T
  throw new CodedError('ERR_VALIDATION', `${field} ${JSON.stringify(value.slice(0, 64))} is not one of ${allowed.join(', ')}`, { field, allowed: [...allowed] })
}

/** The operations of every machine: list with filters, and one by id. */
export class OperationsService {
  readonly #o: OperationsOptions

  constructor (options: OperationsOptions) {
    this.#o = options
  }

  async get (id: string): Promise<OperationView> {
    if (isRolloutId(id) && this.#o.rollouts !== undefined) {
      const r = await this.#o.rollouts.get(id)
      if (r !== undefined) return rolloutOperationView(r)
    }
    const t = await this.#o.store.operation(id)
    if (t === undefined) throw new CodedError('ERR_OPERATION_NOT_FOUND', `no operation ${JSON.stringify(id.slice(0, 128))}`, { id })
    return operationView(t, this.#o.progress(t.id))
  }

  async list (q: OperationQuery = {}): Promise<OperationView[]> {
    const limit = q.limit ?? DEFAULT_OPERATION_LIMIT
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_OPERATION_LIMIT) {
      throw new CodedError('ERR_VALIDATION', `limit must be an integer from 1 to ${MAX_OPERATION_LIMIT}`, { field: 'limit' })
    }
    const state = oneOf('state', q.state, OPERATION_STATES)
    const kind = oneOf('kind', q.kind, OPERATION_KINDS)
    const machineId = q.machine === undefined ? undefined : (await this.#o.machine(q.machine)).id
    let before: OperationFilter['before']
    if (q.before !== undefined) {
      const cursor = isRolloutId(q.before) ? (await this.#o.rollouts?.get(q.before))?.rollout : await this.#o.store.operation(q.before)
      if (cursor === undefined) throw new CodedError('ERR_OPERATION_NOT_FOUND', `no operation ${JSON.stringify(q.before.slice(0, 128))} to list from (before)`, { id: q.before, field: 'before' })
      before = { createdAt: cursor.createdAt, id: cursor.id }
    }
    const taskKind = kind === 'rollout' ? undefined : kind
    const tasks = kind === 'rollout'
      ? []
      : (await this.#o.store.operations({
          limit,
          ...(machineId === undefined ? {} : { machineId }),
          ...(state === undefined ? {} : { state }),
          ...(taskKind === undefined ? {} : { kind: taskKind }),
          ...(before === undefined ? {} : { before })
        })).map(t => operationView(t, this.#o.progress(t.id)))
    const rollouts = await this.#rollouts(kind, state, { limit, ...(machineId === undefined ? {} : { machineId }), ...(before === undefined ? {} : { before }) })
    if (rollouts.length === 0) return tasks
    // Both newest first by (createdAt, id): merged, the first `limit` are the page.
    const newer = (a: OperationView, b: OperationView): number => b.createdAt - a.createdAt || (a.id < b.id ? 1 : a.id > b.id ? -1 : 0)
    return [...tasks, ...rollouts].sort(newer).slice(0, limit)
  }

  async #rollouts (kind: OperationKind | undefined, state: TaskState | undefined, f: Omit<RolloutFilter, 'state'>): Promise<OperationView[]> {
    if (this.#o.rollouts === undefined || (kind !== undefined && kind !== 'rollout')) return []
    if (state !== undefined && !ROLLOUT_STATES.has(state)) return []
    const records = await this.#o.rollouts.list({ ...f, ...(state === undefined ? {} : { state: state as NonNullable<RolloutFilter['state']> }) })
    return records.map(rolloutOperationView)
  }
}
