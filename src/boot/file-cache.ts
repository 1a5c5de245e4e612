import { open, readFile } from 'node:fs/promises'
import type { FileHandle } from 'node:fs/promises'
import type { ResolvedAsset } from '../boot/assets.ts'
import { CodedError } from '../lib/errors.ts'

/**
 * Where a transfer's bytes come from: the whole file in memory (shared by every transfer of it), or
 * an open file read one window at a time with a positional read.
 */
export type BlockSource =
  | { readonly kind: 'memory', readonly size: number, readonly data: Buffer }
  | { readonly kind: 'file', readonly size: number, readonly handle: FileHandle }

/** Bounds of the in-memory file cache. */
export type FileCacheLimits = {
  /** Files up to this size are held in memory; larger ones are read per window. */
  readonly maxFileBytes: number
  /** Total bytes held; the least recently used files are dropped first. */
  readonly maxBytes: number
}

/** How a request wants the bytes: as they are, or as netascii text (RFC 1350 §1, RFC 764). */
export type TransferMode = 'octet' | 'netascii'

/** RFC 764 (via RFC 1350): netascii ends lines with CR LF and sends a bare CR as CR NUL. */
export function toNetascii (src: Buffer): Buffer {
  let extra = 0
  for (const b of src) if (b === 0x0a || b === 0x0d) extra++
  if (extra === 0) return src
  const out = Buffer.allocUnsafe(src.length + extra)
  let o = 0
  for (const b of src) {
    if (b === 0x0a) { out[o++] = 0x0d; out[o++] = 0x0a } else if (b === 0x0d) { out[o++] = 0x0d; out[o++] = 0x00 } else out[o++] = b
  }
  return out
}

/**
 * Boot files are few and fetched by many machines at once (a boot storm), so each is read from disk
 * once and served from memory, by TFTP and HTTP alike (one instance per server). The key holds size
 * and mtime, so a replaced file is read again.
 */
export class FileCache {
  readonly #limits: FileCacheLimits
  readonly #entries = new Map<string, Buffer>()
  readonly #loading = new Map<string, Promise<Buffer>>()
  #bytes = 0

  constructor (limits: FileCacheLimits) {
    this.#limits = limits
  }

  /** Bytes currently held in memory. */
  get bytes (): number { return this.#bytes }

  /**
   * The whole file as it is, from memory, or undefined when it is larger than maxFileBytes (the
   * caller then streams it from disk).
   */
  async whole (asset: ResolvedAsset): Promise<Buffer | undefined> {
    const source = asset.size > this.#limits.maxFileBytes ? undefined : await this.open(asset, 'octet')
    return source?.kind === 'memory' ? source.data : undefined
  }

  /** A source for one transfer of `asset`; netascii is served from memory only (it changes offsets). */
  async open (asset: ResolvedAsset, mode: TransferMode): Promise<BlockSource> {
    if (asset.size > this.#limits.maxFileBytes) {
      if (mode === 'netascii') throw new CodedError('ERR_TFTP_NETASCII_TOO_LARGE', `netascii is served for files up to ${this.#limits.maxFileBytes} bytes`)
      return { kind: 'file', size: asset.size, handle: await open(asset.path, 'r') }
    }
    const key = `${mode}\0${asset.path}\0${asset.size}\0${asset.mtimeMs}`
    const hit = this.#entries.get(key)
    if (hit !== undefined) {
      // Map order is insertion order: re-inserting marks the entry most recently used.
      this.#entries.delete(key)
      this.#entries.set(key, hit)
      return { kind: 'memory', size: hit.length, data: hit }
    }
    let pending = this.#loading.get(key)
    if (pending === undefined) {
      pending = this.#load(key, asset.path, mode)
      this.#loading.set(key, pending)
    }
    const data = await pending
    return { kind: 'memory', size: data.length, data }
  }

  async #load (key: string, path: string, mode: TransferMode): Promise<Buffer> {
    try {
      const raw = await readFile(path)
      const data = mode === 'netascii' ? toNetascii(raw) : raw
      this.#entries.set(key, data)
      this.#bytes += data.length
      for (const [k, v] of this.#entries) {
        if (this.#bytes <= this.#limits.maxBytes || k === key) break
        this.#entries.delete(k)
        this.#bytes -= v.length
      }
      return data
    } finally {
      this.#loading.delete(key)
    }
  }
}
