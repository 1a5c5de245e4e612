import { randomBytes } from 'node:crypto'
import { link, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/**
 * Writing secrets and keys in the data directory so that a crash never leaves half a file and the
 * file never exists, even for a moment, with a looser mode than its final one.
 */

/** A temporary file beside `file` with its final mode from the first byte, fsynced. */
export async function writeTempFile (file: string, text: string, mode: number): Promise<string> {
  const tmp = `${file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`
  const handle = await open(tmp, 'wx', mode)
  try {
    // open()'s mode is filtered by the umask: set it before the first byte is written.
    await handle.chmod(mode)
    await handle.writeFile(text)
    await handle.sync()
  } finally {
    await handle.close()
  }
  return tmp
}

/** Replaces `file` with `text` at once (temporary file, fsync, rename, directory fsync). */
export async function writeFileAtomically (file: string, text: string, mode: number): Promise<void> {
  const tmp = await writeTempFile(file, text, mode)
  try {
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
  await syncDir(file)
}

/** Puts `text` at `file` unless it exists (then false): link() does not replace, rename() would. */
export async function createFileExclusive (file: string, text: string, mode: number): Promise<boolean> {
  const tmp = await writeTempFile(file, text, mode)
  try {
    await link(tmp, file)
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false
    throw err
  } finally {
    await unlink(tmp)
  }
  await syncDir(file)
  return true
}

/** fsync the directory so the new name survives a power loss, not only the data. */
async function syncDir (file: string): Promise<void> {
  const dir = await open(dirname(file), 'r')
  try {
    await dir.sync()
  } finally {
    await dir.close()
  }
}
