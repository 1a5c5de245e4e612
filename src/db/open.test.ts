import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { openDatabase } from './open.ts'

const mode = (path: string): number => statSync(path).mode & 0o777

/** A data directory pre-created 0755 under umask 022, as `mkdir var` leaves it; removed afterwards. */
function withDataDir (fn: (dir: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'anvil-open-'))
  const old = process.umask(0o022)
  try {
    const dir = join(root, 'var')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    fn(dir)
  } finally {
    process.umask(old)
    rmSync(root, { recursive: true, force: true })
  }
}

test('a new database and its -wal and -shm are 0600 under umask 022 (SQLite alone makes them 0644)', () => {
  withDataDir((dir) => {
    const file = join(dir, 'anvil.db')
    const db = openDatabase(file)
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) {
        assert.ok(existsSync(f), `${f} exists while the database is open (WAL)`)
        assert.equal(mode(f).toString(8), '600', f)
      }
    } finally {
      db.$client.close()
    }
  })
})

test('an existing 0644 database is tightened to 0600, and so are -wal and -shm another connection left 0644', () => {
  withDataDir((dir) => {
    const file = join(dir, 'anvil.db')
    writeFileSync(file, '')
    chmodSync(file, 0o644)
    // Another connection (an earlier run, or `sqlite3` by hand) holds it in WAL mode: its -wal
    // and -shm were made 0644 from the database's mode.
    const other = new Database(file)
    other.pragma('journal_mode = WAL')
    other.exec('CREATE TABLE other (x); INSERT INTO other VALUES (1)')
    try {
      for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f).toString(8), '644', `before: ${f}`)
      const db = openDatabase(file)
      try {
        for (const f of [file, `${file}-wal`, `${file}-shm`]) assert.equal(mode(f).toString(8), '600', `after: ${f}`)
        assert.deepEqual(db.$client.prepare('SELECT x FROM other').all(), [{ x: 1 }], 'the same database, not a new one')
      } finally {
        db.$client.close()
      }
    } finally {
      other.close()
    }
  })
})

test(':memory: is opened as before, with no file made', () => {
  withDataDir((dir) => {
    const db = openDatabase(':memory:')
    db.$client.close()
    assert.equal(existsSync(join(dir, ':memory:')), false)
    assert.equal(existsSync(':memory:'), false)
  })
})
