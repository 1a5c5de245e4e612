import { openDatabase } from '../../src/db/open.ts'
import { SqliteMachineStore } from '../../src/db/machine-store.ts'
import { MachineService } from '../../src/inventory/machine-service.ts'
import { Timeline } from '../../src/inventory/timeline.ts'
import type { Clock } from '../../src/inventory/ports.ts'

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
  const machines = new MachineService({ store, timeline, clock })
  return { db, store, clock, timeline, machines, errors }
}
