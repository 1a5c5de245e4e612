import type { Machine, MachineState } from '../inventory/machine.ts'
import type { StateChange } from '../inventory/ports.ts'
import type { HardwareReport } from './agent-gateway.ts'
import type { InstallParams } from './install-ports.ts'

export type TaskKind = 'wipe' | 'install' | 'reboot' | 'powerOff'
export type TaskState = 'queued' | 'running' | 'done' | 'failed' | 'cancelled'
export type WipeMethod = 'fast' | 'zeroes'

/** What a wipe was asked to do. Empty `disks`: every disk the agent reported. */
export type WipeParams = { readonly method: WipeMethod, readonly disks: readonly string[] }

/** What a task produced, as JSON: a wipe's summary, an install's InstallReport. Never secrets. */
export type TaskResultJson = { readonly [key: string]: unknown }

/** A task's progress as last recorded (throttled): the phase, and bytes summed over its disks. */
export type TaskProgressRecord = {
  readonly phase: string
  readonly bytesDone: number
  readonly bytesTotal: number
  readonly at: number
}

/** A task as stored. */
export type StoredTask = {
  readonly id: string
  readonly machineId: string
  readonly kind: TaskKind
  readonly params: WipeParams | InstallParams | Record<string, never>
  readonly state: TaskState
  readonly error: string | null
  readonly createdAt: number
  readonly startedAt: number | null
  readonly finishedAt: number | null
  /** The agent session it was handed to; only that session may report on it. */
  readonly sessionId: string | null
  /** Set when an operator cancelled it while it ran: the agent stops at its next safe point. */
  readonly cancelRequestedAt: number | null
  /**
   * Its progress as last recorded (null before the first report), so every server process and a
   * restart see it: wipe: wipe | verify; install: download | write | verify | state | commit.
   */
  readonly phase: string | null
  readonly bytesDone: number | null
  readonly bytesTotal: number | null
  readonly progressAt: number | null
  /** What it produced, once it ended (null before, and for tasks that produce nothing). */
  readonly result: TaskResultJson | null
}

/** The progress and result fields of a task not yet started. */
export const NO_PROGRESS = { phase: null, bytesDone: null, bytesTotal: null, progressAt: null, result: null } as const

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

/** A boot script's agent token as stored: only its SHA-256. */
export type AgentTokenRecord = {
  readonly tokenHash: string
  readonly machineId: string
  readonly issuedAt: number
  readonly expiresAt: number
  /** The address that fetched the boot script (canonical form, src/lib/peer-address.ts). */
  readonly peerIp: string | null
}

/** An agent session's credential as stored: only its SHA-256. */
export type AgentCredentialRecord = {
  readonly credentialHash: string
  readonly sessionId: string
  readonly machineId: string
  /** The address the session's agent connected from; the credential works from there only. */
  readonly peerIp: string | null
  readonly issuedAt: number
  readonly expiresAt: number
}

/** Persistence for discovery: hardware reports, agent tokens and sessions, tasks and erase reports. */
export interface DiscoveryStore {
  putHardware (machineId: string, report: HardwareReport, at: number): Promise<void>
  getHardware (machineId: string): Promise<{ report: HardwareReport, reportedAt: number } | undefined>
  /**
   * Stores a fresh token, atomically deleting the machine's older unconsumed tokens (a newer boot
   * script supersedes them), every used or expired token, and every expired session credential.
   */
  putToken (token: AgentTokenRecord): Promise<void>
  /** The token's machine and address if it is known, unused and unexpired; consumes nothing. */
  peekToken (tokenHash: string, now: number): Promise<{ machineId: string, peerIp: string | null } | { refused: TokenRefusal }>
  /** Marks the token used if it is known, unused and unexpired, atomically. */
  consumeToken (tokenHash: string, now: number): Promise<{ machineId: string } | { refused: TokenRefusal }>
  /**
   * A new session for the machine: deletes the credentials of its earlier sessions (they are
   * over) and stores this one, atomically.
   */
  startSession (credential: AgentCredentialRecord): Promise<void>
  /**
   * A reconnect: stores the fresh credential and deletes the session's others but the one the
   * agent presented (it stays valid until the fresh one is used, should the welcome be lost).
   */
  renewCredential (presentedHash: string, fresh: AgentCredentialRecord): Promise<void>
  findCredential (credentialHash: string): Promise<AgentCredentialRecord | undefined>
  extendCredential (credentialHash: string, expiresAt: number): Promise<void>
  /** The session holding unexpired credentials for the machine (at most one), if any. */
  currentSession (machineId: string, now: number): Promise<{ sessionId: string, expiresAt: number } | undefined>
  /** Deletes every credential of the machine: its sessions cannot resume. */
  endSessions (machineId: string): Promise<void>
  /** Deletes used and expired tokens and expired credentials; the counts deleted. */
  pruneAgentAuth (now: number): Promise<{ tokens: number, credentials: number }>
  createTask (task: StoredTask): Promise<void>
  tasks (machineId: string, states?: readonly TaskState[]): Promise<StoredTask[]>
  /** Running tasks of every machine (for re-queueing those whose session never came back). */
  runningTasks (): Promise<StoredTask[]>
  /**
   * Puts the machine's running tasks (only those handed to `sessionId`, when given) back in the
   * queue, atomically; returns them as they were.
   */
  requeueRunning (machineId: string, sessionId?: string): Promise<StoredTask[]>
  updateTask (id: string, patch: Partial<Pick<StoredTask, 'state' | 'error' | 'startedAt' | 'finishedAt' | 'sessionId' | 'cancelRequestedAt'>>): Promise<void>
  /**
   * Ends a task with its outcome only if it is still running (compare-and-set): false when another
   * request or server process cancelled it first. A `result` is written in the same update, so
   * nobody sees the task ended without it.
   */
  finishTask (id: string, outcome: Pick<StoredTask, 'state' | 'error' | 'finishedAt'> & { readonly result?: TaskResultJson }): Promise<boolean>
  /** Records the task's progress (one small update; the caller throttles). */
  setTaskProgress (id: string, progress: TaskProgressRecord): Promise<void>
  /** Records what the task produced (a cancelled task's partial result; an install's report). */
  setTaskResult (id: string, result: TaskResultJson): Promise<void>
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
