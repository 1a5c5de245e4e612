import { sanitizeText } from '../../../lib/text.ts'

// A service's output as the Logs RPC serves it: stdout and stderr cut into lines, each line
// timestamped, the last `capacity` lines kept in a ring, and followers told of each new line.
// Bounded whatever the service writes: a line longer than `maxLineBytes` is cut into pieces of
// that size (at a UTF-8 character boundary), and a partial line never grows past it.

/** One line of a service's output. */
export type ServiceLine = { readonly timeMs: number, readonly stream: 'stdout' | 'stderr', readonly text: string }

export type ServiceLogOptions = {
  /** Lines kept (default 2,000). */
  readonly capacity?: number
  /** Bytes per line at most (default 4 KiB). */
  readonly maxLineBytes?: number
  readonly now?: () => number
}

/** The ring of one service's lines, its partial lines, and who follows it. */
export class ServiceLog {
  readonly #ring: Array<ServiceLine | undefined>
  readonly #maxLineBytes: number
  readonly #now: () => number
  readonly #followers = new Set<(line: ServiceLine) => void>()
  readonly #partial: Record<ServiceLine['stream'], Buffer> = { stdout: Buffer.alloc(0), stderr: Buffer.alloc(0) }
  #next = 0
  #size = 0

  constructor (o: ServiceLogOptions = {}) {
    this.#ring = new Array<ServiceLine | undefined>(o.capacity ?? 2000).fill(undefined)
    this.#maxLineBytes = o.maxLineBytes ?? 4096
    this.#now = o.now ?? Date.now
  }

  /** Output bytes as they came from the pipe; whole lines are stored, the rest waits for its newline. */
  write (stream: ServiceLine['stream'], chunk: Buffer): void {
    let buf = this.#partial[stream].length === 0 ? chunk : Buffer.concat([this.#partial[stream], chunk])
    for (;;) {
      const nl = buf.indexOf(0x0a)
      if (nl >= 0 && nl <= this.#maxLineBytes) {
        this.#push(stream, buf.subarray(0, nl))
        buf = buf.subarray(nl + 1)
      } else if (buf.length > this.#maxLineBytes) {
        const cut = charBoundary(buf, this.#maxLineBytes)
        this.#push(stream, buf.subarray(0, cut))
        buf = buf.subarray(cut)
      } else {
        break
      }
    }
    // A copy: the pipe's chunk may be a slice of a larger pooled buffer.
    this.#partial[stream] = Buffer.from(buf)
  }

  /** The partial lines, as lines: the stream ended (the process exited) without a final newline. */
  flush (stream: ServiceLine['stream']): void {
    if (this.#partial[stream].length > 0) this.#push(stream, this.#partial[stream])
    this.#partial[stream] = Buffer.alloc(0)
  }

  /** A line machined itself adds (why it restarted the service, a spawn error). */
  note (text: string): void {
    this.#push('stderr', Buffer.from(text))
  }

  /** The last `tail` lines kept, oldest first (0: all kept). */
  lines (tail = 0): ServiceLine[] {
    const n = tail > 0 ? Math.min(tail, this.#size) : this.#size
    const out: ServiceLine[] = []
    for (let i = this.#size - n; i < this.#size; i++) {
      const line = this.#ring[(this.#next - this.#size + i + this.#ring.length) % this.#ring.length]
      if (line !== undefined) out.push(line)
    }
    return out
  }

  /** Calls `fn` with every new line until the returned function is called. */
  follow (fn: (line: ServiceLine) => void): () => void {
    this.#followers.add(fn)
    return () => { this.#followers.delete(fn) }
  }

  /** How many follow; a stream that ended has unsubscribed. */
  get followers (): number { return this.#followers.size }

  #push (stream: ServiceLine['stream'], bytes: Buffer): void {
    const text = sanitizeText(bytes.toString('utf8').replace(/\r$/, ''))
    const line: ServiceLine = { timeMs: this.#now(), stream, text }
    this.#ring[this.#next] = line
    this.#next = (this.#next + 1) % this.#ring.length
    this.#size = Math.min(this.#size + 1, this.#ring.length)
    for (const fn of this.#followers) fn(line)
  }
}

/** The largest cut ≤ max that does not split a UTF-8 sequence (continuation bytes are 10xxxxxx). */
function charBoundary (buf: Buffer, max: number): number {
  let cut = max
  while (cut > 0 && ((buf[cut] as number) & 0xc0) === 0x80) cut--
  return cut === 0 ? max : cut
}
