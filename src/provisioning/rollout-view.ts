import { machinesEnded } from './rollout.ts'
import type { RolloutRecord, StoredRolloutMachine } from './rollout-ports.ts'
import type { OperationView } from './operations.ts'

/** One machine of a rollout as shown: from → to version, its node operation, how it went. */
export type RolloutMachineView = Omit<StoredRolloutMachine, 'rolloutId' | 'position' | 'state'> & { readonly state: string }

/** What a rollout operation shows beyond an operation's fields. */
export type RolloutDetail = {
  readonly selector: string
  readonly image: string
  readonly maxParallel: number
  readonly healthTimeoutS: number
  readonly force: boolean
  readonly machinesDone: number
  readonly machinesTotal: number
  readonly errorCode: string | null
  readonly machines: readonly RolloutMachineView[]
}

const machineView = (m: RolloutRecord['machines'][number]): RolloutMachineView => ({
  machineId: m.machineId,
  state: m.state,
  address: m.address,
  fromVersion: m.fromVersion,
  toVersion: m.toVersion,
  nodeOperationId: m.nodeOperationId,
  phase: m.phase,
  error: m.error,
  errorCode: m.errorCode,
  startedAt: m.startedAt,
  finishedAt: m.finishedAt
})

/**
 * A rollout as an operation (`anvil operations show r-…`): no machine of its own, progress in
 * machines ended of machines selected, and per machine its outcome; `result` once it ended.
 */
export function rolloutOperationView ({ rollout: r, machines }: RolloutRecord): OperationView {
  const done = machinesEnded(machines)
  const total = machines.length
  const views = machines.map(machineView)
  return {
    id: r.id,
    machineId: null,
    kind: 'rollout',
    state: r.state,
    phase: r.phase,
    bytesDone: null,
    bytesTotal: null,
    percent: r.state === 'done' || total === 0 ? 100 : Math.floor((done / total) * 100),
    progressAt: r.updatedAt,
    progress: [],
    error: r.error,
    result: r.state === 'running' ? null : { state: r.state, errorCode: r.errorCode, machines: views.map(m => ({ machineId: m.machineId, from: m.fromVersion, to: m.toVersion, nodeOperationId: m.nodeOperationId, outcome: m.state, error: m.error })) },
    createdAt: r.createdAt,
    startedAt: r.startedAt,
    finishedAt: r.finishedAt,
    cancelRequestedAt: null,
    rollout: { selector: r.selector, image: `${r.imageName}:${r.imageVersion}`, maxParallel: r.maxParallel, healthTimeoutS: r.healthTimeoutS, force: r.force, machinesDone: done, machinesTotal: total, errorCode: r.errorCode, machines: views }
  }
}
