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
  /**
   * Direct devices only: a buffer of `length` bytes whose memory O_DIRECT accepts (found by an
   * O_DIRECT read of offset 0 into views of a larger buffer: harmless, and it writes nothing).
   */
  alignedBuffer?: (length: number) => Promise<Buffer>
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
  const alignedBuffer = async (length: number): Promise<Buffer> => {
    const big = Buffer.allocUnsafe(length + ALIGN)
    for (let shift = 0; shift < ALIGN; shift += 8) {
      try {
        await handle.read(big, shift, ALIGN, 0)
        return big.subarray(shift, shift + length)
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') throw err
      }
    }
    throw new Error(`${path}: no view of a buffer that O_DIRECT accepts`)
  }
  return {
    path,
    direct,
    ...(direct ? { alignedBuffer } : {}),
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

/** A device opened for reading back what was written; `direct` says whether reads bypass the page cache. */
export type ReadBack = {
  readonly direct: boolean
  /**
   * Reads `length` bytes at `offset` (short only at the end of the device). With O_DIRECT the
   * result is a view of one reused aligned buffer: consume it before the next read.
   */
  read: (length: number, offset: number) => Promise<Buffer>
  close: () => Promise<void>
}

/**
 * Opens `path` for read-back. Buffered writes leave their pages in the cache, so a buffered read
 * would only prove the cache: O_DIRECT reads come from the medium. Node cannot ask for aligned
 * memory, so (as for writes) offsets of a larger buffer are tried until the kernel accepts a read;
 * offsets and lengths are rounded out to ALIGN. Falls back to buffered reads where O_DIRECT is
 * refused (tmpfs), saying so in `direct`.
 */
export async function openReadBack (path: string, maxLength: number): Promise<ReadBack> {
  try {
    const handle = await open(path, constants.O_RDONLY | constants.O_DIRECT)
    const big = Buffer.alloc(maxLength + 3 * ALIGN)
    for (let shift = 0; shift < ALIGN; shift += 8) {
      try {
        await handle.read(big, shift, ALIGN, 0)
        return directReader(handle, big.subarray(shift))
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EINVAL') break
      }
    }
    await handle.close()
  } catch {}
  const handle = await open(path, constants.O_RDONLY)
  return {
    direct: false,
    async read (length, offset) { return await readAll(handle, Buffer.alloc(length), 0, length, offset) },
    async close () { await handle.close() }
  }
}

function directReader (handle: FileHandle, aligned: Buffer): ReadBack {
  return {
    direct: true,
    async read (length, offset) {
      const start = Math.floor(offset / ALIGN) * ALIGN
      const end = Math.ceil((offset + length) / ALIGN) * ALIGN
      if (end - start > aligned.length) throw new Error(`read-back of ${length} bytes exceeds the buffer`)
      const got = await readAll(handle, aligned, 0, end - start, start)
      return got.subarray(offset - start, Math.min(got.length, offset - start + length))
    },
    async close () { await handle.close() }
  }
}

/** Reads until `length` bytes or the end of the device, into buf[at..]. */
async function readAll (handle: FileHandle, buf: Buffer, at: number, length: number, offset: number): Promise<Buffer> {
  let got = 0
  while (got < length) {
    const { bytesRead } = await handle.read(buf, at + got, length - got, offset + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return buf.subarray(at, at + got)
}
