// What every sub-benchmark receives, what it returns, and the small statistics they share.
import { createHash } from 'node:crypto'
import { createReadStream, mkdirSync, openSync, closeSync, writeSync, existsSync, statSync } from 'node:fs'
import { randomBytes } from 'node:crypto'

/** Shared state of one `npm run bench` invocation. */
export type BenchContext = {
  readonly quick: boolean
  /** --rounds N: overrides each benchmark's number of rounds. */
  readonly rounds: number | undefined
  /** --dd-only (install only): just the dd comparison, without the install rounds; nothing goes into docs/benchmarks.md. */
  readonly ddOnly: boolean
  /** Repository root (absolute, with a trailing slash). */
  readonly repo: string
  /** bench/run/: configs, logs, lease files, served files (git-ignored). */
  readonly runDir: string
  /** Where clients write what they fetch: tmpfs, so the client's disk is not what we measure. */
  readonly scratch: string
  /** Epoch ms after which no new measurement starts. */
  readonly deadline: number
  readonly log: (msg: string) => void
}

/** One protocol's results, ready to print and to put in docs/benchmarks.md. */
export type Section = {
  readonly id: 'dhcp' | 'tftp' | 'http' | 'ipmi' | 'discovery' | 'install' | 'node'
  /** Markdown: tables and notes, without the heading. */
  readonly markdown: string
}

/** Thrown when the global time budget is spent; the caller reports what was measured so far. */
export class OutOfTime extends Error {}

/** Throws OutOfTime once the run's deadline has passed. */
export function checkTime (ctx: BenchContext): void {
  if (Date.now() > ctx.deadline) throw new OutOfTime('time budget spent')
}

/** Median of the numbers (mean of the two middle ones for an even count); NaN when empty. */
export function median (xs: readonly number[]): number {
  const s = xs.filter(Number.isFinite).sort((a, b) => a - b)
  if (s.length === 0) return NaN
  const mid = s.length >> 1
  return s.length % 2 === 1 ? s[mid] as number : ((s[mid - 1] as number) + (s[mid] as number)) / 2
}

/** A number for a table cell: "–" when missing, otherwise `digits` decimals. */
/** The p-th percentile (nearest rank) of ascending numbers; NaN when empty. */
export function percentile (sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p / 100 * sorted.length)))
  return sorted[rank - 1] as number
}

export function fmt (x: number | undefined, digits = 1): string {
  return x === undefined || !Number.isFinite(x) ? '–' : x.toFixed(digits)
}

/** "1.23×" for a / b, or "–". */
export function ratio (a: number | undefined, b: number | undefined): string {
  if (a === undefined || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return '–'
  return `${(a / b).toFixed(2)}×`
}

/** A markdown table from a header row and body rows. */
export function table (header: readonly string[], rows: ReadonlyArray<readonly string[]>): string {
  const line = (cells: readonly string[]): string => `| ${cells.join(' | ')} |`
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n')
}

/** Creates `file` with `size` random bytes (unless it already has that size); returns its SHA-256. */
export async function ensureRandomFile (file: string, size: number): Promise<string> {
  if (!existsSync(file) || statSync(file).size !== size) {
    const fd = openSync(file, 'w')
    try {
      for (let left = size; left > 0;) {
        const chunk = randomBytes(Math.min(left, 1 << 20))
        writeSync(fd, chunk)
        left -= chunk.length
      }
    } finally {
      closeSync(fd)
    }
  }
  return await sha256(file)
}

/** SHA-256 of a file, hex. */
export async function sha256 (file: string): Promise<string> {
  const h = createHash('sha256')
  for await (const chunk of createReadStream(file)) h.update(chunk as Buffer)
  return h.digest('hex')
}

/** mkdir -p, returning the path. */
export function dir (path: string): string {
  mkdirSync(path, { recursive: true })
  return path
}

/** Bytes per second to MB/s (MB = 10^6 bytes). */
export function mbps (bytes: number, ms: number): number {
  return ms > 0 ? bytes / 1e6 / (ms / 1000) : NaN
}
