import Database from 'better-sqlite3'
import { drizzle, type BetterSQLite3Database } from 'drizzle-orm/better-sqlite3'
import { migrate } from 'drizzle-orm/better-sqlite3/migrator'
import { chmodSync, closeSync, openSync, statSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import * as schema from './schema.ts'

export type Db = BetterSQLite3Database<typeof schema> & { $client: Database.Database }

const MIGRATIONS = fileURLToPath(new URL('../../migrations', import.meta.url))

/** Sets mode 0600 on `file` unless it has it; false when there is no such file. */
function makePrivate (file: string): boolean {
  let mode: number
  try {
    mode = statSync(file).mode & 0o777
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw err
  }
  if (mode !== 0o600) chmodSync(file, 0o600)
  return true
}

/**
 * Opens (creating if needed) the SQLite database and applies pending migrations.
 * WAL with synchronous=FULL: a committed transaction survives kill -9 and power loss;
 * callers batch writes so that one fsync covers many leases or events.
 *
 * The database holds sealed BMC passwords and every machine's history: it and its -wal and -shm
 * files are made 0600 whatever the umask (SQLite would create the database 0644) and whatever
 * mode an earlier run left them with.
 */
export function openDatabase (file: string, options: { migrationsFolder?: string } = {}): Db {
  const onDisk = file !== '' && file !== ':memory:' && !file.startsWith('file:')
  if (onDisk) {
    // Create it (empty is a valid SQLite database) with 0600 before SQLite opens it: SQLite gives
    // the -wal and -shm it creates the database file's mode.
    closeSync(openSync(file, 'a', 0o600))
    makePrivate(file)
  }
  const sqlite = new Database(file)
  sqlite.pragma('journal_mode = WAL')
  sqlite.pragma('synchronous = FULL')
  sqlite.pragma('foreign_keys = ON')
  sqlite.pragma('busy_timeout = 5000')
  const db = drizzle(sqlite, { schema })
  migrate(db, { migrationsFolder: options.migrationsFolder ?? MIGRATIONS })
  // By now -wal and -shm exist (a WAL database creates them at its first read or write, and the
  // migrations did both); ones left by an earlier run, or another process, keep their mode until
  // tightened here.
  if (onDisk) for (const suffix of ['-wal', '-shm']) makePrivate(file + suffix)
  return db as Db
}
