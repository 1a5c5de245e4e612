// Worker thread for SqliteLeaseStore: writes lease batches on its own connection so the fsync
// of one batch does not block the DHCP event loop, which meanwhile gathers the next batch.
import { parentPort, workerData } from 'node:worker_threads'
import Database from 'better-sqlite3'
import { UPSERT_LEASE_SQL, type LeaseRow } from './lease-store.ts'

const sqlite = new Database((workerData as { file: string }).file, { fileMustExist: true })
// Same durability as openDatabase: a committed transaction has been fsynced.
sqlite.pragma('journal_mode = WAL')
sqlite.pragma('synchronous = FULL')
sqlite.pragma('busy_timeout = 5000')
const upsert = sqlite.prepare<LeaseRow>(UPSERT_LEASE_SQL)
const write = sqlite.transaction((rows: readonly LeaseRow[]) => { for (const r of rows) upsert.run(r) })

parentPort?.on('message', (msg: { id: number, rows: LeaseRow[] } | { close: true }) => {
  if ('close' in msg) {
    sqlite.close()
    parentPort?.close()
    return
  }
  try {
    write(msg.rows)
    parentPort?.postMessage({ id: msg.id })
  } catch (err) {
    parentPort?.postMessage({ id: msg.id, error: String(err) })
  }
})
