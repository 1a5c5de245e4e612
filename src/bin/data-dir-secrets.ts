import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

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
