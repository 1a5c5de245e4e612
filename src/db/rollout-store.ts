import { and, asc, desc, eq, inArray, lt, or, type SQL } from 'drizzle-orm'
import type { RolloutMachineState } from '../provisioning/rollout.ts'
import type { RolloutFilter, RolloutMachinePatch, RolloutPatch, RolloutRecord, RolloutState, RolloutStore, StoredRollout, StoredRolloutMachine } from '../provisioning/rollout-ports.ts'
import type { Db } from './open.ts'
import { rolloutMachines, rollouts } from './schema.ts'

type RolloutRow = typeof rollouts.$inferSelect
type MachineRow = typeof rolloutMachines.$inferSelect

const toRollout = (r: RolloutRow): StoredRollout => ({ ...r, state: r.state as RolloutState })
const toMachine = (r: MachineRow): StoredRolloutMachine => ({ ...r, state: r.state as RolloutMachineState })

/** RolloutStore over SQLite (tables rollouts and rollout_machines); each method one short transaction. */
export class SqliteRolloutStore implements RolloutStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async create (record: RolloutRecord): Promise<void> {
    this.#db.transaction((tx) => {
      tx.insert(rollouts).values(record.rollout).run()
      if (record.machines.length > 0) tx.insert(rolloutMachines).values([...record.machines]).run()
    })
  }

  async get (id: string): Promise<RolloutRecord | undefined> {
    return this.#records(this.#db.select().from(rollouts).where(eq(rollouts.id, id)).all())[0]
  }

  async list (f: RolloutFilter): Promise<RolloutRecord[]> {
    const conds: SQL[] = []
    if (f.state !== undefined) conds.push(eq(rollouts.state, f.state))
    if (f.machineId !== undefined) {
      conds.push(inArray(rollouts.id, this.#db.select({ id: rolloutMachines.rolloutId }).from(rolloutMachines).where(eq(rolloutMachines.machineId, f.machineId))))
    }
    if (f.before !== undefined) {
      // Keyset paging on (created_at, id), as the tasks' (SqliteOperationStore).
      const c = f.before
      conds.push(or(lt(rollouts.createdAt, c.createdAt), and(eq(rollouts.createdAt, c.createdAt), lt(rollouts.id, c.id))) as SQL)
    }
    return this.#records(this.#db.select().from(rollouts).where(and(...conds)).orderBy(desc(rollouts.createdAt), desc(rollouts.id)).limit(f.limit).all())
  }

  async running (): Promise<RolloutRecord[]> {
    return this.#records(this.#db.select().from(rollouts).where(eq(rollouts.state, 'running')).orderBy(asc(rollouts.createdAt)).all())
  }

  async updateRollout (id: string, patch: RolloutPatch): Promise<void> {
    if (Object.keys(patch).length === 0) return
    this.#db.update(rollouts).set(patch).where(eq(rollouts.id, id)).run()
  }

  async updateMachine (rolloutId: string, machineId: string, patch: RolloutMachinePatch): Promise<void> {
    if (Object.keys(patch).length === 0) return
    this.#db.update(rolloutMachines).set(patch).where(and(eq(rolloutMachines.rolloutId, rolloutId), eq(rolloutMachines.machineId, machineId))).run()
  }

  /** The rows' machines, read in one query, in upgrade order. */
  #records (rows: RolloutRow[]): RolloutRecord[] {
    if (rows.length === 0) return []
    const ms = this.#db.select().from(rolloutMachines).where(inArray(rolloutMachines.rolloutId, rows.map(r => r.id))).orderBy(asc(rolloutMachines.position)).all()
    return rows.map(r => ({ rollout: toRollout(r), machines: ms.filter(m => m.rolloutId === r.id).map(toMachine) }))
  }
}
