import type { RolloutMachineState } from './rollout.ts'

/** A rollout's own state: the operation states a rollout goes through. */
export type RolloutState = 'running' | 'done' | 'failed'

/** A rollout as stored (table rollouts). Times in ms since the epoch. */
export type StoredRollout = {
  readonly id: string
  /** The selector as the operator wrote it (`state=provisioned,arch=x86_64`). */
  readonly selector: string
  readonly imageName: string
  readonly imageVersion: string
  readonly maxParallel: number
  readonly healthTimeoutS: number
  readonly force: boolean
  readonly state: RolloutState
  /** upgrading | stopping (a machine failed, the running ones finish) | done | stopped */
  readonly phase: string
  readonly error: string | null
  readonly errorCode: string | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  readonly updatedAt: number
}

/** One machine of a rollout (table rollout_machines), in upgrade order. */
export type StoredRolloutMachine = {
  readonly rolloutId: string
  readonly machineId: string
  readonly position: number
  readonly state: RolloutMachineState
  /** The apid address dialled (host:port). */
  readonly address: string
  readonly fromVersion: string | null
  readonly toVersion: string
  readonly nodeOperationId: string | null
  /** The node operation's phase as last seen (fetch, write, …, reboot, health, commit). */
  readonly phase: string | null
  readonly error: string | null
  readonly errorCode: string | null
  readonly startedAt: number | null
  readonly finishedAt: number | null
}

export type RolloutRecord = { readonly rollout: StoredRollout, readonly machines: readonly StoredRolloutMachine[] }

export type RolloutPatch = Partial<Pick<StoredRollout, 'state' | 'phase' | 'error' | 'errorCode' | 'startedAt' | 'finishedAt' | 'updatedAt'>>
export type RolloutMachinePatch = Partial<Pick<StoredRolloutMachine, 'state' | 'fromVersion' | 'nodeOperationId' | 'phase' | 'error' | 'errorCode' | 'startedAt' | 'finishedAt'>>

/** Which rollouts to list, newest first by (createdAt, id). */
export type RolloutFilter = {
  readonly state?: RolloutState
  /** Only rollouts this machine is part of. */
  readonly machineId?: string
  readonly limit: number
  readonly before?: { readonly createdAt: number, readonly id: string }
}

/** Persistence of rollouts (src/db/rollout-store.ts). */
export interface RolloutStore {
  /** The rollout and its machines, in one transaction. */
  create (record: RolloutRecord): Promise<void>
  get (id: string): Promise<RolloutRecord | undefined>
  list (filter: RolloutFilter): Promise<RolloutRecord[]>
  /** Rollouts still `running` (at start-up: what a previous process left). */
  running (): Promise<RolloutRecord[]>
  updateRollout (id: string, patch: RolloutPatch): Promise<void>
  updateMachine (rolloutId: string, machineId: string, patch: RolloutMachinePatch): Promise<void>
}

/** A ready image as a node is sent it: the manifest's exact bytes, its signature, where the artifact is. */
export type RolloutRelease = {
  readonly name: string
  readonly version: string
  readonly manifest: string
  readonly signature: string
  readonly artifactUrl: string
}

/** What the node last reported of itself: where to dial it and what it runs. */
export type RolloutNodeInfo = {
  readonly addresses: readonly string[]
  readonly imageName: string
  readonly imageVersion: string
}

/** A node operation as the runner reads it (anvil.node.v1.Operation). */
export type NodeOperationView = {
  readonly id: string
  /** pending | running | succeeded | failed | rolled_back */
  readonly state: string
  readonly phase: string
  readonly error: string
  readonly errorCode: string
  readonly fromVersion: string
  readonly toVersion: string
}

export type UpgradeOrder = {
  readonly imageName: string
  readonly imageVersion: string
  readonly manifest: string
  readonly manifestSignature: string
  readonly imageUrl: string
  readonly force: boolean
  readonly healthTimeoutS: number
}

/** Anvil's session with one node's apid (mutual TLS as an admin); failures are CodedErrors. */
export interface NodeSession {
  upgrade (order: UpgradeOrder): Promise<NodeOperationView>
  operation (id: string): Promise<NodeOperationView>
  version (): Promise<{ readonly imageName: string, readonly imageVersion: string, readonly slot: string }>
  close (): void
}

/** Opens sessions to nodes (src/node-client/rollout-connector.ts). */
export interface NodeConnector {
  /** `ttlMs`: how long the session may need its client certificate (the machine's whole follow). */
  connect (target: { readonly machineId: string, readonly host: string, readonly port: number, readonly ttlMs: number }): NodeSession
}
