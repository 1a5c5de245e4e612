// Child processes for the benchmarks: every one is tracked by PID so that a failure or Ctrl-C
// stops exactly what we started, and every one has a time limit.
import { spawn, type ChildProcess } from 'node:child_process'
import { accessSync, constants, createWriteStream } from 'node:fs'
import { delimiter, join } from 'node:path'

/** What a finished command did; `ms` is its wall time, as time(1) would print it. */
export type RunResult = {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
  readonly stdout: string
  readonly stderr: string
  readonly ms: number
  readonly timedOut: boolean
}

export type RunOptions = {
  readonly timeoutMs: number
  readonly env?: NodeJS.ProcessEnv
  readonly cwd?: string
  /** A teardown command, still allowed after stopStarting(). */
  readonly teardown?: boolean
}

/** A long-running server we started; stop() sends SIGTERM, then SIGKILL after a grace period. */
export type Daemon = {
  readonly name: string
  readonly pid: number
  readonly exited: () => boolean
  stop (): Promise<void>
}

const live = new Map<number, ChildProcess>()
let closed = false
const OUTPUT_CAP = 4 * 1024 * 1024

/** Absolute path of a program on PATH (plus the sbin folders), or undefined. */
export function which (name: string, extra: readonly string[] = []): string | undefined {
  const dirs = [...extra, ...(process.env.PATH ?? '').split(delimiter), '/usr/local/sbin', '/usr/sbin', '/sbin']
  for (const d of dirs) {
    if (d === '') continue
    const p = join(d, name)
    try {
      accessSync(p, constants.X_OK)
      return p
    } catch { /* not here */ }
  }
  return undefined
}

function track (child: ChildProcess): void {
  const pid = child.pid
  if (pid === undefined) return
  live.set(pid, child)
  child.once('exit', () => live.delete(pid))
}

/** Runs a command to completion (or its time limit, then SIGKILL) and collects its output. */
export async function run (argv: readonly string[], options: RunOptions): Promise<RunResult> {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error('run: empty command')
  if (closed && options.teardown !== true) throw new Error('stopping: no new processes')
  const started = process.hrtime.bigint()
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: options.env ?? process.env, cwd: options.cwd })
  track(child)
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { if (stdout.length < OUTPUT_CAP) stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < OUTPUT_CAP) stderr += d.toString() })
  let timedOut = false
  const timer = setTimeout(() => { timedOut = true; child.kill('SIGKILL') }, options.timeoutMs)
  return await new Promise<RunResult>((resolve) => {
    const finish = (code: number | null, signal: NodeJS.Signals | null): void => {
      clearTimeout(timer)
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      resolve({ code, signal, stdout, stderr, ms, timedOut })
    }
    child.once('error', (err) => { stderr += String(err); finish(null, null) })
    child.once('close', finish)
  })
}

/** Starts a server in the background, its output appended to logFile. */
export function startDaemon (name: string, argv: readonly string[], logFile: string, env?: NodeJS.ProcessEnv): Daemon {
  const [cmd, ...args] = argv
  if (cmd === undefined) throw new Error('startDaemon: empty command')
  if (closed) throw new Error('stopping: no new processes')
  const out = createWriteStream(logFile, { flags: 'a' })
  const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'], env: env ?? process.env })
  track(child)
  child.stdout.pipe(out)
  child.stderr.pipe(out)
  let exited = false
  const gone = new Promise<void>((resolve) => {
    child.once('exit', () => { exited = true; resolve() })
    child.once('error', (err) => { out.write(`spawn failed: ${String(err)}\n`); exited = true; resolve() })
  })
  return {
    name,
    pid: child.pid ?? -1,
    exited: () => exited,
    async stop () {
      if (!exited) {
        child.kill('SIGTERM')
        const grace = setTimeout(() => child.kill('SIGKILL'), 5000)
        await gone
        clearTimeout(grace)
      }
      await new Promise<void>((resolve) => { out.end(resolve) })
    }
  }
}

/**
 * From now on only teardown commands may start (Ctrl-C): a benchmark step still running must not
 * start a process inside a namespace that is being deleted.
 */
export function stopStarting (): void {
  closed = true
}

/** Kills, by PID, every child still running (used on failure and on Ctrl-C). */
export function killAll (): number {
  let n = 0
  for (const child of live.values()) {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGKILL')
      n++
    }
  }
  return n
}

/** Waits until probe() is true, polling every 100 ms, for at most timeoutMs. */
export async function waitUntil (probe: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs
  for (let i = 0; i < 10_000 && Date.now() < deadline; i++) {
    if (await probe()) return true
    await sleep(100)
  }
  return false
}

/** A promise that resolves after ms. */
export async function sleep (ms: number): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, ms))
}
