/** Growable big-endian writer for building datagrams without per-field allocations. */
export class BufferWriter {
  #buf: Buffer
  #offset = 0

  constructor (initialSize = 512) {
    this.#buf = Buffer.allocUnsafe(initialSize)
  }

  get length (): number { return this.#offset }

  #ensure (n: number): void {
    if (this.#offset + n <= this.#buf.length) return
    const next = Buffer.allocUnsafe(Math.max(this.#buf.length * 2, this.#offset + n))
    this.#buf.copy(next, 0, 0, this.#offset)
    this.#buf = next
  }

  u8 (v: number): this {
    this.#ensure(1)
    this.#buf[this.#offset++] = v & 0xff
    return this
  }

  u16 (v: number): this {
    this.#ensure(2)
    this.#buf.writeUInt16BE(v & 0xffff, this.#offset)
    this.#offset += 2
    return this
  }

  u32 (v: number): this {
    this.#ensure(4)
    this.#buf.writeUInt32BE(v >>> 0, this.#offset)
    this.#offset += 4
    return this
  }

  u16le (v: number): this {
    this.#ensure(2)
    this.#buf.writeUInt16LE(v & 0xffff, this.#offset)
    this.#offset += 2
    return this
  }

  u32le (v: number): this {
    this.#ensure(4)
    this.#buf.writeUInt32LE(v >>> 0, this.#offset)
    this.#offset += 4
    return this
  }

  bytes (b: Uint8Array): this {
    this.#ensure(b.length)
    this.#buf.set(b, this.#offset)
    this.#offset += b.length
    return this
  }

  /** Write `n` zero bytes. */
  zeros (n: number): this {
    this.#ensure(n)
    this.#buf.fill(0, this.#offset, this.#offset + n)
    this.#offset += n
    return this
  }

  /** Overwrite a u8 already written (for length fields filled in afterwards). */
  patchU8 (at: number, v: number): this {
    this.#buf[at] = v & 0xff
    return this
  }

  patchU16 (at: number, v: number): this {
    this.#buf.writeUInt16BE(v & 0xffff, at)
    return this
  }

  /** A copy of what was written. */
  toBuffer (): Buffer {
    return Buffer.from(this.#buf.subarray(0, this.#offset))
  }
}
