import { MalformedPacketError } from './errors.ts'

/**
 * Bounds-checked big-endian reader over a datagram. Every read past the end throws
 * MalformedPacketError with the offset, so decoders never leak a RangeError.
 */
export class BufferReader {
  readonly #buf: Buffer
  #offset: number
  readonly #end: number

  constructor (buf: Buffer, offset = 0, end = buf.length) {
    this.#buf = buf
    this.#offset = offset
    this.#end = Math.min(end, buf.length)
  }

  get offset (): number { return this.#offset }
  get remaining (): number { return this.#end - this.#offset }

  #need (n: number, what: string): void {
    if (n < 0 || this.#offset + n > this.#end) {
      throw new MalformedPacketError(`truncated ${what}: need ${n} bytes, have ${this.remaining}`, this.#offset)
    }
  }

  u8 (what = 'u8'): number {
    this.#need(1, what)
    return this.#buf[this.#offset++] as number
  }

  u16 (what = 'u16'): number {
    this.#need(2, what)
    const v = this.#buf.readUInt16BE(this.#offset)
    this.#offset += 2
    return v
  }

  u32 (what = 'u32'): number {
    this.#need(4, what)
    const v = this.#buf.readUInt32BE(this.#offset)
    this.#offset += 4
    return v
  }

  u16le (what = 'u16le'): number {
    this.#need(2, what)
    const v = this.#buf.readUInt16LE(this.#offset)
    this.#offset += 2
    return v
  }

  u32le (what = 'u32le'): number {
    this.#need(4, what)
    const v = this.#buf.readUInt32LE(this.#offset)
    this.#offset += 4
    return v
  }

  /** A view (not a copy) of the next n bytes. */
  bytes (n: number, what = 'bytes'): Buffer {
    this.#need(n, what)
    const v = this.#buf.subarray(this.#offset, this.#offset + n)
    this.#offset += n
    return v
  }

  /** The rest of the buffer, as a view. */
  rest (): Buffer {
    const v = this.#buf.subarray(this.#offset, this.#end)
    this.#offset = this.#end
    return v
  }

  skip (n: number, what = 'padding'): void {
    this.#need(n, what)
    this.#offset += n
  }

  /** Fail at the current offset with a decoder-level reason. */
  fail (message: string): never {
    throw new MalformedPacketError(message, this.#offset)
  }
}
