import { randomBytes } from 'node:crypto'
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * Returns the admin API token, creating `<dataDir>/admin.token` (mode 0600) with 256 random bits
 * at first start. An existing file readable by others is tightened back to 0600.
 */
export function ensureAdminToken (dataDir: string): { token: string, file: string, created: boolean } {
  const file = join(dataDir, 'admin.token')
  try {
    const token = readFileSync(file, 'utf8').trim()
    if (token.length >= 16) {
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600)
      return { token, file, created: false }
    }
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err
  }
  const token = randomBytes(32).toString('base64url')
  writeFileSync(file, token + '\n', { mode: 0o600 })
  chmodSync(file, 0o600)
  return { token, file, created: true }
}
