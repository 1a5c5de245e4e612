import type { Statement } from 'better-sqlite3'
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
 * commit() has been fsynced. (A worker-thread writer was measured too: on the one core the
 * benchmark pins the server to, it was no faster than pacing commits on the event loop, which the
 * DHCP server does.)
 */
export class SqliteLeaseStore implements LeaseStore {
  readonly #upsert: Statement<LeaseRow>
  readonly #all: Statement<[], LeaseRow>
  readonly #write: (leases: readonly Lease[]) => void

  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
    const sqlite = db.$client
    this.#upsert = sqlite.prepare<LeaseRow>(UPSERT_LEASE_SQL)
    this.#all = sqlite.prepare<[], LeaseRow>('SELECT * FROM leases ORDER BY address')
    this.#write = sqlite.transaction((leases: readonly Lease[]) => {
      for (const l of leases) this.#upsert.run(toRow(l))
    })
  }

  /**
   * The address bound now to one of these MACs, if Anvil's own DHCP (authoritative mode) leased one:
   * the agent of that machine may connect from there too.
   */
  boundAddressOf (macs: readonly string[], now: number): string | undefined {
    if (macs.length === 0) return undefined
    const row = this.#db.$client.prepare(`SELECT address FROM leases WHERE state = 'bound' AND expires_at > ? AND mac IN (${macs.map(() => '?').join(',')}) ORDER BY updated_at DESC LIMIT 1`)
      .get(now, ...macs) as { address: number } | undefined
    return row === undefined ? undefined : [24, 16, 8, 0].map(s => (row.address >>> s) & 255).join('.')
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

  /** One transaction for the whole batch: one fsync however many leases it holds. */
  async commit (leases: readonly Lease[]): Promise<void> {
    if (leases.length === 0) return
    this.#write(leases)
  }
}
