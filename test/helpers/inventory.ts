import { openDatabase } from '../../src/db/open.ts'
import { SqliteMachineStore } from '../../src/db/machine-store.ts'
import { MachineService } from '../../src/inventory/machine-service.ts'
import { Timeline } from '../../src/inventory/timeline.ts'
import type { Clock } from '../../src/inventory/ports.ts'
import { SqliteDiscoveryStore } from '../../src/db/discovery-store.ts'
import { SqliteLifecycleStore } from '../../src/db/lifecycle-store.ts'
import { AgentService, type AgentServiceOptions } from '../../src/provisioning/agent-service.ts'
import { DiscoveryService } from '../../src/provisioning/discovery-service.ts'
import { LifecycleService } from '../../src/provisioning/lifecycle-service.ts'
import { OperationsService } from '../../src/provisioning/operations.ts'
import { SqliteOperationStore } from '../../src/db/operation-store.ts'
import type { Selector } from '../../src/provisioning/selector.ts'
import type { InstallHandler } from '../../src/provisioning/install-ports.ts'

/** A manual clock for tests. */
export class TestClock implements Clock {
  t: number
  constructor (start = Date.parse('2026-11-22T00:00:00Z')) { this.t = start }
  now (): number { return this.t }
  advance (ms: number): void { this.t += ms }
}

/** The real inventory over an in-memory SQLite database with migrations applied. */
export function makeInventory (file = ':memory:') {
  const db = openDatabase(file)
  const store = new SqliteMachineStore(db)
  const clock = new TestClock()
  const errors: unknown[] = []
  const timeline = new Timeline({ store, clock, onError: (e) => errors.push(e) })
  const hardware = new SqliteDiscoveryStore(db)
  const machines = new MachineService({ store, timeline, clock, reportedMacs: async (id) => (await hardware.getHardware(id))?.report.nics.map(n => n.mac) ?? [] })
  return { db, store, clock, timeline, machines, errors }
}

/** The provisioning domain over an inventory: lifecycle, agents (the gRPC gateway) and the operator side. */
export function makeProvisioning (inv: ReturnType<typeof makeInventory>, options: { autoAccept?: readonly Selector[], tokenTtlMs?: number, bootForTask?: (machineId: string) => Promise<string>, agents?: Pick<AgentServiceOptions, 'leasedAddress' | 'resumeGraceMs' | 'sessionTtlMs'>, install?: (lifecycle: LifecycleService) => InstallHandler } = {}) {
  const store = new SqliteDiscoveryStore(inv.db)
  const lifecycle = new LifecycleService({ machines: inv.machines, store: new SqliteLifecycleStore(inv.db, inv.store), timeline: inv.timeline, clock: inv.clock })
  const agents = new AgentService({ machines: inv.machines, lifecycle, store, events: inv.timeline, clock: inv.clock, tokenTtlMs: options.tokenTtlMs ?? 3_600_000, autoAccept: options.autoAccept ?? [], ...options.agents, ...(options.install === undefined ? {} : { install: options.install(lifecycle) }) })
  const discovery = new DiscoveryService({ machines: inv.machines, lifecycle, agents, store, events: inv.timeline, clock: inv.clock, ...(options.bootForTask === undefined ? {} : { bootForTask: options.bootForTask }) })
  const operations = new OperationsService({ store: new SqliteOperationStore(inv.db), machine: async (key) => await inv.machines.get(key), progress: (taskId) => agents.progressOf(taskId) })
  return { store, lifecycle, agents, discovery, operations }
}
