import { and, desc, eq, max } from 'drizzle-orm'
import { EventType } from '../inventory/event-types.ts'
import type { StoredTask } from '../provisioning/discovery-ports.ts'
import type { ConfigStore, NodeView, StoredMachineConfig } from '../provisioning/install-ports.ts'
import { toTask } from './discovery-store.ts'
import type { Db } from './open.ts'
import { events, machineConfigs, machineNodes, tasks } from './schema.ts'

/** ConfigStore over SQLite: signed machine configs, and the small reads the install views need. */
export class SqliteConfigStore implements ConfigStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async addNext (machineId: string, make: (generation: number) => Omit<StoredMachineConfig, 'machineId' | 'generation'>): Promise<StoredMachineConfig> {
    // One transaction: two provisions racing for a machine never get the same generation.
    return this.#db.transaction((tx) => {
      const top = tx.select({ g: max(machineConfigs.generation) }).from(machineConfigs).where(eq(machineConfigs.machineId, machineId)).get()
      const generation = (top?.g ?? 0) + 1
      const row: StoredMachineConfig = { ...make(generation), machineId, generation }
      tx.insert(machineConfigs).values(row).run()
      return row
    })
  }

  async get (machineId: string, generation: number): Promise<StoredMachineConfig | undefined> {
    return this.#db.select().from(machineConfigs).where(and(eq(machineConfigs.machineId, machineId), eq(machineConfigs.generation, generation))).get()
  }

  async remove (machineId: string, generation: number): Promise<void> {
    this.#db.delete(machineConfigs).where(and(eq(machineConfigs.machineId, machineId), eq(machineConfigs.generation, generation))).run()
  }

  async latestInstall (machineId: string): Promise<StoredTask | undefined> {
    const row = this.#db.select().from(tasks).where(and(eq(tasks.machineId, machineId), eq(tasks.kind, 'install')))
      .orderBy(desc(tasks.createdAt), desc(tasks.id)).limit(1).get()
    return row === undefined ? undefined : toTask(row)
  }

  async node (machineId: string): Promise<NodeView | undefined> {
    const row = this.#db.select({ imageName: machineNodes.imageName, imageVersion: machineNodes.imageVersion, slot: machineNodes.slot, configGeneration: machineNodes.configGeneration, addresses: machineNodes.addresses, hostname: machineNodes.hostname, reportedAt: machineNodes.reportedAt })
      .from(machineNodes).where(eq(machineNodes.machineId, machineId)).get()
    return row === undefined ? undefined : { ...row, addresses: parseAddresses(row.addresses) }
  }

  async bootDisk (machineId: string): Promise<string | undefined> {
    // The agent's hello is kept in its agent.connected event (AgentService), nowhere else.
    const row = this.#db.select({ data: events.data }).from(events).where(and(eq(events.machineId, machineId), eq(events.type, EventType.agentConnected)))
      .orderBy(desc(events.id)).limit(1).get()
    if (row?.data == null) return undefined
    const disk = (JSON.parse(row.data) as { bootDisk?: unknown }).bootDisk
    return typeof disk === 'string' && disk !== '' ? disk : undefined
  }
}

/** The stored JSON array of CIDR strings; anything else reads as none (it is written by node-report-store). */
function parseAddresses (json: string): string[] {
  try {
    const v: unknown = JSON.parse(json)
    return Array.isArray(v) ? v.filter((a): a is string => typeof a === 'string') : []
  } catch {
    return []
  }
}
