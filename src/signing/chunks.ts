/**
 * Chunked sha256 of an image artifact, so a node can verify while it streams: the signed
 * manifest lists, per artifact, its size, its whole sha256 and the sha256 of every `chunkSize`
 * bytes (the last chunk may be shorter; an empty artifact has no chunks). Ed25519 cannot be
 * streamed in node:crypto, so the signature covers the manifest and the manifest covers these.
 *
 * ChunkVerifier refuses a chunk the moment its last byte arrives, before the installer writes it,
 * and a byte past `size` at once; finish() checks the length and the whole hash. Pure: no I/O.
 */
import { createHash, type Hash } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'

/** What the manifest says of one artifact. */
export type ChunkedDigest = {
  readonly chunkSize: number
  /** Lower-case hex sha256 of each chunk, in order. */
  readonly chunks: readonly string[]
  readonly size: number
  /** Lower-case hex sha256 of the whole artifact. */
  readonly sha256: string
}

const HEX_SHA256 = /^[0-9a-f]{64}$/

type OnChunk = (index: number, start: number, length: number, sha256: string) => void

/** Feeds bytes to a per-chunk and a whole-file sha256. */
class ChunkHasher {
  readonly #chunkSize: number
  #chunk: Hash = createHash('sha256')
  readonly #whole: Hash = createHash('sha256')
  #inChunk = 0
  #index = 0
  offset = 0

  constructor (chunkSize: number) {
    this.#chunkSize = chunkSize
  }

  write (bytes: Uint8Array, onChunk: OnChunk): void {
    let at = 0
    while (at < bytes.length) {
      const piece = bytes.subarray(at, at + Math.min(bytes.length - at, this.#chunkSize - this.#inChunk))
      this.#chunk.update(piece)
      this.#whole.update(piece)
      at += piece.length
      this.#inChunk += piece.length
      this.offset += piece.length
      if (this.#inChunk === this.#chunkSize) this.endChunk(onChunk)
    }
  }

  /** Closes a partial chunk (the artifact's last); nothing when none is open. */
  endChunk (onChunk: OnChunk): void {
    if (this.#inChunk === 0) return
    const digest = this.#chunk.digest('hex')
    const start = this.offset - this.#inChunk
    const length = this.#inChunk
    this.#chunk = createHash('sha256')
    this.#inChunk = 0
    onChunk(this.#index++, start, length, digest)
  }

  wholeDigest (): string {
    return this.#whole.digest('hex')
  }
}

function checkChunkSize (chunkSize: number): void {
  if (!Number.isSafeInteger(chunkSize) || chunkSize <= 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'a chunk size is a whole number of bytes, 1 or more')
}

/** Throws ERR_INVALID_ARG_VALUE unless the digest is self-consistent (chunk count, hex). */
function checkDigest (d: ChunkedDigest): void {
  checkChunkSize(d.chunkSize)
  if (!Number.isSafeInteger(d.size) || d.size < 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'an artifact size is a whole number of bytes, 0 or more')
  const count = Math.ceil(d.size / d.chunkSize)
  if (d.chunks.length !== count) throw new CodedError('ERR_INVALID_ARG_VALUE', `an artifact of ${d.size} bytes in chunks of ${d.chunkSize} has ${count} chunk hashes, not ${d.chunks.length}`)
  if (![d.sha256, ...d.chunks].every(h => HEX_SHA256.test(h))) throw new CodedError('ERR_INVALID_ARG_VALUE', 'artifact hashes are lower-case hex sha256')
}

/**
 * Verifies an artifact as it streams. `update` throws ERR_IMAGE_CHUNK_MISMATCH as soon as a chunk
 * is complete and wrong, ERR_IMAGE_SIZE_MISMATCH on a byte past the size; `finish` throws
 * ERR_IMAGE_SIZE_MISMATCH when bytes are missing and ERR_IMAGE_HASH_MISMATCH when the whole
 * differs. After an error every call throws it again: a failed artifact stays failed.
 */
export class ChunkVerifier {
  readonly #expected: ChunkedDigest
  readonly #label: string
  readonly #hasher: ChunkHasher
  #failure: CodedError | undefined
  #finished = false

  /** `name` (the artifact's) goes into error messages. */
  constructor (expected: ChunkedDigest & { readonly name?: string }) {
    checkDigest(expected)
    this.#expected = expected
    this.#label = expected.name === undefined ? 'the artifact' : expected.name
    this.#hasher = new ChunkHasher(expected.chunkSize)
  }

  /** Bytes verified so far (those of a chunk in progress included). */
  get offset (): number {
    return this.#hasher.offset
  }

  /** Takes the next bytes; throws as soon as they prove the artifact wrong. */
  update (bytes: Uint8Array): void {
    this.#guard(() => {
      const room = this.#expected.size - this.#hasher.offset
      const check: OnChunk = (index, start, length, actual) => { this.#checkChunk(index, start, length, actual) }
      this.#hasher.write(bytes.subarray(0, room), check)
      if (this.#hasher.offset === this.#expected.size) this.#hasher.endChunk(check)
      if (bytes.length > room) {
        const atLeast = this.#hasher.offset + bytes.length - room
        throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `${this.#label} is longer than the manifest's ${this.#expected.size} bytes (at least ${atLeast})`, { expected: this.#expected.size, atLeast })
      }
    })
  }

  /** The end of the stream: checks the length and the whole sha256. */
  finish (): { readonly size: number, readonly sha256: string } {
    return this.#guard(() => {
      this.#finished = true
      const { size, sha256 } = this.#expected
      if (this.#hasher.offset < size) {
        throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `${this.#label} ended after ${this.#hasher.offset} of the manifest's ${size} bytes`, { expected: size, actual: this.#hasher.offset })
      }
      const actual = this.#hasher.wholeDigest()
      // Digests of public data: nothing secret to leak through the time a compare takes.
      if (actual !== sha256) throw new CodedError('ERR_IMAGE_HASH_MISMATCH', `${this.#label}'s sha256 is not the manifest's`, { expected: sha256, actual })
      return { size, sha256 }
    })
  }

  #checkChunk (index: number, start: number, length: number, actual: string): void {
    const expected = this.#expected.chunks[index]
    if (actual !== expected) {
      throw new CodedError('ERR_IMAGE_CHUNK_MISMATCH', `${this.#label}: chunk ${index} (bytes ${start} to ${start + length - 1}) does not match the manifest`, { chunk: index, offset: start, length, expected, actual })
    }
  }

  #guard<T> (run: () => T): T {
    if (this.#failure !== undefined) throw this.#failure
    if (this.#finished) throw new Error('ChunkVerifier: used after finish()')
    try {
      return run()
    } catch (err) {
      if (err instanceof CodedError) this.#failure = err
      throw err
    }
  }
}

/** The manifest's numbers for an artifact (for the image builder): from bytes or a stream. */
export async function chunkHashes (input: Uint8Array | AsyncIterable<unknown>, chunkSize: number): Promise<ChunkedDigest> {
  checkChunkSize(chunkSize)
  const hasher = new ChunkHasher(chunkSize)
  const chunks: string[] = []
  const collect: OnChunk = (_index, _start, _length, sha256) => { chunks.push(sha256) }
  if (input instanceof Uint8Array) {
    hasher.write(input, collect)
  } else {
    for await (const piece of input) {
      if (!(piece instanceof Uint8Array)) throw new TypeError('chunkHashes reads bytes: a stream with an encoding set yields strings')
      hasher.write(piece, collect)
    }
  }
  hasher.endChunk(collect)
  return { chunkSize, chunks, size: hasher.offset, sha256: hasher.wholeDigest() }
}
