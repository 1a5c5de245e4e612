import { readdir } from 'node:fs/promises'
import { join } from 'node:path'
import type { ProcessInput } from '../../../proto/generated/anvil/node/v1/Process.ts'
import { readHead, type NodeRoots } from './roots.ts'

// /proc/[pid]/{stat,status,cmdline,comm} (proc(5)). stat's second field is the command in
// parentheses, and a command may itself hold spaces and parentheses ("a) b"), so the fields after
// it start after the LAST ')'. utime and stime are in clock ticks: USER_HZ, 100 on every
// architecture Linux builds for x86-64 and arm64 (include/asm-generic/param.h).

const USER_HZ = 100
/** node.proto: at most 64 arguments of 256 characters. */
export const MAX_ARGS = 64
export const MAX_ARG_CHARS = 256
/** Enough of cmdline for 64 arguments of 256 characters (bytes may be up to 4 per character). */
const CMDLINE_READ_BYTES = MAX_ARGS * (MAX_ARG_CHARS * 4 + 1)

export type ProcStat = { readonly pid: number, readonly comm: string, readonly state: string, readonly ppid: number, readonly ticks: number, readonly threads: number }

/** /proc/PID/stat parsed; undefined when it is not one. Pure. */
export function parseProcStat (text: string): ProcStat | undefined {
  const open = text.indexOf('(')
  const close = text.lastIndexOf(')')
  if (open < 0 || close < open) return undefined
  const pid = Number(text.slice(0, open).trim())
  // Fields 3.. of proc(5): [0] state (3), [1] ppid (4), [11] utime (14), [12] stime (15), [17] num_threads (20).
  const rest = text.slice(close + 1).trim().split(/\s+/)
  const num = (i: number): number => { const n = Number(rest[i]); return Number.isFinite(n) ? n : 0 }
  if (!Number.isInteger(pid) || rest.length < 18) return undefined
  return { pid, comm: text.slice(open + 1, close), state: rest[0] ?? '', ppid: num(1), ticks: num(11) + num(12), threads: num(17) }
}

/** NUL-separated argv from /proc/PID/cmdline, capped as node.proto says. Pure. */
export function parseCmdline (bytes: Buffer): string[] {
  const text = bytes.toString('utf8')
  const parts = text.split('\0')
  if (parts.at(-1) === '') parts.pop()
  return parts.slice(0, MAX_ARGS).map(a => a.slice(0, MAX_ARG_CHARS))
}

/** A "Name:\tvalue" field of /proc/PID/status, or undefined. Pure. */
export function statusField (status: string, name: string): string | undefined {
  const m = new RegExp(`^${name}:\\s*(.*)$`, 'm').exec(status)
  return m?.[1]?.trim()
}

/** The Processes RPC's answer: every process, by pid; one that exits while it is read is left out. */
export async function readProcesses (roots: Pick<NodeRoots, 'proc'>): Promise<ProcessInput[]> {
  let entries: string[]
  try {
    entries = await readdir(roots.proc)
  } catch {
    return []
  }
  const pids = entries.filter(e => /^\d+$/.test(e)).map(Number).sort((a, b) => a - b)
  const out: ProcessInput[] = []
  for (const pid of pids) {
    const p = await readProcess(join(roots.proc, String(pid)))
    if (p !== undefined) out.push(p)
  }
  return out
}

/** One process, or undefined when it vanished (ENOENT, ESRCH) or its files make no sense. */
async function readProcess (dir: string): Promise<ProcessInput | undefined> {
  try {
    const stat = parseProcStat((await readHead(join(dir, 'stat'), 4096)).toString('utf8'))
    if (stat === undefined) return undefined
    const status = (await readHead(join(dir, 'status'), 16 * 1024)).toString('utf8')
    const args = parseCmdline(await readHead(join(dir, 'cmdline'), CMDLINE_READ_BYTES))
    const comm = (await readHead(join(dir, 'comm'), 256)).toString('utf8').replace(/\n$/, '')
    // VmRSS is absent for kernel threads: they have no user memory.
    const rssKb = Number((statusField(status, 'VmRSS') ?? '0').split(/\s+/)[0])
    const threads = Number(statusField(status, 'Threads') ?? stat.threads)
    return {
      pid: stat.pid,
      ppid: stat.ppid,
      command: comm === '' ? stat.comm : comm,
      args,
      state: stat.state,
      rssBytes: Number.isFinite(rssKb) ? rssKb * 1024 : 0,
      cpuSeconds: stat.ticks / USER_HZ,
      threads: Number.isFinite(threads) ? threads : stat.threads
    }
  } catch {
    return undefined
  }
}
