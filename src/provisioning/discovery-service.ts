import { randomUUID } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState, type Machine } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import type { HardwareReport } from './agent-gateway.ts'
import type { AgentService } from './agent-service.ts'
import { NO_PROGRESS, type DiscoveryStore, type EraseReportRecord, type StoredTask, type WipeParams } from './discovery-ports.ts'
import type { Applied, LifecycleService } from './lifecycle-service.ts'
import { TASK_STATES } from './lifecycle.ts'
import type { DiskProgress } from './progress-board.ts'
import { describeTask } from './tasks.ts'

export type DiscoveryOptions = {
  readonly machines: MachineService
  readonly lifecycle: LifecycleService
  readonly agents: AgentService
  readonly store: DiscoveryStore
  readonly events: BootEventSink
  readonly clock: Clock
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

/**
 * The operator's side of discovery: the acceptance gate, wipes, in-band tasks, cancelling a task,
 * maintenance, and the views of hardware, tasks and erase reports. Every state change goes through
 * the lifecycle service (compare-and-set, with its task rows in the same transaction).
 */
export class DiscoveryService {
  readonly #o: DiscoveryOptions

  constructor (options: DiscoveryOptions) {
    this.#o = options
  }

  /** Let a discovered (or enrolled, rejected, failed) machine proceed; nothing destructive happens before this. */
  async accept (key: string): Promise<Machine> {
    return (await this.#o.lifecycle.apply(key, { type: 'accept' }, { source: 'api' })).machine
  }

  /** The machine boots from its local disk and is left alone; its pending tasks are cancelled. */
  async reject (key: string): Promise<Machine> {
    return (await this.#after(await this.#o.lifecycle.apply(key, { type: 'reject' }, { source: 'api' }))).machine
  }

  /** Queue a wipe for an accepted (or ready) machine; its agent takes it now, or when it next boots. */
  async wipe (key: string, params: WipeParams): Promise<StoredTask> {
    const machine = await this.#o.machines.get(key)
    if (machine.state === S.wiping) {
      const pending = (await this.#o.store.tasks(machine.id, ['queued', 'running']))[0]
      throw new CodedError('ERR_TASK_PENDING', `machine ${machine.id} is already wiping${pending === undefined ? '' : ` (${describeTask(pending)})`}`, { id: machine.id, taskId: pending?.id })
    }
    if (machine.state !== S.accepted && machine.state !== S.ready) {
      throw new CodedError('ERR_NOT_ACCEPTED', `machine ${machine.id} is ${machine.state}: only an accepted (or ready) machine is wiped; \`anvil machines accept ${machine.id}\` first`, { id: machine.id, state: machine.state })
    }
    const task = this.#newTask(machine.id, 'wipe', params)
    await this.#after(await this.#o.lifecycle.apply(machine.id, { type: 'wipe', taskId: task.id, description: describeTask(task) }, { source: 'api', tasks: [task] }))
    return task
  }

  /**
   * A provisioned (or failed) machine leaves its installed life: the lifecycle's `reset` queues a
   * wipe of every disk for its agent and has the machine booted into it (its BMC: PXE next), and
   * the wipe's success brings it to ready. For a node that cannot do it itself (unreachable, hung)
   * and for a node's own reset notice alike. `why` goes into the timeline's reason.
   */
  async reset (key: string, options: { readonly method?: WipeParams['method'], readonly requestedBy?: string } = {}): Promise<{ machine: Machine, task: StoredTask }> {
    const machine = await this.#o.machines.get(key)
    const task = this.#newTask(machine.id, 'wipe', { method: options.method ?? 'fast', disks: [] })
    const event = { type: 'reset', taskId: task.id, description: `a reset (${describeTask(task)})`, ...(options.requestedBy === undefined ? {} : { requestedBy: options.requestedBy }) } as const
    const applied = await this.#after(await this.#o.lifecycle.apply(machine.id, event, { source: 'api', tasks: [task] }))
    return { machine: applied.machine, task }
  }

  /** Ask the machine's agent to reboot or power off (in band, after any queued work). */
  async queueAgentTask (key: string, kind: 'reboot' | 'powerOff', why = 'requested by an operator'): Promise<StoredTask> {
    const machine = await this.#o.machines.get(key)
    if (!TASK_STATES[kind].includes(machine.state)) {
      throw new CodedError('ERR_INVALID_STATE', `machine ${machine.id} is ${machine.state}: it runs no discovery agent to ${kind === 'reboot' ? 'reboot' : 'power off'}`, { id: machine.id, state: machine.state })
    }
    const task = this.#newTask(machine.id, kind, {})
    await this.#o.store.createTask(task)
    this.#o.events.record({ source: 'api', type: kind === 'reboot' ? EventType.rebootQueued : EventType.powerOffQueued, machineId: machine.id, message: `${describeTask(task)} ${why}` })
    // No boot for these: powering a machine on only to reboot or power it off would be absurd.
    this.#o.agents.wake(machine.id)
    return task
  }

  /**
   * Stop a task: a queued one never starts, a running one is told to stop at its next safe point
   * (its erase report says how far it got). The task the machine's state is doing (a wipe while
   * wiping) moves the machine back, so a machine whose agent never returns is never stuck.
   */
  async cancel (key: string, taskId?: string): Promise<{ machine: Machine, cancelled: StoredTask[] }> {
    const machine = await this.#o.machines.get(key)
    const pending = await this.#o.store.tasks(machine.id, ['queued', 'running'])
    const target = taskId === undefined ? pending[0] : pending.find(t => t.id === taskId)
    if (target === undefined) {
      const all = taskId === undefined ? [] : await this.#o.store.tasks(machine.id)
      const known = all.find(t => t.id === taskId)
      if (known !== undefined) throw new CodedError('ERR_TASK_FINISHED', `task ${known.id} is already ${known.state}`, { id: machine.id, taskId: known.id, state: known.state })
      throw new CodedError('ERR_TASK_NOT_FOUND', taskId === undefined ? `machine ${machine.id} has no queued or running task` : `machine ${machine.id} has no task ${taskId}`, { id: machine.id, taskId })
    }
    const owning = target.kind === 'wipe' || target.kind === 'install'
    if (owning && (TASK_STATES[target.kind]).includes(machine.state)) {
      const applied = await this.#after(await this.#o.lifecycle.apply(machine.id, { type: 'taskCancelled', taskId: target.id }, { source: 'api' }))
      return { machine: applied.machine, cancelled: [...applied.cancelled] }
    }
    // A task that is no state's work (reboot, power off): cancel it alone.
    const now = this.#o.clock.now()
    await this.#o.store.updateTask(target.id, target.state === 'queued'
      ? { state: 'cancelled', finishedAt: now, error: 'cancelled before it started' }
      : { state: 'cancelled', finishedAt: now, cancelRequestedAt: now, error: 'cancelled by an operator while it ran' })
    this.#o.events.record({ source: 'api', type: EventType.taskCancelled, machineId: machine.id, message: `${describeTask(target)} cancelled by an operator`, data: { taskId: target.id } })
    this.#o.agents.wake(machine.id)
    return { machine, cancelled: [{ ...target, state: 'cancelled' }] }
  }

  /** Maintenance on: Anvil boots the machine from its disk and issues it no tasks; off: it resumes. */
  async maintenance (key: string, on: boolean): Promise<Machine> {
    return (await this.#after(await this.#o.lifecycle.apply(key, { type: on ? 'maintenanceOn' : 'maintenanceOff' }, { source: 'api' }))).machine
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
    return (await this.#o.store.tasks(m.id)).map(t => ({ ...t, progress: this.#o.agents.progressOf(t.id) }))
  }

  #newTask (machineId: string, kind: StoredTask['kind'], params: StoredTask['params']): StoredTask {
    return { id: `t-${randomUUID()}`, machineId, kind, params, state: 'queued', error: null, createdAt: this.#o.clock.now(), startedAt: null, finishedAt: null, sessionId: null, cancelRequestedAt: null, ...NO_PROGRESS }
  }

  /** What a committed change still needs outside its transaction: wake the agent, or boot the machine. */
  async #after (applied: Applied): Promise<Applied> {
    const id = applied.machine.id
    if (applied.cancelled.length > 0) this.#o.agents.wake(id)
    for (const action of applied.step.actions) {
      if (action.kind !== 'bootForTask') continue
      this.#o.agents.wake(id)
      await this.#bootIfAway(id, action.taskId)
    }
    return applied
  }

  /** No agent to take the task: have the machine booted into the environment, if the server can. */
  async #bootIfAway (machineId: string, taskId: string): Promise<void> {
    if (this.#o.agents.isConnected(machineId) || this.#o.bootForTask === undefined) return
    try {
      const how = await this.#o.bootForTask(machineId)
      this.#o.events.record({ source: 'api', type: EventType.taskBoot, machineId, message: `no agent connected for task ${taskId}: ${how}`, data: { taskId } })
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      this.#o.events.record({ source: 'api', type: EventType.taskBoot, machineId, message: `no agent connected for task ${taskId}, and it could not be booted (${why}): the task waits for its next network boot`, data: { taskId } })
    }
  }
}
