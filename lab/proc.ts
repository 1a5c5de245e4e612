import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createWriteStream } from 'node:fs'

/** Runs a program with an explicit argv (never a shell), bounded in time; resolves with its stdout. */
export async function run (argv: readonly string[], options: { timeoutMs?: number, cwd?: string } = {}): Promise<string> {
  const [file, ...args] = argv
  if (file === undefined) throw new Error('run: empty argv')
  return await new Promise((resolve, reject) => {
    execFile(file, args, { timeout: options.timeoutMs ?? 30_000, cwd: options.cwd, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) {
        reject(new Error(`${argv.join(' ')} failed: ${stderr.trim() || err.message}`))
        return
      }
      resolve(stdout)
    })
  })
}

/** Like run(), but reports failure as false instead of throwing (for idempotent teardown steps). */
export async function tryRun (argv: readonly string[], timeoutMs = 10_000): Promise<boolean> {
  try {
    await run(argv, { timeoutMs })
    return true
  } catch {
    return false
  }
}

/** A long-running process we started: stopped only through this handle, by its PID. */
export type Daemon = {
  readonly name: string
  readonly pid: number
  readonly child: ChildProcess
  readonly logFile: string
  /** Resolves when the process has exited (at once if it already has). */
  readonly exited: Promise<void>
  /** True while the process has not exited. */
  alive (): boolean
}

export type StartDaemonOptions = {
  readonly name: string
  readonly argv: readonly string[]
  /** stdout and stderr are appended here. */
  readonly logFile: string
  readonly cwd?: string
  /** Called with every stdout line (e.g. to wait for a readiness message). */
  readonly onLine?: (line: string) => void
}

/** Starts a program detached from our stdin, output to a log file; the PID is the program's own. */
export function startDaemon (options: StartDaemonOptions): Daemon {
  const [file, ...args] = options.argv
  if (file === undefined) throw new Error('startDaemon: empty argv')
  const log = createWriteStream(options.logFile, { flags: 'a' })
  // detached: its own process group, so a Ctrl-C at the terminal reaches only the lab, which then
  // stops everything in order (VMs before the server), instead of every process dying at once.
  const child = spawn(file, args, { cwd: options.cwd, stdio: ['ignore', 'pipe', 'pipe'], detached: true })
  let exitedFlag = false
  const exited = new Promise<void>(resolve => {
    child.once('exit', () => { exitedFlag = true; resolve() })
    // 'error' means it never started (ENOENT): it has exited as far as we are concerned.
    child.once('error', (err) => {
      log.write(`[lab] ${options.name} failed to start: ${err.message}\n`)
      exitedFlag = true
      resolve()
    })
  })
  let partial = ''
  child.stdout.on('data', (chunk: Buffer) => {
    log.write(chunk)
    if (options.onLine === undefined) return
    partial += chunk.toString('utf8')
    const lines = partial.split('\n')
    partial = lines.pop() ?? ''
    for (const line of lines) options.onLine(line)
  })
  child.stderr.on('data', (chunk: Buffer) => { log.write(chunk) })
  exited.then(() => log.end(), () => log.end())
  if (child.pid === undefined) {
    // spawn failed synchronously-late (ENOENT is reported through 'error'); give a usable handle.
    return { name: options.name, pid: -1, child, logFile: options.logFile, exited, alive: () => false }
  }
  return { name: options.name, pid: child.pid, child, logFile: options.logFile, exited, alive: () => !exitedFlag }
}

/** Stops a daemon by its PID: SIGTERM, then SIGKILL after graceMs; waits (bounded) for the exit. */
export async function stopDaemon (daemon: Daemon, graceMs = 5_000): Promise<void> {
  if (!daemon.alive()) return
  daemon.child.kill('SIGTERM')
  if (await settlesWithin(daemon.exited, graceMs)) return
  daemon.child.kill('SIGKILL')
  if (!await settlesWithin(daemon.exited, 5_000)) {
    throw new Error(`${daemon.name} (pid ${daemon.pid}) did not exit after SIGKILL`)
  }
}

/** True when the promise settles within ms; never leaves a timer behind. */
export async function settlesWithin (p: Promise<unknown>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<false>(resolve => { timer = setTimeout(() => resolve(false), ms) })
  try {
    return await Promise.race([p.then(() => true, () => true), timeout])
  } finally {
    clearTimeout(timer)
  }
}

/** How waitFor polls: every intervalMs; giveUp() returning a reason ends the wait at once. */
export type WaitOptions = { readonly intervalMs?: number, readonly giveUp?: () => string | undefined }

/** Polls check() until it returns a value (not undefined) or timeoutMs passes; errors count as "not yet". */
export async function waitFor<T> (what: string, timeoutMs: number, check: () => Promise<T | undefined> | T | undefined, options: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let lastError: unknown
  for (;;) {
    try {
      const value = await check()
      if (value !== undefined) return value
    } catch (err) {
      lastError = err
    }
    const reason = options.giveUp?.()
    if (reason !== undefined) throw new Error(`gave up waiting for ${what}: ${reason}`)
    if (Date.now() >= deadline) {
      const why = lastError instanceof Error ? ` (last error: ${lastError.message})` : ''
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${why}`)
    }
    await sleep(options.intervalMs ?? 500)
  }
}

/** A promise that resolves after ms. */
export async function sleep (ms: number): Promise<void> {
  await new Promise(resolve => setTimeout(resolve, ms))
}
