import { and, asc, eq, gt, inArray, isNotNull, isNull, lte, ne, or } from 'drizzle-orm'
import type { HardwareReport } from '../provisioning/agent-gateway.ts'
import type { MachineState } from '../inventory/machine.ts'
import type { AgentCredentialRecord, AgentTokenRecord, DiscoveryStore, EraseReportRecord, StoredTask, TaskKind, TaskProgressRecord, TaskResultJson, TaskState, TokenRefusal } from '../provisioning/discovery-ports.ts'
import type { Db } from './open.ts'
import { agentSessions, agentTokens, eraseReports, machineHardware, machines, tasks } from './schema.ts'

type TaskRow = typeof tasks.$inferSelect

/** A task row as the domain sees it. */
export function toTask (r: TaskRow): StoredTask {
  return {
    ...r,
    kind: r.kind as TaskKind,
    state: r.state as TaskState,
    params: JSON.parse(r.params) as StoredTask['params'],
    result: r.result === null ? null : JSON.parse(r.result) as TaskResultJson
  }
}

/** A task as a row to insert. */
export function taskRow (t: StoredTask): TaskRow {
  return { ...t, params: JSON.stringify(t.params), result: t.result === null ? null : JSON.stringify(t.result) }
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

  async putToken (token: AgentTokenRecord): Promise<void> {
    this.#db.transaction((tx) => {
      tx.delete(agentTokens).where(or(
        and(eq(agentTokens.machineId, token.machineId), isNull(agentTokens.usedAt)),
        isNotNull(agentTokens.usedAt),
        lte(agentTokens.expiresAt, token.issuedAt)
      )).run()
      tx.insert(agentTokens).values({ ...token, usedAt: null }).run()
      tx.delete(agentSessions).where(lte(agentSessions.expiresAt, token.issuedAt)).run()
    })
  }

  async peekToken (tokenHash: string, now: number): Promise<{ machineId: string, peerIp: string | null } | { refused: TokenRefusal }> {
    const row = this.#db.select().from(agentTokens).where(eq(agentTokens.tokenHash, tokenHash)).get()
    const refused = tokenRefusal(row, now)
    return refused !== undefined || row === undefined ? { refused: refused ?? 'unknown' } : { machineId: row.machineId, peerIp: row.peerIp }
  }

  async consumeToken (tokenHash: string, now: number): Promise<{ machineId: string } | { refused: TokenRefusal }> {
    return this.#db.transaction((tx) => {
      const row = tx.select().from(agentTokens).where(eq(agentTokens.tokenHash, tokenHash)).get()
      const refused = tokenRefusal(row, now)
      if (refused !== undefined || row === undefined) return { refused: refused ?? 'unknown' }
      tx.update(agentTokens).set({ usedAt: now }).where(eq(agentTokens.tokenHash, tokenHash)).run()
      return { machineId: row.machineId }
    })
  }

  async startSession (credential: AgentCredentialRecord): Promise<void> {
    this.#db.transaction((tx) => {
      tx.delete(agentSessions).where(eq(agentSessions.machineId, credential.machineId)).run()
      tx.insert(agentSessions).values(credential).run()
    })
  }

  async renewCredential (presentedHash: string, fresh: AgentCredentialRecord): Promise<void> {
    this.#db.transaction((tx) => {
      tx.delete(agentSessions).where(and(eq(agentSessions.sessionId, fresh.sessionId), ne(agentSessions.credentialHash, presentedHash))).run()
      tx.insert(agentSessions).values(fresh).run()
    })
  }

  async findCredential (credentialHash: string): Promise<AgentCredentialRecord | undefined> {
    return this.#db.select().from(agentSessions).where(eq(agentSessions.credentialHash, credentialHash)).get()
  }

  async extendCredential (credentialHash: string, expiresAt: number): Promise<void> {
    this.#db.update(agentSessions).set({ expiresAt }).where(eq(agentSessions.credentialHash, credentialHash)).run()
  }

  async currentSession (machineId: string, now: number): Promise<{ sessionId: string, expiresAt: number } | undefined> {
    const rows = this.#db.select({ sessionId: agentSessions.sessionId, expiresAt: agentSessions.expiresAt }).from(agentSessions)
      .where(and(eq(agentSessions.machineId, machineId), gt(agentSessions.expiresAt, now))).all()
    // startSession keeps one session per machine; of its (at most two) credentials, the later expiry counts.
    return rows.reduce<{ sessionId: string, expiresAt: number } | undefined>((best, r) => best === undefined || r.expiresAt > best.expiresAt ? r : best, undefined)
  }

  async endSessions (machineId: string): Promise<void> {
    this.#db.delete(agentSessions).where(eq(agentSessions.machineId, machineId)).run()
  }

  async pruneAgentAuth (now: number): Promise<{ tokens: number, credentials: number }> {
    return this.#db.transaction((tx) => ({
      tokens: tx.delete(agentTokens).where(or(isNotNull(agentTokens.usedAt), lte(agentTokens.expiresAt, now))).run().changes,
      credentials: tx.delete(agentSessions).where(lte(agentSessions.expiresAt, now)).run().changes
    }))
  }

  async createTask (task: StoredTask): Promise<void> {
    this.#db.insert(tasks).values(taskRow(task)).run()
  }

  async tasks (machineId: string, states?: readonly TaskState[]): Promise<StoredTask[]> {
    const cond = states === undefined ? eq(tasks.machineId, machineId) : and(eq(tasks.machineId, machineId), inArray(tasks.state, [...states]))
    return this.#db.select().from(tasks).where(cond).orderBy(asc(tasks.createdAt), asc(tasks.id)).all().map(toTask)
  }

  async runningTasks (): Promise<StoredTask[]> {
    return this.#db.select().from(tasks).where(eq(tasks.state, 'running')).orderBy(asc(tasks.createdAt), asc(tasks.id)).all().map(toTask)
  }

  async requeueRunning (machineId: string, sessionId?: string): Promise<StoredTask[]> {
    return this.#db.transaction((tx) => {
      const cond = and(eq(tasks.machineId, machineId), eq(tasks.state, 'running'), sessionId === undefined ? undefined : eq(tasks.sessionId, sessionId))
      const rows = tx.select().from(tasks).where(cond).orderBy(asc(tasks.createdAt), asc(tasks.id)).all()
      if (rows.length > 0) tx.update(tasks).set({ state: 'queued', startedAt: null, sessionId: null }).where(cond).run()
      return rows.map(toTask)
    })
  }

  async finishTask (id: string, outcome: Pick<StoredTask, 'state' | 'error' | 'finishedAt'> & { readonly result?: TaskResultJson }): Promise<boolean> {
    const { result, ...rest } = outcome
    const set = result === undefined ? rest : { ...rest, result: JSON.stringify(result) }
    return this.#db.update(tasks).set(set).where(and(eq(tasks.id, id), eq(tasks.state, 'running'))).run().changes === 1
  }

  async setTaskProgress (id: string, p: TaskProgressRecord): Promise<void> {
    this.#db.update(tasks).set({ phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, progressAt: p.at }).where(eq(tasks.id, id)).run()
  }

  async setTaskResult (id: string, result: TaskResultJson): Promise<void> {
    this.#db.update(tasks).set({ result: JSON.stringify(result) }).where(eq(tasks.id, id)).run()
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

function tokenRefusal (row: typeof agentTokens.$inferSelect | undefined, now: number): TokenRefusal | undefined {
  if (row === undefined) return 'unknown'
  if (row.usedAt !== null) return 'used'
  if (row.expiresAt <= now) return 'expired'
  return undefined
}
