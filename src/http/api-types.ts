/**
 * The admin API's JSON, as the server sends it and its clients (the CLI, the lab) read it. One
 * declaration, so a field added on one side is a type error on the other.
 */
import type { Machine } from '../inventory/machine.ts'

/**
 * A machine: GET /api/v1/machines and /api/v1/machines/:id. The domain's Machine with its times as
 * ISO 8601 strings (machineJson spreads the domain object, so the two cannot drift apart).
 */
export type MachineView = Omit<Machine, 'createdAt' | 'updatedAt' | 'lastSeenAt'> & {
  readonly createdAt: string
  readonly updatedAt: string
  readonly lastSeenAt: string
}

/** A timeline event: GET /api/v1/machines/:id/events. */
export type EventView = {
  readonly id: number
  readonly at: string
  readonly source: string
  readonly type: string
  readonly message: string
  readonly mac: string | null
  readonly data: Record<string, unknown> | null
}
