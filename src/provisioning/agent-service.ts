import { randomUUID } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import { normalizeIp } from '../lib/peer-address.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import { EventType } from '../inventory/event-types.ts'
import type { AgentAuth, AgentDirective, AgentGateway, AgentStream, HardwareReport, Hello, OpenedStream, TaskInput, TaskProgress, TaskResult } from './agent-gateway.ts'
import { AgentChecks, newSecret, secretHash } from './agent-auth.ts'
import { AgentSessions } from './agent-sessions.ts'
import { acceptedReports, cancelPending, installOutcome, resultFinishedAt, startedEvent, taskDisks, toTaskInput, wipeResult } from './agent-tasks.ts'
import type { InstallHandler } from './install-ports.ts'
import type { DiscoveryStore, EraseReportRecord, StoredTask, WipeParams } from './discovery-ports.ts'
import type { LifecycleService } from './lifecycle-service.ts'
import { TASK_STATES } from './lifecycle.ts'
import { firstMatchingRule, type Selector } from './selector.ts'
import { ProgressBoard, aggregateProgress, type DiskProgress } from './progress-board.ts'
import { humanBytes, summarizeHardware } from './hardware-summary.ts'
import { checkHardwareReport, sanitizeHardwareReport } from './report-limits.ts'
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
  /** Failures of background work (grace timers, credential renewal, progress writes); default: ignored. */
  readonly onError?: (err: unknown) => void
  /** Builds install tasks and takes their results (src/provisioning/install-tasks.ts); without it an install cannot be handed out. */
  readonly install?: InstallHandler
}

const S = MachineState
/** States whose machines boot the discovery environment and keep an agent session. */
export const AGENT_STATES: readonly MachineState[] = [S.discovered, S.accepted, S.wiping, S.ready, S.installing, S.resetting]

export const DEFAULT_SESSION_TTL_MS = 3_600_000
/** The longest phase a task's row keeps. */
const MAX_PHASE_CHARS = 32
export const DEFAULT_RESUME_GRACE_MS = 120_000

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
  readonly #progress = new ProgressBoard()
  /** Install tasks this process handed out and has not seen finish: their progress is install.progress, not wipe.progress. */
  readonly #sessions: AgentSessions
  /** Tasks whose result is being stored (a resumed agent may send one twice at once). */
  readonly #finishing = new Set<string>()
  /** Ignored messages of streams no longer live already in the timeline (bounded like a live stream's). */
  readonly #notedElsewhere = new Set<string>()

  constructor (options: AgentServiceOptions) {
    this.#o = options
    this.#checks = new AgentChecks(options.events)
    this.#sessionTtlMs = options.sessionTtlMs ?? DEFAULT_SESSION_TTL_MS
    this.#sessions = new AgentSessions({
      store: options.store,
      events: options.events,
      clock: options.clock,
      checks: this.#checks,
      progress: this.#progress,
      sessionTtlMs: this.#sessionTtlMs,
      graceMs: options.resumeGraceMs ?? DEFAULT_RESUME_GRACE_MS,
      onError: options.onError ?? (() => {})
    })
  }

  /** Agent streams live now, over all machines (a metric). */
  get connectedAgents (): number {
    return this.#sessions.liveCount
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
    await this.#sessions.refuseIfHeld(machine, ip)
    const consumed = await this.#o.store.consumeToken(hash, this.#o.clock.now())
    if ('refused' in consumed) throw this.#tokenRefused(consumed.refused, ip, machine.id)
    const stream: AgentStream = { machineId: machine.id, sessionId: `s-${randomUUID()}`, streamId: randomUUID(), resumed: false }
    const credential = newSecret()
    const at = this.#o.clock.now()
    // A new session: the machine's earlier ones are over, and what they were running runs again.
    await this.#o.store.startSession({ credentialHash: secretHash(credential), sessionId: stream.sessionId, machineId: machine.id, peerIp: ip, issuedAt: at, expiresAt: at + this.#sessionTtlMs })
    await this.#sessions.superseded(machine.id)
    this.#sessions.admit(stream, secretHash(credential), new Map())
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
    const stream: AgentStream = { machineId: machine.id, sessionId: record.sessionId, streamId: randomUUID(), resumed: true }
    const { handed, installs } = await this.#handedTo(machine.id, record.sessionId)
    this.#sessions.admit(stream, secretHash(fresh), handed, installs)
    const running = (await this.#o.store.tasks(machine.id, ['running'])).filter(t => t.sessionId === record.sessionId)
    this.#o.events.record({ source: 'api', type: EventType.agentReconnected, machineId: machine.id, ip, message: `discovery agent ${hello.agentVersion} reconnected from ${ip}: session ${record.sessionId} continues${running.length > 0 ? ` with ${running.map(describeTask).join(', ')}` : ''}`, data: { agentVersion: hello.agentVersion, bootMac: hello.bootMac, peer: ip, sessionId: record.sessionId } })
    return { ...stream, credential: fresh, credentialTtlMs: this.#sessionTtlMs }
  }

  #tokenRefused (refused: 'unknown' | 'used' | 'expired', ip: string, machineId?: string): CodedError {
    this.#checks.refused(machineId, ip, refused === 'used' ? 'ERR_AGENT_TOKEN_USED' : 'ERR_AGENT_TOKEN_INVALID', `its token is ${refused === 'used' ? 'already used' : refused}`)
    return refused === 'used'
      ? new CodedError('ERR_AGENT_TOKEN_USED', 'this agent token was already used; boot the machine again for a new one')
      : new CodedError('ERR_AGENT_TOKEN_INVALID', `this agent token is ${refused}`)
  }

  /** The tasks a resumed session was handed (running, or cancelled and not yet answered), with their disks. */
  async #handedTo (machineId: string, sessionId: string): Promise<{ handed: Map<string, ReadonlySet<string>>, installs: Set<string> }> {
    const hardware = (await this.#o.store.getHardware(machineId))?.report
    const tasks = (await this.#o.store.tasks(machineId, ['running', 'cancelled'])).filter(t => t.sessionId === sessionId && (t.state === 'running' || cancelPending(t, sessionId)))
    return { handed: new Map(tasks.map(t => [t.id, taskDisks(t, hardware)])), installs: new Set(tasks.filter(t => t.kind === 'install').map(t => t.id)) }
  }

  async hardwareReported (stream: AgentStream, report: HardwareReport): Promise<void> {
    if (!this.#sessions.isCurrent(stream)) return
    // Bounded before anything is stored (ERR_REPORT_TOO_LARGE), control characters stripped.
    checkHardwareReport(report)
    report = sanitizeHardwareReport(report)
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
    const live = this.#sessions.live(machineId)
    if (live?.stream.streamId !== stream.streamId) throw ended()
    if (stream.resumed) {
      // The agent may never have received them (the stream dropped as they were sent); it
      // recognises an id it runs or ran and does not start it again.
      for (const t of (await this.#o.store.tasks(machineId, ['running'])).filter(t => t.sessionId === sessionId)) {
        const input = await this.#input(stream, t)
        if (input !== undefined) yield { task: input }
      }
    }
    while (!signal.aborted) {
      if (live.cut) throw ended()
      const seen = this.#sessions.epoch(machineId)
      for (const t of await this.#o.store.tasks(machineId, ['cancelled'])) {
        if (!cancelPending(t, sessionId) || live.cancelsSent.has(t.id)) continue
        live.cancelsSent.add(t.id)
        yield { cancel: { taskId: t.id } }
      }
      const next = await this.#o.store.claimNextTask(machineId, sessionId, this.#o.clock.now(), TASK_STATES)
      if (next === undefined) {
        await this.#sessions.sleepUntilWoken(machineId, seen, signal)
        continue
      }
      live.handed.set(next.id, taskDisks(next, (await this.#o.store.getHardware(machineId))?.report))
      if (next.kind === 'install') live.installs.add(next.id)
      const input = await this.#input(stream, next)
      if (input === undefined) continue
      this.#o.events.record({ source: 'api', type: startedEvent(next), machineId, message: `${describeTask(next)} handed to the agent (session ${sessionId})`, data: { taskId: next.id, sessionId } })
      yield { task: input }
    }
  }

  /**
   * A task as it goes on the wire. An install whose input cannot be built (its image or config is
   * gone, say) is never sent: it fails here, with the reason, as if its agent had failed it.
   */
  async #input (stream: AgentStream, t: StoredTask): Promise<TaskInput | undefined> {
    if (t.kind !== 'install') return toTaskInput(t)
    try {
      if (this.#o.install === undefined) return toTaskInput(t)
      return await this.#o.install.taskInput(t)
    } catch (err) {
      const why = err instanceof CodedError ? `${err.message} [${err.code}]` : 'internal error building the install task; see the server log'
      if (!(err instanceof CodedError)) this.#o.onError?.(err)
      await this.#finish(stream, t, { taskId: t.id, ok: false, error: `it could not be sent to the agent: ${why}`, eraseReports: [], install: null })
      return undefined
    }
  }

  progress (stream: AgentStream, p: TaskProgress): void {
    const live = this.#sessions.live(stream.machineId)
    const disks = live?.stream.sessionId === stream.sessionId ? live.handed.get(p.taskId) : undefined
    if (disks === undefined || !disks.has(p.disk)) {
      this.#ignored(stream, p.taskId, 'progress', disks === undefined ? 'the task was not handed to this session' : `disk ${JSON.stringify(p.disk.slice(0, 64))} is not one of the task's`)
      return
    }
    const now = this.#o.clock.now()
    const step = this.#progress.update(p, now)
    if (step === undefined) return
    this.#persistProgress(p.taskId, p.phase, now)
    const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100
    const install = live?.installs.has(p.taskId) === true
    this.#o.events.record({ source: 'api', type: install ? EventType.installProgress : EventType.wipeProgress, machineId: stream.machineId, message: `${p.phase || (install ? 'install' : 'wipe')} ${p.disk}: ${pct}% (${humanBytes(p.bytesDone)} of ${humanBytes(p.bytesTotal)}, ${humanBytes(p.rateBytesPerSecond)}/s)`, data: { taskId: p.taskId, disk: p.disk, phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rateBytesPerSecond } })
  }

  /**
   * The task's row gets its phase and bytes summed over its disks at each step the board keeps (a
   * new phase or a further 10% of a disk), so other server processes and a restart see how far it
   * got. Not awaited: progress arrives on the agent's hot path, and a failed write only makes the
   * stored figure older (the live board still serves this process).
   */
  #persistProgress (taskId: string, phase: string, at: number): void {
    const sum = aggregateProgress(this.#progress.of(taskId))
    if (sum === undefined) return
    // Phases are short words (wipe, verify, download…); a longer one from a broken agent is cut.
    this.#o.store.setTaskProgress(taskId, { phase: phase.slice(0, MAX_PHASE_CHARS), bytesDone: sum.bytesDone, bytesTotal: sum.bytesTotal, at }).catch(this.#o.onError ?? (() => {}))
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
      await this.#finish(stream, task, task.kind === 'install' ? installOutcome(r) : r)
    } finally {
      this.#finishing.delete(task.id)
    }
  }

  async #finish (stream: AgentStream, task: StoredTask, r: TaskResult): Promise<void> {
    const { machineId } = stream
    const now = this.#o.clock.now()
    const live = this.#sessions.live(machineId)
    const disks = (live?.stream.sessionId === stream.sessionId ? live.handed.get(task.id) : undefined) ?? taskDisks(task, (await this.#o.store.getHardware(machineId))?.report)
    const { kept, dropped } = acceptedReports(r.eraseReports, disks)
    // A wipe's result is what each disk got; an install's is its InstallReport.
    const result = task.kind === 'wipe' ? wipeResult(task.params as WipeParams, kept) : task.kind === 'install' && r.install !== null ? { ...r.install } : undefined
    // A task cancelled while it ran keeps its state: the result adds its erase reports and when it
    // stopped. The outcome is written only if the task still runs, so a cancel that another server
    // process committed meanwhile is never overwritten.
    const finished = task.state !== 'cancelled' &&
      await this.#o.store.finishTask(task.id, { state: r.ok ? 'done' : 'failed', error: r.ok ? null : (r.error || 'the agent gave no reason'), finishedAt: now, ...(result === undefined ? {} : { result }) })
    const cancelled = !finished && (task.state === 'cancelled' || (await this.#o.store.tasks(machineId)).find(t => t.id === task.id)?.state === 'cancelled')
    // Neither finished nor cancelled: the task left this session meanwhile (queued again); the result is stale.
    if (!finished && !cancelled) return
    if (cancelled) {
      await this.#o.store.updateTask(task.id, { finishedAt: resultFinishedAt(task, now) })
      // How far a cancelled wipe got, disk by disk.
      if (result !== undefined) await this.#o.store.setTaskResult(task.id, result)
    }
    this.#progress.forget(task.id)
    live?.handed.delete(task.id)
    live?.installs.delete(task.id)
    if (task.kind === 'reboot' || task.kind === 'powerOff') {
      this.#o.events.record({ source: 'api', type: task.kind === 'reboot' ? EventType.rebootDone : EventType.powerOffDone, machineId, message: `${describeTask(task)} ${r.ok ? 'done' : `failed: ${r.error}`}` })
      // The agent ends its environment now: the session is over, and the next boot starts a new one at once.
      await this.#o.store.endSessions(machineId)
      return
    }
    if (task.kind === 'install') {
      // After a committed install the server reboots the machine (BMC power cycle, or a reboot task):
      // the session ends with that.
      await this.#o.install?.finished(task, r, cancelled)
      return
    }
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
      this.#o.events.record({ source: 'api', type: EventType.wipeFailed, machineId, message: `${describeTask(task)} ${cancelled ? 'stopped after its cancel' : 'failed'}: ${r.error}${lines.length > 0 ? ` (${lines.join('; ')})` : ''}${ignoredNote}`, data: { taskId: task.id } })
    }
    if (cancelled) return
    const summary = `${(task.params as WipeParams).method}: ${lines.join('; ')}`
    const machine = await this.#o.machines.get(machineId)
    const event = machine.state === S.resetting
      ? (r.ok ? { type: 'resetSucceeded' as const, taskId: task.id, summary } : { type: 'resetFailed' as const, taskId: task.id, error: r.error })
      : (r.ok ? { type: 'wipeSucceeded' as const, taskId: task.id, summary } : { type: 'wipeFailed' as const, taskId: task.id, error: r.error })
    await this.#o.lifecycle.apply(machineId, event, { source: 'inventory' })
  }

  /** A message about a task that is not the session's: dropped, once in the timeline per task and kind. */
  #ignored (stream: AgentStream, taskId: string, kind: 'progress' | 'result', why: string): void {
    // Bounded: one event per session, task and kind; at most 64 per live stream.
    const key = `${stream.sessionId} ${kind} ${taskId}`
    const live = this.#sessions.live(stream.machineId)
    const noted = live?.stream.streamId === stream.streamId ? live.noted : this.#notedElsewhere
    if (noted.has(key)) return
    if (noted.size >= 64) {
      if (noted !== this.#notedElsewhere) return
      noted.clear()
    }
    noted.add(key)
    this.#o.events.record({ source: 'api', type: EventType.agentIgnored, machineId: stream.machineId, message: `ignored ${kind} for task ${JSON.stringify(taskId.slice(0, 64))} from agent session ${stream.sessionId}: ${why}`, data: { sessionId: stream.sessionId, kind } })
  }

  async sessionClosed (stream: AgentStream, reason: string): Promise<void> {
    await this.#sessions.closed(stream, reason)
  }

  /**
   * Periodic upkeep (the server calls it every minute or so): deletes spent and expired tokens and
   * expired credentials, and queues again the running tasks of sessions whose grace has passed
   * (sessions of an earlier process included, whose drop this process never saw).
   */
  async prune (): Promise<{ tokens: number, credentials: number, requeued: number }> {
    const { tokens, credentials } = await this.#o.store.pruneAgentAuth(this.#o.clock.now())
    return { tokens, credentials, requeued: await this.#sessions.requeueAbandoned() }
  }

  /**
   * The machine was powered off, cycled or reset through its BMC: whatever agent it ran is gone,
   * even if its TCP connection has not timed out yet. Its session ends (its credential deleted: no
   * resume), a task it was running goes back to the queue, and new work boots it again (a
   * powered-off machine stays off until then).
   */
  async machinePowerChanged (machineId: string, action: 'on' | 'off' | 'cycle' | 'reset' | 'soft'): Promise<void> {
    if (action === 'on') return
    await this.#sessions.powerCut(machineId, action)
  }

  /** True while an agent stream of this machine is live. */
  isConnected (machineId: string): boolean {
    return this.#sessions.live(machineId) !== undefined
  }

  /** Live per-disk progress of a task. */
  progressOf (taskId: string): readonly DiskProgress[] {
    return this.#progress.of(taskId)
  }

  /** New work (or a cancel) for this machine: its task stream looks again. */
  wake (machineId: string): void {
    this.#sessions.wake(machineId)
  }
}

function ended (): CodedError {
  return new CodedError('ERR_AGENT_SESSION_ENDED', 'this agent stream is over: the machine was powered off or reset through its BMC, or its session continues on another stream')
}
