import { and, asc, eq, inArray } from 'drizzle-orm'
import type { HardwareReport } from '../provisioning/agent-gateway.ts'
import type { MachineState } from '../inventory/machine.ts'
import type { DiscoveryStore, EraseReportRecord, StoredTask, TaskKind, TaskState, TokenRefusal } from '../provisioning/discovery-ports.ts'
import type { Db } from './open.ts'
import { agentTokens, eraseReports, machineHardware, machines, tasks } from './schema.ts'

type TaskRow = typeof tasks.$inferSelect

/** A task row as the domain sees it. */
export function toTask (r: TaskRow): StoredTask {
  return { ...r, kind: r.kind as TaskKind, state: r.state as TaskState, params: JSON.parse(r.params) as StoredTask['params'] }
}

/** DiscoveryStore over SQLite; each method one short transaction. */
export class SqliteDiscoveryStore implements DiscoveryStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async putHardware (machineId: string, report: HardwareReport, at: number): Promise<void> {
    const row = { machineId, report: JSON.stringify(report), reportedAt: at }
    this.#db.insert(machineHardware).values(row).onConflictDoUpdate({ target: machineHardware.machineId, set: row }).run()
  }

  async getHardware (machineId: string): Promise<{ report: HardwareReport, reportedAt: number } | undefined> {
    const row = this.#db.select().from(machineHardware).where(eq(machineHardware.machineId, machineId)).get()
    return row === undefined ? undefined : { report: JSON.parse(row.report) as HardwareReport, reportedAt: row.reportedAt }
  }

  async putToken (tokenHash: string, machineId: string, issuedAt: number, expiresAt: number): Promise<void> {
    this.#db.insert(agentTokens).values({ tokenHash, machineId, issuedAt, expiresAt, usedAt: null }).run()
  }

  async consumeToken (tokenHash: string, now: number): Promise<{ machineId: string } | { refused: TokenRefusal }> {
    return this.#db.transaction((tx) => {
      const row = tx.select().from(agentTokens).where(eq(agentTokens.tokenHash, tokenHash)).get()
      if (row === undefined) return { refused: 'unknown' as const }
      if (row.usedAt !== null) return { refused: 'used' as const }
      if (row.expiresAt <= now) return { refused: 'expired' as const }
      tx.update(agentTokens).set({ usedAt: now }).where(eq(agentTokens.tokenHash, tokenHash)).run()
      return { machineId: row.machineId }
    })
  }

  async createTask (task: StoredTask): Promise<void> {
    this.#db.insert(tasks).values({ ...task, params: JSON.stringify(task.params) }).run()
  }

  async tasks (machineId: string, states?: readonly TaskState[]): Promise<StoredTask[]> {
    const cond = states === undefined ? eq(tasks.machineId, machineId) : and(eq(tasks.machineId, machineId), inArray(tasks.state, [...states]))
    return this.#db.select().from(tasks).where(cond).orderBy(asc(tasks.createdAt), asc(tasks.id)).all().map(toTask)
  }

  async updateTask (id: string, patch: Partial<Pick<StoredTask, 'state' | 'error' | 'startedAt' | 'finishedAt' | 'sessionId' | 'cancelRequestedAt'>>): Promise<void> {
    this.#db.update(tasks).set(patch).where(eq(tasks.id, id)).run()
  }

  async claimNextTask (machineId: string, sessionId: string, now: number, allowed: Readonly<Record<TaskKind, readonly MachineState[]>>): Promise<StoredTask | undefined> {
    return this.#db.transaction((tx) => {
      // The machine's state is read in the same transaction that hands the task out: a wipe is
      // never given to an agent once the machine left wiping (rejected, cancelled, maintenance).
      const m = tx.select({ state: machines.state }).from(machines).where(eq(machines.id, machineId)).get()
      if (m === undefined) return undefined
      const kinds = (Object.keys(allowed) as TaskKind[]).filter(k => allowed[k].includes(m.state as MachineState))
      if (kinds.length === 0) return undefined
      const row = tx.select().from(tasks).where(and(eq(tasks.machineId, machineId), eq(tasks.state, 'queued'), inArray(tasks.kind, kinds)))
        .orderBy(asc(tasks.createdAt), asc(tasks.id)).limit(1).get()
      if (row === undefined) return undefined
      tx.update(tasks).set({ state: 'running', startedAt: now, sessionId }).where(and(eq(tasks.id, row.id), eq(tasks.state, 'queued'))).run()
      return toTask({ ...row, state: 'running', startedAt: now, sessionId })
    })
  }

  async addEraseReports (reports: readonly EraseReportRecord[]): Promise<void> {
    if (reports.length === 0) return
    this.#db.insert(eraseReports).values([...reports]).run()
  }

  async eraseReports (machineId: string): Promise<EraseReportRecord[]> {
    return this.#db.select().from(eraseReports).where(eq(eraseReports.machineId, machineId)).orderBy(asc(eraseReports.id)).all()
      .map(({ id: _id, ...r }) => r)
  }
}
