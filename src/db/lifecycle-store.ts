import { and, eq, inArray } from 'drizzle-orm'
import type { Machine } from '../inventory/machine.ts'
import type { StateChange } from '../inventory/ports.ts'
import type { Committed, LifecycleStore, StoredTask, TaskEffects } from '../provisioning/discovery-ports.ts'
import type { SqliteMachineStore } from './machine-store.ts'
import type { Db } from './open.ts'
import { machines, tasks } from './schema.ts'
import { taskRow, toTask } from './discovery-store.ts'

/**
 * LifecycleStore over SQLite: the state change is an UPDATE … WHERE state = expected, and the task
 * rows it creates or cancels are written in the same transaction, so a reject racing a wipe can
 * never leave a queued wipe on a rejected machine, whichever process wins.
 */
export class SqliteLifecycleStore implements LifecycleStore {
  readonly #db: Db
  readonly #machines: SqliteMachineStore

  constructor (db: Db, machineStore: SqliteMachineStore) {
    this.#db = db
    this.#machines = machineStore
  }

  async commitState (machineId: string, expected: Machine['state'], change: StateChange, effects: TaskEffects): Promise<Committed | undefined> {
    const cancelled = this.#db.transaction((tx) => {
      const moved = tx.update(machines).set(change).where(and(eq(machines.id, machineId), eq(machines.state, expected))).run()
      if (moved.changes !== 1) return undefined
      let gone: StoredTask[] = []
      if (effects.cancelPending === true) {
        gone = tx.select().from(tasks).where(and(eq(tasks.machineId, machineId), inArray(tasks.state, ['queued', 'running']))).all().map(toTask)
        for (const t of gone) {
          tx.update(tasks).set(t.state === 'queued'
            ? { state: 'cancelled', finishedAt: change.updatedAt, error: 'cancelled before it started' }
            : { state: 'cancelled', cancelRequestedAt: change.updatedAt, finishedAt: change.updatedAt, error: 'cancelled by an operator while it ran' })
            .where(eq(tasks.id, t.id)).run()
        }
      }
      for (const t of effects.create ?? []) tx.insert(tasks).values(taskRow(t)).run()
      return gone.map(t => tx.select().from(tasks).where(eq(tasks.id, t.id)).get()).filter(r => r !== undefined).map(toTask)
    })
    if (cancelled === undefined) return undefined
    const machine = await this.#machines.get(machineId)
    return machine === undefined ? undefined : { machine, cancelled }
  }
}
