/**
 * The node's operations and the rest of STATE that machined changes after the first boot: one
 * owner, so two writers never race for the partition. Every change is written at once to the
 * STATE copy that does not hold the current record, with seq + 1 (as first-boot.ts does), one
 * write at a time, then read back by writeState. Operations are kept newest first, at most 16:
 * an upgrade spans a reboot, and its operation must still be there when the client asks again.
 */
import { MAX_STORED_OPERATIONS, type StatePayload, type StoredOperation } from '../../node-state/record.ts'
import type { OperationInput } from '../../proto/generated/anvil/node/v1/Operation.ts'

/** Where STATE is written: the current record's sequence and the copy to write next. */
export interface StateStore {
  write (payload: StatePayload, seq: bigint, copy: 0 | 1): Promise<{ readonly seq: bigint, readonly nextCopy: 0 | 1 }>
}

export type NodeOperationsOptions = {
  readonly store: StateStore
  readonly record: { readonly payload: StatePayload, readonly seq: bigint, readonly nextCopy: 0 | 1 }
}

/** STATE as machined keeps it: read once at start, changed only through here. */
export class NodeOperations {
  readonly #store: StateStore
  #payload: StatePayload
  #seq: bigint
  #copy: 0 | 1
  #queue: Promise<unknown> = Promise.resolve()

  constructor (o: NodeOperationsOptions) {
    this.#store = o.store
    this.#payload = o.record.payload
    this.#seq = o.record.seq
    this.#copy = o.record.nextCopy
  }

  /** The current record. */
  get state (): StatePayload { return this.#payload }

  /** Newest first. */
  list (): readonly StoredOperation[] { return this.#payload.operations ?? [] }

  get (id: string): StoredOperation | undefined { return this.list().find(op => op.id === id) }

  /** Inserts or replaces `op` (by id) and writes STATE. */
  async put (op: StoredOperation): Promise<void> {
    await this.update(p => ({ ...p, operations: upsert(p.operations ?? [], op) }))
  }

  /** Applies `change` to the record and writes it (changes are applied and written one at a time). */
  async update (change: (p: StatePayload) => StatePayload): Promise<void> {
    const run = this.#queue.then(async () => {
      const next = change(this.#payload)
      const done = await this.#store.write(next, this.#seq + 1n, this.#copy)
      this.#payload = next
      this.#seq = done.seq
      this.#copy = done.nextCopy
    })
    this.#queue = run.catch(() => {})
    await run
  }
}

/** `op` first (or in its place when it is there), the list cut to MAX_STORED_OPERATIONS. */
export function upsert (ops: readonly StoredOperation[], op: StoredOperation): StoredOperation[] {
  const i = ops.findIndex(o => o.id === op.id)
  if (i >= 0) return ops.map(o => o.id === op.id ? op : o)
  return [op, ...ops].slice(0, MAX_STORED_OPERATIONS)
}

/** A stored operation as the node API answers it. */
export function toOperationInput (op: StoredOperation): OperationInput {
  return { ...op }
}

/** An operation from the power path (in memory) as STATE keeps it. */
export function fromOperationInput (op: OperationInput): StoredOperation {
  const num = (v: OperationInput['startedAtMs']): number => typeof v === 'number' ? v : Number(String(v ?? 0))
  const state = op.state === 'pending' || op.state === 'succeeded' || op.state === 'failed' || op.state === 'rolled_back' ? op.state : 'running'
  return {
    id: op.id ?? '',
    kind: op.kind ?? '',
    state,
    phase: op.phase ?? '',
    startedAtMs: num(op.startedAtMs),
    ...(op.bootIdBefore === undefined ? {} : { bootIdBefore: op.bootIdBefore })
  }
}

/**
 * At start: a reboot recorded before a boot id that is no longer this one did happen (the
 * machine is back); a running upgrade/rollback without a pending switch was cut by a crash.
 */
export function settleAfterBoot (ops: readonly StoredOperation[], bootId: string, pendingId: string | undefined, now: number): StoredOperation[] {
  return ops.map(op => {
    if (op.state !== 'running' && op.state !== 'pending') return op
    if (op.id === pendingId) return op
    if (op.kind === 'reboot' && op.bootIdBefore !== undefined && op.bootIdBefore !== '' && op.bootIdBefore !== bootId) {
      return { ...op, state: 'succeeded', phase: 'done', finishedAtMs: now }
    }
    if (op.kind === 'upgrade' || op.kind === 'rollback') {
      return { ...op, state: 'failed', phase: 'interrupted', finishedAtMs: now, error: 'machined stopped before the operation ended (the selected slot was not changed)' }
    }
    return op
  })
}
