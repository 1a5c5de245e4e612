import { CodedError } from '../lib/errors.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Machine, MachineState } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import type { Timeline } from '../inventory/timeline.ts'
import { EventType } from '../inventory/event-types.ts'
import type { LifecycleStore, StoredTask } from './discovery-ports.ts'
import { step, type LifecycleEvent, type Step } from './lifecycle.ts'

export type LifecycleServiceOptions = {
  readonly machines: MachineService
  readonly store: LifecycleStore
  readonly timeline: Timeline
  readonly clock: Clock
}

/** A state change that was committed, with what the caller still has to do outside the transaction. */
export type Applied = {
  readonly machine: Machine
  readonly from: MachineState
  readonly step: Step
  /** Tasks the change cancelled, as they are now (startedAt set: it ran, and its agent is told to stop). */
  readonly cancelled: readonly StoredTask[]
}

/** Lost compare-and-set races before we give up (each loser re-reads and re-decides). */
const MAX_RACES = 8

/**
 * Carries out lifecycle events: asks the pure state machine (lifecycle.ts) where the machine goes,
 * then commits the change compare-and-set with the task rows it creates or cancels. A loser of a
 * race re-reads the machine and decides again, so it is refused (ERR_INVALID_STATE) exactly when
 * the event no longer fits the state another request or process moved the machine to.
 */
export class LifecycleService {
  readonly #o: LifecycleServiceOptions

  constructor (options: LifecycleServiceOptions) {
    this.#o = options
  }

  /**
   * Applies `event` to the machine `key` names. `tasks` holds the rows for the event's queueTask
   * actions (their ids are the event's). Resolves once the change and its event are durable.
   */
  async apply (key: string, event: LifecycleEvent, options: { readonly source: 'api' | 'inventory', readonly tasks?: readonly StoredTask[] } = { source: 'inventory' }): Promise<Applied> {
    for (let race = 0; race < MAX_RACES; race++) {
      const m = await this.#o.machines.get(key)
      const next = step(m, event, { machineId: m.id })
      const create = next.actions.flatMap((a) => {
        if (a.kind !== 'queueTask') return []
        const t = options.tasks?.find(t => t.id === a.taskId)
        if (t === undefined) throw new Error(`lifecycle: the ${event.type} event needs task ${a.taskId}'s row`)
        return [t]
      })
      const committed = await this.#o.store.commitState(m.id, m.state, { state: next.state, stateReason: next.reason, heldState: next.heldState, updatedAt: this.#o.clock.now() },
        { create, cancelPending: next.actions.some(a => a.kind === 'cancelTasks') })
      if (committed === undefined) continue
      const { timeline } = this.#o
      timeline.record({ source: options.source, type: EventType.machineState, machineId: m.id, message: `${m.state} → ${next.state}: ${next.reason}`, data: { from: m.state, to: next.state, event: event.type } })
      for (const t of committed.cancelled) {
        timeline.record({ source: options.source, type: EventType.taskCancelled, machineId: m.id, message: `${t.kind} task ${t.id} cancelled${t.startedAt !== null ? ' while it ran: the agent is told to stop at its next safe point' : ' before it started'}`, data: { taskId: t.id, kind: t.kind, wasRunning: t.startedAt !== null } })
      }
      await timeline.flush()
      return { machine: committed.machine, from: m.state, step: next, cancelled: committed.cancelled }
    }
    throw new CodedError('ERR_INVALID_STATE', `machine ${key} kept changing state while ${event.type} was applied; try again`, { id: key, event: event.type })
  }
}
