import { constants } from 'node:fs'
import { open } from 'node:fs/promises'
import type { LogLineInput } from '../../../proto/generated/anvil/node/v1/LogLine.ts'
import { sanitizeText } from '../../../lib/text.ts'

// /dev/kmsg (Documentation/ABI/testing/dev-kmsg): every read() returns one record,
//   "PRI,SEQ,USEC,FLAGS[,...];TEXT\n"  then optional dictionary lines " KEY=VALUE\n",
// PRI = facility << 3 | level (syslog), USEC microseconds since boot (monotonic), TEXT with
// unprintable bytes already written \xNN by the kernel. A reader slower than the kernel gets
// EPIPE once when records it had not read were overwritten, and then continues with the oldest
// record still kept; with O_NONBLOCK, EAGAIN says there is nothing more yet. Lines split on "\n"
// parse the same whether a read returned one record (the device) or many (a regular file in
// tests), so one parser serves both.

/** A kernel record's fields. */
export type KmsgRecord = { readonly priority: number, readonly seq: number, readonly usec: number, readonly text: string }

/** Where records are read from: /dev/kmsg, or a fake in tests. `read` throws errors with `code` (EAGAIN, EPIPE). */
export interface KmsgSource {
  read (buf: Buffer): Promise<number>
  close (): Promise<void>
}

/** Longest text kept per record (the kernel's own limit is 1 KiB of text, 8 KiB with the dictionary). */
const MAX_TEXT = 4096
/** More than any kernel ring holds (128 KiB to a few MiB of records): `tail 0` stays bounded. */
const MAX_BACKLOG = 65_536
const READ_BYTES = 16 * 1024

/** One record line ("6,339,5140900,-;text") parsed; undefined for a dictionary line or garbage. Pure. */
export function parseKmsgLine (line: string): KmsgRecord | undefined {
  if (line.startsWith(' ')) return undefined
  const semi = line.indexOf(';')
  if (semi < 0) return undefined
  const [pri, seq, usec] = line.slice(0, semi).split(',').map(Number)
  if (pri === undefined || seq === undefined || usec === undefined || ![pri, seq, usec].every(Number.isSafeInteger)) return undefined
  return { priority: pri & 7, seq, usec, text: sanitizeText(line.slice(semi + 1)).slice(0, MAX_TEXT) }
}

/** /dev/kmsg opened without blocking: a read of an empty log answers EAGAIN instead of waiting in libuv's thread pool. */
export async function openKmsg (path: string): Promise<KmsgSource> {
  const handle = await open(path, constants.O_RDONLY | constants.O_NONBLOCK)
  return {
    read: async (buf) => (await handle.read(buf, 0, buf.length, null)).bytesRead,
    close: async () => { await handle.close() }
  }
}

export type KmsgLinesOptions = {
  readonly source: KmsgSource
  /** The last `tail` records of the backlog; 0: all of it. */
  readonly tail: number
  /** After the backlog, keep reading new records until `signal` aborts. */
  readonly follow: boolean
  readonly signal: AbortSignal
  /** Unix ms at boot (now − uptime): a record's time is this plus its USEC. */
  readonly bootTimeMs: number
  /** How often a follower looks for new records (default 250 ms): Node cannot poll(2) a device. */
  readonly pollMs?: number
}

/** The kernel log as LogLines: the backlog's tail, then (with follow) new records until the signal aborts. */
export async function * kmsgLines (o: KmsgLinesOptions): AsyncGenerator<LogLineInput> {
  const reader = new RecordReader(o.source)
  const toLine = (r: KmsgRecord): LogLineInput => ({ timeMs: Math.floor(o.bootTimeMs + r.usec / 1000), source: 'kernel', text: r.text, priority: r.priority })
  const limit = o.tail > 0 ? Math.min(o.tail, MAX_BACKLOG) : MAX_BACKLOG
  const backlog: KmsgRecord[] = []
  for (;;) {
    const batch = await reader.next()
    if (batch === undefined) break
    for (const r of batch) {
      backlog.push(r)
      if (backlog.length > limit) backlog.shift()
    }
  }
  for (const r of backlog) {
    if (o.signal.aborted) return
    yield toLine(r)
  }
  while (o.follow && !o.signal.aborted) {
    const batch = await reader.next()
    if (batch === undefined) {
      await sleep(o.pollMs ?? 250, o.signal)
      continue
    }
    for (const r of batch) yield toLine(r)
  }
}

/** Reads records, keeping a partial last line (a regular file's read may end mid-record) for the next read. */
class RecordReader {
  readonly #source: KmsgSource
  readonly #buf = Buffer.alloc(READ_BYTES)
  #pending = ''
  #lastSeq = -1

  constructor (source: KmsgSource) { this.#source = source }

  /** The records of one read ([] when it held none whole), or undefined when nothing is there yet. */
  async next (): Promise<KmsgRecord[] | undefined> {
    let n: number
    try {
      n = await this.#source.read(this.#buf)
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code
      // EPIPE: records overwritten before we read them; the next read goes on with the oldest kept.
      if (code === 'EPIPE') return []
      if (code === 'EAGAIN' || code === 'EWOULDBLOCK') return undefined
      throw err
    }
    if (n === 0) return undefined
    const text = this.#pending + this.#buf.toString('utf8', 0, n)
    const lines = text.split('\n')
    this.#pending = (lines.pop() ?? '').slice(0, READ_BYTES)
    const out: KmsgRecord[] = []
    for (const line of lines) {
      const r = parseKmsgLine(line)
      // A record seen twice (a reader that re-opened, a file rewritten) is dropped by its sequence number.
      if (r === undefined || r.seq <= this.#lastSeq) continue
      this.#lastSeq = r.seq
      out.push(r)
    }
    return out
  }
}

/** Resolves after `ms`, or at once when the signal aborts. */
function sleep (ms: number, signal: AbortSignal): Promise<void> {
  return new Promise(resolve => {
    const done = (): void => { clearTimeout(timer); signal.removeEventListener('abort', done); resolve() }
    const timer = setTimeout(done, ms)
    signal.addEventListener('abort', done, { once: true })
  })
}
