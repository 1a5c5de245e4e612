import { createHash } from 'node:crypto'
import { decodeManifest, type ImageManifest } from '../image/manifest.ts'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, decodeStateCopy, encodeStateCopy, pickState, type StatePayload } from '../node-state/record.ts'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { InstallReportInput } from '../proto/generated/anvil/provisioning/v1/InstallReport.ts'
import type { InstallTask } from '../proto/generated/anvil/provisioning/v1/InstallTask.ts'
import { verifyConfig } from '../signing/config-signature.ts'
import { verifyManifest } from '../signing/manifest-signature.ts'
import { decodePublicKey, type PublicKey } from '../signing/minisign.ts'
import { openBlockDevice, openReadBack, type BlockDevice, type ReadBack } from './block-device.ts'
import { zstdDecompress, type Decompress } from './install-decompress.ts'
import { kernelZeroOut, type ZeroOut } from './install-zero.ts'
import { checkInstallDisk, type InstallTarget } from './install-disk.ts'
import type { FetchOptions } from './install-fetch.ts'
import { chunkMatches, installStatePayload, overlap, stateFitProblem, stateRegion, tableRanges, unbootRanges, type ServerPin } from './install-plan.ts'
import { streamImage, type HeldTables } from './install-stream.ts'
import { SysTree } from './sysfs.ts'

// The agent's install task (docs/install.md): a signed whole-disk image and a signed machine
// config onto one disk, in an order that makes a tampered or half-written disk never bootable:
//   a. manifest signature (image keys), b. config signature (machine, generation, expiry),
//   c. the live disk is the planned one — nothing is written before these pass —
//   d. the disk made unbootable (table ranges and last MiB zeroed), e. all but the tables: the
//   zero chunks from zeroes, the others fetched, decompressed, verified and written, f. read back, g. STATE, h. backup table, then primary table: bootable.

/** Bytes per write of the zero chunks (one aligned zero buffer). */
const ZERO_PIECE = 16 * 1024 * 1024

/** One progress report. */
export type InstallProgress = { disk: string, bytesDone: number, bytesTotal: number, rateBytesPerSecond: number, phase: InstallPhase }
export type InstallPhase = 'download' | 'write' | 'verify' | 'state' | 'commit'
/** The step an install failed in (its error message starts with it). */
export type InstallStep = 'manifest' | 'config' | 'disk' | 'unboot' | 'stream' | 'verify' | 'state' | 'commit'

export type InstallOptions = {
  /** Where /dev, /proc and /sys are ('/' on the machine; a temporary tree in tests). */
  root?: string
  onProgress?: (p: InstallProgress) => void
  log?: (line: string) => void
  /** Aborted: stop between chunks; a cancelled install never commits. */
  signal?: AbortSignal
  /** The agent's server (its command line): STATE tells the node where to report in. */
  server: ServerPin
  /** The disk the environment booted from: never installed to. */
  bootDisk?: string
  /** Default: the zstd binary. */
  decompress?: Decompress
  /** Zero chunks by BLKZEROOUT; default the boot environment's anvil-zeroout when installed; null: never (writes). */
  zeroOut?: ZeroOut | null
  /** The node's clock for the config's expiry and STATE's installedAt. */
  now?: () => Date
  fetch?: Pick<FetchOptions, 'backoff' | 'maxAttempts' | 'idleTimeoutMs'>
  batchBytes?: number
  /** At most one report per phase this often (default 500 ms; first and last always). */
  progressIntervalMs?: number
}

/** A failed install: the code of the cause, the step, and the report so far (committed=false). */
export class InstallError extends CodedError {
  readonly step: InstallStep
  readonly report: InstallReportInput

  constructor (step: InstallStep, cause: unknown, report: InstallReportInput) {
    const coded = isCodedError(cause)
    super(coded ? cause.code : 'ERR_INTERNAL', `${step}: ${(cause as Error).message}`, coded ? cause.details : undefined, { cause })
    this.name = 'InstallError'
    this.step = step
    this.report = report
  }
}

/** Runs the install; resolves to its report (committed=true), or throws InstallError. */
export async function installImage (task: InstallTask, disks: readonly DiskInput[], options: InstallOptions): Promise<InstallReportInput> {
  const started = performance.now()
  const now = options.now ?? (() => new Date())
  const log = options.log ?? (() => {})
  const report: InstallReportInput = { disk: task.disk, bytesWritten: 0, durationMs: 0, writeMs: 0, imageSha256: '', verified: false, slot: '', committed: false }
  const progress = throttle(task.disk, options.onProgress, options.progressIntervalMs ?? 500)
  let step: InstallStep = 'manifest'
  let dev: BlockDevice | undefined
  let zeroDev: { dev: BlockDevice, zeros: Buffer } | undefined
  let reader: ReadBack | undefined
  try {
    const manifest = checkManifest(task)
    step = 'config'
    const yaml = checkConfig(task, now())
    step = 'disk'
    const region = stateRegion(manifest)
    if (region === undefined) throw new CodedError('ERR_VALIDATION', 'the image has no ANVIL-STATE partition')
    const manifestSha256 = createHash('sha256').update(task.manifest).digest('hex')
    const stateOf = (): StatePayload => installStatePayload(task, { manifestSha256, yaml, server: options.server, installedAt: now().getTime() })
    const fit = stateFitProblem(region, encodeStateCopy(stateOf(), 1n).length) // refused before anything is written
    if (fit !== undefined) throw new CodedError('ERR_STATE_INVALID', fit)
    const target = await checkInstallDisk(task, disks, { sys: new SysTree(options.root ?? '/'), bootDisk: options.bootDisk, minBytes: Math.max(manifest.layout.minDiskBytes, manifest.artifact.size), log })
    log(`install ${task.imageName} ${task.imageVersion} to ${target.name} (${target.sizeBytes} bytes): manifest and config verified, disk checked`)

    step = 'unboot'
    dev = (await openBlockDevice(target.devicePath, false, 0)).dev
    await makeUnbootable(dev, manifest, target)
    step = 'stream'
    const writeStarted = performance.now()
    zeroDev = await openBlockDevice(target.devicePath, true, ZERO_PIECE)
    const held = await streamImage({
      manifest,
      url: task.imageUrl,
      dev,
      zeroDev,
      zeroOut: options.zeroOut === undefined ? kernelZeroOut() : options.zeroOut ?? undefined,
      decompress: options.decompress ?? (() => zstdDecompress()),
      signal: options.signal,
      log,
      fetch: options.fetch,
      progress,
      batchBytes: options.batchBytes,
      onWritten: (n) => { report.bytesWritten = n }
    })
    report.writeMs = Math.round(performance.now() - writeStarted)
    step = 'verify'
    reader = await openReadBack(target.devicePath, manifest.artifact.chunkSize)
    log(`install: reading back ${reader.direct ? 'with O_DIRECT (from the medium)' : 'buffered (O_DIRECT refused here: from the page cache)'}`)
    report.imageSha256 = await readBack(reader, manifest, held, progress, options.signal)
    report.verified = true
    step = 'state'
    cancelled(options.signal)
    await writeState(dev, reader, region.start, stateOf(), progress, task.disk)
    step = 'commit'
    cancelled(options.signal) // the last point a cancel is honoured: past it the disk becomes bootable
    await commit(dev, reader, manifest, held, progress)
    report.bytesWritten = manifest.artifact.size
    report.committed = true
    report.slot = 'A'
    report.durationMs = Math.round(performance.now() - started)
    log(`install: ${target.name} committed: ${manifest.artifact.size} bytes in ${report.durationMs} ms (write ${report.writeMs} ms), slot A`)
    return report
  } catch (err) {
    report.durationMs = Math.round(performance.now() - started)
    throw new InstallError(step, err, report)
  } finally {
    await reader?.close()
    await zeroDev?.dev.close()
    await dev?.close()
  }
}

/** a. The manifest's signature over its exact bytes, then its content; the labels must agree. */
function checkManifest (task: InstallTask): ImageManifest {
  return checkSignedManifest(task.manifest, task.manifestSignature, task.imageKeys.map((k) => decodePublicKey(k)), task.imageName, task.imageVersion, 'the task installs')
}

/**
 * A manifest's signature over its exact bytes with one of `keys`, then its content: the name and
 * version asked for must be the signature's trusted comment and the manifest's own (the install
 * and a node upgrade both refuse an image signed as another).
 */
export function checkSignedManifest (bytes: Uint8Array, signature: string, keys: readonly PublicKey[], name: string, version: string, asked = 'asked for'): ImageManifest {
  const label = verifyManifest(bytes, signature, keys)
  const manifest = decodeManifest(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength))
  if (label.name !== name || label.version !== version) {
    throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', `the signature is for image ${label.name} ${label.version}, ${asked} ${name} ${version}`)
  }
  if (manifest.name !== label.name || manifest.version !== label.version) {
    throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', `the manifest describes ${manifest.name} ${manifest.version}, its signature says ${label.name} ${label.version}`)
  }
  return manifest
}

/** b. The config's signature, bound to this machine and exactly the task's generation, not expired; its YAML text. */
function checkConfig (task: InstallTask, now: Date): string {
  const generation = Number(task.configGeneration)
  const binding = verifyConfig(task.config, task.configSignature, decodePublicKey(task.configKey), { machineId: task.machineId, minGeneration: generation, now })
  if (binding.generation !== generation) {
    throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', `the config is signed as generation ${binding.generation}, the task installs generation ${generation}`)
  }
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(task.config)
  } catch {
    throw new CodedError('ERR_MACHINE_CONFIG_UNREADABLE', 'the machine config is not UTF-8')
  }
}

/** d. Zeroes what could make the old disk boot: the table ranges and the last MiB. */
async function makeUnbootable (dev: BlockDevice, manifest: ImageManifest, target: InstallTarget): Promise<void> {
  for (const r of unbootRanges(manifest, target.sizeBytes)) await dev.write(Buffer.alloc(r.end - r.start), r.start)
  await dev.sync()
}

/**
 * f. Every chunk read back and hashed against the manifest, the held table bytes in their place.
 * Returns the image's sha256: the manifest's, which the bytes read back have once every chunk
 * matched its signed hash (one SHA-256 pass instead of two).
 */
async function readBack (reader: ReadBack, manifest: ImageManifest, held: HeldTables, progress: Progress, signal: AbortSignal | undefined): Promise<string> {
  const { artifact } = manifest
  const tables = tableRanges(manifest)
  progress('verify', 0, artifact.size)
  for (const [i, expected] of artifact.chunks.entries()) {
    cancelled(signal)
    const start = i * artifact.chunkSize
    const length = Math.min(artifact.chunkSize, artifact.size - start)
    const buf = await reader.read(length, start)
    if (buf.length !== length) throw new CodedError('ERR_INSTALL_READBACK', `chunk ${i}: read ${buf.length} of ${length} bytes at ${start}`)
    for (const name of ['primary', 'backup'] as const) {
      const o = overlap(start, start + length, tables[name])
      if (o !== undefined) held[name].copy(buf, o.start - start, o.start - tables[name].start, o.end - tables[name].start)
    }
    if (!chunkMatches(buf, expected)) {
      throw new CodedError('ERR_INSTALL_READBACK', `chunk ${i} (bytes ${start} to ${start + length - 1}) reads back differently from what was written and verified: a bad disk or controller`, { chunk: i, offset: start })
    }
    progress('verify', start + length, artifact.size)
  }
  return artifact.sha256
}

/** g. Both STATE copies (copy 1 first), each synced, then both read back and compared. */
async function writeState (dev: BlockDevice, reader: ReadBack, stateStart: number, payload: StatePayload, progress: Progress, disk: string): Promise<void> {
  const copy = encodeStateCopy(payload, 1n)
  progress('state', 0, 2 * copy.length)
  for (const [n, at] of [[1, COPY_OFFSETS[1]], [2, COPY_OFFSETS[0]]] as const) {
    await dev.write(copy, stateStart + at)
    await dev.sync()
    progress('state', n * copy.length, 2 * copy.length)
  }
  // Copied out: a direct reader hands back views of one buffer.
  const copies = [Buffer.from(await reader.read(COPY_READ_BYTES, stateStart + COPY_OFFSETS[0])), Buffer.from(await reader.read(COPY_READ_BYTES, stateStart + COPY_OFFSETS[1]))] as const
  const picked = pickState(copies)
  const expected = JSON.stringify(payload)
  for (const [i, bytes] of copies.entries()) {
    const r = decodeStateCopy(bytes)
    if ('invalid' in r) throw new CodedError('ERR_INSTALL_READBACK', `STATE copy ${i} on ${disk} reads back invalid: ${r.invalid}`)
    if (r.seq !== 1n || JSON.stringify(r.payload) !== expected) throw new CodedError('ERR_INSTALL_READBACK', `STATE copy ${i} on ${disk} reads back as another record`)
  }
  if (picked.seq !== 1n) throw new CodedError('ERR_INSTALL_READBACK', 'STATE reads back with another sequence number')
}

/** h. The backup table, synced and read back; then LBA 0..33, synced and read back. Only now is the disk bootable. */
async function commit (dev: BlockDevice, reader: ReadBack, manifest: ImageManifest, held: HeldTables, progress: Progress): Promise<void> {
  const tables = tableRanges(manifest)
  const total = held.backup.length + held.primary.length
  progress('commit', 0, total)
  await dev.write(held.backup, tables.backup.start)
  await dev.sync()
  if (!(await reader.read(held.backup.length, tables.backup.start)).equals(held.backup)) throw new CodedError('ERR_INSTALL_READBACK', 'the backup partition table reads back differently')
  progress('commit', held.backup.length, total)
  await dev.write(held.primary, tables.primary.start)
  await dev.sync()
  if (!(await reader.read(held.primary.length, tables.primary.start)).equals(held.primary)) {
    await dev.write(Buffer.alloc(held.primary.length), tables.primary.start) // a primary table that is not the verified one must not stay
    await dev.sync()
    throw new CodedError('ERR_INSTALL_READBACK', 'the primary partition table reads back differently')
  }
  progress('commit', total, total)
}

function cancelled (signal: AbortSignal | undefined): void {
  if (signal?.aborted === true) throw new CodedError('ERR_AGENT_CANCELLED', 'the install was cancelled')
}

type Progress = (phase: InstallPhase, done: number, total: number) => void

/** At most one report per intervalMs per phase, but always each phase's first and last; rate since the phase began. */
function throttle (disk: string, onProgress: InstallOptions['onProgress'], intervalMs: number): Progress {
  const phases = new Map<InstallPhase, { start: number, last: number }>()
  return (phase, done, total) => {
    const now = performance.now()
    let p = phases.get(phase)
    if (p === undefined) { p = { start: now, last: -Infinity }; phases.set(phase, p) }
    if (done !== total && done !== 0 && now - p.last < intervalMs) return
    p.last = now
    const seconds = (now - p.start) / 1000
    onProgress?.({ disk, bytesDone: done, bytesTotal: total, rateBytesPerSecond: seconds > 0 ? Math.round(done / seconds) : 0, phase })
  }
}
