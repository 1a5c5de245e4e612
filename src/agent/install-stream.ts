import type { ImageManifest } from '../image/manifest.ts'
import { CodedError } from '../lib/errors.ts'
import type { BlockDevice } from './block-device.ts'
import type { Decompress } from './install-decompress.ts'
import { checkCompressedHash, fetchResumable, type FetchOptions } from './install-fetch.ts'
import { chunkMatches, overlap, tableRanges, writablePieces } from './install-plan.ts'

// Step e of the install: download → decompress → verify every 4 MiB chunk → write. Two batch
// buffers alternate: one is being written while the next fills from the decompressor, so the
// disk, zstd and the hash run at once and memory stays at two batches. A chunk's bytes are
// checked against the signed manifest when its last byte arrives, and a batch is written only
// once all its chunks passed, so no unverified byte reaches the disk. (Not ChunkVerifier: it also
// hashes the whole artifact, a second SHA-256 pass over every byte that proves nothing more once
// every chunk matched a signed list; measured, hashing is a good part of the install's CPU.) The bytes
// of both partition tables are held in memory, never written here: the commit writes them last.

/** Progress callback: phase, done, total. */
export type StreamProgress = (phase: 'download' | 'write', done: number, total: number) => void

export type StreamArgs = {
  manifest: ImageManifest
  url: string
  dev: BlockDevice
  decompress: Decompress
  signal?: AbortSignal | undefined
  log?: ((line: string) => void) | undefined
  fetch?: Pick<FetchOptions, 'backoff' | 'maxAttempts' | 'idleTimeoutMs'> | undefined
  progress: StreamProgress
  /** Bytes per disk write: a whole number of chunks (default 16 MiB). */
  batchBytes?: number | undefined
  /** fdatasync after this many bytes written (default 128 MiB), so progress means bytes on the medium. */
  syncEveryBytes?: number | undefined
  /** Bytes written to the disk so far (outside the tables). */
  onWritten: (bytes: number) => void
}

/** The held table bytes after a verified stream. */
export type HeldTables = { readonly primary: Buffer, readonly backup: Buffer }

const MIB = 1024 * 1024

/** Streams, verifies and writes the artifact; resolves with the held tables once every byte is verified and synced. */
export async function streamImage (a: StreamArgs): Promise<HeldTables> {
  const { artifact } = a.manifest
  const inner = new AbortController()
  const onAbort = (): void => { inner.abort() }
  a.signal?.addEventListener('abort', onAbort, { once: true })
  const dz = a.decompress()
  let first: unknown
  const fail = (err: unknown): void => {
    first ??= err
    inner.abort()
    dz.kill()
  }
  const expect = { size: artifact.compressedSize, sha256: artifact.compressedSha256 }
  const feeding = (async () => {
    const options: FetchOptions = { ...a.fetch, signal: inner.signal, onBytes: (n) => { a.progress('download', n, artifact.compressedSize) } }
    if (a.log !== undefined) options.log = a.log
    const sha256 = await fetchResumable(a.url, expect, dz.write, options)
    dz.end()
    return sha256
  })()
  const writing = writeOutput(a, dz, inner.signal)
  try {
    const [sha256, held] = await Promise.all([feeding.catch(fail), writing.catch(fail)])
    if (first !== undefined) throw first
    if (held === undefined || sha256 === undefined) throw new Error('stream ended without a result')
    // Last: every chunk verified already, so this fails only when the compressed bytes differ
    // in a way that decompressed to the same image (a flipped bit zstd ignores); still refused.
    checkCompressedHash(expect, sha256)
    return held
  } finally {
    a.signal?.removeEventListener('abort', onAbort)
  }
}

async function writeOutput (a: StreamArgs, dz: ReturnType<Decompress>, signal: AbortSignal): Promise<HeldTables> {
  const { artifact } = a.manifest
  const size = artifact.size
  const batchBytes = a.batchBytes ?? 16 * MIB
  if (batchBytes <= 0 || batchBytes % artifact.chunkSize !== 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'batchBytes must be a whole number of chunks')
  const syncEvery = a.syncEveryBytes ?? 128 * MIB
  const tables = tableRanges(a.manifest)
  const held = { primary: Buffer.alloc(tables.primary.end - tables.primary.start), backup: Buffer.alloc(tables.backup.end - tables.backup.start) }
  const check = new ChunkCheck(artifact)
  const buffers = [Buffer.allocUnsafe(Math.min(batchBytes, size)), Buffer.allocUnsafe(Math.min(batchBytes, size))] as const
  let cur = 0
  let batchStart = 0
  let fill = 0
  let written = 0
  let unsynced = 0
  let inflight: Promise<void> = Promise.resolve()
  const batchLength = (): number => Math.min(batchBytes, size - batchStart)

  const flush = async (): Promise<void> => {
    const buf = buffers[cur] as Buffer
    const start = batchStart
    const end = start + fill
    for (const name of ['primary', 'backup'] as const) {
      const o = overlap(start, end, tables[name])
      if (o !== undefined) buf.copy(held[name], o.start - tables[name].start, o.start - start, o.end - start)
    }
    const pieces = writablePieces(start, end, [tables.primary, tables.backup])
    await inflight // the other buffer's write is done: after the swap below it may be refilled
    inflight = (async () => {
      for (const p of pieces) {
        await a.dev.write(buf.subarray(p.start - start, p.end - start), p.start)
        written += p.end - p.start
        unsynced += p.end - p.start
      }
      if (unsynced >= syncEvery) { await a.dev.sync(); unsynced = 0 }
      a.onWritten(written)
      a.progress('write', end, size)
    })()
    inflight.catch(() => {}) // awaited at the next flush or the end
    cur ^= 1
    batchStart = end
    fill = 0
  }

  a.progress('write', 0, size)
  for await (const piece of dz.output as AsyncIterable<Buffer>) {
    let at = 0
    while (at < piece.length) {
      if (signal.aborted) throw new CodedError('ERR_AGENT_CANCELLED', 'the install was cancelled')
      const room = batchLength() - fill
      if (room === 0) throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the image is longer than the manifest's ${size} bytes`, { expected: size })
      const part = piece.subarray(at, at + Math.min(room, piece.length - at, check.roomInChunk))
      const batch = buffers[cur] as Buffer
      part.copy(batch, fill)
      fill += part.length
      at += part.length
      // Throws as soon as a chunk completes wrong, before its batch is written. Chunks never cross
      // a batch (batchBytes is whole chunks), so a completed chunk is the last `length` bytes filled.
      check.advance(part.length, (length) => batch.subarray(fill - length, fill))
      if (fill === batchLength() && batchStart + fill < size) await flush()
    }
  }
  await dz.done // a decompressor that failed says why before the length is judged
  if (check.offset < size) throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the image ended after ${check.offset} of the manifest's ${size} bytes`, { expected: size, actual: check.offset })
  if (fill > 0) await flush()
  await inflight
  await a.dev.sync()
  return held
}

/** The chunk hashes of the manifest, checked as chunks complete; `advance` never takes bytes across a chunk's end. */
class ChunkCheck {
  readonly #a: ImageManifest['artifact']
  #index = 0
  offset = 0

  constructor (artifact: ImageManifest['artifact']) { this.#a = artifact }

  /** Bytes until the current chunk is complete. */
  get roomInChunk (): number {
    return Math.min(this.#a.chunkSize - (this.offset % this.#a.chunkSize), this.#a.size - this.offset)
  }

  /** `n` more bytes arrived; when they complete a chunk, `chunk(length)` gives its bytes and they are checked. */
  advance (n: number, chunk: (length: number) => Buffer): void {
    this.offset += n
    if (this.offset % this.#a.chunkSize !== 0 && this.offset !== this.#a.size) return
    const index = this.#index++
    const start = index * this.#a.chunkSize
    const expected = this.#a.chunks[index] ?? ''
    const bytes = chunk(this.offset - start)
    if (!chunkMatches(bytes, expected)) {
      throw new CodedError('ERR_IMAGE_CHUNK_MISMATCH', `the image: chunk ${index} (bytes ${start} to ${this.offset - 1}) does not match the manifest`, { chunk: index, offset: start, length: this.offset - start, expected })
    }
  }
}
