import { webcrypto } from 'node:crypto'
import type { ImageManifest } from '../image/manifest.ts'
import { CodedError } from '../lib/errors.ts'
import { ALIGN, type BlockDevice } from './block-device.ts'
import type { Decompress } from './install-decompress.ts'
import type { ZeroOut } from './install-zero.ts'
import { fetchRanges, type FetchOptions } from './install-fetch.ts'
import { framePlan, overlap, tableRanges, writablePieces, type DataChunk, type FramePlan } from './install-plan.ts'
import type { Range } from './wipe-plan.ts'

// Step e of the install: the image onto the disk, every byte of it checked against the signed
// manifest before it is written. Two writers run at once:
// - the zero chunks (most of an image) are zeroed (BLKZEROOUT, install-zero.ts, or written from a
//   zero buffer), never fetched or decompressed:
//   the manifest's hash of a chunk says it is all zero, and zeroes are what it checks against;
// - the other chunks' frames are fetched by Range (install-fetch.ts), fed in order to one
//   decompressor, and each chunk's bytes hashed (in the thread pool) when its last byte arrives.
//   Two batch buffers (runs of adjacent chunks) alternate: one is being written (O_DIRECT where
//   the disk takes it) while the next fills, so the disk, zstd and the hash run at once and
//   memory stays at two batches. A batch is written only once all its chunks passed.
// The bytes of both partition tables are held in memory, never written here: the commit writes
// them last. (No hash of the whole artifact: every chunk matched a signed list, which is all a
// second SHA-256 pass over every byte could prove, and most of the artifact is never fetched.)

/** Progress callback: phase, done, total. */
export type StreamProgress = (phase: 'download' | 'write', done: number, total: number) => void

export type StreamArgs = {
  manifest: ImageManifest
  url: string
  /** The disk, buffered: data chunks and the pieces `zeroDev` cannot take. */
  dev: BlockDevice
  /** The same disk for the zero runs (O_DIRECT where it works) and a zero buffer for it (aligned when direct). */
  zeroDev: { dev: BlockDevice, zeros: Buffer }
  /** The kernel's BLKZEROOUT for the zero runs (install-zero.ts); absent or refused: zeroDev's writes. */
  zeroOut?: ZeroOut | undefined
  decompress: Decompress
  signal?: AbortSignal | undefined
  log?: ((line: string) => void) | undefined
  fetch?: Pick<FetchOptions, 'backoff' | 'maxAttempts' | 'idleTimeoutMs'> | undefined
  progress: StreamProgress
  /**
   * Only these image bytes (whole chunks), written from the target's byte 0: a node upgrade's
   * slot partition. No table bytes are held then (a slot holds none). Default: the whole image.
   */
  window?: Range | undefined
  /** Bytes per disk write batch: a whole number of chunks (default 16 MiB). */
  batchBytes?: number | undefined
  /** fdatasync after this many bytes written (default 128 MiB), so progress means bytes on the medium. */
  syncEveryBytes?: number | undefined
  /** Bytes written to the disk so far (outside the tables). */
  onWritten: (bytes: number) => void
}

/** The held table bytes after a verified stream. */
export type HeldTables = { readonly primary: Buffer, readonly backup: Buffer }

const MIB = 1024 * 1024
/** A window (a slot) holds no partition table: nothing is held back. */
const NO_TABLES = { primary: { start: 0, end: 0 }, backup: { start: 0, end: 0 } } as const

/** Writes, verifies and syncs the image; resolves with the held tables once every byte is verified and on the disk. */
export async function streamImage (a: StreamArgs): Promise<HeldTables> {
  const { artifact } = a.manifest
  const plan = framePlan(artifact, a.window)
  const tables = a.window === undefined ? tableRanges(a.manifest) : NO_TABLES
  const held = { primary: Buffer.alloc(tables.primary.end - tables.primary.start), backup: Buffer.alloc(tables.backup.end - tables.backup.start) }
  const inner = new AbortController()
  const onAbort = (): void => { inner.abort() }
  a.signal?.addEventListener('abort', onAbort, { once: true })
  const size = a.window === undefined ? artifact.size : a.window.end - a.window.start
  const writtenTotal = size - (tables.primary.end - tables.primary.start) - (tables.backup.end - tables.backup.start)
  let written = 0
  const wrote = (n: number): void => {
    written += n
    a.onWritten(written)
    a.progress('write', written, writtenTotal)
  }
  a.log?.(`install: ${plan.data.length} of ${artifact.chunks.length} chunks to fetch (${plan.fetchBytes} compressed bytes for ${plan.dataBytes}), ${size - plan.dataBytes} bytes of zero chunks never fetched`)
  let first: unknown
  const fail = (err: unknown): undefined => {
    first ??= err
    inner.abort()
    return undefined
  }
  a.progress('write', 0, writtenTotal)
  const timing = { zeroMs: 0, dataMs: 0, downloadMs: 0, hashWaitMs: 0, zeroBy: { kernel: 0, writes: 0 } }
  const started = performance.now()
  const timed = async (p: Promise<void>, key: 'zeroMs' | 'dataMs'): Promise<void> => { await p; timing[key] = performance.now() - started }
  try {
    await Promise.all([
      timed(writeZeroRuns(a, plan.zeroRuns, [tables.primary, tables.backup], inner.signal, wrote, timing.zeroBy), 'zeroMs').catch(fail),
      plan.data.length === 0 ? undefined : timed(writeDataChunks(a, plan, tables, held, inner.signal, wrote, timing), 'dataMs').catch(fail)
    ])
    if (first !== undefined) throw first
    const ms = (x: number): string => `${Math.round(x)} ms`
    a.log?.(`install: zero chunks (${timing.zeroBy.kernel} bytes by BLKZEROOUT, ${timing.zeroBy.writes} written) in ${ms(timing.zeroMs)}; data chunks in ${ms(timing.dataMs)} (download ${ms(timing.downloadMs)}, writes waiting for SHA-256 ${ms(timing.hashWaitMs)})`)
    cancelled(a.signal)
    await a.zeroDev.dev.sync()
    await a.dev.sync()
    a.progress('write', writtenTotal, writtenTotal)
    return held
  } finally {
    a.signal?.removeEventListener('abort', onAbort)
  }
}

/** Bytes per BLKZEROOUT call: progress and cancels between them. */
const ZEROOUT_PIECE = 256 * MIB

/**
 * The zero chunks, outside the held tables: by BLKZEROOUT while the kernel takes it, else in
 * pieces of the zero buffer. Either way the read-back checks every byte afterwards.
 */
async function writeZeroRuns (a: StreamArgs, runs: readonly Range[], heldRanges: readonly Range[], signal: AbortSignal, wrote: (n: number) => void, by: { kernel: number, writes: number }): Promise<void> {
  const { dev, zeros } = a.zeroDev
  let zeroOut = a.zeroOut
  for (const run of runs) {
    for (const piece of writablePieces(run.start, run.end, heldRanges)) {
      let at = piece.start
      while (zeroOut !== undefined && at < piece.end && at % 512 === 0) {
        cancelled(signal)
        const n = Math.min(ZEROOUT_PIECE, piece.end - at)
        if (n % 512 !== 0) break
        try {
          await zeroOut(a.dev.path, at, n)
        } catch (err) {
          a.log?.(`install: BLKZEROOUT refused (${(err as Error).message}): writing the zero chunks instead`)
          zeroOut = undefined
          break
        }
        at += n
        by.kernel += n
        wrote(n)
      }
      for (; at < piece.end; at += zeros.length) {
        cancelled(signal)
        const n = Math.min(zeros.length, piece.end - at)
        // O_DIRECT takes only aligned offsets and lengths; a piece cut by a table range may not be.
        const aligned = !dev.direct || (at % ALIGN === 0 && n % ALIGN === 0)
        await (aligned ? dev : a.dev).write(zeros.subarray(0, n), at)
        by.writes += n
        wrote(n)
      }
    }
  }
}

/** Where the data chunks' time went, for the log: the download's end, and how long the writes waited for chunk hashes, in ms. */
type DataTiming = { downloadMs: number, hashWaitMs: number }

async function writeDataChunks (a: StreamArgs, plan: FramePlan, tables: { primary: Range, backup: Range }, held: HeldTables, signal: AbortSignal, wrote: (n: number) => void, timing: DataTiming): Promise<void> {
  const started = performance.now()
  const { artifact } = a.manifest
  const batchBytes = a.batchBytes ?? 16 * MIB
  if (batchBytes <= 0 || batchBytes % artifact.chunkSize !== 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'batchBytes must be a whole number of chunks')
  const dz = a.decompress()
  const feeding = (async () => {
    const options: FetchOptions = { ...a.fetch, signal, onBytes: (n) => { a.progress('download', n, plan.fetchBytes) } }
    if (a.log !== undefined) options.log = a.log
    a.progress('download', 0, plan.fetchBytes)
    await fetchRanges(a.url, { size: artifact.compressedSize }, plan.fetch, dz.write, options)
    timing.downloadMs = performance.now() - started
    dz.end()
  })()
  let failed: unknown
  feeding.catch((err: unknown) => { failed ??= err; dz.kill() })
  try {
    await consume(a, plan.data, batchBytes, dz, tables, held, signal, wrote, timing)
    await feeding
  } catch (err) {
    const fetchFailedFirst = failed // a fetch error killed the decompressor: it is the cause
    dz.kill()
    await feeding.catch(() => {})
    throw fetchFailedFirst ?? err
  }
}

async function consume (a: StreamArgs, data: readonly DataChunk[], batchBytes: number, dz: ReturnType<Decompress>, tables: { primary: Range, backup: Range }, held: HeldTables, signal: AbortSignal, wrote: (n: number) => void, timing: DataTiming): Promise<void> {
  const syncEvery = a.syncEveryBytes ?? 128 * MIB
  // With O_DIRECT the batches go to the disk while the next ones download (dd's oflag=direct),
  // instead of piling up in the page cache for the final fdatasync; that needs aligned memory.
  const direct = a.zeroDev.dev.direct ? a.zeroDev.dev : undefined
  const buffer = async (): Promise<Buffer> => await direct?.alignedBuffer?.(batchBytes) ?? Buffer.allocUnsafe(batchBytes)
  const buffers = [await buffer(), await buffer()] as const
  let cur = 0
  let batch: DataChunk[] = [] // the chunks in buffers[cur], adjacent
  let checks: Array<Promise<void>> = [] // their hashes, running in the thread pool
  let fill = 0 // bytes in buffers[cur]
  let next = 0 // index in `data` of the chunk being filled
  let chunkFill = 0 // its bytes so far
  let unsynced = 0
  let inflight: Promise<void> = Promise.resolve()

  // A batch is a run of adjacent data chunks: written as one range (less the held tables), and
  // only once every one of its chunks matched the manifest.
  const flush = async (): Promise<void> => {
    const buf = buffers[cur] as Buffer
    const start = (batch[0] as DataChunk).start
    const end = start + fill
    const batchChecks = checks
    await inflight // the other buffer's write is done: after the swap below it may be refilled
    inflight = (async () => {
      const waitStarted = performance.now()
      await Promise.all(batchChecks)
      timing.hashWaitMs += performance.now() - waitStarted
      for (const name of ['primary', 'backup'] as const) {
        const o = overlap(start, end, tables[name])
        if (o !== undefined) buf.copy(held[name], o.start - tables[name].start, o.start - start, o.end - start)
      }
      for (const p of writablePieces(start, end, [tables.primary, tables.backup])) {
        const n = p.end - p.start
        // `start` is a chunk boundary and `buf` aligned: a piece is aligned where its offsets are.
        if (direct !== undefined && p.start % ALIGN === 0 && n % ALIGN === 0) {
          await direct.write(buf.subarray(p.start - start, p.end - start), p.start)
        } else {
          await a.dev.write(buf.subarray(p.start - start, p.end - start), p.start)
          unsynced += n
        }
        wrote(n)
      }
      if (unsynced >= syncEvery) { await a.dev.sync(); unsynced = 0 }
    })()
    inflight.catch(() => {}) // awaited at the next flush or the end
    cur ^= 1
    batch = []
    checks = []
    fill = 0
  }

  for await (const piece of dz.output as AsyncIterable<Buffer>) {
    let at = 0
    while (at < piece.length) {
      if (signal.aborted) throw new CodedError('ERR_AGENT_CANCELLED', 'the install was cancelled')
      const chunk = data[next]
      if (chunk === undefined) throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', 'the fetched frames decompress to more bytes than the manifest\'s chunks', { expected: a.manifest.artifact.size })
      const length = chunk.end - chunk.start
      const n = Math.min(length - chunkFill, piece.length - at)
      const buf = buffers[cur] as Buffer
      piece.copy(buf, fill, at, at + n)
      fill += n
      chunkFill += n
      at += n
      if (chunkFill < length) continue
      // Hashed as soon as its last byte arrives, off the event loop, so the download and zstd
      // keep flowing meanwhile; its batch waits for the answer before it is written.
      const check = checkChunk(buf.subarray(fill - length, fill), chunk, a.manifest.artifact.chunks[chunk.index] ?? '')
      check.catch(() => {}) // awaited by its batch's flush
      checks.push(check)
      batch.push(chunk)
      next++
      chunkFill = 0
      // Written when full, or when the next chunk to come is not adjacent (a zero run between):
      // verified bytes never wait for a later fetch.
      if (fill + a.manifest.artifact.chunkSize > batchBytes || data[next]?.start !== chunk.end) await flush()
    }
  }
  await dz.done // a decompressor that failed says why before the length is judged
  const missing = data[next]
  if (missing !== undefined) {
    const at = missing.start + chunkFill
    throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the fetched frames ended at byte ${at} of the image, inside chunk ${missing.index}`, { expected: a.manifest.artifact.size, actual: at })
  }
  if (batch.length > 0) await flush()
  await inflight
}

/**
 * A data chunk against its signed SHA-256, by WebCrypto: its digest runs in libuv's thread pool
 * (the bytes are copied in first, so the batch buffer may go on filling).
 */
async function checkChunk (bytes: Buffer, chunk: DataChunk, expected: string): Promise<void> {
  const digest = Buffer.from(await webcrypto.subtle.digest('SHA-256', bytes)).toString('hex')
  if (digest !== expected) {
    throw new CodedError('ERR_IMAGE_CHUNK_MISMATCH', `the image: chunk ${chunk.index} (bytes ${chunk.start} to ${chunk.end - 1}) does not match the manifest`, { chunk: chunk.index, offset: chunk.start, length: bytes.length, expected })
  }
}

function cancelled (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CodedError('ERR_AGENT_CANCELLED', 'the install was cancelled')
}
