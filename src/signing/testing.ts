// Test support for the signing tests (unit and CLI): the real minisign binary, temporary dirs. Not used by the server.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { skipReason } from '../../test/helpers/requirements.ts'

/**
 * Why the minisign interop tests cannot run, or undefined. Debian's minisign (0.11 on bookworm)
 * is the independent implementation the formats are checked against; lab/setup.sh installs it.
 */
export const minisignSkip: string | undefined = skipReason('minisign interop', { programs: ['minisign'] })

/** Runs minisign with no terminal; its exit status and output, never a throw. */
export function minisign (args: readonly string[], cwd: string): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync('minisign', args, { cwd, encoding: 'utf8', input: '', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A fresh temporary directory and its removal. */
export function tempDir (prefix = 'anvil-signing-'): { dir: string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return { dir, remove: () => { rmSync(dir, { recursive: true, force: true }) } }
}

/** `minisign -G -W` in dir: an unencrypted key pair at dir/minisign.key and dir/minisign.pub. */
export function minisignKeyPair (dir: string): { secretKeyFile: string, publicKeyFile: string } {
  const r = minisign(['-G', '-W', '-p', 'minisign.pub', '-s', 'minisign.key'], dir)
  if (r.status !== 0) throw new Error(`minisign -G failed: ${r.stderr}`)
  return { secretKeyFile: join(dir, 'minisign.key'), publicKeyFile: join(dir, 'minisign.pub') }
}
