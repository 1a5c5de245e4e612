import type { HardwareReport } from './agent-gateway.ts'

export type TaskKind = 'wipe' | 'reboot' | 'powerOff'
export type TaskState = 'queued' | 'running' | 'done' | 'failed'
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
  updateTask (id: string, patch: Partial<Pick<StoredTask, 'state' | 'error' | 'startedAt' | 'finishedAt'>>): Promise<void>
  addEraseReports (reports: readonly EraseReportRecord[]): Promise<void>
  eraseReports (machineId: string): Promise<EraseReportRecord[]>
}
