import { eq } from 'drizzle-orm'
import type { BmcStore, CipherSuiteChoice, StoredBmc } from '../power/bmc.ts'
import type { Db } from './open.ts'
import { bmcs } from './schema.ts'

type BmcRow = typeof bmcs.$inferSelect

function toStored (row: BmcRow): StoredBmc {
  const suite: CipherSuiteChoice = row.cipherSuite === '3' ? 3 : row.cipherSuite === '17' ? 17 : 'auto'
  return { ...row, cipherSuite: suite }
}

/** BmcStore over SQLite. */
export class SqliteBmcStore implements BmcStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async get (machineId: string): Promise<StoredBmc | undefined> {
    const row = this.#db.select().from(bmcs).where(eq(bmcs.machineId, machineId)).get()
    return row === undefined ? undefined : toStored(row)
  }

  async list (): Promise<StoredBmc[]> {
    return this.#db.select().from(bmcs).orderBy(bmcs.machineId).all().map(toStored)
  }

  async put (bmc: StoredBmc): Promise<void> {
    const row = { ...bmc, cipherSuite: String(bmc.cipherSuite) }
    this.#db.insert(bmcs).values(row).onConflictDoUpdate({ target: bmcs.machineId, set: row }).run()
  }

  async delete (machineId: string): Promise<boolean> {
    return this.#db.delete(bmcs).where(eq(bmcs.machineId, machineId)).run().changes > 0
  }
}
