import { isCodedError } from '../lib/errors.ts'
import type { Clock } from '../inventory/ports.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import { newPlan, stepRollout, type MachineOutcome, type PlanAction, type PlanEvent, type RolloutPlan } from './rollout.ts'
import type { NodeConnector, NodeOperationView, NodeSession, RolloutRecord, RolloutRelease, RolloutStore, StoredRolloutMachine } from './rollout-ports.ts'

/** How a machine's node operation is followed. Every bound is a deadline, never an assumption of speed. */
export type FollowTimings = {
  /** Between GetOperation polls while the node answers (default 2 s). */
  readonly pollMs: number
  /** First wait after the node stopped answering; doubles up to maxBackoffMs (default 1 s, 15 s). */
  readonly backoffMs: number
  readonly maxBackoffMs: number
  /** Added to the health timeout to bound how long a node may stay unreachable: firmware, GRUB, boot (default 10 min). */
  readonly unreachableMarginMs: number
  /** A machine's whole upgrade, fetch and write included, is bounded by the health timeout plus this (default 60 min). */
  readonly machineMarginMs: number
}

export const DEFAULT_FOLLOW: FollowTimings = { pollMs: 2000, backoffMs: 1000, maxBackoffMs: 15_000, unreachableMarginMs: 10 * 60_000, machineMarginMs: 60 * 60_000 }

export type RunnerOptions = {
  readonly store: RolloutStore
  readonly connector: NodeConnector
  readonly events: BootEventSink
  readonly clock: Clock
  /** Resolves after `ms`, or rejects when `signal` aborts (node:timers/promises setTimeout). */
  readonly sleep: (ms: number, signal: AbortSignal) => Promise<void>
  readonly follow: FollowTimings
}

/** What one machine's upgrade came to. */
type MachineResult = { readonly outcome: MachineOutcome, readonly error: string | null, readonly errorCode: string | null }

const ENDED_NODE_STATES = new Set(['succeeded', 'failed', 'rolled_back'])
const MAX_TEXT = 512

/** A node's text, bounded and without control characters, before it goes into a row or an event. */
function clean (text: string): string {
  return text.replace(/\p{Cc}/gu, ' ').slice(0, MAX_TEXT)
}

/**
 * Runs one rollout to its end: the plan says which machine starts, each machine's upgrade is sent
 * and followed, rows and events are written as it goes. Aborting `signal` (server shutdown) stops
 * following and leaves the rollout `running` in the store, for the next start to end (see
 * RolloutService.recover). Never throws: a failure is a machine's result.
 */
export async function runRollout (o: RunnerOptions, record: RolloutRecord, release: RolloutRelease, signal: AbortSignal): Promise<void> {
  const { rollout } = record
  const byId = new Map(record.machines.map(m => [m.machineId, m]))
  let plan: RolloutPlan = newPlan(record.machines.map(m => ({ machineId: m.machineId, state: m.state })), rollout.maxParallel)
  const running = new Map<string, Promise<{ machineId: string, result: MachineResult }>>()

  const apply = async (event: PlanEvent): Promise<void> => {
    const step = stepRollout(plan, event)
    plan = step.plan
    for (const action of step.actions) await act(action)
  }
  const act = async (action: PlanAction): Promise<void> => {
    if (action.type === 'upgrade') {
      const m = byId.get(action.machineId) as StoredRolloutMachine
      running.set(m.machineId, upgradeMachine(o, record, m, release, signal).then(result => ({ machineId: m.machineId, result })))
      return
    }
    const now = o.clock.now()
    for (const id of action.notStarted) await o.store.updateMachine(rollout.id, id, { state: 'not_started' })
    const failed = action.failedMachine === null ? undefined : await o.store.get(rollout.id).then(r => r?.machines.find(x => x.machineId === action.failedMachine))
    const error = failed === undefined ? null : failureMessage(failed, action.notStarted.length)
    await o.store.updateRollout(rollout.id, { state: action.state, phase: action.state === 'done' ? 'done' : 'stopped', error, errorCode: error === null ? null : 'ERR_ROLLOUT_FAILED', finishedAt: now, updatedAt: now })
    for (const m of record.machines) {
      o.events.record({ source: 'api', type: EventType.rolloutDone, machineId: m.machineId, message: error === null ? `rollout ${rollout.id} to ${release.name}:${release.version} finished: every machine upgraded` : `rollout ${rollout.id} to ${release.name}:${release.version} stopped: ${error}`, data: { rolloutId: rollout.id, state: action.state, failedMachine: action.failedMachine } })
    }
  }

  await apply({ type: 'begin' })
  // The plan finishes only once nothing runs: the loop ends with it.
  while (running.size > 0) {
    const { machineId, result } = await Promise.race(running.values())
    running.delete(machineId)
    if (signal.aborted) {
      // Shutting down: the other machines stop following at their next wait; none may outlive the store.
      await Promise.allSettled(running.values())
      return
    }
    if (plan.stoppedBy === null && result.outcome !== 'succeeded') {
      await o.store.updateRollout(rollout.id, { phase: 'stopping', updatedAt: o.clock.now() })
    }
    await apply({ type: 'ended', machineId, outcome: result.outcome })
  }
}

/** `machine m-1 (node operation op-7) rolled_back: health gate …; 2 machines not started`. */
export function failureMessage (m: StoredRolloutMachine, notStarted: number): string {
  const op = m.nodeOperationId === null ? '' : ` (node operation ${m.nodeOperationId})`
  const why = m.error === null ? '' : `: ${m.errorCode !== null && m.errorCode !== '' ? `${m.errorCode} ` : ''}${m.error}`
  return `machine ${m.machineId}${op} ${m.state}${why}${notStarted === 0 ? '' : `; ${notStarted} machine${notStarted === 1 ? '' : 's'} not started`}`
}

/** Sends one machine its Upgrade and follows the node operation to its end; records both. */
async function upgradeMachine (o: RunnerOptions, record: RolloutRecord, m: StoredRolloutMachine, release: RolloutRelease, signal: AbortSignal): Promise<MachineResult> {
  const { rollout } = record
  const started = o.clock.now()
  await o.store.updateMachine(rollout.id, m.machineId, { state: 'running', startedAt: started })
  const healthMs = rollout.healthTimeoutS * 1000
  const deadline = started + healthMs + o.follow.machineMarginMs
  const [host, port] = splitAddress(m.address)
  const session = o.connector.connect({ machineId: m.machineId, host, port, ttlMs: healthMs + o.follow.machineMarginMs + o.follow.unreachableMarginMs })
  let result: MachineResult
  let opId: string | null = null
  try {
    const op = await session.upgrade({ imageName: release.name, imageVersion: release.version, manifest: release.manifest, manifestSignature: release.signature, imageUrl: release.artifactUrl, force: rollout.force, healthTimeoutS: rollout.healthTimeoutS })
    opId = clean(op.id)
    await o.store.updateMachine(rollout.id, m.machineId, { nodeOperationId: opId, phase: clean(op.phase), ...(op.fromVersion === '' ? {} : { fromVersion: clean(op.fromVersion) }) })
    result = await follow(o, { rolloutId: rollout.id, machineId: m.machineId, session, deadline, unreachableMs: healthMs + o.follow.unreachableMarginMs, signal }, op)
    if (result.outcome === 'succeeded') result = await confirmVersion(session, release)
  } catch (err) {
    // Refused before it began (busy, downgrade, signature) or never reached: a failure of this machine.
    result = { outcome: 'failed', error: clean(err instanceof Error ? err.message : String(err)), errorCode: isCodedError(err) ? err.code : null }
  } finally {
    session.close()
  }
  if (signal.aborted) return result
  const finished = o.clock.now()
  await o.store.updateMachine(rollout.id, m.machineId, { state: result.outcome, error: result.error, errorCode: result.errorCode, finishedAt: finished })
  await o.store.updateRollout(rollout.id, { updatedAt: finished })
  o.events.record({
    source: 'api',
    type: EventType.rolloutMachine,
    machineId: m.machineId,
    message: `rollout ${rollout.id}: upgrade to ${release.name}:${release.version} ${result.outcome}${opId === null ? '' : ` (node operation ${opId})`}${result.error === null ? '' : `: ${result.error}`}`,
    data: { rolloutId: rollout.id, outcome: result.outcome, nodeOperationId: opId, from: m.fromVersion, to: release.version, errorCode: result.errorCode, durationMs: finished - started }
  })
  return result
}

type FollowContext = { rolloutId: string, machineId: string, session: NodeSession, deadline: number, unreachableMs: number, signal: AbortSignal }

/**
 * Polls GetOperation until the node operation ends. The node is unreachable while it reboots: a
 * streak of ERR_NODE_UNREACHABLE is retried with backoff up to `unreachableMs`; any other error, or
 * the machine's deadline, fails it (the node's own operation goes on and says how it ended).
 */
async function follow (o: RunnerOptions, c: FollowContext, first: NodeOperationView): Promise<MachineResult> {
  let op = first
  let phase = op.phase
  let downSince: number | null = null
  let backoff = o.follow.backoffMs
  while (!ENDED_NODE_STATES.has(op.state)) {
    await o.sleep(downSince === null ? o.follow.pollMs : backoff, c.signal)
    const now = o.clock.now()
    if (now > c.deadline) return { outcome: 'failed', error: `node operation ${op.id} still ${op.state} (${clean(op.phase)}) past the deadline`, errorCode: 'ERR_NODE_UNREACHABLE' }
    try {
      op = await c.session.operation(op.id)
      downSince = null
      backoff = o.follow.backoffMs
    } catch (err) {
      if (!isCodedError(err) || err.code !== 'ERR_NODE_UNREACHABLE') throw err
      downSince ??= now
      if (now - downSince > c.unreachableMs) return { outcome: 'failed', error: `the node has not answered for ${Math.round((now - downSince) / 1000)} s (node operation ${op.id} was ${clean(op.phase)}): ${clean(err.message)}`, errorCode: 'ERR_NODE_UNREACHABLE' }
      backoff = Math.min(o.follow.maxBackoffMs, backoff * 2)
      continue
    }
    if (op.phase !== phase) {
      phase = op.phase
      await o.store.updateMachine(c.rolloutId, c.machineId, { phase: clean(phase), ...(op.fromVersion === '' ? {} : { fromVersion: clean(op.fromVersion) }) })
    }
  }
  if (op.state === 'succeeded') return { outcome: 'succeeded', error: null, errorCode: null }
  return { outcome: op.state === 'rolled_back' ? 'rolled_back' : 'failed', error: clean(op.error === '' ? `node operation ${op.id} ${op.state}` : op.error), errorCode: op.errorCode === '' ? null : clean(op.errorCode) }
}

/** A committed upgrade must run the version sent: the node's Version says what its running slot holds. */
async function confirmVersion (session: NodeSession, release: RolloutRelease): Promise<MachineResult> {
  const v = await session.version()
  if (v.imageName === release.name && v.imageVersion === release.version) return { outcome: 'succeeded', error: null, errorCode: null }
  return { outcome: 'failed', error: clean(`the node says it succeeded but runs ${v.imageName}:${v.imageVersion} (slot ${v.slot}), not ${release.name}:${release.version}`), errorCode: 'ERR_ROLLOUT_FAILED' }
}

/** `host:port` or `[v6]:port` as stored in the row. */
export function splitAddress (address: string): [string, number] {
  const i = address.lastIndexOf(':')
  const host = address.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return [host, Number(address.slice(i + 1))]
}
