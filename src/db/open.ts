import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { fileURLToPath } from 'node:url'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url))

/**
 * Opens (creating if needed) the SQLite database and applies pending migrations.
 * WAL with synchronous=FULL: a committed transaction survives kill -9 and power loss;
 * callers batch writes so that one fsync covers many leases or events.
 */
export function openDatabase (file: string, options: { migrationsFolder?: string } = {}): Db {
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = drizzle(sqlite, { schema })
  migrate(db, { migrationsFolder: options.migrationsFolder ?? MIGRATIONS })
  return db as Db
}
