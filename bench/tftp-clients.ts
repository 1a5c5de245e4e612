// The TFTP load generators: curl (lock-step, RFC 2348 blksize) and atftp (blksize plus RFC 7440
// windowsize), run in the client namespace; each fetch is checked against the file's SHA-256.
import { rmSync } from 'node:fs'
import { join } from 'node:path'
import { mbps, sha256, type BenchContext } from './context.ts'
import { SERVER_IP, onClient } from './netns.ts'
import { run, which } from './proc.ts'

/** A file the servers hold, with the checksum a fetch must reproduce. */
export type ServedFile = { readonly name: string, readonly size: number, readonly sha256: string }

/** How a file is fetched: which client, blksize, windowsize (1 = lock-step). */
export type Fetch = { readonly client: 'curl' | 'atftp', readonly blksize: number, readonly window: number }

/** One fetch: MB/s when it completed with the right bytes, or why it failed. */
export type Outcome = { readonly ok: true, readonly mbps: number, readonly ms: number } | { readonly ok: false, readonly why: string }

let seq = 0

function argv (f: Fetch, file: ServedFile, out: string, timeoutS: number): string[] {
  if (f.client === 'curl') {
    if (f.window !== 1) throw new Error('curl has no windowsize option')
    return onClient([which('curl') ?? 'curl', '-sS', '--tftp-blksize', String(f.blksize), '--max-time', String(timeoutS),
      '-o', out, '-w', '%{time_total}', `tftp://${SERVER_IP}/${file.name}`])
  }
  const options = [`blksize ${f.blksize}`, ...(f.window > 1 ? [`windowsize ${f.window}`] : [])].flatMap(o => ['--option', o])
  return onClient([which('atftp') ?? 'atftp', '-g', '-r', file.name, '-l', out, ...options, SERVER_IP, '69'])
}

/**
 * Fetches the file once. Time: curl's own time_total for curl; for atftp, which prints none, the
 * process's wall time (as time(1) reports it), which includes a few ms of process start.
 */
export async function fetchOnce (ctx: BenchContext, f: Fetch, file: ServedFile, timeoutS: number): Promise<Outcome> {
  const out = join(ctx.scratch, `fetch-${process.pid}-${seq++}`)
  try {
    const r = await run(argv(f, file, out, timeoutS), { timeoutMs: timeoutS * 1000 + 5000 })
    if (r.timedOut) return { ok: false, why: `no completion within ${timeoutS} s` }
    if (r.code !== 0) return { ok: false, why: `${f.client} exit ${String(r.code)}: ${lastLine(r.stderr)}` }
    const got = await sha256(out).catch(() => 'unreadable')
    if (got !== file.sha256) return { ok: false, why: `${f.client}: checksum mismatch` }
    const seconds = f.client === 'curl' ? Number(r.stdout.trim()) : r.ms / 1000
    const ms = Number.isFinite(seconds) && seconds > 0 ? seconds * 1000 : r.ms
    return { ok: true, ms, mbps: mbps(file.size, ms) }
  } finally {
    rmSync(out, { force: true })
  }
}

/** n fetches at once (a boot storm): total MB/s over the wall time of the whole storm, and failures. */
export async function storm (ctx: BenchContext, f: Fetch, file: ServedFile, n: number, timeoutS: number): Promise<{ mbps: number, failed: number, why: string[] }> {
  const started = process.hrtime.bigint()
  const outcomes = await Promise.all(Array.from({ length: n }, async () => await fetchOnce(ctx, f, file, timeoutS)))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const okCount = outcomes.filter(o => o.ok).length
  const why = outcomes.flatMap(o => o.ok ? [] : [o.why])
  return { mbps: mbps(okCount * file.size, ms), failed: n - okCount, why: [...new Set(why)] }
}

function lastLine (s: string): string {
  return s.trim().split('\n').at(-1)?.slice(0, 160) ?? ''
}
