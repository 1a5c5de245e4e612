/*
 * The rolling upgrade's plan (`anvil machines upgrade`), as a pure state machine: which machines
 * start next given max-parallel and the results so far, and when the rollout is over. The first
 * failure stops it: no machine starts after it, the ones already upgrading finish (their nodes are
 * mid-operation; abandoning them would leave nobody following), then the rollout ends failed,
 * naming that machine. The I/O (node calls, rows, events) is the runner's (rollout-runner.ts).
 */

/** A machine of a rollout: what happened to it so far. */
export type RolloutMachineState =
  | 'pending' // not started yet
  | 'running' // Upgrade sent, its node operation followed
  | 'succeeded' // the node committed the new slot
  | 'failed' // refused, failed, unreachable past its deadline
  | 'rolled_back' // the node came back on its old slot by itself
  | 'skipped' // already running the target version (and not forced): nothing to do
  | 'not_started' // the rollout stopped before its turn
  | 'interrupted' // Anvil stopped following it (a server restart): its node's own operation says how it ended

export const ROLLOUT_MACHINE_STATES: readonly RolloutMachineState[] = ['pending', 'running', 'succeeded', 'failed', 'rolled_back', 'skipped', 'not_started', 'interrupted']

/** How a machine's upgrade ended, as the runner reports it. */
export type MachineOutcome = 'succeeded' | 'failed' | 'rolled_back'

export type PlanMachine = { readonly machineId: string, readonly state: RolloutMachineState }

export type RolloutPlan = {
  /** At most this many machines upgrade at once (1 or more). */
  readonly maxParallel: number
  /** In the order they are upgraded. */
  readonly machines: readonly PlanMachine[]
  /** The first machine that failed: from then on nothing starts. */
  readonly stoppedBy: string | null
  readonly finished: boolean
}

export type PlanEvent =
  | { readonly type: 'begin' }
  | { readonly type: 'ended', readonly machineId: string, readonly outcome: MachineOutcome }

export type PlanAction =
  | { readonly type: 'upgrade', readonly machineId: string }
  | {
    readonly type: 'finish'
    readonly state: 'done' | 'failed'
    /** The machine that stopped it (state failed). */
    readonly failedMachine: string | null
    /** The machines that never started because of it. */
    readonly notStarted: readonly string[]
  }

export type PlanStep = { readonly plan: RolloutPlan, readonly actions: readonly PlanAction[] }

/** A plan over machines in upgrade order; those already `skipped` are never started. */
export function newPlan (machines: readonly PlanMachine[], maxParallel: number): RolloutPlan {
  if (!Number.isInteger(maxParallel) || maxParallel < 1) throw new RangeError(`maxParallel must be a positive integer, not ${maxParallel}`)
  return { maxParallel, machines, stoppedBy: null, finished: false }
}

const set = (machines: readonly PlanMachine[], id: string, state: RolloutMachineState): PlanMachine[] =>
  machines.map(m => m.machineId === id ? { machineId: id, state } : m)

/** Starts what the free slots allow, or finishes once nothing runs and nothing may start. */
function advance (plan: RolloutPlan): PlanStep {
  let machines = plan.machines
  const actions: PlanAction[] = []
  if (plan.stoppedBy === null) {
    let free = plan.maxParallel - machines.filter(m => m.state === 'running').length
    for (const m of plan.machines) {
      if (free <= 0) break
      if (m.state !== 'pending') continue
      machines = set(machines, m.machineId, 'running')
      actions.push({ type: 'upgrade', machineId: m.machineId })
      free--
    }
  }
  if (machines.some(m => m.state === 'running')) return { plan: { ...plan, machines }, actions }
  const notStarted = machines.filter(m => m.state === 'pending').map(m => m.machineId)
  machines = machines.map(m => m.state === 'pending' ? { machineId: m.machineId, state: 'not_started' } : m)
  actions.push({ type: 'finish', state: plan.stoppedBy === null ? 'done' : 'failed', failedMachine: plan.stoppedBy, notStarted })
  return { plan: { ...plan, machines, finished: true }, actions }
}

/** One step: `begin` starts the first machines; `ended` records a result and moves on. */
export function stepRollout (plan: RolloutPlan, event: PlanEvent): PlanStep {
  if (plan.finished) return { plan, actions: [] }
  switch (event.type) {
    case 'begin':
      return advance(plan)
    case 'ended': {
      const m = plan.machines.find(x => x.machineId === event.machineId)
      // A result for a machine that is not running is a runner bug or a duplicate: ignored.
      if (m === undefined || m.state !== 'running') return { plan, actions: [] }
      const stoppedBy = plan.stoppedBy ?? (event.outcome === 'succeeded' ? null : event.machineId)
      return advance({ ...plan, machines: set(plan.machines, event.machineId, event.outcome), stoppedBy })
    }
  }
}

/** Machines that reached an end (anything but pending and running), for progress. */
export function machinesEnded (machines: readonly { readonly state: RolloutMachineState }[]): number {
  return machines.filter(m => m.state !== 'pending' && m.state !== 'running').length
}
