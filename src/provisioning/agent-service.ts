import { randomUUID } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import { normalizeIp } from '../lib/peer-address.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState, type Machine } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import { EventType } from '../inventory/event-types.ts'
import type { AgentAuth, AgentDirective, AgentGateway, AgentStream, HardwareReport, Hello, OpenedStream, TaskProgress, TaskResult } from './agent-gateway.ts'
import { AgentChecks, newSecret, secretHash } from './agent-auth.ts'
import { acceptedReports, cancelPending, resultFinishedAt, startedEvent, taskDisks, toTaskInput } from './agent-tasks.ts'
import type { DiscoveryStore, EraseReportRecord, StoredTask, WipeParams } from './discovery-ports.ts'
import type { LifecycleService } from './lifecycle-service.ts'
import { TASK_STATES } from './lifecycle.ts'
import { firstMatchingRule, type Selector } from './selector.ts'
import { ProgressBoard, type DiskProgress } from './progress-board.ts'
import { humanBytes, summarizeHardware } from './hardware-summary.ts'
import { describeTask } from './tasks.ts'

export type AgentServiceOptions = {
  readonly machines: MachineService
  readonly lifecycle: LifecycleService
  readonly store: DiscoveryStore
  readonly events: BootEventSink
  readonly clock: Clock
  /** How long a boot script's agent token stays valid. */
  readonly tokenTtlMs: number
  /** Machines whose hardware matches one of these are accepted without an operator. */
  readonly autoAccept: readonly Selector[]
  /** The address Anvil's own DHCP leased to the machine: its agent may connect from there too. */
  readonly leasedAddress?: (machineId: string) => Promise<string | undefined>
  /** How long a session credential stays valid (default 1 h): renewed at each reconnect and while its stream is live. */
  readonly sessionTtlMs?: number
  /** How long a session that dropped while running a task may come back to it (default 2 min). */
  readonly resumeGraceMs?: number
  /** Failures of background work (grace timers, credential renewal); default: ignored. */
  readonly onError?: (err: unknown) => void
}

const S = MachineState
/** States whose machines boot the discovery environment and keep an agent session. */
export const AGENT_STATES: readonly MachineState[] = [S.discovered, S.accepted, S.wiping, S.ready, S.installing, S.resetting]

export const DEFAULT_SESSION_TTL_MS = 3_600_000
export const DEFAULT_RESUME_GRACE_MS = 120_000

/** The live stream of a machine's session, in this process. */
type Live = {
  readonly stream: AgentStream
  /** The credential this stream's welcome carried: the one kept alive while the stream is. */
  readonly credentialHash: string
  readonly since: number
  /** Tasks handed to the session, with the disks their progress and erase reports may name. */
  readonly handed: Map<string, ReadonlySet<string>>
  /** Cancels sent on this stream (a resumed stream sends the pending ones again). */
  readonly cancelsSent: Set<string>
  /** Ignored messages already in the timeline (one event per task and kind, not per message). */
  readonly noted: Set<string>
  readonly renew: NodeJS.Timeout
  /** Superseded (its session resumed on another stream) or cut off (power through the BMC). */
  cut: boolean
}

/**
 * The agents' side of discovery (the AgentGateway the gRPC transport drives): boot tokens and
 * sessions, hardware reports, the task hand-out, progress and results. State changes go through
 * the lifecycle service; tasks are handed out only while the machine's state allows them.
 *
 * Who holds a machine. An agent's first stream spends the boot script's token and starts a
 * session (an id, and a credential in the welcome); later streams of that session (after a
 * network blip or a server restart) present the credential and carry on. The first session keeps
 * the machine until it is gone: its stream ended (the agent closed it, the connection was lost,
 * keepalive failed), a power action through the BMC cut it off, or an in-band reboot or power-off
 * task ran. While it holds the machine, a stream with a new token is refused
 * (ERR_AGENT_SESSION_HELD, UNAVAILABLE: the agent retries with backoff) and the token is not spent.
 * A session whose stream dropped while it ran a task still holds the machine for the resume grace
 * period (2 min from the drop, or from this process's start for sessions of an earlier process),
 * so its agent can come back to the task; its task stays `running`, handed to it. After the grace,
 * or once its credential expired, the task goes back to the queue (a later resume of the session
 * is handed it again: the agent recognises the id and does not restart it), and a new session may
 * start; a new session ends every earlier one of the machine (their credentials deleted, their
 * running tasks queued again). Tasks are handed to a session; progress, results and erase reports
 * are accepted only from the session a task was handed to, and only for that task's disks.
 */
export class AgentService implements AgentGateway {
  readonly #o: AgentServiceOptions
  readonly #checks: AgentChecks
  readonly #sessionTtlMs: number
  readonly #graceMs: number
  /** The process's start: sessions of an earlier process dropped no earlier than this. */
  readonly #startedAt: number
  readonly #wakers = new Map<string, Set<() => void>>()
  /** Bumped by every wake, so a wake between "no task queued" and "sleep" is never lost. */
  readonly #epochs = new Map<string, number>()
  readonly #progress = new ProgressBoard()
  /** The live stream of each machine (at most one). */
  readonly #live = new Map<string, Live>()
  /** Sessions whose stream dropped while they ran a task, by session id: when, and the timer ending their grace. */
  readonly #grace = new Map<string, { readonly machineId: string, readonly droppedAt: number, readonly timer: NodeJS.Timeout }>()
  /** Tasks whose result is being stored (a resumed agent may send one twice at once). */
  readonly #finishing = new Set<string>()

  constructor (options: AgentServiceOptions) {
    this.#o = options
    this.#checks = new AgentChecks(options.events)
    this.#sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
    this.#graceMs = options.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS
    this.#startedAt = options.clock.now()
  }

  /** Agent streams live now, over all machines (a metric). */
  get connectedAgents (): number {
    return this.#live.size
  }

  /**
   * A fresh single-use token for the agent this machine is about to boot, bound to the address
   * that fetched the boot script. It supersedes the machine's earlier unspent tokens; spent and
   * expired tokens go too. Only its hash is stored.
   */
  async issueToken (machineId: string, peerIp: string): Promise<string> {
    const token = newSecret()
    const now = this.#o.clock.now()
    await this.#o.store.putToken({ tokenHash: secretHash(token), machineId, issuedAt: now, expiresAt: now + this.#o.tokenTtlMs, peerIp: normalizeIp(peerIp) ?? null })
    return token
  }

  async openSession (auth: AgentAuth, rawHello: Hello, peer: string): Promise<OpenedStream> {
    const ip = this.#checks.peer(peer)
    const hello = this.#checks.hello(rawHello, ip)
    return auth.kind === 'token' ? await this.#startSession(auth.token, hello, ip) : await this.#resumeSession(auth.credential, hello, ip)
  }

  async #startSession (token: string, hello: Hello, ip: string): Promise<OpenedStream> {
    const hash = secretHash(token)
    const now = this.#o.clock.now()
    const peeked = await this.#o.store.peekToken(hash, now)
    if ('refused' in peeked) throw this.#tokenRefused(peeked.refused, ip)
    const machine = await this.#o.machines.get(peeked.machineId)
    await this.#checks.address(machine, ip, 'token', { bound: peeked.peerIp, leasedAddress: this.#o.leasedAddress })
    this.#checks.bootMac(machine, ip, hello.bootMac)
    await this.#refuseIfHeld(machine, ip)
    const consumed = await this.#o.store.consumeToken(hash, this.#o.clock.now())
    if ('refused' in consumed) throw this.#tokenRefused(consumed.refused, ip, machine.id)
    const stream: AgentStream = { machineId: machine.id, sessionId: `s-${randomUUID()}`, streamId: randomUUID(), resumed: false }
    const credential = newSecret()
    const at = this.#o.clock.now()
    // A new session: the machine's earlier ones are over, and what they were running runs again.
    await this.#o.store.startSession({ credentialHash: secretHash(credential), sessionId: stream.sessionId, machineId: machine.id, peerIp: ip, issuedAt: at, expiresAt: at + this.#sessionTtlMs })
    for (const [sessionId, g] of this.#grace) if (g.machineId === machine.id) this.#endGrace(sessionId)
    await this.#requeue(machine.id, undefined, 'a new agent session started')
    this.#admit(stream, secretHash(credential), new Map())
    this.#o.events.record({ source: 'api', type: EventType.agentConnected, machineId: machine.id, ip, message: `discovery agent ${hello.agentVersion} connected from ${ip} (boot NIC ${hello.bootMac}): session ${stream.sessionId}`, data: { agentVersion: hello.agentVersion, bootMac: hello.bootMac, bootDisk: hello.bootDisk, peer: ip, sessionId: stream.sessionId } })
    return { ...stream, credential, credentialTtlMs: this.#sessionTtlMs }
  }

  async #resumeSession (credential: string, hello: Hello, ip: string): Promise<OpenedStream> {
    const hash = secretHash(credential)
    const record = await this.#o.store.findCredential(hash)
    if (record === undefined || record.expiresAt <= this.#o.clock.now()) {
      this.#checks.refused(record?.machineId, ip, 'ERR_AGENT_SESSION_INVALID', `its session credential is ${record === undefined ? 'unknown (the session ended, or another started)' : 'expired'}`)
      throw new CodedError('ERR_AGENT_SESSION_INVALID', 'this session is over; boot the machine again for a new one')
    }
    const machine = await this.#o.machines.get(record.machineId)
    await this.#checks.address(machine, ip, 'session credential', { bound: record.peerIp, leasedAddress: this.#o.leasedAddress })
    this.#checks.bootMac(machine, ip, hello.bootMac)
    const fresh = newSecret()
    const now = this.#o.clock.now()
    await this.#o.store.renewCredential(hash, { credentialHash: secretHash(fresh), sessionId: record.sessionId, machineId: machine.id, peerIp: ip, issuedAt: now, expiresAt: now + this.#sessionTtlMs })
    this.#endGrace(record.sessionId)
    const stream: AgentStream = { machineId: machine.id, sessionId: record.sessionId, streamId: randomUUID(), resumed: true }
    this.#admit(stream, secretHash(fresh), await this.#handedTo(machine.id, record.sessionId))
    const running = (await this.#o.store.tasks(machine.id, ['running'])).filter(t => t.sessionId === record.sessionId)
    this.#o.events.record({ source: 'api', type: EventType.agentReconnected, machineId: machine.id, ip, message: `discovery agent ${hello.agentVersion} reconnected from ${ip}: session ${record.sessionId} continues${running.length > 0 ? ` with ${running.map(describeTask).join(', ')}` : ''}`, data: { agentVersion: hello.agentVersion, bootMac: hello.bootMac, peer: ip, sessionId: record.sessionId } })
    return { ...stream, credential: fresh, credentialTtlMs: this.#sessionTtlMs }
  }

  /** A machine another session holds refuses a new one (see the class comment). */
  async #refuseIfHeld (machine: Machine, ip: string): Promise<void> {
    const live = this.#live.get(machine.id)
    let why: string | undefined
    if (live !== undefined) why = `agent session ${live.stream.sessionId} has held the machine since ${new Date(live.since).toISOString()}`
    const now = this.#o.clock.now()
    const current = why === undefined ? await this.#o.store.currentSession(machine.id, now) : undefined
    if (current !== undefined) {
      const running = (await this.#o.store.tasks(machine.id, ['running'])).filter(t => t.sessionId === current.sessionId)
      const until = Math.min(this.#droppedAt(current.sessionId) + this.#graceMs, current.expiresAt)
      if (running.length > 0 && now < until) why = `agent session ${current.sessionId} dropped while running ${running.map(describeTask).join(', ')} and may resume it until ${new Date(until).toISOString()}`
    }
    if (why === undefined) return
    this.#checks.refused(machine.id, ip, 'ERR_AGENT_SESSION_HELD', `${why}; its token is kept for a retry`)
    throw new CodedError('ERR_AGENT_SESSION_HELD', 'another agent session holds this machine; retry later')
  }

  #tokenRefused (refused: 'unknown' | 'used' | 'expired', ip: string, machineId?: string): CodedError {
    this.#checks.refused(machineId, ip, refused === 'used' ? 'ERR_AGENT_TOKEN_USED' : 'ERR_AGENT_TOKEN_INVALID', `its token is ${refused === 'used' ? 'already used' : refused}`)
    return refused === 'used'
      ? new CodedError('ERR_AGENT_TOKEN_USED', 'this agent token was already used; boot the machine again for a new one')
      : new CodedError('ERR_AGENT_TOKEN_INVALID', `this agent token is ${refused}`)
  }

  /** Makes the stream its machine's live one (superseding any other) and keeps its credential alive. */
  #admit (stream: AgentStream, credentialHash: string, handed: Map<string, ReadonlySet<string>>): void {
    const previous = this.#live.get(stream.machineId)
    if (previous !== undefined) this.#cut(previous)
    const every = Math.max(1000, Math.floor(this.#sessionTtlMs / 4))
    const renew = setInterval(() => {
      this.#o.store.extendCredential(credentialHash, this.#o.clock.now() + this.#sessionTtlMs).catch(this.#o.onError ?? (() => {}))
    }, every)
    renew.unref()
    this.#live.set(stream.machineId, { stream, credentialHash, since: this.#o.clock.now(), handed, cancelsSent: new Set(), noted: new Set(), renew, cut: false })
  }

  #cut (live: Live): void {
    live.cut = true
    clearInterval(live.renew)
    if (this.#live.get(live.stream.machineId) === live) this.#live.delete(live.stream.machineId)
    this.wake(live.stream.machineId)
  }

  /** The tasks a resumed session was handed (running, or cancelled and not yet answered), with their disks. */
  async #handedTo (machineId: string, sessionId: string): Promise<Map<string, ReadonlySet<string>>> {
    const hardware = (await this.#o.store.getHardware(machineId))?.report
    const tasks = (await this.#o.store.tasks(machineId, ['running', 'cancelled'])).filter(t => t.sessionId === sessionId && (t.state === 'running' || cancelPending(t, sessionId)))
    return new Map(tasks.map(t => [t.id, taskDisks(t, hardware)]))
  }

  #droppedAt (sessionId: string): number {
    return this.#grace.get(sessionId)?.droppedAt ?? this.#startedAt
  }

  async hardwareReported (stream: AgentStream, report: HardwareReport): Promise<void> {
    if (!this.#isCurrent(stream)) return
    // report-limits: checkHardwareReport(report)
    const { machineId } = stream
    const before = stream.resumed ? (await this.#o.store.getHardware(machineId))?.report : undefined
    await this.#o.store.putHardware(machineId, report, this.#o.clock.now())
    if (before === undefined || JSON.stringify(before) !== JSON.stringify(report)) {
      this.#o.events.record({ source: 'api', type: EventType.agentHardware, machineId, message: `hardware reported: ${summarizeHardware(report)}` })
    }
    const machine = await this.#o.machines.get(machineId)
    if (machine.state !== S.discovered) return
    const rule = firstMatchingRule(this.#o.autoAccept, report)
    if (rule < 0) return
    try {
      await this.#o.lifecycle.apply(machineId, { type: 'autoAccept', rule }, { source: 'inventory' })
    } catch (err) {
      // Another request moved it first (an operator's reject, say): the rule no longer applies.
      if (!(err instanceof CodedError && err.code === 'ERR_INVALID_STATE')) throw err
    }
  }

  async * tasks (stream: AgentStream, signal: AbortSignal): AsyncIterable<AgentDirective> {
    const { machineId, sessionId } = stream
    const live = this.#live.get(machineId)
    if (live?.stream.streamId !== stream.streamId) throw ended()
    if (stream.resumed) {
      // The agent may never have received them (the stream dropped as they were sent); it
      // recognises an id it runs or ran and does not start it again.
      for (const t of (await this.#o.store.tasks(machineId, ['running'])).filter(t => t.sessionId === sessionId)) yield { task: toTaskInput(t) }
    }
    while (!signal.aborted) {
      if (live.cut) throw ended()
      const seen = this.#epochs.get(machineId) ?? 0
      for (const t of await this.#o.store.tasks(machineId, ['cancelled'])) {
        if (!cancelPending(t, sessionId) || live.cancelsSent.has(t.id)) continue
        live.cancelsSent.add(t.id)
        yield { cancel: { taskId: t.id } }
      }
      const next = await this.#o.store.claimNextTask(machineId, sessionId, this.#o.clock.now(), TASK_STATES)
      if (next === undefined) {
        await this.#sleepUntilWoken(machineId, seen, signal)
        continue
      }
      live.handed.set(next.id, taskDisks(next, (await this.#o.store.getHardware(machineId))?.report))
      this.#o.events.record({ source: 'api', type: startedEvent(next), machineId, message: `${describeTask(next)} handed to the agent (session ${sessionId})`, data: { taskId: next.id, sessionId } })
      yield { task: toTaskInput(next) }
    }
  }

  progress (stream: AgentStream, p: TaskProgress): void {
    const live = this.#live.get(stream.machineId)
    const disks = live?.stream.sessionId === stream.sessionId ? live.handed.get(p.taskId) : undefined
    if (disks === undefined || !disks.has(p.disk)) {
      this.#ignored(stream, p.taskId, 'progress', disks === undefined ? 'the task was not handed to this session' : `disk ${JSON.stringify(p.disk.slice(0, 64))} is not one of the task's`)
      return
    }
    const step = this.#progress.update(p, this.#o.clock.now())
    if (step === undefined) return
    const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100
    this.#o.events.record({ source: 'api', type: EventType.wipeProgress, machineId: stream.machineId, message: `${p.phase || 'wipe'} ${p.disk}: ${pct}% (${humanBytes(p.bytesDone)} of ${humanBytes(p.bytesTotal)}, ${humanBytes(p.rateBytesPerSecond)}/s)`, data: { taskId: p.taskId, disk: p.disk, phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rateBytesPerSecond } })
  }

  async result (stream: AgentStream, r: TaskResult): Promise<void> {
    const { machineId, sessionId } = stream
    const task = (await this.#o.store.tasks(machineId)).find(t => t.id === r.taskId)
    if (task?.sessionId !== sessionId) {
      this.#ignored(stream, r.taskId, 'result', task === undefined ? 'the machine has no such task' : 'the task was not handed to this session')
      return
    }
    // Anything else was answered already: a resumed agent repeats results by design.
    if ((task.state !== 'running' && !cancelPending(task, sessionId)) || this.#finishing.has(task.id)) return
    this.#finishing.add(task.id)
    try {
      await this.#finish(stream, task, r)
    } finally {
      this.#finishing.delete(task.id)
    }
  }

  async #finish (stream: AgentStream, task: StoredTask, r: TaskResult): Promise<void> {
    const { machineId } = stream
    const now = this.#o.clock.now()
    const live = this.#live.get(machineId)
    const disks = (live?.stream.sessionId === stream.sessionId ? live.handed.get(task.id) : undefined) ?? taskDisks(task, (await this.#o.store.getHardware(machineId))?.report)
    const { kept, dropped } = acceptedReports(r.eraseReports, disks)
    // A task cancelled while it ran keeps its state: the result adds its erase reports and when it stopped.
    if (task.state === 'cancelled') await this.#o.store.updateTask(task.id, { finishedAt: resultFinishedAt(task, now) })
    else await this.#o.store.updateTask(task.id, { state: r.ok ? 'done' : 'failed', error: r.ok ? null : (r.error || 'the agent gave no reason'), finishedAt: now })
    this.#progress.forget(task.id)
    live?.handed.delete(task.id)
    if (task.kind === 'reboot' || task.kind === 'powerOff') {
      this.#o.events.record({ source: 'api', type: task.kind === 'reboot' ? EventType.rebootDone : EventType.powerOffDone, machineId, message: `${describeTask(task)} ${r.ok ? 'done' : `failed: ${r.error}`}` })
      // The agent ends its environment now: the session is over, and the next boot starts a new one at once.
      await this.#o.store.endSessions(machineId)
      return
    }
    // Install tasks are not part of the agent's protocol yet (toTaskInput refuses them).
    if (task.kind !== 'wipe') return
    const reports: EraseReportRecord[] = kept.map(e => ({
      machineId, taskId: task.id, disk: e.disk, serial: e.serial || null, method: e.method, bytesWritten: e.bytesWritten, durationMs: e.durationMs, verified: e.verified, refused: e.refused || null, at: now
    }))
    await this.#o.store.addEraseReports(reports)
    const lines = reports.map(e => e.refused !== null ? `${e.disk} refused (${e.refused})` : `${e.disk} ${humanBytes(e.bytesWritten)} in ${(e.durationMs / 1000).toFixed(1)} s${e.verified ? ', verified' : ', NOT verified'}`)
    const ignoredNote = dropped.length > 0 ? `; ignored erase reports for ${dropped.join(', ')} (not disks of this task, or repeated)` : ''
    if (r.ok) {
      this.#o.events.record({ source: 'api', type: EventType.wipeDone, machineId, message: `${describeTask(task)} done: ${lines.join('; ')}${ignoredNote}`, data: { taskId: task.id } })
    } else {
      this.#o.events.record({ source: 'api', type: EventType.wipeFailed, machineId, message: `${describeTask(task)} ${task.state === 'cancelled' ? 'stopped after its cancel' : 'failed'}: ${r.error}${lines.length > 0 ? ` (${lines.join('; ')})` : ''}${ignoredNote}`, data: { taskId: task.id } })
    }
    if (task.state === 'cancelled') return
    const summary = `${(task.params as WipeParams).method}: ${lines.join('; ')}`
    const machine = await this.#o.machines.get(machineId)
    const event = machine.state === S.resetting
      ? (r.ok ? { type: 'resetSucceeded' as const, taskId: task.id, summary } : { type: 'resetFailed' as const, taskId: task.id, error: r.error })
      : (r.ok ? { type: 'wipeSucceeded' as const, taskId: task.id, summary } : { type: 'wipeFailed' as const, taskId: task.id, error: r.error })
    await this.#o.lifecycle.apply(machineId, event, { source: 'inventory' })
  }

  /** A message about a task that is not the session's: dropped, once in the timeline per task and kind. */
  #ignored (stream: AgentStream, taskId: string, kind: 'progress' | 'result', why: string): void {
    const live = this.#live.get(stream.machineId)
    const key = `${stream.sessionId} ${kind} ${taskId}`
    if (live !== undefined) {
      if (live.noted.has(key) || live.noted.size >= 64) return
      live.noted.add(key)
    }
    this.#o.events.record({ source: 'api', type: EventType.agentIgnored, machineId: stream.machineId, message: `ignored ${kind} for task ${JSON.stringify(taskId.slice(0, 64))} from agent session ${stream.sessionId}: ${why}`, data: { sessionId: stream.sessionId, kind } })
  }

  async sessionClosed (stream: AgentStream, reason: string): Promise<void> {
    const { machineId, sessionId } = stream
    const live = this.#live.get(machineId)
    if (live?.stream.streamId !== stream.streamId) {
      this.#o.events.record({ source: 'api', type: EventType.agentDisconnected, machineId, message: `an earlier stream of agent session ${sessionId} ended: ${reason}` })
      return
    }
    this.#cut(live)
    const running = (await this.#o.store.tasks(machineId, ['running'])).filter(t => t.sessionId === sessionId)
    const now = this.#o.clock.now()
    const resumable = running.length > 0 && (await this.#o.store.currentSession(machineId, now))?.sessionId === sessionId
    const tail = running.length === 0
      ? ''
      : resumable
        ? `; ${running.map(describeTask).join(', ')} stays with the session for ${Math.round(this.#graceMs / 1000)} s for its agent to reconnect`
        : `; ${running.map(describeTask).join(', ')} goes back to the queue for its next boot`
    this.#o.events.record({ source: 'api', type: EventType.agentDisconnected, machineId, message: `discovery agent session ${sessionId} ended: ${reason}${tail}` })
    if (resumable) this.#startGrace(machineId, sessionId, now)
    else if (running.length > 0) await this.#requeue(machineId, sessionId, `agent session ${sessionId} ended`)
  }

  #startGrace (machineId: string, sessionId: string, now: number): void {
    this.#endGrace(sessionId)
    const timer = setTimeout(() => { this.#graceOver(machineId, sessionId).catch(this.#o.onError ?? (() => {})) }, this.#graceMs)
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
    await this.#requeue(machineId, sessionId, `agent session ${sessionId} did not reconnect within ${Math.round(this.#graceMs / 1000)} s`)
  }

  /** Puts running tasks (of one session, or all of the machine's) back in the queue, with an event. */
  async #requeue (machineId: string, sessionId: string | undefined, why: string): Promise<StoredTask[]> {
    const requeued = await this.#o.store.requeueRunning(machineId, sessionId)
    for (const t of requeued) this.#progress.forget(t.id)
    if (requeued.length > 0) {
      this.#o.events.record({ source: 'api', type: EventType.taskRequeued, machineId, message: `${why}: ${requeued.map(describeTask).join(', ')} goes back to the queue`, data: { taskIds: requeued.map(t => t.id) } })
      this.wake(machineId)
    }
    return requeued
  }

  /**
   * Periodic upkeep (the server calls it every minute or so): deletes spent and expired tokens and
   * expired credentials, and queues again the running tasks of sessions whose grace has passed
   * (sessions of an earlier process included, whose drop this process never saw).
   */
  async prune (): Promise<{ tokens: number, credentials: number, requeued: number }> {
    const now = this.#o.clock.now()
    const { tokens, credentials } = await this.#o.store.pruneAgentAuth(now)
    let requeued = 0
    const seen = new Set<string>()
    for (const t of await this.#o.store.runningTasks()) {
      const key = `${t.machineId} ${t.sessionId ?? ''}`
      if (seen.has(key) || this.#live.get(t.machineId)?.stream.sessionId === t.sessionId) continue
      seen.add(key)
      const current = await this.#o.store.currentSession(t.machineId, now)
      const resumable = t.sessionId !== null && current?.sessionId === t.sessionId && now < this.#droppedAt(t.sessionId) + this.#graceMs
      if (resumable) continue
      if (t.sessionId !== null) this.#endGrace(t.sessionId)
      // A running task of no session (a row from before sessions existed) is no live stream's either.
      if (t.sessionId === null && this.#live.has(t.machineId)) continue
      requeued += (await this.#requeue(t.machineId, t.sessionId ?? undefined, t.sessionId === null ? 'no agent session runs it' : `agent session ${t.sessionId} did not reconnect within ${Math.round(this.#graceMs / 1000)} s`)).length
    }
    return { tokens, credentials, requeued }
  }

  /**
   * The machine was powered off, cycled or reset through its BMC: whatever agent it ran is gone,
   * even if its TCP connection has not timed out yet. Its session ends (its credential deleted: no
   * resume), a task it was running goes back to the queue, and new work boots it again (a
   * powered-off machine stays off until then).
   */
  async machinePowerChanged (machineId: string, action: 'on' | 'off' | 'cycle' | 'reset' | 'soft'): Promise<void> {
    if (action === 'on') return
    const live = this.#live.get(machineId)
    if (live !== undefined) this.#cut(live)
    await this.#o.store.endSessions(machineId)
    for (const [sessionId, g] of this.#grace) if (g.machineId === machineId) this.#endGrace(sessionId)
    const running = await this.#o.store.requeueRunning(machineId)
    for (const t of running) this.#progress.forget(t.id)
    if (live !== undefined || running.length > 0) {
      this.#o.events.record({ source: 'api', type: EventType.agentCutOff, machineId, message: `power ${action} through the BMC ended the agent's session${running.length > 0 ? `; ${running.map(describeTask).join(', ')} goes back to the queue for its next boot` : ''}` })
    }
    this.wake(machineId)
  }

  /** True while an agent stream of this machine is live. */
  isConnected (machineId: string): boolean {
    return this.#live.has(machineId)
  }

  /** Live per-disk progress of a task. */
  progressOf (taskId: string): readonly DiskProgress[] {
    return this.#progress.of(taskId)
  }

  /** New work (or a cancel) for this machine: its task stream looks again. */
  wake (machineId: string): void {
    this.#epochs.set(machineId, (this.#epochs.get(machineId) ?? 0) + 1)
    for (const wake of this.#wakers.get(machineId) ?? []) wake()
  }

  #isCurrent (stream: AgentStream): boolean {
    return this.#live.get(stream.machineId)?.stream.streamId === stream.streamId
  }

  async #sleepUntilWoken (machineId: string, seen: number, signal: AbortSignal): Promise<void> {
    if ((this.#epochs.get(machineId) ?? 0) !== seen || signal.aborted) return
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
}

function ended (): CodedError {
  return new CodedError('ERR_AGENT_SESSION_ENDED', 'this agent stream is over: the machine was powered off or reset through its BMC, or its session continues on another stream')
}
