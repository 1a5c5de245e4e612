import { randomBytes } from 'node:crypto'
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Creates the data directory (and its parents) if missing, and makes it 0700 whatever the umask
 * and however it was made before (an existing 0755 directory is tightened): it holds the
 * database, the admin token and the keys. A shared directory with the sticky bit (/tmp) is
 * refused rather than locked to everyone else. The database files themselves are made 0600 by
 * openDatabase (src/db/open.ts).
 */
export function ensureDataDir (dir: string): void {
  mkdirSync(dir, { recursive: true, mode: 0o700 })
  const st = statSync(dir)
  if (!st.isDirectory()) throw new Error(`dataDir ${dir} is not a directory`)
  if ((st.mode & 0o1000) !== 0) throw new Error(`dataDir ${dir} is a shared directory (sticky bit, like /tmp); give Anvil a directory of its own, e.g. ${dir.replace(/\/+$/, '')}/anvil`)
  // chmod, not mkdir's mode: that is filtered by the umask and ignored for a directory that exists.
  if ((st.mode & 0o777) !== 0o700) chmodSync(dir, 0o700)
}

/**
 * Reads a secret file of the data dir, or creates it (mode 0600) with `make()` when it is missing
 * or not `valid`. An existing file readable by others is tightened back to 0600.
 */
function ensurePrivateFile (file: string, valid: (text: string) => boolean, make: () => string): { text: string, created: boolean } {
  try {
    const text = readFileSync(file, 'utf8').trim()
    if (valid(text)) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
      return { text, created: false }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const text = make()
  writeFileSync(file, text + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
  return { text, created: true }
}

/** The admin API token in `<dataDir>/admin.token`: 256 random bits, created at first start. */
export function ensureAdminToken (dataDir: string): { token: string, file: string, created: boolean } {
  const file = join(dataDir, 'admin.token')
  const { text, created } = ensurePrivateFile(file, (t) => t.length >= 16, () => randomBytes(32).toString('base64url'))
  return { token: text, file, created }
}

/**
 * The key that seals BMC passwords at rest, in `<dataDir>/secret.key` (256 bits, base64).
 * A malformed file is an error, never silently replaced: that would orphan every sealed password.
 */
export function ensureSecretKey (dataDir: string): { key: Buffer, file: string, created: boolean } {
  const file = join(dataDir, 'secret.key')
  let exists = true
  try {
    statSync(file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
    exists = false
  }
  const valid = (t: string): boolean => Buffer.from(t, 'base64').length === 32
  if (exists && !valid(readFileSync(file, 'utf8').trim())) {
    throw new Error(`${file} is not a base64 256-bit key; restore it from a backup (BMC passwords sealed with it cannot be read otherwise)`)
  }
  const { text, created } = ensurePrivateFile(file, valid, () => randomBytes(32).toString('base64'))
  return { key: Buffer.from(text, 'base64'), file, created }
}
