import { z } from 'zod'
import { CodedError } from '../lib/errors.ts'

/**
 * The image manifest, `anvil.dev/image/v1`: what an installer needs to stream the whole-disk image
 * and check every 4 MiB of it before writing, and what the signature covers (a detached minisign
 * Ed25519 signature over the exact bytes of the manifest file, made elsewhere: docs/image.md).
 * Verify the bytes first, then parse them; the bytes are the canonical form, so nothing is
 * re-serialised before verification. encodeManifest writes keys in the schema's order, two-space
 * indented, with a final newline, so equal inputs give equal bytes.
 */

export const IMAGE_SCHEMA = 'anvil.dev/image/v1'
/** Bytes per chunk hash: the installer verifies each chunk before it writes it. */
export const CHUNK_SIZE = 4 * 1024 * 1024

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'a lower-case hex SHA-256')
const guid = z.string().regex(/^[0-9A-F]{8}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{4}-[0-9A-F]{12}$/, 'an upper-case GUID')
const count = z.int().nonnegative()
const byteRange = z.strictObject({ offset: count, length: count })

const partitionSchema = z.strictObject({
  /** The GPT entry number (1-based): GRUB's gptN. */
  number: z.int().min(1).max(128),
  name: z.string().min(1).max(36),
  typeGuid: guid,
  partGuid: guid,
  /** Inclusive, in sectors of layout.sectorSize. */
  firstLba: count,
  lastLba: count
})

export const imageManifestSchema = z.strictObject({
  schema: z.literal(IMAGE_SCHEMA),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]{0,62}$/),
  version: z.string().regex(/^\d+\.\d+\.\d+(?:-[0-9A-Za-z.-]+)?$/, 'a semver version'),
  arch: z.literal('x86_64'),
  /** From SOURCE_DATE_EPOCH, so a rebuild gives the same bytes. */
  created: z.iso.datetime(),
  /** Anti-downgrade: a node refuses an image below the highest securityVersion it has run. */
  securityVersion: count,
  /** The whole-disk image, one file. */
  artifact: z.strictObject({
    file: z.string().regex(/^[A-Za-z0-9._-]+$/),
    compression: z.literal('zstd'),
    /** Uncompressed bytes: what lands on the disk. */
    size: count,
    /** SHA-256 of the uncompressed bytes. */
    sha256,
    chunkSize: z.literal(CHUNK_SIZE),
    /** SHA-256 of each chunkSize piece of the uncompressed bytes, in order; the last may be shorter. */
    chunks: z.array(sha256),
    compressedSize: count,
    compressedSha256: sha256,
    /**
     * The compressed length of each chunk: the artifact is one independent zstd frame per chunk,
     * concatenated (still one valid .zst for `zstd -dc`). An installer fetches only the frames of
     * chunks that are not all zero, by Range, and resumes at a frame boundary.
     */
    frames: z.array(count)
  }),
  layout: z.strictObject({
    sectorSize: z.literal(512),
    /** The smallest disk this image installs on (its partitions, 64 MiB of EPHEMERAL, the backup table). */
    minDiskBytes: count,
    diskGuid: guid,
    partitions: z.array(partitionSchema).min(1),
    /**
     * The partition tables' byte ranges inside the image: an installer writes every other byte
     * first, then `backup`, then `primary` (LBA 0..33: PMBR with GRUB's boot code, header,
     * entries), so a disk is bootable only once everything under the tables is verified.
     */
    tables: z.strictObject({ primary: byteRange, backup: byteRange })
  }),
  /** Where the GRUB environment block (the A/B counters) lies in the image, for a one-sector rewrite. */
  grubenv: z.strictObject({ partition: z.string(), offset: count, size: z.literal(1024) }),
  /** Partition names of the two boot slots. */
  slots: z.strictObject({ A: z.string(), B: z.string() })
}).superRefine((m, ctx) => {
  const { artifact, layout } = m
  if (artifact.chunks.length !== Math.ceil(artifact.size / artifact.chunkSize)) ctx.addIssue({ code: 'custom', path: ['artifact', 'chunks'], message: `${artifact.chunks.length} chunks for ${artifact.size} bytes` })
  if (artifact.frames.length !== artifact.chunks.length) ctx.addIssue({ code: 'custom', path: ['artifact', 'frames'], message: `${artifact.frames.length} frames for ${artifact.chunks.length} chunks` })
  else if (artifact.frames.reduce((a, b) => a + b, 0) !== artifact.compressedSize) ctx.addIssue({ code: 'custom', path: ['artifact', 'frames'], message: `the frames add up to ${artifact.frames.reduce((a, b) => a + b, 0)} bytes, not compressedSize ${artifact.compressedSize}` })
  if (artifact.frames.some((f) => f === 0)) ctx.addIssue({ code: 'custom', path: ['artifact', 'frames'], message: 'a frame of 0 bytes' })
  if (artifact.size % layout.sectorSize !== 0) ctx.addIssue({ code: 'custom', path: ['artifact', 'size'], message: 'not a whole number of sectors' })
  const sectors = artifact.size / layout.sectorSize
  for (const [i, p] of layout.partitions.entries()) {
    if (p.firstLba > p.lastLba || p.lastLba >= sectors) ctx.addIssue({ code: 'custom', path: ['layout', 'partitions', i], message: `${p.name} outside the image` })
  }
  const names = new Set(layout.partitions.map(p => p.name))
  for (const slot of [m.slots.A, m.slots.B, m.grubenv.partition]) {
    if (!names.has(slot)) ctx.addIssue({ code: 'custom', path: ['slots'], message: `no partition ${slot}` })
  }
  const { primary, backup } = layout.tables
  if (primary.offset !== 0 || backup.offset + backup.length !== artifact.size) ctx.addIssue({ code: 'custom', path: ['layout', 'tables'], message: 'tables must be at the start and the end of the image' })
  if (m.grubenv.offset + m.grubenv.size > artifact.size) ctx.addIssue({ code: 'custom', path: ['grubenv'], message: 'outside the image' })
})

/** A parsed `anvil.dev/image/v1` manifest. */
export type ImageManifest = z.infer<typeof imageManifestSchema>

/** The canonical bytes of a manifest: validated, keys in schema order, 2-space JSON, final newline. */
export function encodeManifest (manifest: ImageManifest): Buffer {
  const parsed = imageManifestSchema.parse(manifest)
  return Buffer.from(JSON.stringify(parsed, null, 2) + '\n', 'utf8')
}

/** Parses manifest bytes (verify their signature first); throws ERR_VALIDATION with the first issue. */
export function decodeManifest (bytes: Buffer): ImageManifest {
  let json: unknown
  try {
    json = JSON.parse(bytes.toString('utf8'))
  } catch (err) {
    throw new CodedError('ERR_VALIDATION', `image manifest: not JSON: ${(err as Error).message}`)
  }
  const result = imageManifestSchema.safeParse(json)
  if (!result.success) {
    const issue = result.error.issues[0]
    throw new CodedError('ERR_VALIDATION', `image manifest: ${issue?.path.join('.') ?? ''}: ${issue?.message ?? 'invalid'}`)
  }
  return result.data
}
