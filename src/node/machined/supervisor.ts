/**
 * machined's service supervisor: runs the services it is told to (apid and trustd always, later
 * those the config asks for), each from an explicit argv (never a shell), restarts one that exits
 * with exponential backoff, keeps each one's output in a bounded ring (the Logs RPC), and stops
 * them (SIGTERM, then SIGKILL after a grace period) for a reboot.
 *
 * States: starting (spawned, not yet confirmed by the kernel) → running → backoff (it exited;
 * restart pending) → starting ...; failed is backoff after a spawn that did not happen at all
 * (a missing binary, a bad uid): it is retried on the same schedule, since a later config or an
 * upgrade may fix it; stopped once stop() was asked and the process is gone.
 * Backoff: 1 s, doubling to 30 s; a run that lasted 60 s resets it (as systemd's and Talos's
 * restart policies, a crash loop costs little while a rare crash restarts at once).
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process'
import { ServiceLog, type ServiceLogOptions } from './api/service-log.ts'

/** What to run: an explicit argv, no shell. */
export type ServiceSpec = {
  readonly id: string
  readonly argv: readonly [string, ...string[]]
  /** The whole environment (default: PATH only, so nothing of machined's leaks by accident). */
  readonly env?: Readonly<Record<string, string>>
  readonly uid?: number
  readonly gid?: number
  readonly cwd?: string
  /** Health check, run every probeIntervalMs while running; without one health is 'unknown'. */
  readonly probe?: () => Promise<boolean>
}

export type ServiceState = 'starting' | 'running' | 'backoff' | 'stopped' | 'failed'

/** One service as the Services RPC reports it. */
export type ServiceStatus = {
  readonly id: string
  readonly state: ServiceState
  /** 0 when not running. */
  readonly pid: number
  readonly restarts: number
  /** This run's start, Unix ms (0 when not running). */
  readonly startedAtMs: number
  readonly health: 'healthy' | 'unhealthy' | 'unknown'
  /** "exit 1", "signal SIGKILL", "spawn ENOENT"; "" before the first run ended. */
  readonly lastExit: string
}

/** Time, as the supervisor sees it: real in machined, fake in tests. */
export interface Clock {
  now (): number
  setTimeout (fn: () => void, ms: number): unknown
  clearTimeout (handle: unknown): void
}

export const realClock: Clock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => { clearTimeout(h as NodeJS.Timeout) }
}

export type SupervisorOptions = {
  readonly clock?: Clock
  /** SIGTERM to SIGKILL (default 10 s). */
  readonly graceMs?: number
  /** Default 10 s. */
  readonly probeIntervalMs?: number
  /** Console lines (starts, exits, restarts). */
  readonly log?: (line: string) => void
  /** Ring size and line length of each service's log. */
  readonly logs?: Omit<ServiceLogOptions, 'now'>
}

export const BACKOFF_FIRST_MS = 1000
export const BACKOFF_MAX_MS = 30_000
export const BACKOFF_RESET_MS = 60_000
const DEFAULT_PATH = '/usr/sbin:/usr/bin:/sbin:/bin'

type Entry = {
  readonly spec: ServiceSpec
  readonly log: ServiceLog
  state: ServiceState
  child: ChildProcess | undefined
  pid: number
  restarts: number
  startedAtMs: number
  health: ServiceStatus['health']
  lastExit: string
  nextDelayMs: number
  wanted: boolean
  timer: unknown
  probeTimer: unknown
  waiters: Array<() => void>
}

/** Runs and restarts services; see the module comment. */
export class Supervisor {
  readonly #clock: Clock
  readonly #graceMs: number
  readonly #probeIntervalMs: number
  readonly #say: (line: string) => void
  readonly #logOptions: Omit<ServiceLogOptions, 'now'>
  readonly #entries = new Map<string, Entry>()
  readonly #watchers = new Set<(s: ServiceStatus) => void>()

  constructor (o: SupervisorOptions = {}) {
    this.#clock = o.clock ?? realClock
    this.#graceMs = o.graceMs ?? 10_000
    this.#probeIntervalMs = o.probeIntervalMs ?? 10_000
    this.#say = o.log ?? (() => {})
    this.#logOptions = o.logs ?? {}
  }

  /** Starts a service (again, if it was stopped). A running id is refused: stop it first. */
  start (spec: ServiceSpec): void {
    const old = this.#entries.get(spec.id)
    if (old !== undefined && old.state !== 'stopped') throw new Error(`service ${spec.id} is already ${old.state}`)
    const entry: Entry = {
      spec,
      log: old?.log ?? new ServiceLog({ ...this.#logOptions, now: () => this.#clock.now() }),
      state: 'starting',
      child: undefined,
      pid: 0,
      restarts: 0,
      startedAtMs: 0,
      health: 'unknown',
      lastExit: old?.lastExit ?? '',
      nextDelayMs: BACKOFF_FIRST_MS,
      wanted: true,
      timer: undefined,
      probeTimer: undefined,
      waiters: []
    }
    this.#entries.set(spec.id, entry)
    this.#launch(entry)
  }

  /** Stops a service: no more restarts, SIGTERM to its process group, SIGKILL after the grace period. */
  async stop (id: string): Promise<void> {
    const entry = this.#entries.get(id)
    if (entry === undefined) return
    entry.wanted = false
    this.#clock.clearTimeout(entry.timer)
    const child = entry.child
    if (child === undefined) {
      this.#set(entry, 'stopped')
      return
    }
    const exited = new Promise<void>(resolve => { entry.waiters.push(resolve) })
    signalGroup(child, 'SIGTERM')
    const kill = this.#clock.setTimeout(() => {
      this.#say(`service ${id}: still running ${this.#graceMs} ms after SIGTERM, SIGKILL`)
      signalGroup(child, 'SIGKILL')
    }, this.#graceMs)
    await exited
    this.#clock.clearTimeout(kill)
  }

  /** Sends `sig` to a running service's main process (a reload: apid on SIGHUP); false when it is not running. */
  signal (id: string, sig: NodeJS.Signals): boolean {
    const child = this.#entries.get(id)?.child
    if (child?.pid === undefined || child.exitCode !== null) return false
    return child.kill(sig)
  }

  /** Stops every service at once (a reboot or shutdown). */
  async stopAll (): Promise<void> {
    await Promise.all([...this.#entries.keys()].reverse().map(async id => { await this.stop(id) }))
  }

  /** Every service, in the order they were first started. */
  list (): ServiceStatus[] {
    return [...this.#entries.values()].map(statusOf)
  }

  /** A service's output, or undefined for an id never started. */
  log (id: string): ServiceLog | undefined {
    return this.#entries.get(id)?.log
  }

  /** Calls `fn` on every state change until the returned function is called. */
  watch (fn: (s: ServiceStatus) => void): () => void {
    this.#watchers.add(fn)
    return () => { this.#watchers.delete(fn) }
  }

  #launch (entry: Entry): void {
    const { spec } = entry
    entry.startedAtMs = this.#clock.now()
    this.#set(entry, 'starting')
    let child: ChildProcess
    try {
      child = spawn(spec.argv[0], spec.argv.slice(1), spawnOptions(spec))
    } catch (err) {
      this.#ended(entry, undefined, `spawn ${(err as NodeJS.ErrnoException).code ?? 'error'}`, true)
      return
    }
    entry.child = child
    let spawned = false
    child.stdout?.on('data', (chunk: Buffer) => { entry.log.write('stdout', chunk) })
    child.stdout?.on('end', () => { entry.log.flush('stdout') })
    child.stderr?.on('data', (chunk: Buffer) => { entry.log.write('stderr', chunk) })
    child.stderr?.on('end', () => { entry.log.flush('stderr') })
    child.once('spawn', () => {
      spawned = true
      entry.pid = child.pid ?? 0
      this.#say(`service ${spec.id}: running, pid ${entry.pid}`)
      this.#set(entry, 'running')
      this.#scheduleProbe(entry, child)
    })
    child.on('error', (err: NodeJS.ErrnoException) => {
      // After a successful spawn, 'error' is a failed kill(); the process's own end is 'exit'.
      if (!spawned) this.#ended(entry, child, `spawn ${err.code ?? err.message}`, true)
    })
    child.once('exit', (code, signal) => { this.#ended(entry, child, code !== null ? `exit ${code}` : `signal ${signal ?? '?'}`, false) })
  }

  /** A run ended (or never began): restart after the backoff unless the service was stopped. */
  #ended (entry: Entry, child: ChildProcess | undefined, how: string, failed: boolean): void {
    if (entry.child !== child) return
    entry.child = undefined
    entry.pid = 0
    entry.lastExit = how
    entry.health = 'unknown'
    this.#clock.clearTimeout(entry.probeTimer)
    entry.log.note(`machined: ${entry.spec.id} ended: ${how}`)
    for (const resolve of entry.waiters.splice(0)) resolve()
    if (!entry.wanted) {
      this.#say(`service ${entry.spec.id}: stopped (${how})`)
      this.#set(entry, 'stopped')
      return
    }
    if (this.#clock.now() - entry.startedAtMs >= BACKOFF_RESET_MS) entry.nextDelayMs = BACKOFF_FIRST_MS
    const delay = entry.nextDelayMs
    entry.nextDelayMs = Math.min(delay * 2, BACKOFF_MAX_MS)
    this.#say(`service ${entry.spec.id}: ${how}; restart in ${delay / 1000} s`)
    entry.timer = this.#clock.setTimeout(() => {
      entry.timer = undefined
      entry.restarts++
      this.#launch(entry)
    }, delay)
    this.#set(entry, failed ? 'failed' : 'backoff')
  }

  #scheduleProbe (entry: Entry, child: ChildProcess): void {
    const probe = entry.spec.probe
    if (probe === undefined) return
    entry.probeTimer = this.#clock.setTimeout(() => {
      probe().then(ok => ok, () => false).then(ok => {
        if (entry.child !== child) return
        const health = ok ? 'healthy' : 'unhealthy'
        if (health !== entry.health) {
          entry.health = health
          this.#emit(entry)
        }
        this.#scheduleProbe(entry, child)
      }, () => {})
    }, this.#probeIntervalMs)
  }

  #set (entry: Entry, state: ServiceState): void {
    entry.state = state
    this.#emit(entry)
  }

  #emit (entry: Entry): void {
    const s = statusOf(entry)
    for (const fn of this.#watchers) fn(s)
  }
}

function statusOf (e: Entry): ServiceStatus {
  const running = e.child !== undefined && e.state === 'running'
  return { id: e.spec.id, state: e.state, pid: running ? e.pid : 0, restarts: e.restarts, startedAtMs: running ? e.startedAtMs : 0, health: e.health, lastExit: e.lastExit }
}

function spawnOptions (spec: ServiceSpec): SpawnOptions {
  return {
    env: spec.env ?? { PATH: process.env.PATH ?? DEFAULT_PATH },
    stdio: ['ignore', 'pipe', 'pipe'],
    // Its own process group, so that stop() reaches the children it forks too.
    detached: true,
    shell: false,
    ...(spec.uid === undefined ? {} : { uid: spec.uid }),
    ...(spec.gid === undefined ? {} : { gid: spec.gid }),
    ...(spec.cwd === undefined ? {} : { cwd: spec.cwd })
  }
}

/** Signals the child's process group (it leads one: detached), or the child alone if the group is gone. */
function signalGroup (child: ChildProcess, sig: NodeJS.Signals): void {
  if (child.pid === undefined) return
  try {
    process.kill(-child.pid, sig)
  } catch {
    child.kill(sig)
  }
}
