import { constants, type FileHandle, open } from 'node:fs/promises'

// The one module the wipe does I/O through: a block device (or, in tests, a plain file standing
// in for one) opened for positioned reads and writes.

/** A device opened for writing; `direct` says whether O_DIRECT writes work on it. */
export type BlockDevice = {
  readonly path: string
  readonly direct: boolean
  /** Writes all of `buf` at `offset` (in pieces if the kernel takes less). */
  write: (buf: Buffer, offset: number) => Promise<void>
  read: (length: number, offset: number) => Promise<Buffer>
  /** fdatasync: the written data is on the medium. */
  sync: () => Promise<void>
  close: () => Promise<void>
}

export const ALIGN = 4096

/**
 * Opens `path` read-write. With `wantDirect`, tries O_DIRECT and finds an aligned view of a zero
 * buffer (Node cannot ask for aligned memory, so we try offsets of a larger buffer until the
 * kernel accepts a write of zeros at offset 0 — harmless, the wipe zeroes it anyway); falls back
 * to buffered I/O when O_DIRECT is refused (tmpfs, some filesystems).
 */
export async function openBlockDevice (path: string, wantDirect: boolean, chunk: number): Promise<{ dev: BlockDevice, zeros: Buffer }> {
  if (wantDirect) {
    const direct = await tryDirect(path, chunk)
    if (direct !== undefined) return direct
  }
  const handle = await open(path, constants.O_RDWR)
  return { dev: wrap(path, handle, false), zeros: Buffer.alloc(chunk) }
}

async function tryDirect (path: string, chunk: number): Promise<{ dev: BlockDevice, zeros: Buffer } | undefined> {
  let handle: FileHandle
  try {
    handle = await open(path, constants.O_RDWR | constants.O_DIRECT)
  } catch {
    return undefined
  }
  const big = Buffer.alloc(chunk + ALIGN)
  for (let shift = 0; shift < ALIGN; shift += 8) {
    try {
      await handle.write(big, shift, ALIGN, 0)
      return { dev: wrap(path, handle, true), zeros: big.subarray(shift, shift + chunk) }
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EINVAL') break
    }
  }
  await handle.close()
  return undefined
}

function wrap (path: string, handle: FileHandle, direct: boolean): BlockDevice {
  return {
    path,
    direct,
    async write (buf, offset) {
      let done = 0
      while (done < buf.length) {
        const { bytesWritten } = await handle.write(buf, done, buf.length - done, offset + done)
        if (bytesWritten <= 0) throw new Error(`short write at ${offset + done}`)
        done += bytesWritten
      }
    },
    async read (length, offset) {
      const buf = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buf, 0, length, offset)
      return buf.subarray(0, bytesRead)
    },
    async sync () { await handle.datasync() },
    async close () { await handle.close() }
  }
}
