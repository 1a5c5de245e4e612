import { CodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { Machine } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import type { AgentStream } from './agent-gateway.ts'
import type { AgentChecks } from './agent-auth.ts'
import type { DiscoveryStore, StoredTask } from './discovery-ports.ts'
import type { ProgressBoard } from './progress-board.ts'
import { describeTask } from './tasks.ts'

/** The live stream of a machine's session, in this process. */
export type Live = {
  readonly stream: AgentStream
  readonly since: number
  /** Tasks handed to the session, with the disks their progress and erase reports may name. */
  readonly handed: Map<string, ReadonlySet<string>>
  /** The install tasks among them (their progress is install.progress, not wipe.progress). */
  readonly installs: Set<string>
  /** Cancels sent on this stream (a resumed stream sends the pending ones again). */
  readonly cancelsSent: Set<string>
  /** Ignored messages already in the timeline (one event per task and kind, not per message). */
  readonly noted: Set<string>
  readonly renew: NodeJS.Timeout
  /** Superseded (its session resumed on another stream) or cut off (power through the BMC). */
  cut: boolean
}

export type AgentSessionsOptions = {
  readonly store: DiscoveryStore
  readonly events: BootEventSink
  readonly clock: Clock
  readonly checks: AgentChecks
  readonly progress: ProgressBoard
  readonly sessionTtlMs: number
  readonly graceMs: number
  readonly onError: (err: unknown) => void
}

/**
 * Who holds each machine, in this process: the live stream of its session, the sessions that
 * dropped mid-task and may still resume (their grace), and the wake-ups of task streams. The rule
 * itself is documented on AgentService.
 */
export class AgentSessions {
  readonly #o: AgentSessionsOptions
  /** The process's start: sessions of an earlier process dropped no earlier than this. */
  readonly #startedAt: number
  /** The live stream of each machine (at most one). */
  readonly #live = new Map<string, Live>()
  /** Sessions whose stream dropped while they ran a task, by session id: when, and the timer ending their grace. */
  readonly #grace = new Map<string, { readonly machineId: string, readonly droppedAt: number, readonly timer: NodeJS.Timeout }>()
  readonly #wakers = new Map<string, Set<() => void>>()
  /** Bumped by every wake, so a wake between "no task queued" and "sleep" is never lost. */
  readonly #epochs = new Map<string, number>()

  constructor (options: AgentSessionsOptions) {
    this.#o = options
    this.#startedAt = options.clock.now()
  }

  get liveCount (): number {
    return this.#live.size
  }

  live (machineId: string): Live | undefined {
    return this.#live.get(machineId)
  }

  isCurrent (stream: AgentStream): boolean {
    return this.#live.get(stream.machineId)?.stream.streamId === stream.streamId
  }

  /** A machine another session holds refuses a new one: ERR_AGENT_SESSION_HELD, an agent.refused event. */
  async refuseIfHeld (machine: Machine, ip: string): Promise<void> {
    const live = this.#live.get(machine.id)
    let why: string | undefined
    if (live !== undefined) why = `agent session ${live.stream.sessionId} has held the machine since ${new Date(live.since).toISOString()}`
    const now = this.#o.clock.now()
    const current = why === undefined ? await this.#o.store.currentSession(machine.id, now) : undefined
    if (current !== undefined) {
      const running = await this.#running(machine.id, current.sessionId)
      const until = Math.min(this.#droppedAt(current.sessionId) + this.#o.graceMs, current.expiresAt)
      if (running.length > 0 && now < until) why = `agent session ${current.sessionId} dropped while running ${running.map(describeTask).join(', ')} and may resume it until ${new Date(until).toISOString()}`
    }
    if (why === undefined) return
    this.#o.checks.refused(machine.id, ip, 'ERR_AGENT_SESSION_HELD', `${why}; its token is kept for a retry`)
    throw new CodedError('ERR_AGENT_SESSION_HELD', 'another agent session holds this machine; retry later')
  }

  /** A new session began: the machine's earlier ones are over, what they ran goes back to the queue. */
  async superseded (machineId: string): Promise<void> {
    for (const [sessionId, g] of this.#grace) if (g.machineId === machineId) this.#endGrace(sessionId)
    await this.requeue(machineId, undefined, 'a new agent session started')
  }

  /** Makes the stream its machine's live one (superseding any other) and keeps its credential alive. */
  admit (stream: AgentStream, credentialHash: string, handed: Map<string, ReadonlySet<string>>, installs: Set<string> = new Set()): void {
    const previous = this.#live.get(stream.machineId)
    if (previous !== undefined) this.#cut(previous)
    this.#endGrace(stream.sessionId)
    const every = Math.max(1000, Math.floor(this.#o.sessionTtlMs / 4))
    const renew = setInterval(() => {
      this.#o.store.extendCredential(credentialHash, this.#o.clock.now() + this.#o.sessionTtlMs).catch(this.#o.onError)
    }, every)
    renew.unref()
    this.#live.set(stream.machineId, { stream, since: this.#o.clock.now(), handed, installs, cancelsSent: new Set(), noted: new Set(), renew, cut: false })
  }

  /**
   * The stream ended. Not the live one (superseded, cut off): nothing more. Otherwise the tasks
   * its session runs stay with it for the grace period if it can resume (its credential is
   * valid), else go back to the queue at once.
   */
  async closed (stream: AgentStream, reason: string): Promise<void> {
    const { machineId, sessionId } = stream
    const live = this.#live.get(machineId)
    if (live?.stream.streamId !== stream.streamId) {
      this.#o.events.record({ source: 'api', type: EventType.agentDisconnected, machineId, message: `an earlier stream of agent session ${sessionId} ended: ${reason}` })
      return
    }
    this.#cut(live)
    const running = await this.#running(machineId, sessionId)
    const now = this.#o.clock.now()
    const resumable = running.length > 0 && (await this.#o.store.currentSession(machineId, now))?.sessionId === sessionId
    const tail = running.length === 0
      ? ''
      : resumable
        ? `; ${running.map(describeTask).join(', ')} stays with the session for ${Math.round(this.#o.graceMs / 1000)} s for its agent to reconnect`
        : `; ${running.map(describeTask).join(', ')} goes back to the queue for its next boot`
    this.#o.events.record({ source: 'api', type: EventType.agentDisconnected, machineId, message: `discovery agent session ${sessionId} ended: ${reason}${tail}` })
    if (resumable) this.#startGrace(machineId, sessionId, now)
    else if (running.length > 0) await this.requeue(machineId, sessionId, `agent session ${sessionId} ended`)
  }

  /** A power action through the BMC: the machine's live stream is cut and nothing of its session may resume. */
  async powerCut (machineId: string, action: string): Promise<void> {
    const live = this.#live.get(machineId)
    if (live !== undefined) this.#cut(live)
    await this.#o.store.endSessions(machineId)
    for (const [sessionId, g] of this.#grace) if (g.machineId === machineId) this.#endGrace(sessionId)
    const running = await this.#o.store.requeueRunning(machineId)
    for (const t of running) this.#o.progress.forget(t.id)
    if (live !== undefined || running.length > 0) {
      this.#o.events.record({ source: 'api', type: EventType.agentCutOff, machineId, message: `power ${action} through the BMC ended the agent's session${running.length > 0 ? `; ${running.map(describeTask).join(', ')} goes back to the queue for its next boot` : ''}` })
    }
    this.wake(machineId)
  }

  /** Puts running tasks (of one session, or all of the machine's) back in the queue, with an event. */
  async requeue (machineId: string, sessionId: string | undefined, why: string): Promise<StoredTask[]> {
    const requeued = await this.#o.store.requeueRunning(machineId, sessionId)
    for (const t of requeued) this.#o.progress.forget(t.id)
    if (requeued.length > 0) {
      this.#o.events.record({ source: 'api', type: EventType.taskRequeued, machineId, message: `${why}: ${requeued.map(describeTask).join(', ')} goes back to the queue`, data: { taskIds: requeued.map(t => t.id) } })
      this.wake(machineId)
    }
    return requeued
  }

  /** Queues again the running tasks of sessions whose grace has passed (of earlier processes too); how many. */
  async requeueAbandoned (): Promise<number> {
    const now = this.#o.clock.now()
    let requeued = 0
    const seen = new Set<string>()
    for (const t of await this.#o.store.runningTasks()) {
      const key = `${t.machineId} ${t.sessionId ?? ''}`
      if (seen.has(key) || this.#live.get(t.machineId)?.stream.sessionId === t.sessionId) continue
      seen.add(key)
      // A running task of no session (a row from before sessions existed) is no live stream's either.
      if (t.sessionId === null) {
        if (!this.#live.has(t.machineId)) requeued += (await this.requeue(t.machineId, undefined, 'no agent session runs it')).length
        continue
      }
      const current = await this.#o.store.currentSession(t.machineId, now)
      if (current?.sessionId === t.sessionId && now < this.#droppedAt(t.sessionId) + this.#o.graceMs) continue
      this.#endGrace(t.sessionId)
      requeued += (await this.requeue(t.machineId, t.sessionId, `agent session ${t.sessionId} did not reconnect within ${Math.round(this.#o.graceMs / 1000)} s`)).length
    }
    return requeued
  }

  /** New work (or a cancel) for this machine: its task stream looks again. */
  wake (machineId: string): void {
    this.#epochs.set(machineId, (this.#epochs.get(machineId) ?? 0) + 1)
    for (const wake of this.#wakers.get(machineId) ?? []) wake()
  }

  epoch (machineId: string): number {
    return this.#epochs.get(machineId) ?? 0
  }

  /** Resolves at the next wake after epoch `seen` (at once if one came already), or when aborted. */
  async sleepUntilWoken (machineId: string, seen: number, signal: AbortSignal): Promise<void> {
    if (this.epoch(machineId) !== seen || signal.aborted) return
    await new Promise<void>((resolve) => {
      const set = this.#wakers.get(machineId) ?? new Set()
      this.#wakers.set(machineId, set)
      const done = (): void => {
        set.delete(done)
        if (set.size === 0) this.#wakers.delete(machineId)
        signal.removeEventListener('abort', done)
        resolve()
      }
      set.add(done)
      signal.addEventListener('abort', done, { once: true })
    })
  }

  #cut (live: Live): void {
    live.cut = true
    clearInterval(live.renew)
    if (this.#live.get(live.stream.machineId) === live) this.#live.delete(live.stream.machineId)
    this.wake(live.stream.machineId)
  }

  async #running (machineId: string, sessionId: string): Promise<StoredTask[]> {
    return (await this.#o.store.tasks(machineId, ['running'])).filter(t => t.sessionId === sessionId)
  }

  #droppedAt (sessionId: string): number {
    return this.#grace.get(sessionId)?.droppedAt ?? this.#startedAt
  }

  #startGrace (machineId: string, sessionId: string, now: number): void {
    this.#endGrace(sessionId)
    const timer = setTimeout(() => { this.#graceOver(machineId, sessionId).catch(this.#o.onError) }, this.#o.graceMs)
    timer.unref()
    this.#grace.set(sessionId, { machineId, droppedAt: now, timer })
  }

  #endGrace (sessionId: string): void {
    const g = this.#grace.get(sessionId)
    if (g !== undefined) clearTimeout(g.timer)
    this.#grace.delete(sessionId)
  }

  /** The session did not come back in time: its running tasks go back to the queue (it may still resume). */
  async #graceOver (machineId: string, sessionId: string): Promise<void> {
    this.#endGrace(sessionId)
    if (this.#live.get(machineId)?.stream.sessionId === sessionId) return
    await this.requeue(machineId, sessionId, `agent session ${sessionId} did not reconnect within ${Math.round(this.#o.graceMs / 1000)} s`)
  }
}
