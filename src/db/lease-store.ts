import type { Statement } from 'better-sqlite3'
import { Worker } from 'node:worker_threads'
import type { Db } from './open.ts'
import type { Lease, LeaseState, LeaseStore } from '../dhcp/lease-store.ts'

/** A `leases` row as bound to the statements. */
export type LeaseRow = {
  address: number
  subnet: string
  mac: string
  client_id: string | null
  hostname: string | null
  state: string
  starts_at: number
  expires_at: number
  updated_at: number
}

/** Insert or replace the row of one address. */
export const UPSERT_LEASE_SQL = `INSERT INTO leases (address, subnet, mac, client_id, hostname, state, starts_at, expires_at, updated_at)
  VALUES (@address, @subnet, @mac, @client_id, @hostname, @state, @starts_at, @expires_at, @updated_at)
  ON CONFLICT(address) DO UPDATE SET subnet = excluded.subnet, mac = excluded.mac, client_id = excluded.client_id,
    hostname = excluded.hostname, state = excluded.state, starts_at = excluded.starts_at,
    expires_at = excluded.expires_at, updated_at = excluded.updated_at`

function toRow (l: Lease): LeaseRow {
  return {
    address: l.address,
    subnet: l.subnet,
    mac: l.mac,
    client_id: l.clientId,
    hostname: l.hostname,
    state: l.state,
    starts_at: l.startsAt,
    expires_at: l.expiresAt,
    updated_at: l.updatedAt
  }
}

const STATES = new Set<string>(['bound', 'released', 'declined', 'expired'])

/**
 * The `leases` table behind the LeaseStore port. The hot path (one transaction per group
 * commit) uses prepared statements on the better-sqlite3 handle: drizzle's query builder costs
 * more per row than the write itself. With WAL and synchronous=FULL (openDatabase) a resolved
 * commit() has been fsynced. With `{ worker: true }` (a file database only) batches are written
 * by a worker thread on its own connection, so the event loop keeps serving while one fsyncs;
 * call close() to end the worker.
 */
export class SqliteLeaseStore implements LeaseStore {
  readonly #upsert: Statement<LeaseRow>
  readonly #all: Statement<[], LeaseRow>
  readonly #write: (leases: readonly Lease[]) => void
  readonly #worker: Worker | undefined
  readonly #pending = new Map<number, { resolve: () => void, reject: (err: Error) => void }>()
  #nextId = 0

  constructor (db: Db, options: { worker?: boolean } = {}) {
    const sqlite = db.$client
    if (options.worker === true && !sqlite.memory) this.#worker = this.#startWorker(sqlite.name)
    this.#upsert = sqlite.prepare<LeaseRow>(UPSERT_LEASE_SQL)
    this.#all = sqlite.prepare<[], LeaseRow>('SELECT * FROM leases ORDER BY address')
    this.#write = sqlite.transaction((leases: readonly Lease[]) => {
      for (const l of leases) this.#upsert.run(toRow(l))
    })
  }

  async loadAll (): Promise<Lease[]> {
    return this.#all.all().filter(r => STATES.has(r.state)).map(r => ({
      address: r.address,
      subnet: r.subnet,
      mac: r.mac,
      clientId: r.client_id,
      hostname: r.hostname,
      state: r.state as LeaseState,
      startsAt: r.starts_at,
      expiresAt: r.expires_at,
      updatedAt: r.updated_at
    }))
  }

  #startWorker (file: string): Worker {
    // tsx in development and tests, compiled .js in dist/: load the sibling of this very file.
    // From source (tsx, development and tests) a worker does not get tsx's loader hooks, so the
    // entry registers them first; compiled (dist/) it loads the .js sibling directly.
    const fromSource = import.meta.url.endsWith('.ts')
    const entry = new URL(`./lease-store-worker${fromSource ? '.ts' : '.js'}`, import.meta.url).href
    const code = fromSource
      ? `import('tsx/esm/api').then(m => { m.register() }).then(() => import(${JSON.stringify(entry)}))`
      : `import(${JSON.stringify(entry)})`
    const worker = new Worker(code, { eval: true, workerData: { file } })
    worker.on('message', (msg: { id: number, error?: string }) => {
      const p = this.#pending.get(msg.id)
      this.#pending.delete(msg.id)
      if (msg.error === undefined) p?.resolve()
      else p?.reject(new Error(`lease commit failed: ${msg.error}`))
    })
    worker.on('error', (err) => { this.#failAll(err) })
    worker.on('exit', () => { this.#failAll(new Error('lease store worker exited')) })
    return worker
  }

  #failAll (err: Error): void {
    for (const p of this.#pending.values()) p.reject(err)
    this.#pending.clear()
  }

  /** One transaction for the whole batch: one fsync however many leases it holds. */
  async commit (leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return
    if (this.#worker === undefined) {
      this.#write(leases)
      return
    }
    const id = this.#nextId++
    const done = new Promise<void>((resolve, reject) => { this.#pending.set(id, { resolve, reject }) })
    this.#worker.postMessage({ id, rows: leases.map(toRow) })
    await done
  }

  /** Ends the worker after the batches already sent. */
  async close (): Promise<void> {
    if (this.#worker === undefined) return
    const exited = new Promise<void>(resolve => { this.#worker?.once('exit', () => { resolve() }) })
    this.#worker.postMessage({ close: true })
    await exited
  }
}
