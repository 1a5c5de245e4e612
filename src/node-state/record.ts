import { createHash } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'

/**
 * The ANVIL-STATE partition's format (docs/install.md "STATE"): raw, never mounted, two copies of
 * one record so that a torn write of one copy leaves the other. Each copy is a 64-byte header and
 * a JSON payload:
 *
 *   offset size
 *        0    8  magic "ANVILST1"
 *        8    4  format version, u32 LE (1)
 *       12    4  payload length, u32 LE (at most MAX_PAYLOAD_BYTES)
 *       16    8  sequence number, u64 LE: the copy with the highest valid one wins
 *       24   32  SHA-256 of the payload
 *       56    8  zero
 *       64    n  payload (UTF-8 JSON, a StatePayload)
 *
 * Copy 0 starts at the partition's first byte, copy 1 at COPY_OFFSETS[1]. A writer writes the copy
 * that does not hold the current record (the installer writes both), so the current one survives a
 * power loss mid-write. Pure: no I/O.
 */

export const STATE_MAGIC = Buffer.from('ANVILST1', 'latin1')
export const STATE_FORMAT_VERSION = 1
export const STATE_HEADER_BYTES = 64
export const MAX_PAYLOAD_BYTES = 1 << 20
/** Byte offsets of the two copies inside the 16 MiB partition. */
export const COPY_OFFSETS = [0, 8 << 20] as const
/** How many bytes a reader reads at each copy offset: header plus the largest payload. */
export const COPY_READ_BYTES = STATE_HEADER_BYTES + MAX_PAYLOAD_BYTES
export const STATE_SCHEMA = 'anvil.dev/state/v1'

/** What STATE holds. Written first by the installer, then by the node itself. */
export type StatePayload = {
  readonly schema: typeof STATE_SCHEMA
  readonly machineId: string
  /** What the installer wrote. */
  readonly install: {
    readonly imageName: string
    readonly imageVersion: string
    /** SHA-256 (hex) of the manifest's exact bytes. */
    readonly manifestSha256: string
    readonly slot: 'A' | 'B'
    /** The disk as the agent named it (for the node's own report; never used to find the disk). */
    readonly disk: string
    /** Unix ms, from the boot environment's clock (may be wrong). */
    readonly installedAt: number
  }
  /** The signed machine config: YAML text and its minisign signature file. */
  readonly config: { readonly yaml: string, readonly signature: string, readonly generation: number }
  /** Public keys (minisign public key strings) the installer was given over the pinned channel. */
  readonly trust: { readonly configKey: string, readonly imageKeys: readonly string[] }
  /** Where the node reports in: Anvil's provisioning listener and its certificate's SHA-256 pin. */
  readonly server: { readonly host: string, readonly port: number, readonly fingerprint: string }
  /** The one-time token of the node's first report; the node removes it once it has reported. */
  readonly credential?: { readonly nodeToken: string }
  /** The node's identity key, made on the node on its first boot (base64 DER). */
  readonly identity?: { readonly privateKeyPkcs8: string, readonly publicKeySpki: string, readonly createdAt: number }
  /** The node's last accepted report. */
  readonly reported?: { readonly at: number, readonly configGeneration: number }
  /** The node's operations, newest first, at most MAX_STORED_OPERATIONS (machined/operations.ts). */
  readonly operations?: readonly StoredOperation[]
  /** What each boot slot holds, as the node last wrote or committed it (absent: only `install` is known). */
  readonly slots?: { readonly A?: SlotImage, readonly B?: SlotImage }
  /** The upgrade or rollback that spans the reboot under way: decided on the next boot. */
  readonly pending?: PendingSwitch
}

/** One slot's image. */
export type SlotImage = {
  readonly imageName: string
  readonly imageVersion: string
  readonly manifestSha256: string
  readonly securityVersion: number
  /** false while written but not yet committed by the health gate. */
  readonly committed: boolean
}

/** An operation as STATE keeps it (the node.proto Operation's fields, plain JSON). */
export type StoredOperation = {
  readonly id: string
  readonly kind: string
  readonly state: 'pending' | 'running' | 'succeeded' | 'failed' | 'rolled_back'
  readonly phase: string
  readonly startedAtMs: number
  readonly finishedAtMs?: number
  readonly error?: string
  readonly errorCode?: string
  readonly bootIdBefore?: string
  readonly bytesDone?: number
  readonly bytesTotal?: number
  readonly fromSlot?: string
  readonly toSlot?: string
  readonly fromVersion?: string
  readonly toVersion?: string
}

/** A slot switch that the next boot settles: an upgrade's trial, or a rollback. */
export type PendingSwitch = {
  readonly kind: 'upgrade' | 'rollback'
  readonly operationId: string
  readonly fromSlot: 'A' | 'B'
  readonly toSlot: 'A' | 'B'
  readonly fromVersion: string
  readonly toVersion: string
  readonly imageName: string
  /** The health gate's time, counted from machined's start on the new slot. */
  readonly healthTimeoutS: number
  /** Why the new slot was given up (set by a failed health gate before its reboot). */
  readonly failure?: string
}

export const MAX_STORED_OPERATIONS = 16

export type StateRecord = { readonly seq: bigint, readonly payload: StatePayload }

/** One copy's bytes: header and payload (callers write it at a COPY_OFFSETS offset). */
export function encodeStateCopy (payload: StatePayload, seq: bigint): Buffer {
  const body = Buffer.from(JSON.stringify(payload), 'utf8')
  if (body.length > MAX_PAYLOAD_BYTES) throw new CodedError('ERR_STATE_INVALID', `STATE payload is ${body.length} bytes, more than ${MAX_PAYLOAD_BYTES}`)
  const header = Buffer.alloc(STATE_HEADER_BYTES)
  STATE_MAGIC.copy(header, 0)
  header.writeUInt32LE(STATE_FORMAT_VERSION, 8)
  header.writeUInt32LE(body.length, 12)
  header.writeBigUInt64LE(seq, 16)
  createHash('sha256').update(body).digest().copy(header, 24)
  return Buffer.concat([header, body])
}

/** A copy read back: the record, or why it is not one (all zeroes, torn, another format). */
export function decodeStateCopy (bytes: Uint8Array): StateRecord | { readonly invalid: string } {
  const buf = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength)
  if (buf.length < STATE_HEADER_BYTES) return { invalid: `${buf.length} bytes, shorter than the ${STATE_HEADER_BYTES}-byte header` }
  if (!buf.subarray(0, 8).equals(STATE_MAGIC)) return { invalid: buf.subarray(0, 8).every(b => b === 0) ? 'empty (zeroes)' : 'no STATE magic' }
  const version = buf.readUInt32LE(8)
  if (version !== STATE_FORMAT_VERSION) return { invalid: `format version ${version}, this reader knows ${STATE_FORMAT_VERSION}` }
  const length = buf.readUInt32LE(12)
  if (length > MAX_PAYLOAD_BYTES) return { invalid: `payload length ${length} exceeds ${MAX_PAYLOAD_BYTES}` }
  if (buf.length < STATE_HEADER_BYTES + length) return { invalid: `payload truncated: ${buf.length - STATE_HEADER_BYTES} of ${length} bytes` }
  const body = buf.subarray(STATE_HEADER_BYTES, STATE_HEADER_BYTES + length)
  if (!createHash('sha256').update(body).digest().equals(buf.subarray(24, 56))) return { invalid: 'payload does not match its SHA-256 (torn or corrupted write)' }
  let payload: unknown
  try {
    payload = JSON.parse(body.toString('utf8'))
  } catch {
    return { invalid: 'payload is not JSON' }
  }
  const why = checkPayload(payload)
  if (why !== undefined) return { invalid: why }
  return { seq: buf.readBigUInt64LE(16), payload: payload as StatePayload }
}

/**
 * The current record of the two copies: the valid one with the higher sequence number, and which
 * copy to overwrite next (the other one). Throws ERR_STATE_INVALID, with both reasons, when
 * neither copy is valid.
 */
export function pickState (copies: readonly [Uint8Array, Uint8Array]): StateRecord & { readonly copy: 0 | 1, readonly nextCopy: 0 | 1 } {
  const [a, b] = copies.map(decodeStateCopy)
  const valid = (r: ReturnType<typeof decodeStateCopy> | undefined): r is StateRecord => r !== undefined && !('invalid' in r)
  if (valid(a) && (!valid(b) || a.seq >= b.seq)) return { ...a, copy: 0, nextCopy: 1 }
  if (valid(b)) return { ...b, copy: 1, nextCopy: 0 }
  const reason = (r: ReturnType<typeof decodeStateCopy> | undefined): string => r !== undefined && 'invalid' in r ? r.invalid : '?'
  throw new CodedError('ERR_STATE_INVALID', `STATE holds no valid record (copy 0: ${reason(a)}; copy 1: ${reason(b)})`)
}

/** The shape check of a decoded payload: the fields a reader relies on, with their types. */
function checkPayload (p: unknown): string | undefined {
  if (typeof p !== 'object' || p === null) return 'payload is not an object'
  const o = p as Record<string, unknown>
  if (o.schema !== STATE_SCHEMA) return `schema ${JSON.stringify(String(o.schema).slice(0, 64))}, expected ${STATE_SCHEMA}`
  if (typeof o.machineId !== 'string' || o.machineId === '') return 'machineId missing'
  const install = o.install as Record<string, unknown> | undefined
  if (typeof install !== 'object' || install === null || typeof install.imageName !== 'string' || typeof install.imageVersion !== 'string' || (install.slot !== 'A' && install.slot !== 'B')) return 'install missing or malformed'
  const config = o.config as Record<string, unknown> | undefined
  if (typeof config !== 'object' || config === null || typeof config.yaml !== 'string' || typeof config.signature !== 'string' || !Number.isSafeInteger(config.generation)) return 'config missing or malformed'
  const trust = o.trust as Record<string, unknown> | undefined
  if (typeof trust !== 'object' || trust === null || typeof trust.configKey !== 'string' || !Array.isArray(trust.imageKeys)) return 'trust missing or malformed'
  const server = o.server as Record<string, unknown> | undefined
  if (typeof server !== 'object' || server === null || typeof server.host !== 'string' || !Number.isInteger(server.port) || typeof server.fingerprint !== 'string') return 'server missing or malformed'
  return undefined
}
