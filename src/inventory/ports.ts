import type { Machine, MachineEvent, MachineState, UuidStatus } from './machine.ts'

/** A new machine row: everything but the MAC list, which is added with it. */
export type NewMachine = Omit<Machine, 'macs'>

/** Fields of a machine that change after it is created. */
export type MachinePatch = Partial<Pick<Machine,
  'uuid' | 'reportedUuid' | 'uuidStatus' | 'serial' | 'manufacturer' | 'product' | 'firmware' | 'arch' | 'ip' |
  'updatedAt' | 'lastSeenAt'>>

/** A lifecycle state change, applied only if the machine is still in the expected state. */
export type StateChange = Pick<Machine, 'state' | 'stateReason' | 'heldState' | 'updatedAt'>

/** A timeline event before it is stored; the store resolves its machine from machineId, MAC or IP. */
export type NewEvent = {
  readonly machineId: string | null
  readonly mac: string | null
  readonly ip: string | null
  readonly at: number
  readonly source: string
  readonly type: string
  readonly message: string
  readonly data: Record<string, unknown> | null
}

export type MachineFilter = { readonly state?: MachineState, readonly uuidStatus?: UuidStatus }

/**
 * Persistence of machines and their timelines. Implemented over SQLite today; kept small and
 * async so that a PostgreSQL adapter can serve several `anvil serve` instances later.
 */
export interface MachineStore {
  get (id: string): Promise<Machine | undefined>
  findByMac (mac: string): Promise<Machine | undefined>
  findByUuid (uuid: string): Promise<Machine[]>
  findBySerial (serial: string): Promise<Machine[]>
  list (filter?: MachineFilter): Promise<Machine[]>
  /** Creates the machine with its MACs and attaches the MACs' earlier unattached events, atomically. */
  create (machine: NewMachine, macs: readonly string[]): Promise<Machine>
  /** Applies a patch and adds MACs (moving any MAC another machine held), atomically. */
  update (id: string, patch: MachinePatch, addMacs?: readonly string[]): Promise<Machine>
  /** Appends events in one transaction. */
  appendEvents (events: readonly NewEvent[]): Promise<void>
  listEvents (machineId: string, options?: { afterId?: number, limit?: number }): Promise<MachineEvent[]>
  /**
   * The retention policy: deletes events older than `before`, unattached ones older than
   * `unattachedBefore`, and all but the newest `perMachine` of each machine. Returns how many.
   */
  pruneEvents (policy: { readonly before: number, readonly unattachedBefore: number, readonly perMachine: number }): Promise<number>
}

/** Time, injectable for tests. */
export interface Clock {
  now (): number
}

export const systemClock: Clock = { now: () => Date.now() }
