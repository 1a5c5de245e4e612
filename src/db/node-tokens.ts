import { and, eq, isNull, lte, ne, or } from 'drizzle-orm'
import type { NodeTokenRecord, NodeTokenStore } from '../provisioning/install-ports.ts'
import type { Db } from './open.ts'
import { nodeTokens } from './schema.ts'

/** NodeTokenStore over SQLite: one-time tokens for an installed node's first report, only their SHA-256. */
export class SqliteNodeTokens implements NodeTokenStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async issueNodeToken (record: NodeTokenRecord): Promise<void> {
    this.#db.transaction((tx) => {
      tx.delete(nodeTokens).where(and(eq(nodeTokens.machineId, record.machineId), or(
        // An older install's node must not report in for this one.
        ne(nodeTokens.taskId, record.taskId),
        lte(nodeTokens.expiresAt, record.issuedAt)
      ))).run()
      tx.insert(nodeTokens).values({ ...record, usedAt: null }).run()
    })
  }

  async revokeNodeTokens (taskId: string): Promise<void> {
    this.#db.delete(nodeTokens).where(and(eq(nodeTokens.taskId, taskId), isNull(nodeTokens.usedAt))).run()
  }
}
