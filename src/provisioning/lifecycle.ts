import { CodedError } from '../lib/errors.ts'
import { MachineState } from '../inventory/machine.ts'
import type { TaskKind } from './discovery-ports.ts'

/**
 * The machine lifecycle as one pure state machine (PRODUCT.md, "The machine lifecycle").
 *
 *   enrolled ──boot──▶ discovered ──accept/autoAccept──▶ accepted ──wipe──▶ wiping ──wipeSucceeded──▶ ready
 *                          │                                 ▲                │                        │
 *                        reject                          taskCancelled      wipeFailed            provision
 *                          ▼                                 │                ▼                        ▼
 *                       rejected ◀──reject── (most states)   └──────────── error ◀──installFailed── installing
 *                                                                                                      │
 *   provisioned ◀──nodeReported───────────────────────────────────────────────────────────────────────┘
 *        │ reset ──▶ resetting ──resetSucceeded──▶ ready
 *   maintenanceOn from any state ──▶ maintenance ──maintenanceOff──▶ the state it was in (or its stable
 *   predecessor when the work it was doing was cancelled)
 *
 * `step` is the only place that decides whether a machine may move and where to; the lifecycle
 * service persists its answer compare-and-set, with the task rows its actions name, in one
 * transaction. Every (state, event) pair not in the table is refused with ERR_INVALID_STATE.
 */

/** What can happen to a machine. Task ids are made by the caller, so `step` stays pure. */
export type LifecycleEvent =
  /** A network boot (iPXE asked for its script). Only an enrolled machine moves. */
  | { readonly type: 'boot' }
  | { readonly type: 'accept' }
  /** A `discovery.autoAccept` rule matched the hardware report. */
  | { readonly type: 'autoAccept', readonly rule: number }
  | { readonly type: 'reject' }
  | { readonly type: 'wipe', readonly taskId: string, readonly description: string }
  | { readonly type: 'wipeSucceeded', readonly taskId: string, readonly summary: string }
  | { readonly type: 'wipeFailed', readonly taskId: string, readonly error: string }
  /** An operator cancelled the task that the machine's state is doing. */
  | { readonly type: 'taskCancelled', readonly taskId: string }
  | { readonly type: 'provision', readonly taskId: string, readonly description: string }
  | { readonly type: 'installFailed', readonly taskId: string, readonly error: string }
  /** The installed node booted from its disk and reported in over the provisioning channel. */
  | { readonly type: 'nodeReported' }
  /** `requestedBy`: who asked, for the reason (default "an operator"; a node's own reset notice says so). */
  | { readonly type: 'reset', readonly taskId: string, readonly description: string, readonly requestedBy?: string }
  | { readonly type: 'resetSucceeded', readonly taskId: string, readonly summary: string }
  | { readonly type: 'resetFailed', readonly taskId: string, readonly error: string }
  | { readonly type: 'maintenanceOn' }
  | { readonly type: 'maintenanceOff' }

export type LifecycleEventType = LifecycleEvent['type']

/** What the I/O layer does, in the same transaction as the state change where it touches tasks. */
export type LifecycleAction =
  /** Queue the task the event named (its id and kind; the caller holds its parameters). */
  | { readonly kind: 'queueTask', readonly taskId: string, readonly task: TaskKind }
  /** Cancel every queued task and ask running ones to stop at their next safe point. */
  | { readonly kind: 'cancelTasks' }
  /** Work waits for the machine's agent: wake its session, or boot the machine (BMC) if it has none. */
  | { readonly kind: 'bootForTask', readonly taskId: string }

/** The machine as the state machine sees it. */
export type LifecycleMachine = {
  readonly state: MachineState
  /** In maintenance: the state it was in before, to return to. */
  readonly heldState: MachineState | null
}

export type Step = {
  readonly state: MachineState
  readonly reason: string
  /** Set on entering maintenance (the state to come back to); null otherwise. */
  readonly heldState: MachineState | null
  readonly actions: readonly LifecycleAction[]
}

const S = MachineState
type Transition = (m: LifecycleMachine, e: never) => Omit<Step, 'heldState'> & { heldState?: MachineState | null }
type Table = { readonly [E in LifecycleEventType]: Partial<Record<MachineState, (m: LifecycleMachine, e: Extract<LifecycleEvent, { type: E }>) => Omit<Step, 'heldState'> & { heldState?: MachineState | null }>> }

const to = (state: MachineState, reason: string, actions: readonly LifecycleAction[] = []): Omit<Step, 'heldState'> => ({ state, reason, actions })
const cancel: readonly LifecycleAction[] = [{ kind: 'cancelTasks' }]

/** States a machine can be put into maintenance from: every state but maintenance itself. */
const ALL_BUT_MAINTENANCE = Object.values(S).filter(s => s !== S.maintenance)

/**
 * Where a machine returns when maintenance ends: its state, unless that state was doing work that
 * entering maintenance cancelled; then the stable state the work started from.
 */
const RESUME: Readonly<Record<MachineState, MachineState>> = {
  [S.enrolled]: S.enrolled,
  [S.discovered]: S.discovered,
  [S.accepted]: S.accepted,
  [S.rejected]: S.rejected,
  [S.wiping]: S.accepted,
  [S.ready]: S.ready,
  [S.installing]: S.ready,
  [S.provisioned]: S.provisioned,
  // A cancelled reset leaves the disk partly wiped: neither provisioned nor ready.
  [S.resetting]: S.error,
  [S.error]: S.error,
  [S.maintenance]: S.error
}

function fill<E extends LifecycleEventType> (states: readonly MachineState[], f: (m: LifecycleMachine, e: Extract<LifecycleEvent, { type: E }>) => Omit<Step, 'heldState'> & { heldState?: MachineState | null }): Partial<Record<MachineState, typeof f>> {
  return Object.fromEntries(states.map(s => [s, f]))
}

/** The whole table: event → state it may happen in → the step. */
const TABLE: Table = {
  boot: {
    [S.enrolled]: () => to(S.discovered, 'first network boot of an enrolled machine')
  },
  accept: fill([S.enrolled, S.discovered, S.rejected, S.error], () => to(S.accepted, 'accepted by an operator')),
  autoAccept: {
    [S.discovered]: (_m, e) => to(S.accepted, `auto-accepted by discovery.autoAccept[${e.rule}]`)
  },
  reject: fill([S.enrolled, S.discovered, S.accepted, S.wiping, S.ready, S.error], () =>
    to(S.rejected, 'rejected by an operator: it boots from its local disk and is left alone', cancel)),
  wipe: fill([S.accepted, S.ready], (_m, e) =>
    to(S.wiping, `${e.description} requested by an operator`, [{ kind: 'queueTask', taskId: e.taskId, task: 'wipe' }, { kind: 'bootForTask', taskId: e.taskId }])),
  wipeSucceeded: {
    [S.wiping]: (_m, e) => to(S.ready, `wiped: ${e.summary}`)
  },
  wipeFailed: {
    [S.wiping]: (_m, e) => to(S.error, `wipe failed: ${e.error}`)
  },
  taskCancelled: {
    [S.wiping]: () => to(S.accepted, 'the wipe was cancelled by an operator; the disks may be partly wiped', cancel),
    [S.installing]: () => to(S.ready, 'the install was cancelled by an operator; nothing bootable was written', cancel),
    [S.resetting]: () => to(S.error, 'the reset was cancelled by an operator; the disk may be partly wiped', cancel)
  },
  provision: {
    [S.ready]: (_m, e) => to(S.installing, `${e.description} requested by an operator`, [{ kind: 'queueTask', taskId: e.taskId, task: 'install' }, { kind: 'bootForTask', taskId: e.taskId }])
  },
  installFailed: {
    [S.installing]: (_m, e) => to(S.error, `install failed: ${e.error}`)
  },
  nodeReported: {
    [S.installing]: () => to(S.provisioned, 'the installed node booted from its disk and reported in')
  },
  reset: fill([S.provisioned, S.error], (_m, e) =>
    to(S.resetting, `${e.description} requested by ${e.requestedBy ?? 'an operator'}`, [{ kind: 'queueTask', taskId: e.taskId, task: 'wipe' }, { kind: 'bootForTask', taskId: e.taskId }])),
  resetSucceeded: {
    [S.resetting]: (_m, e) => to(S.ready, `reset: ${e.summary}`)
  },
  resetFailed: {
    [S.resetting]: (_m, e) => to(S.error, `reset failed: ${e.error}`)
  },
  maintenanceOn: fill(ALL_BUT_MAINTENANCE, (m) => ({
    ...to(S.maintenance, `put into maintenance by an operator (was ${m.state}): Anvil boots it from its disk and gives it no tasks`, cancel),
    heldState: m.state
  })),
  maintenanceOff: {
    [S.maintenance]: (m) => {
      const back = RESUME[m.heldState ?? S.error]
      return to(back, `taken out of maintenance by an operator${m.heldState !== null && back !== m.heldState ? ` (it was ${m.heldState}; that work was cancelled)` : ''}`)
    }
  }
}

/** The states in which `event` is allowed, for error messages and the table's tests. */
export function statesAllowing (event: LifecycleEventType): MachineState[] {
  return Object.values(S).filter(s => TABLE[event][s] !== undefined)
}

/**
 * The next state of `machine` after `event`, with the reason for the timeline and the actions to
 * carry out. Throws ERR_INVALID_STATE when the table has no entry for the pair.
 */
export function step (machine: LifecycleMachine, event: LifecycleEvent, context: { readonly machineId?: string } = {}): Step {
  const row = TABLE[event.type] as Partial<Record<MachineState, Transition>>
  const f = row[machine.state]
  if (f === undefined) {
    const allowed = statesAllowing(event.type)
    const who = context.machineId === undefined ? 'the machine' : `machine ${context.machineId}`
    throw new CodedError('ERR_INVALID_STATE', `${who} is ${machine.state}; ${describeEvent(event.type)} needs it to be ${allowed.join(' or ')}`,
      { ...(context.machineId === undefined ? {} : { id: context.machineId }), state: machine.state, event: event.type, allowed })
  }
  const r = f(machine, event as never)
  return { state: r.state, reason: r.reason, actions: r.actions, heldState: r.heldState ?? null }
}

const EVENT_WORDS: Readonly<Record<LifecycleEventType, string>> = {
  boot: 'a network boot',
  accept: 'accepting it',
  autoAccept: 'auto-accepting it',
  reject: 'rejecting it',
  wipe: 'a wipe',
  wipeSucceeded: 'a wipe result',
  wipeFailed: 'a wipe result',
  taskCancelled: 'cancelling its task',
  provision: 'provisioning it',
  installFailed: 'an install result',
  nodeReported: 'a node report',
  reset: 'a reset',
  resetSucceeded: 'a reset result',
  resetFailed: 'a reset result',
  maintenanceOn: 'putting it into maintenance',
  maintenanceOff: 'taking it out of maintenance'
}

/** A few words for the event, as error messages use it. */
export function describeEvent (type: LifecycleEventType): string {
  return EVENT_WORDS[type]
}

/** Every event type, for exhaustive tests. */
export const LIFECYCLE_EVENT_TYPES = Object.keys(TABLE) as LifecycleEventType[]

/**
 * The states in which each kind of task may be handed to an agent: a wipe only while the machine
 * is wiping (or resetting), so a wipe left queued by anything can never run on a machine that was
 * rejected, cancelled or put into maintenance. Installs arrive with the signed install.
 */
export const TASK_STATES: Readonly<Record<TaskKind, readonly MachineState[]>> = {
  wipe: [S.wiping, S.resetting],
  install: [S.installing],
  reboot: [S.discovered, S.accepted, S.wiping, S.ready, S.installing, S.resetting, S.error],
  powerOff: [S.discovered, S.accepted, S.wiping, S.ready, S.installing, S.resetting, S.error]
}
