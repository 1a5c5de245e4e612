/**
 * The admin API's JSON, as the server sends it and its clients (the CLI, the lab) read it. One
 * declaration, so a field added on one side is a type error on the other.
 */

/** A machine: GET /api/v1/machines and /api/v1/machines/:id. Times are ISO 8601 strings. */
export type MachineView = {
  readonly id: string
  readonly uuid: string | null
  readonly reportedUuid: string | null
  readonly uuidStatus: string
  readonly serial: string | null
  readonly manufacturer: string | null
  readonly product: string | null
  readonly firmware: string | null
  readonly arch: string | null
  readonly ip: string | null
  readonly macs: readonly string[]
  readonly state: string
  readonly stateReason: string | null
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
