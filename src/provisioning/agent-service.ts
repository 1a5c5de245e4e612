import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import { EventType } from '../inventory/event-types.ts'
import type { AgentGateway, HardwareReport, Hello, TaskInput, TaskProgress, TaskResult } from './agent-gateway.ts'
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
}

const S = MachineState
/** States whose machines boot the discovery environment and keep an agent session. */
export const AGENT_STATES: readonly MachineState[] = [S.discovered, S.accepted, S.wiping, S.ready, S.installing, S.resetting]

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

/**
 * The agents' side of discovery (the AgentGateway the gRPC transport drives): boot tokens and
 * sessions, hardware reports, the task hand-out, progress and results. State changes go through
 * the lifecycle service; tasks are handed out only while the machine's state allows them.
 */
export class AgentService implements AgentGateway {
  readonly #o: AgentServiceOptions
  readonly #wakers = new Map<string, Set<() => void>>()
  /** Bumped by every wake, so a wake between "no task queued" and "sleep" is never lost. */
  readonly #epochs = new Map<string, number>()
  readonly #progress = new ProgressBoard()
  /** Machines with an agent session open now (counted: a reboot's new session may overlap the old). */
  readonly #connected = new Map<string, number>()
  /** Sessions cut off by a power change through the BMC that have not reported their close yet. */
  readonly #stale = new Map<string, number>()
  /** Bumped when a machine's sessions are cut off; a task stream of an older generation ends. */
  readonly #generations = new Map<string, number>()

  constructor (options: AgentServiceOptions) {
    this.#o = options
  }

  /** Agent sessions open now, over all machines (a metric). */
  get connectedAgents (): number {
    let n = 0
    for (const c of this.#connected.values()) n += c
    return n
  }

  /** A fresh single-use token for the agent this machine is about to boot. Only its hash is stored. */
  async issueToken (machineId: string, _peerIp?: string): Promise<string> {
    const token = randomBytes(32).toString('base64url')
    const now = this.#o.clock.now()
    await this.#o.store.putToken(hashToken(token), machineId, now, now + this.#o.tokenTtlMs)
    return token
  }

  async openSession (token: string, hello: Hello, peer: string): Promise<{ machineId: string }> {
    const outcome = await this.#o.store.consumeToken(hashToken(token), this.#o.clock.now())
    if ('refused' in outcome) {
      this.#o.events.record({ source: 'api', type: 'agent.refused', ip: peer, message: `refused an agent session from ${peer}: its token is ${outcome.refused === 'used' ? 'already used' : outcome.refused}` })
      throw outcome.refused === 'used'
        ? new CodedError('ERR_AGENT_TOKEN_USED', 'this agent token was already used; boot the machine again for a new one')
        : new CodedError('ERR_AGENT_TOKEN_INVALID', `this agent token is ${outcome.refused}`)
    }
    const { machineId } = outcome
    this.#connected.set(machineId, (this.#connected.get(machineId) ?? 0) + 1)
    // A task that was running when an earlier session dropped runs again in this one.
    for (const t of await this.#o.store.tasks(machineId, ['running'])) await this.#o.store.updateTask(t.id, { state: 'queued', startedAt: null })
    this.#o.events.record({ source: 'api', type: 'agent.connected', machineId, ip: peer, message: `discovery agent ${hello.agentVersion} connected from ${peer} (boot NIC ${hello.bootMac || 'unknown'})`, data: { agentVersion: hello.agentVersion, bootMac: hello.bootMac, bootDisk: hello.bootDisk, peer } })
    return { machineId }
  }

  async hardwareReported (machineId: string, report: HardwareReport): Promise<void> {
    await this.#o.store.putHardware(machineId, report, this.#o.clock.now())
    this.#o.events.record({ source: 'api', type: 'agent.hardware', machineId, message: `hardware reported: ${summarizeHardware(report)}` })
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

  async * tasks (machineId: string, signal: AbortSignal): AsyncIterable<TaskInput> {
    const generation = this.#generations.get(machineId) ?? 0
    const sessionId = `s-${randomUUID()}`
    while (!signal.aborted) {
      if ((this.#generations.get(machineId) ?? 0) !== generation) {
        throw new CodedError('ERR_AGENT_SESSION_ENDED', 'the machine was powered off or reset through its BMC: this session is over')
      }
      const seen = this.#epochs.get(machineId) ?? 0
      const next = await this.#o.store.claimNextTask(machineId, sessionId, this.#o.clock.now(), TASK_STATES)
      if (next === undefined) {
        await this.#sleepUntilWoken(machineId, seen, signal)
        continue
      }
      this.#o.events.record({ source: 'api', type: startedEvent(next), machineId, message: `${describeTask(next)} handed to the agent`, data: { taskId: next.id } })
      yield toTaskInput(next)
    }
  }

  progress (machineId: string, p: TaskProgress): void {
    const step = this.#progress.update(p, this.#o.clock.now())
    if (step === undefined) return
    const pct = p.bytesTotal > 0 ? Math.floor((p.bytesDone / p.bytesTotal) * 100) : 100
    this.#o.events.record({ source: 'api', type: 'wipe.progress', machineId, message: `${p.phase || 'wipe'} ${p.disk}: ${pct}% (${humanBytes(p.bytesDone)} of ${humanBytes(p.bytesTotal)}, ${humanBytes(p.rateBytesPerSecond)}/s)`, data: { taskId: p.taskId, disk: p.disk, phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rate: p.rateBytesPerSecond } })
  }

  async result (machineId: string, r: TaskResult): Promise<void> {
    const task = (await this.#o.store.tasks(machineId)).find(t => t.id === r.taskId)
    if (task === undefined) return
    const now = this.#o.clock.now()
    // A task cancelled while it ran keeps its state: the result only adds its erase reports.
    if (task.state !== 'cancelled') await this.#o.store.updateTask(task.id, { state: r.ok ? 'done' : 'failed', error: r.ok ? null : (r.error || 'the agent gave no reason'), finishedAt: now })
    this.#progress.forget(task.id)
    if (task.kind !== 'wipe') {
      this.#o.events.record({ source: 'api', type: `${task.kind}.done`, machineId, message: `${describeTask(task)} ${r.ok ? 'done' : `failed: ${r.error}`}` })
      return
    }
    const reports: EraseReportRecord[] = r.eraseReports.map(e => ({
      machineId, taskId: task.id, disk: e.disk, serial: e.serial || null, method: e.method, bytesWritten: e.bytesWritten, durationMs: e.durationMs, verified: e.verified, refused: e.refused || null, at: now
    }))
    await this.#o.store.addEraseReports(reports)
    const lines = reports.map(e => e.refused !== null ? `${e.disk} refused (${e.refused})` : `${e.disk} ${humanBytes(e.bytesWritten)} in ${(e.durationMs / 1000).toFixed(1)} s${e.verified ? ', verified' : ', NOT verified'}`)
    if (r.ok) {
      this.#o.events.record({ source: 'api', type: EventType.wipeDone, machineId, message: `${describeTask(task)} done: ${lines.join('; ')}`, data: { taskId: task.id } })
    } else {
      this.#o.events.record({ source: 'api', type: EventType.wipeFailed, machineId, message: `${describeTask(task)} failed: ${r.error}${lines.length > 0 ? ` (${lines.join('; ')})` : ''}`, data: { taskId: task.id } })
    }
    if (task.state === 'cancelled') return
    const summary = `${(task.params as WipeParams).method}: ${lines.join('; ')}`
    const machine = await this.#o.machines.get(machineId)
    const event = machine.state === S.resetting
      ? (r.ok ? { type: 'resetSucceeded' as const, taskId: task.id, summary } : { type: 'resetFailed' as const, taskId: task.id, error: r.error })
      : (r.ok ? { type: 'wipeSucceeded' as const, taskId: task.id, summary } : { type: 'wipeFailed' as const, taskId: task.id, error: r.error })
    await this.#o.lifecycle.apply(machineId, event, { source: 'inventory' })
  }

  sessionClosed (machineId: string, reason: string): void {
    const stale = this.#stale.get(machineId) ?? 0
    const [map, n] = stale > 0 ? [this.#stale, stale - 1] : [this.#connected, (this.#connected.get(machineId) ?? 1) - 1]
    if (n > 0) map.set(machineId, n)
    else map.delete(machineId)
    this.#o.events.record({ source: 'api', type: 'agent.disconnected', machineId, message: `discovery agent session ended: ${reason}` })
  }

  /**
   * The machine was powered off, cycled or reset through its BMC: whatever agent it ran is gone,
   * even if its TCP connection has not timed out yet. Its sessions end, a task it was running goes
   * back to the queue, and new work boots it again (a powered-off machine stays off until then).
   */
  async machinePowerChanged (machineId: string, action: 'on' | 'off' | 'cycle' | 'reset' | 'soft'): Promise<void> {
    if (action === 'on') return
    const live = this.#connected.get(machineId) ?? 0
    if (live > 0) {
      this.#stale.set(machineId, (this.#stale.get(machineId) ?? 0) + live)
      this.#connected.delete(machineId)
    }
    this.#generations.set(machineId, (this.#generations.get(machineId) ?? 0) + 1)
    const running = await this.#o.store.tasks(machineId, ['running'])
    for (const t of running) await this.#o.store.updateTask(t.id, { state: 'queued', startedAt: null })
    if (live > 0 || running.length > 0) {
      this.#o.events.record({ source: 'api', type: 'agent.cut-off', machineId, message: `power ${action} through the BMC ended the agent's session${running.length > 0 ? `; ${running.map(describeTask).join(', ')} goes back to the queue for its next boot` : ''}` })
    }
    this.wake(machineId)
  }

  /** True while an agent session of this machine is open. */
  isConnected (machineId: string): boolean {
    return this.#connected.has(machineId)
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

function toTaskInput (t: StoredTask): TaskInput {
  switch (t.kind) {
    case 'wipe': {
      const p = t.params as WipeParams
      return { id: t.id, wipe: { method: p.method === 'zeroes' ? 'ZEROES' : 'FAST', disks: [...p.disks], verifySamples: 0 } }
    }
    case 'reboot': return { id: t.id, reboot: {} }
    case 'powerOff': return { id: t.id, powerOff: {} }
    case 'install': throw new CodedError('ERR_INVALID_STATE', `task ${t.id}: the install task is not part of this agent's protocol yet`)
  }
}

function startedEvent (t: StoredTask): EventType {
  switch (t.kind) {
    case 'wipe': return EventType.wipeStarted
    case 'install': return EventType.installStarted
    case 'reboot': return EventType.rebootStarted
    case 'powerOff': return EventType.powerOffStarted
  }
}
