import { and, asc, eq, gt, inArray, isNull, lt } from 'drizzle-orm'
import type { Statement } from 'better-sqlite3'
import { CodedError } from '../lib/errors.ts'
import type { Machine, MachineEvent, MachineState, UuidStatus } from '../inventory/machine.ts'
import type { MachineFilter, MachinePatch, MachineStore, NewEvent, NewMachine } from '../inventory/ports.ts'
import type { Db } from './open.ts'
import { events, machineMacs, machines } from './schema.ts'

type MachineRow = typeof machines.$inferSelect

/** MachineStore over SQLite. better-sqlite3 is synchronous: every method is one short transaction. */
export class SqliteMachineStore implements MachineStore {
  readonly #db: Db
  readonly #insertEvent: Statement

  constructor (db: Db) {
    this.#db = db
    // The hot path (DHCP/TFTP events) resolves the machine in SQL: by id, else by MAC, else by IP.
    this.#insertEvent = db.$client.prepare(`
      INSERT INTO events (machine_id, mac, at, source, type, message, data)
      VALUES (
        COALESCE(@machineId,
          (SELECT machine_id FROM machine_macs WHERE mac = @mac),
          (SELECT id FROM machines WHERE ip = @ip ORDER BY last_seen_at DESC LIMIT 1)),
        COALESCE(@mac, (SELECT mm.mac FROM machines m JOIN machine_macs mm ON mm.machine_id = m.id
                        WHERE m.ip = @ip ORDER BY m.last_seen_at DESC LIMIT 1)),
        @at, @source, @type, @message, @data)`)
  }

  #macsOf (id: string): string[] {
    return this.#db.select({ mac: machineMacs.mac }).from(machineMacs)
      .where(eq(machineMacs.machineId, id)).orderBy(asc(machineMacs.firstSeenAt), asc(machineMacs.mac)).all().map(r => r.mac)
  }

  #toMachine (row: MachineRow): Machine {
    return {
      ...row,
      uuidStatus: row.uuidStatus as UuidStatus,
      state: row.state as MachineState,
      heldState: row.heldState as MachineState | null,
      macs: this.#macsOf(row.id)
    }
  }

  #getSync (id: string): Machine | undefined {
    const row = this.#db.select().from(machines).where(eq(machines.id, id)).get()
    return row === undefined ? undefined : this.#toMachine(row)
  }

  async get (id: string): Promise<Machine | undefined> {
    return this.#getSync(id)
  }

  async findByMac (mac: string): Promise<Machine | undefined> {
    const link = this.#db.select({ id: machineMacs.machineId }).from(machineMacs).where(eq(machineMacs.mac, mac)).get()
    return link === undefined ? undefined : this.#getSync(link.id)
  }

  async findByUuid (uuid: string): Promise<Machine[]> {
    return this.#db.select().from(machines).where(eq(machines.reportedUuid, uuid)).all().map(r => this.#toMachine(r))
  }

  async findBySerial (serial: string): Promise<Machine[]> {
    return this.#db.select().from(machines).where(eq(machines.serial, serial)).all().map(r => this.#toMachine(r))
  }

  async list (filter: MachineFilter = {}): Promise<Machine[]> {
    const conds = []
    if (filter.state !== undefined) conds.push(eq(machines.state, filter.state))
    if (filter.uuidStatus !== undefined) conds.push(eq(machines.uuidStatus, filter.uuidStatus))
    return this.#db.select().from(machines).where(and(...conds)).orderBy(asc(machines.createdAt), asc(machines.id)).all()
      .map(r => this.#toMachine(r))
  }

  #linkMacs (id: string, macs: readonly string[], at: number): void {
    if (macs.length === 0) return
    for (const mac of macs) {
      this.#db.insert(machineMacs).values({ mac, machineId: id, firstSeenAt: at, lastSeenAt: at })
        .onConflictDoUpdate({ target: machineMacs.mac, set: { machineId: id, lastSeenAt: at } }).run()
    }
    // Events seen before we knew the machine (DHCP, TFTP of its first boot) join its timeline now.
    this.#db.update(events).set({ machineId: id }).where(and(isNull(events.machineId), inArray(events.mac, [...macs]))).run()
  }

  async create (machine: NewMachine, macs: readonly string[]): Promise<Machine> {
    this.#db.transaction((tx) => {
      tx.insert(machines).values(machine).run()
      // A MAC already held is another machine's: refuse (the caller re-reads), never move it.
      const held = macs.length === 0 ? undefined : tx.select({ mac: machineMacs.mac, id: machineMacs.machineId }).from(machineMacs).where(inArray(machineMacs.mac, [...macs])).get()
      if (held !== undefined) throw new CodedError('ERR_MACHINE_EXISTS', `MAC ${held.mac} already belongs to machine ${held.id}`, { id: held.id })
      this.#linkMacs(machine.id, macs, machine.createdAt)
    })
    return this.#getSync(machine.id) as Machine
  }

  async update (id: string, patch: MachinePatch, addMacs: readonly string[] = []): Promise<Machine> {
    this.#db.transaction((tx) => {
      const found = tx.select({ id: machines.id }).from(machines).where(eq(machines.id, id)).get()
      if (found === undefined) throw new CodedError('ERR_MACHINE_NOT_FOUND', `no machine ${id}`, { id })
      if (Object.keys(patch).length > 0) tx.update(machines).set(patch).where(eq(machines.id, id)).run()
      this.#linkMacs(id, addMacs, patch.lastSeenAt ?? patch.updatedAt ?? Date.now())
      if (patch.lastSeenAt !== undefined) {
        tx.update(machineMacs).set({ lastSeenAt: patch.lastSeenAt }).where(eq(machineMacs.machineId, id)).run()
      }
    })
    return this.#getSync(id) as Machine
  }

  async appendEvents (batch: readonly NewEvent[]): Promise<void> {
    const insert = this.#insertEvent
    this.#db.$client.transaction((rows: readonly NewEvent[]) => {
      for (const e of rows) {
        insert.run({ ...e, data: e.data === null ? null : JSON.stringify(e.data) })
      }
    })(batch)
  }

  async listEvents (machineId: string, options: { afterId?: number, limit?: number } = {}): Promise<MachineEvent[]> {
    const rows = this.#db.select().from(events)
      .where(and(eq(events.machineId, machineId), gt(events.id, options.afterId ?? 0)))
      .orderBy(asc(events.id)).limit(Math.min(options.limit ?? 1000, 10_000)).all()
    return rows.map(r => ({ ...r, data: r.data === null ? null : JSON.parse(r.data) as Record<string, unknown> }))
  }

  async pruneEvents (policy: { readonly before: number, readonly unattachedBefore: number, readonly perMachine: number }): Promise<number> {
    const sqlite = this.#db.$client
    return this.#db.transaction(() => {
      let n = this.#db.delete(events).where(lt(events.at, policy.before)).run().changes
      n += this.#db.delete(events).where(and(isNull(events.machineId), lt(events.at, policy.unattachedBefore))).run().changes
      const over = sqlite.prepare('SELECT machine_id AS id FROM events WHERE machine_id IS NOT NULL GROUP BY machine_id HAVING count(*) > ?').all(policy.perMachine) as Array<{ id: string }>
      const trim = sqlite.prepare('DELETE FROM events WHERE machine_id = ? AND id <= (SELECT id FROM events WHERE machine_id = ? ORDER BY id DESC LIMIT 1 OFFSET ?)')
      for (const { id } of over) n += trim.run(id, id, policy.perMachine).changes
      return n
    })
  }
}
