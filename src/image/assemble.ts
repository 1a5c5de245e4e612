import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { open, stat } from 'node:fs/promises'
import { once } from 'node:events'
import { CHUNK_SIZE } from './manifest.ts'

/**
 * Streams a whole-disk image out of its pieces, in one pass and without ever writing the
 * (mostly empty) raw disk: 4 MiB at a time, each chunk hashed (the manifest's chunk list and
 * whole-image SHA-256) and piped into zstd, whose output is hashed too. `rawOut` optionally keeps
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

/** Assembles `size` bytes from `regions`, compresses them with `zstd -<level> -T2` into `out`. */
export async function assembleImage (options: { regions: readonly Region[], size: number, out: string, zstdLevel: number, rawOut?: string }): Promise<Assembled> {
  const { size } = options
  if (size % 512 !== 0) throw new Error('image: size must be whole sectors')
  const regions = checkRegions(options.regions, size)
  const files = await openFiles(regions)
  // -T2: zstd's multi-threaded format gives the same bytes for any thread count >= 1 (measured:
  // -T1/-T2/-T4 equal; --single-thread differs), so CI machines of any size agree.
  const zstd = spawn('zstd', ['-q', `-${options.zstdLevel}`, '-T2', '--no-progress', '-c'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  zstd.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  let pipeError: Error | undefined
  zstd.stdin.on('error', (err) => { pipeError = err }) // zstd died early: reported with its exit status below
  const exited = once(zstd, 'close')
  const out = createWriteStream(options.out)
  const compressedHash = createHash('sha256')
  let compressedSize = 0
  zstd.stdout.on('data', (d: Buffer) => { compressedHash.update(d); compressedSize += d.length })
  zstd.stdout.pipe(out)
  const outDone = once(out, 'close')
  const raw = options.rawOut === undefined ? undefined : await open(options.rawOut, 'w')
  const whole = createHash('sha256')
  const chunks: string[] = []
  const zero = Buffer.alloc(CHUNK_SIZE)
  try {
    for (let at = 0; at < size; at += CHUNK_SIZE) {
      const chunk = Buffer.alloc(Math.min(CHUNK_SIZE, size - at))
      await fill(chunk, at, regions, files)
      whole.update(chunk)
      chunks.push(createHash('sha256').update(chunk).digest('hex'))
      if (raw !== undefined && !chunk.equals(zero.subarray(0, chunk.length))) await raw.write(chunk, 0, chunk.length, at)
      if (!zstd.stdin.write(chunk)) await Promise.race([once(zstd.stdin, 'drain'), exited])
      if (zstd.exitCode !== null) break
    }
    zstd.stdin.end()
    const [code] = await exited as [number | null]
    if (code !== 0 || pipeError !== undefined) throw new Error(`zstd exited with ${code}: ${stderr.trim() || pipeError?.message}`)
    await outDone
  } finally {
    for (const fh of files.values()) await fh.close()
    if (raw !== undefined) {
      await raw.truncate(size)
      await raw.close()
    }
  }
  return { size, sha256: whole.digest('hex'), chunks, compressedSize, compressedSha256: compressedHash.digest('hex') }
}
