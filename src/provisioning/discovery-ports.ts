import type { Machine, MachineState } from '../inventory/machine.ts'
import type { StateChange } from '../inventory/ports.ts'
import type { HardwareReport } from './agent-gateway.ts'

export type TaskKind = 'wipe' | 'install' | 'reboot' | 'powerOff'
export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
export type WipeMethod = 'fast' | 'zeroes'

/** What a wipe was asked to do. Empty `disks`: every disk the agent reported. */
export type WipeParams = { readonly method: WipeMethod, readonly disks: readonly string[] }

/** A task as stored. */
export type StoredTask = {
  readonly id: string
  readonly machineId: string
  readonly kind: TaskKind
  readonly params: WipeParams | Record<string, never>
  readonly state: TaskState
  readonly error: string | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  /** The agent session it was handed to; only that session may report on it. */
  readonly sessionId: string | null
  /** Set when an operator cancelled it while it ran: the agent stops at its next safe point. */
  readonly cancelRequestedAt: number | null
}

/** One disk's erase report. */
export type EraseReportRecord = {
  readonly machineId: string
  readonly taskId: string
  readonly disk: string
  readonly serial: string | null
  readonly method: string
  readonly bytesWritten: number
  readonly durationMs: number
  readonly verified: boolean
  readonly refused: string | null
  readonly at: number
}

/** Why a token was not accepted. */
export type TokenRefusal = 'unknown' | 'used' | 'expired'

/** Persistence for discovery: hardware reports, agent tokens, tasks and erase reports. */
export interface DiscoveryStore {
  putHardware (machineId: string, report: HardwareReport, at: number): Promise<void>
  getHardware (machineId: string): Promise<{ report: HardwareReport, reportedAt: number } | undefined>
  putToken (tokenHash: string, machineId: string, issuedAt: number, expiresAt: number): Promise<void>
  /** Marks the token used if it is known, unused and unexpired, atomically. */
  consumeToken (tokenHash: string, now: number): Promise<{ machineId: string } | { refused: TokenRefusal }>
  createTask (task: StoredTask): Promise<void>
  tasks (machineId: string, states?: readonly TaskState[]): Promise<StoredTask[]>
  updateTask (id: string, patch: Partial<Pick<StoredTask, 'state' | 'error' | 'startedAt' | 'finishedAt' | 'sessionId' | 'cancelRequestedAt'>>): Promise<void>
  /**
   * Hands the oldest queued task the machine's state allows (`allowed`: task kind → the states it
   * may run in) to `sessionId`, atomically. Undefined when there is none.
   */
  claimNextTask (machineId: string, sessionId: string, now: number, allowed: Readonly<Record<TaskKind, readonly MachineState[]>>): Promise<StoredTask | undefined>
  addEraseReports (reports: readonly EraseReportRecord[]): Promise<void>
  eraseReports (machineId: string): Promise<EraseReportRecord[]>
}

/** Task rows a state change creates or cancels, in the same transaction. */
export type TaskEffects = {
  readonly create?: readonly StoredTask[]
  /** Cancel every queued task and flag running ones (the agent is told to stop). */
  readonly cancelPending?: boolean
}

/** What a committed state change did. */
export type Committed = { readonly machine: Machine, readonly cancelled: readonly StoredTask[] }

/**
 * Compare-and-set persistence of lifecycle state changes: correct with several server processes
 * on one database, because the expected state is part of the update.
 */
export interface LifecycleStore {
  /**
   * Applies `change` only if the machine is still `expected`, with its task effects, in one
   * transaction. Undefined when the machine was no longer in `expected` (or is gone).
   */
  commitState (machineId: string, expected: MachineState, change: StateChange, effects: TaskEffects): Promise<Committed | undefined>
}
