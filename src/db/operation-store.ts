import { and, desc, eq, lt, or, type SQL } from 'drizzle-orm'
import type { StoredTask } from '../provisioning/discovery-ports.ts'
import type { OperationFilter, OperationStore } from '../provisioning/operations.ts'
import type { Db } from './open.ts'
import { tasks } from './schema.ts'
import { toTask } from './discovery-store.ts'

/** OperationStore over SQLite: the tasks table read over every machine (index tasks_created). */
export class SqliteOperationStore implements OperationStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async operation (id: string): Promise<StoredTask | undefined> {
    const row = this.#db.select().from(tasks).where(eq(tasks.id, id)).get()
    return row === undefined ? undefined : toTask(row)
  }

  async operations (f: OperationFilter): Promise<StoredTask[]> {
    const conds: SQL[] = []
    if (f.machineId !== undefined) conds.push(eq(tasks.machineId, f.machineId))
    if (f.state !== undefined) conds.push(eq(tasks.state, f.state))
    if (f.kind !== undefined) conds.push(eq(tasks.kind, f.kind))
    if (f.before !== undefined) {
      // Keyset paging on (created_at, id): stable while new operations arrive, unlike an offset.
      const c = f.before
      conds.push(or(lt(tasks.createdAt, c.createdAt), and(eq(tasks.createdAt, c.createdAt), lt(tasks.id, c.id))) as SQL)
    }
    return this.#db.select().from(tasks).where(and(...conds)).orderBy(desc(tasks.createdAt), desc(tasks.id)).limit(f.limit).all().map(toTask)
  }
}
