import type { TaskInput, TaskResult } from './agent-gateway.ts'
import type { StoredTask } from './discovery-ports.ts'

// The ports of the install (issue 10): what the provision side needs from storage, and what the
// agents' side (AgentService) needs from the provision side.

/** What an install task was asked to do (tasks.params of kind 'install'). */
export type InstallParams = {
  readonly image: { readonly name: string, readonly version: string }
  /** The disk as the hardware report named it when the install was planned: the agent checks it is still that disk. */
  readonly disk: { readonly name: string, readonly serial: string, readonly wwn: string, readonly sizeBytes: number }
  /** The machine_configs row the task carries. */
  readonly configGeneration: number
}

/** One signed machine config as stored: the YAML sealed, the signature public. */
export type StoredMachineConfig = {
  readonly machineId: string
  readonly generation: number
  /** SecretBox text; additional data: configSealContext(machineId, generation). */
  readonly configSealed: string
  /** The minisign signature file text. */
  readonly signature: string
  /** Unix seconds, as in the signature's trusted comment. */
  readonly expiresAt: number
  readonly taskId: string | null
  readonly createdAt: number
}

/** What a config's seal is bound to: a sealed config copied onto another row or generation does not open. */
export function configSealContext (machineId: string, generation: number): string {
  return `anvil machine config ${machineId} generation ${generation}`
}

/** A node token as stored: only its SHA-256. */
export type NodeTokenRecord = {
  readonly tokenHash: string
  readonly machineId: string
  readonly taskId: string
  readonly configGeneration: number
  readonly issuedAt: number
  readonly expiresAt: number
}

/** What an installed node last said of itself (machine_nodes, written by the node report). */
export type NodeView = {
  readonly imageName: string
  readonly imageVersion: string
  readonly slot: string
  readonly configGeneration: number
  /** Its addresses (CIDR) and hostname as it applied them: where its node API (apid, TCP 50000) is. */
  readonly addresses: readonly string[]
  readonly hostname: string | null
  readonly reportedAt: number
}

/** Persistence of the install: signed configs, and the reads the install views and facts need. */
export interface ConfigStore {
  /**
   * Stores the machine's next config (generation = the highest stored + 1, from 1) atomically:
   * `make` is given the generation and returns the row's content (it must not await: it runs
   * inside the transaction).
   */
  addNext (machineId: string, make: (generation: number) => Omit<StoredMachineConfig, 'machineId' | 'generation'>): Promise<StoredMachineConfig>
  get (machineId: string, generation: number): Promise<StoredMachineConfig | undefined>
  /** Removes a config that never left the server (its provision was refused after it was stored). */
  remove (machineId: string, generation: number): Promise<void>
  /** The machine's newest install task, if any. */
  latestInstall (machineId: string): Promise<StoredTask | undefined>
  node (machineId: string): Promise<NodeView | undefined>
  /** The disk the machine's discovery environment last said it booted from (its agent's hello), if any. */
  bootDisk (machineId: string): Promise<string | undefined>
}

/** One-time tokens for an installed node's first report. */
export interface NodeTokenStore {
  /**
   * Stores a token, deleting in the same transaction the machine's unused tokens of other tasks
   * (an older install's node must not report for this one) and its expired ones. Unexpired tokens
   * of the same task stay: an agent that resumed the task may already have written an earlier one.
   */
  issueNodeToken (record: NodeTokenRecord): Promise<void>
  /** Deletes the unused tokens of one install task: its node may not report in. */
  revokeNodeTokens (taskId: string): Promise<void>
}

/** What the boot planner may ask about a machine's install. */
export interface InstallFacts {
  /** True when the machine's newest install task is done: its image is on its disk. */
  installWritten (machineId: string): Promise<boolean>
}

/** What the agents' side (AgentService) asks of the install side. */
export interface InstallHandler {
  /** The InstallTask for an install handed to an agent (config unsealed, a fresh node token). */
  taskInput (task: StoredTask): Promise<TaskInput>
  /**
   * An install task ended (its InstallReport already stored as the task's result): the timeline
   * is told, the lifecycle moved, the boot device set.
   * `cancelled`: it had been cancelled while it ran (the result only says where it stopped).
   */
  finished (task: StoredTask, result: TaskResult, cancelled: boolean): Promise<void>
}
