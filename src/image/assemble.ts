import { createHash } from 'node:crypto'
import { open, stat } from 'node:fs/promises'
import { CHUNK_SIZE } from './manifest.ts'
import { FrameCache, zstdArgs } from './zstd-frame.ts'

/**
 * Streams a whole-disk image out of its pieces, in one pass and without ever writing the
 * (mostly empty) raw disk: 4 MiB at a time, each chunk hashed (the manifest's chunk list and
 * whole-image SHA-256) and compressed into its own zstd frame (so an installer can fetch only
 * the chunks that are not zero, and resume at any chunk), the frames hashed as written. `rawOut` optionally keeps
 * the raw image as well (sparse: zero chunks are skipped, not written).
 */

/** A piece of the disk: bytes in memory, or a file's first `size` bytes. */
export type Region =
  | { readonly kind: 'bytes', readonly name: string, readonly offset: number, readonly data: Buffer }
  | { readonly kind: 'file', readonly name: string, readonly offset: number, readonly path: string, readonly size: number }

/** What the assembly measured. */
export type Assembled = {
  readonly size: number
  readonly sha256: string
  readonly chunks: string[]
  /** The compressed length of each chunk's frame, in order. */
  readonly frames: number[]
  readonly compressedSize: number
  readonly compressedSha256: string
}

function regionSize (r: Region): number {
  return r.kind === 'bytes' ? r.data.length : r.size
}

/** Checks that regions lie inside the disk and do not overlap; returns them sorted. */
export function checkRegions (regions: readonly Region[], size: number): Region[] {
  const sorted = [...regions].sort((a, b) => a.offset - b.offset)
  let end = 0
  let prev = '(start)'
  for (const r of sorted) {
    if (r.offset < end) throw new Error(`image: ${r.name} at ${r.offset} overlaps ${prev} (ends at ${end})`)
    end = r.offset + regionSize(r)
    prev = r.name
    if (end > size) throw new Error(`image: ${r.name} ends at ${end}, beyond the ${size}-byte disk`)
  }
  return sorted
}

/** Files the regions name, checked to be at least as long as their region. */
async function openFiles (regions: readonly Region[]): Promise<Map<string, Awaited<ReturnType<typeof open>>>> {
  const files = new Map<string, Awaited<ReturnType<typeof open>>>()
  for (const r of regions) {
    if (r.kind !== 'file' || files.has(r.path)) continue
    const st = await stat(r.path)
    if (st.size < r.size) throw new Error(`image: ${r.path} has ${st.size} bytes, ${r.name} needs ${r.size}`)
    files.set(r.path, await open(r.path, 'r'))
  }
  return files
}

/** Fills `chunk` (zeroed, covering disk bytes [at, at + chunk.length)) from the regions. */
async function fill (chunk: Buffer, at: number, regions: readonly Region[], files: Map<string, Awaited<ReturnType<typeof open>>>): Promise<void> {
  for (const r of regions) {
    const from = Math.max(at, r.offset)
    const to = Math.min(at + chunk.length, r.offset + regionSize(r))
    if (from >= to) continue
    if (r.kind === 'bytes') {
      r.data.copy(chunk, from - at, from - r.offset, to - r.offset)
    } else {
      const fh = files.get(r.path)
      if (fh === undefined) throw new Error(`image: ${r.path} not open`)
      const { bytesRead } = await fh.read(chunk, from - at, to - from, from - r.offset)
      if (bytesRead !== to - from) throw new Error(`image: short read of ${r.path}`)
    }
  }
}

/** Assembles `size` bytes from `regions` into `out`: one zstd frame (`zstd -<level>`) per chunk, concatenated. */
export async function assembleImage (options: { regions: readonly Region[], size: number, out: string, zstdLevel: number, rawOut?: string }): Promise<Assembled> {
  const { size } = options
  if (size % 512 !== 0) throw new Error('image: size must be whole sectors')
  const regions = checkRegions(options.regions, size)
  const files = await openFiles(regions)
  const frames = new FrameCache(zstdArgs(options.zstdLevel))
  const out = await open(options.out, 'w')
  const raw = options.rawOut === undefined ? undefined : await open(options.rawOut, 'w')
  const whole = createHash('sha256')
  const compressedHash = createHash('sha256')
  const chunks: string[] = []
  const frameSizes: number[] = []
  let compressedSize = 0
  const zero = Buffer.alloc(CHUNK_SIZE)
  try {
    for (let at = 0; at < size; at += CHUNK_SIZE) {
      const chunk = Buffer.alloc(Math.min(CHUNK_SIZE, size - at))
      await fill(chunk, at, regions, files)
      whole.update(chunk)
      const sha256 = createHash('sha256').update(chunk).digest('hex')
      chunks.push(sha256)
      if (raw !== undefined && !chunk.equals(zero.subarray(0, chunk.length))) await raw.write(chunk, 0, chunk.length, at)
      const frame = await frames.frame(chunk, `${chunk.length}:${sha256}`)
      await out.write(frame, 0, frame.length, compressedSize)
      compressedHash.update(frame)
      compressedSize += frame.length
      frameSizes.push(frame.length)
    }
  } finally {
    for (const fh of files.values()) await fh.close()
    await out.close()
    if (raw !== undefined) {
      await raw.truncate(size)
      await raw.close()
    }
  }
  return { size, sha256: whole.digest('hex'), chunks, frames: frameSizes, compressedSize, compressedSha256: compressedHash.digest('hex') }
}
