import { createHash } from 'node:crypto'
import type { ImageManifest } from '../image/manifest.ts'
import type { InstallTask } from '../proto/generated/anvil/provisioning/v1/InstallTask.ts'
import { COPY_OFFSETS, STATE_SCHEMA, type StatePayload } from '../node-state/record.ts'
import { merge, rangeBytes, type Range } from './wipe-plan.ts'

// Pure: which bytes of the image the install holds back until the commit, which it writes while
// streaming, where STATE lies, and what the STATE record says. No I/O here.

const MIB = 1024 * 1024
/** The partition the installer writes its record to (src/image/layout.ts PartitionName.state). */
export const STATE_PARTITION = 'ANVIL-STATE'

/** The two table ranges of the manifest (primary: LBA 0..33; backup: the image's last 33 sectors). */
export function tableRanges (manifest: ImageManifest): { primary: Range, backup: Range } {
  const { primary, backup } = manifest.layout.tables
  return {
    primary: { start: primary.offset, end: primary.offset + primary.length },
    backup: { start: backup.offset, end: backup.offset + backup.length }
  }
}

/**
 * The parts of [start, end) outside the held ranges, in order: what is written while streaming.
 * The held ranges (the partition tables) are written last, so a disk is bootable only once all else is verified.
 */
export function writablePieces (start: number, end: number, held: readonly Range[]): Range[] {
  const out: Range[] = []
  let at = start
  for (const h of merge(held)) {
    if (h.end <= at || h.start >= end) continue
    if (h.start > at) out.push({ start: at, end: h.start })
    at = Math.max(at, h.end)
  }
  if (at < end) out.push({ start: at, end })
  return out
}

/** The intersection of [start, end) with `range`, or undefined. */
export function overlap (start: number, end: number, range: Range): Range | undefined {
  const s = Math.max(start, range.start)
  const e = Math.min(end, range.end)
  return s < e ? { start: s, end: e } : undefined
}

/**
 * What step d zeroes before anything else is written, so that whatever the disk held before
 * cannot boot: the primary table range (LBA 0..33: PMBR boot code, header, entries), the image's
 * backup table range, and the disk's last MiB (where a backup GPT header of an earlier layout
 * sits: UEFI 2.10 §5.3.2, firmware falls back to it when the primary is invalid).
 */
export function unbootRanges (manifest: ImageManifest, diskBytes: number): Range[] {
  const { primary, backup } = tableRanges(manifest)
  return merge([primary, backup, { start: Math.max(0, diskBytes - MIB), end: diskBytes }])
}

/** The STATE partition's byte range, from the manifest's layout. */
export function stateRegion (manifest: ImageManifest): Range | undefined {
  const p = manifest.layout.partitions.find((x) => x.name === STATE_PARTITION)
  if (p === undefined) return undefined
  const sector = manifest.layout.sectorSize
  return { start: p.firstLba * sector, end: (p.lastLba + 1) * sector }
}

/** Why one STATE copy of `copyBytes` does not fit the partition (both copies, neither overlapping the other), or undefined. */
export function stateFitProblem (region: Range, copyBytes: number): string | undefined {
  const size = region.end - region.start
  if (copyBytes > COPY_OFFSETS[1]) return `a STATE copy of ${copyBytes} bytes would overlap the second copy at ${COPY_OFFSETS[1]}`
  if (COPY_OFFSETS[1] + copyBytes > size) return `${STATE_PARTITION} holds ${size} bytes, too small for two copies of ${copyBytes} bytes`
  return undefined
}

/** Where the node reports in: the agent's own server (its command line), pinned by fingerprint. */
export type ServerPin = { readonly host: string, readonly port: number, readonly fingerprint: string }

/** The record the installer writes to STATE (both copies, seq 1). */
export function installStatePayload (task: InstallTask, args: { manifestSha256: string, yaml: string, server: ServerPin, installedAt: number }): StatePayload {
  return {
    schema: STATE_SCHEMA,
    machineId: task.machineId,
    install: {
      imageName: task.imageName,
      imageVersion: task.imageVersion,
      manifestSha256: args.manifestSha256,
      slot: 'A',
      disk: task.disk,
      installedAt: args.installedAt
    },
    config: { yaml: args.yaml, signature: task.configSignature, generation: Number(task.configGeneration) },
    trust: { configKey: task.configKey, imageKeys: [...task.imageKeys] },
    server: { host: args.server.host, port: args.server.port, fingerprint: args.server.fingerprint },
    credential: { nodeToken: task.nodeToken }
  }
}

const zeroHashes = new Map<number, string>()
let zeroes = Buffer.alloc(0)

/** The SHA-256 of `n` zero bytes (memoised: one per chunk length). */
function zeroHash (n: number): string {
  let hash = zeroHashes.get(n)
  if (hash === undefined) {
    hash = createHash('sha256').update(Buffer.alloc(n)).digest('hex')
    zeroHashes.set(n, hash)
  }
  return hash
}

/** True when the manifest's hash of a `length`-byte chunk is the hash of zeroes: its bytes are all zero. */
export function isZeroChunk (expectedHex: string, length: number): boolean {
  return expectedHex === zeroHash(length)
}

/**
 * True when `bytes` hash to `expectedHex`. A chunk the manifest says is all zero (most of an
 * image: the empty slot B, STATE, free space in the slots) is checked by comparing it with zeroes
 * instead of hashing it: the same answer (a non-zero chunk cannot have the zero chunk's SHA-256),
 * at memory speed rather than SHA-256's, which is what limits a write under emulation.
 */
export function chunkMatches (bytes: Buffer, expectedHex: string): boolean {
  const n = bytes.length
  if (isZeroChunk(expectedHex, n)) {
    if (zeroes.length < n) zeroes = Buffer.alloc(n)
    return bytes.equals(zeroes.subarray(0, n))
  }
  return createHash('sha256').update(bytes).digest('hex') === expectedHex
}

/** A chunk the install fetches: its disk bytes and its frame's bytes in the artifact. */
export type DataChunk = { readonly index: number, readonly start: number, readonly end: number, readonly frame: Range }

/** How the install gets every chunk of the image (pure: from the signed manifest alone). */
export type FramePlan = {
  /** Disk ranges of the chunks the manifest says are all zero, merged: written from zeroes, never fetched. */
  readonly zeroRuns: readonly Range[]
  /** Every other chunk, in order. */
  readonly data: readonly DataChunk[]
  /** The artifact's byte ranges to fetch, in order: the data chunks' frames, neighbours merged. */
  readonly fetch: readonly Range[]
  /** Compressed bytes fetched, and the raw bytes they decompress to. */
  readonly fetchBytes: number
  readonly dataBytes: number
}

/**
 * Splits the image (or the chunks of `window`, image bytes [a, b) written to target bytes
 * [0, b - a): a node upgrade writes one slot partition) into what is written from zeroes and what
 * is fetched. Chunk indexes stay the image's, frames the artifact's. The artifact is one zstd
 * frame per chunk (manifest `artifact.frames`), so the frames of the data chunks, concatenated in
 * order, are a valid zstd stream of exactly those chunks: one decompressor, no byte of the zero
 * chunks fetched or decompressed (on the node image, 1,052 of its 1,112 MiB).
 */
export function framePlan (artifact: ImageManifest['artifact'], window?: Range): FramePlan {
  const zero: Range[] = []
  const data: DataChunk[] = []
  const from = window?.start ?? 0
  const to = window?.end ?? artifact.size
  if (from % artifact.chunkSize !== 0 || (to % artifact.chunkSize !== 0 && to !== artifact.size) || from > to || to > artifact.size) {
    throw new RangeError(`image window ${from}-${to} is not a run of whole chunks of the ${artifact.size}-byte image`)
  }
  let frameAt = 0
  for (const [index, hash] of artifact.chunks.entries()) {
    const imageStart = index * artifact.chunkSize
    const imageEnd = Math.min(imageStart + artifact.chunkSize, artifact.size)
    const frameLength = artifact.frames[index] ?? 0
    if (imageStart >= from && imageEnd <= to) {
      // Target offsets: a window's first byte lands on the target's byte 0 (a slot partition).
      const start = imageStart - from
      const end = imageEnd - from
      if (isZeroChunk(hash, end - start)) zero.push({ start, end })
      else data.push({ index, start, end, frame: { start: frameAt, end: frameAt + frameLength } })
    }
    frameAt += frameLength
  }
  const fetch = merge(data.map((d) => d.frame))
  return {
    zeroRuns: merge(zero),
    data,
    fetch,
    fetchBytes: rangeBytes(fetch),
    dataBytes: rangeBytes(data)
  }
}
