/** Lease states as stored (src/db/schema.ts `leases.state`). */
export const LeaseState = { Bound: 'bound', Released: 'released', Declined: 'declined', Expired: 'expired' } as const
export type LeaseState = typeof LeaseState[keyof typeof LeaseState]

/** One address's lease record. Times are epoch milliseconds. */
export type Lease = {
  /** IPv4 address as an unsigned 32-bit integer. */
  readonly address: number
  /** The subnet's CIDR text, e.g. "10.77.0.0/24". */
  readonly subnet: string
  readonly mac: string
  /** Option 61 as hex when the client sent one (RFC 2131 §4.2 keys leases by it), else null. */
  readonly clientId: string | null
  readonly hostname: string | null
  readonly state: LeaseState
  readonly startsAt: number
  /** For a declined address, the end of its quarantine. */
  readonly expiresAt: number
  readonly updatedAt: number
}

/**
 * The port the lease engine persists through. `commit` writes a batch in one durable
 * transaction (the caller sends its ACKs only after it resolves); rows are keyed by address.
 */
export interface LeaseStore {
  loadAll (): Promise<Lease[]>
  commit (leases: readonly Lease[]): Promise<void>
}

/** A LeaseStore in memory, for tests and for `dhcp.mode` experiments without a database. */
export class MemoryLeaseStore implements LeaseStore {
  readonly rows = new Map<number, Lease>()
  /** How many commit() calls (transactions) were made, for group-commit tests. */
  commits = 0

  async loadAll (): Promise<Lease[]> {
    return [...this.rows.values()]
  }

  async commit (leases: readonly Lease[]): Promise<void> {
    this.commits++
    for (const l of leases) this.rows.set(l.address, l)
  }
}

/**
 * Collects lease writes into as few store commits as possible, so one fsync covers every ACK of
 * a burst: writes that arrive in the same event-loop turn form one batch, and while a batch is
 * being written (an asynchronous store) the next one keeps growing until that write is done.
 * `schedule` defers the flush (setImmediate in the server: it runs after the poll phase has
 * handed us every datagram already queued).
 */
export class GroupCommitter {
  readonly #store: LeaseStore
  readonly #schedule: (fn: () => void) => void
  #pending: Lease[] = []
  #waiters: Array<{ resolve: () => void, reject: (err: unknown) => void }> = []
  #scheduled = false
  #busy = false
  /** Number of store transactions issued. */
  batches = 0

  constructor (store: LeaseStore, schedule: (fn: () => void) => void) {
    this.#store = store
    this.#schedule = schedule
  }

  /** Resolves once `leases` are durable (or rejects with the store's error). */
  commit (leases: readonly Lease[]): Promise<void> {
    this.#pending.push(...leases)
    const done = new Promise<void>((resolve, reject) => { this.#waiters.push({ resolve, reject }) })
    this.#kick()
    return done
  }

  /** Resolves when everything committed so far has been written. */
  async drain (): Promise<void> {
    for (let i = 0; (this.#scheduled || this.#busy || this.#pending.length > 0) && i < 100_000; i++) {
      await new Promise<void>(resolve => { this.#schedule(resolve) })
    }
  }

  #kick (): void {
    if (this.#scheduled || this.#busy || this.#waiters.length === 0) return
    this.#scheduled = true
    this.#schedule(() => { this.#flush() })
  }

  #flush (): void {
    this.#scheduled = false
    const batch = this.#pending
    const waiters = this.#waiters
    this.#pending = []
    this.#waiters = []
    if (batch.length === 0) {
      for (const w of waiters) w.resolve()
      return
    }
    this.batches++
    this.#busy = true
    let write: Promise<void>
    try {
      write = this.#store.commit(batch)
    } catch (err) {
      write = Promise.reject(err)
    }
    write.then(
      () => { for (const w of waiters) w.resolve() },
      (err: unknown) => { for (const w of waiters) w.reject(err) }
    ).finally(() => {
      this.#busy = false
      this.#kick()
    }).catch(() => undefined)
  }
}

/**
 * A GroupCommitter scheduler: the commit runs right after the poll phase (setImmediate: every
 * datagram already queued joins the batch) when none ran in the last `intervalMs`, else at that
 * moment. An idle server adds no latency; a busy one commits at most 1000/intervalMs times a second.
 */
export function pacedSchedule (intervalMs: number, now: () => number = () => performance.now()): (fn: () => void) => void {
  let last = -Infinity
  return (fn) => {
    const run = (): void => { last = now(); fn() }
    const wait = last + intervalMs - now()
    if (wait <= 0) setImmediate(run)
    else setTimeout(run, wait)
  }
}
