import { createHash, randomBytes, randomUUID } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState, type Machine } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import type { AgentGateway, HardwareReport, Hello, TaskInput, TaskProgress, TaskResult } from './agent-gateway.ts'
import type { DiscoveryStore, EraseReportRecord, StoredTask, WipeParams } from './discovery-ports.ts'
import { firstMatchingRule, type Selector } from './selector.ts'
import { ProgressBoard, type DiskProgress } from './progress-board.ts'
import { humanBytes, summarizeHardware } from './hardware-summary.ts'

export type DiscoveryOptions = {
  readonly machines: MachineService
  readonly store: DiscoveryStore
  readonly events: BootEventSink
  readonly clock: Clock
  /** How long a boot script's agent token stays valid. */
  readonly tokenTtlMs: number
  /** Machines whose hardware matches one of these are accepted without an operator. */
  readonly autoAccept: readonly Selector[]
  /**
   * Called when work is queued for a machine whose agent is not connected: boot it into the
   * discovery environment (the server wires this to the machine's BMC: boot device PXE, power on).
   * Its failure is recorded, never thrown: the task stays queued for the next boot.
   */
  readonly bootForTask?: (machineId: string) => Promise<string>
}

/** A task as the API shows it, with live per-disk progress while it runs. */
export type TaskView = StoredTask & { readonly progress: readonly DiskProgress[] }

const S = MachineState
/** States whose machines boot the discovery environment and keep an agent session. */
export const AGENT_STATES: readonly MachineState[] = [S.discovered, S.accepted, S.wiping, S.ready, S.resetting]

const hashToken = (token: string): string => createHash('sha256').update(token).digest('hex')

/**
 * Discovery: agent tokens, hardware reports, the acceptance gate, and wipe tasks with progress.
 * Implements the AgentGateway the gRPC transport drives. A task the agent was running when its
 * session dropped goes back to the queue, so a reboot mid-wipe resumes rather than loses it.
 */
export class DiscoveryService implements AgentGateway {
  readonly #o: DiscoveryOptions
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

  constructor (options: DiscoveryOptions) {
    this.#o = options
  }

  /** Agent sessions open now, over all machines (a metric). */
  get connectedAgents (): number {
    let n = 0
    for (const c of this.#connected.values()) n += c
    return n
  }

  /** A fresh single-use token for the agent this machine is about to boot. Only its hash is stored. */
  async issueToken (machineId: string): Promise<string> {
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
    if (rule >= 0) {
      await this.#o.machines.transition(machineId, S.accepted, `auto-accepted by discovery.autoAccept[${rule}] (${JSON.stringify(this.#o.autoAccept[rule])})`, { from: [S.discovered] })
    }
  }

  async * tasks (machineId: string, signal: AbortSignal): AsyncIterable<TaskInput> {
    const generation = this.#generations.get(machineId) ?? 0
    while (!signal.aborted) {
      if ((this.#generations.get(machineId) ?? 0) !== generation) {
        throw new CodedError('ERR_AGENT_SESSION_ENDED', 'the machine was powered off or reset through its BMC: this session is over')
      }
      const seen = this.#epochs.get(machineId) ?? 0
      const next = (await this.#o.store.tasks(machineId, ['queued']))[0]
      if (next === undefined) {
        await this.#sleepUntilWoken(machineId, seen, signal)
        continue
      }
      await this.#o.store.updateTask(next.id, { state: 'running', startedAt: this.#o.clock.now() })
      this.#o.events.record({ source: 'api', type: `${next.kind}.started`, machineId, message: `${describeTask(next)} handed to the agent`, data: { taskId: next.id } })
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
    await this.#o.store.updateTask(task.id, { state: r.ok ? 'done' : 'failed', error: r.ok ? null : (r.error || 'the agent gave no reason'), finishedAt: now })
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
      this.#o.events.record({ source: 'api', type: 'wipe.done', machineId, message: `${describeTask(task)} done: ${lines.join('; ')}`, data: { taskId: task.id } })
      await this.#o.machines.transition(machineId, S.ready, `wiped (${(task.params as WipeParams).method}): ${lines.join('; ')}`, { from: [S.wiping] })
    } else {
      this.#o.events.record({ source: 'api', type: 'wipe.failed', machineId, message: `${describeTask(task)} failed: ${r.error}${lines.length > 0 ? ` (${lines.join('; ')})` : ''}`, data: { taskId: task.id } })
      await this.#o.machines.transition(machineId, S.error, `wipe failed: ${r.error}`, { from: [S.wiping] })
    }
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
    this.#wake(machineId)
  }

  /** Operator: let a discovered (or enrolled, or rejected) machine proceed; nothing destructive happens before this. */
  async accept (key: string): Promise<Machine> {
    return await this.#o.machines.transition(key, S.accepted, 'accepted by an operator', { from: [S.enrolled, S.discovered, S.rejected, S.error], source: 'api' })
  }

  /** Operator: the machine boots from its local disk and is left alone. */
  async reject (key: string): Promise<Machine> {
    return await this.#o.machines.transition(key, S.rejected, 'rejected by an operator: it boots from its local disk and is left alone',
      { from: [S.enrolled, S.discovered, S.accepted, S.ready, S.error, S.maintenance], source: 'api' })
  }

  /** Operator: queue a wipe for an accepted machine; its agent takes it (now, or when it next boots). */
  async wipe (key: string, params: WipeParams): Promise<StoredTask> {
    const machine = await this.#o.machines.get(key)
    if (machine.state !== S.accepted && machine.state !== S.ready) {
      throw new CodedError('ERR_NOT_ACCEPTED', `machine ${machine.id} is ${machine.state}: only an accepted (or ready) machine is wiped; \`anvil machines accept ${machine.id}\` first`, { id: machine.id, state: machine.state })
    }
    const pending = await this.#o.store.tasks(machine.id, ['queued', 'running'])
    if (pending.length > 0) throw new CodedError('ERR_TASK_PENDING', `machine ${machine.id} already has ${describeTask(pending[0] as StoredTask)} pending`, { taskId: pending[0]?.id })
    const task: StoredTask = { id: `t-${randomUUID()}`, machineId: machine.id, kind: 'wipe', params, state: 'queued', error: null, createdAt: this.#o.clock.now(), startedAt: null, finishedAt: null }
    await this.#o.store.createTask(task)
    await this.#o.machines.transition(machine.id, S.wiping, `${describeTask(task)} requested by an operator`, { from: [S.accepted, S.ready], source: 'api' })
    this.#wake(machine.id)
    await this.#bootIfAway(machine.id, task)
    return task
  }

  /** Operator: ask the machine's agent to reboot or power off (in band, after any queued work). */
  async queueAgentTask (key: string, kind: 'reboot' | 'powerOff'): Promise<StoredTask> {
    const machine = await this.#o.machines.get(key)
    if (!AGENT_STATES.includes(machine.state)) {
      throw new CodedError('ERR_INVALID_STATE', `machine ${machine.id} is ${machine.state}: it runs no discovery agent to ${kind === 'reboot' ? 'reboot' : 'power off'}`, { id: machine.id, state: machine.state })
    }
    const task: StoredTask = { id: `t-${randomUUID()}`, machineId: machine.id, kind, params: {}, state: 'queued', error: null, createdAt: this.#o.clock.now(), startedAt: null, finishedAt: null }
    await this.#o.store.createTask(task)
    this.#o.events.record({ source: 'api', type: `${kind}.queued`, machineId: machine.id, message: `${describeTask(task)} requested by an operator` })
    // No boot for these: powering a machine on only to reboot or power it off would be absurd.
    this.#wake(machine.id)
    return task
  }

  async hardware (key: string): Promise<{ machineId: string, report: HardwareReport, reportedAt: number }> {
    const m = await this.#o.machines.get(key)
    const hw = await this.#o.store.getHardware(m.id)
    if (hw === undefined) throw new CodedError('ERR_NO_HARDWARE', `machine ${m.id} has not reported its hardware yet (its discovery agent reports it at boot)`, { id: m.id })
    return { machineId: m.id, ...hw }
  }

  async eraseReports (key: string): Promise<EraseReportRecord[]> {
    return await this.#o.store.eraseReports((await this.#o.machines.get(key)).id)
  }

  async taskViews (key: string): Promise<TaskView[]> {
    const m = await this.#o.machines.get(key)
    return (await this.#o.store.tasks(m.id)).map(t => ({ ...t, progress: this.#progress.of(t.id) }))
  }

  /** No agent to take the task: have the machine booted into the environment, if the server can. */
  async #bootIfAway (machineId: string, task: StoredTask): Promise<void> {
    if (this.#connected.has(machineId) || this.#o.bootForTask === undefined) return
    try {
      const how = await this.#o.bootForTask(machineId)
      this.#o.events.record({ source: 'api', type: 'task.boot', machineId, message: `no agent connected for ${describeTask(task)}: ${how}` })
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      this.#o.events.record({ source: 'api', type: 'task.boot', machineId, message: `no agent connected for ${describeTask(task)}, and it could not be booted (${why}): the task waits for its next network boot` })
    }
  }

  #wake (machineId: string): void {
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
  }
}

function describeTask (t: StoredTask): string {
  if (t.kind !== 'wipe') return `${t.kind} task ${t.id}`
  const p = t.params as WipeParams
  return `${p.method} wipe of ${p.disks.length === 0 ? 'every disk' : p.disks.join(', ')} (task ${t.id})`
}
