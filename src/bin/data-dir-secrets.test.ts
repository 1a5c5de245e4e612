import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ensureAdminToken, ensureDataDir } from './data-dir-secrets.ts'

const mode = (path: string): number => statSync(path).mode & 0o777

/** Runs fn under umask 022, the usual default, with a temporary directory removed afterwards. */
function withTempDir (fn: (root: string) => void): void {
  const root = mkdtempSync(join(tmpdir(), 'anvil-datadir-'))
  const old = process.umask(0o022)
  try {
    fn(root)
  } finally {
    process.umask(old)
    rmSync(root, { recursive: true, force: true })
  }
}

test('ensureDataDir tightens an existing 0755 data directory to 0700', () => {
  withTempDir((root) => {
    const dir = join(root, 'var')
    mkdirSync(dir)
    chmodSync(dir, 0o755)
    ensureDataDir(dir)
    assert.equal(mode(dir), 0o700)
  })
})

test('ensureDataDir creates a missing directory, parents included, 0700 even under a permissive umask', () => {
  withTempDir((root) => {
    const dir = join(root, 'a', 'b', 'var')
    process.umask(0o000)
    ensureDataDir(dir)
    assert.equal(mode(dir), 0o700)
    ensureDataDir(dir) // idempotent
    assert.equal(mode(dir), 0o700)
  })
})

test('ensureDataDir refuses a shared sticky directory such as /tmp, and a file', () => {
  withTempDir((root) => {
    const shared = join(root, 'shared')
    mkdirSync(shared)
    chmodSync(shared, 0o1777)
    assert.throws(() => { ensureDataDir(shared) }, /shared directory/)
    assert.equal(mode(shared), 0o777, 'left alone')
    const file = join(root, 'file')
    writeFileSync(file, '')
    assert.throws(() => { ensureDataDir(file) })
  })
})

test('ensureAdminToken writes the token 0600 and tightens an existing 0644 one', () => {
  withTempDir((root) => {
    const { file, created } = ensureAdminToken(root)
    assert.equal(created, true)
    assert.equal(mode(file), 0o600)
    chmodSync(file, 0o644)
    assert.equal(ensureAdminToken(root).created, false)
    assert.equal(mode(file), 0o600)
  })
})
