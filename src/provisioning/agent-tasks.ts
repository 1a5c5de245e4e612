import { CodedError } from '../lib/errors.ts'
import { EventType } from '../inventory/event-types.ts'
import type { HardwareReport, TaskInput, TaskResult } from './agent-gateway.ts'
import type { StoredTask, TaskResultJson, WipeParams } from './discovery-ports.ts'
import type { InstallParams } from './install-ports.ts'

// Pure rules about tasks as the agents' side sees them: what goes on the wire, which disks a task
// may report on, which cancels an agent still has to hear.

/** A stored task as the agent receives it. */
export function toTaskInput (t: StoredTask): TaskInput {
  switch (t.kind) {
    case 'wipe': {
      const p = t.params as WipeParams
      return { id: t.id, wipe: { method: p.method === 'zeroes' ? 'ZEROES' : 'FAST', disks: [...p.disks], verifySamples: 0 } }
    }
    case 'reboot': return { id: t.id, reboot: {} }
    case 'powerOff': return { id: t.id, powerOff: {} }
    // An install needs I/O (the sealed config, a node token): the install side builds it (InstallHandler.taskInput).
    case 'install': throw new CodedError('ERR_INVALID_STATE', `task ${t.id}: an install task is built by the install side, and this server has none`)
  }
}

/** The timeline event of a task handed to an agent. */
export function startedEvent (t: StoredTask): EventType {
  switch (t.kind) {
    case 'wipe': return EventType.wipeStarted
    case 'install': return EventType.installStarted
    case 'reboot': return EventType.rebootStarted
    case 'powerOff': return EventType.powerOffStarted
  }
}

/**
 * The disks a task's progress and erase reports may name: a wipe's own disks, or (a wipe of
 * "every disk") the disks of the machine's hardware report; an install's one disk; none for other tasks.
 */
export function taskDisks (t: StoredTask, hardware: HardwareReport | undefined): ReadonlySet<string> {
  if (t.kind === 'install') return new Set([(t.params as InstallParams).disk.name])
  if (t.kind !== 'wipe') return new Set()
  const p = t.params as WipeParams
  return new Set(p.disks.length > 0 ? p.disks : (hardware?.disks ?? []).map(d => d.name))
}

/**
 * True while an operator's cancel of a task that ran in `sessionId` waits for that agent's result.
 * The cancel stamps cancelRequestedAt and finishedAt alike; the agent's result moves finishedAt on
 * (see resultFinishedAt), so a later finishedAt means the agent has answered.
 */
export function cancelPending (t: StoredTask, sessionId: string): boolean {
  return t.state === 'cancelled' && t.sessionId === sessionId && t.startedAt !== null && t.cancelRequestedAt !== null &&
    (t.finishedAt === null || t.finishedAt <= t.cancelRequestedAt)
}

/** finishedAt for a cancelled task whose agent answered: when it answered, always after the cancel. */
export function resultFinishedAt (t: StoredTask, now: number): number {
  return Math.max(now, (t.cancelRequestedAt ?? now) + 1)
}

/** The erase reports a result may add: one per disk of the task, the first one for each; and those dropped. */
export function acceptedReports (reports: TaskResult['eraseReports'], disks: ReadonlySet<string>): { kept: TaskResult['eraseReports'], dropped: string[] } {
  const seen = new Set<string>()
  const kept: TaskResult['eraseReports'] = []
  const dropped: string[] = []
  for (const r of reports) {
    if (!disks.has(r.disk) || seen.has(r.disk)) {
      dropped.push(r.disk.slice(0, 64))
      continue
    }
    seen.add(r.disk)
    kept.push(r)
  }
  return { kept, dropped }
}

/**
 * An install's result as the server takes it: success only with a committed disk (the partition
 * tables written last). An agent that says ok without that is treated as having failed, so a
 * machine never boots its disk on the word of a report that contradicts itself.
 */
export function installOutcome (r: TaskResult): TaskResult {
  if (!r.ok || r.install?.committed === true) return r
  return { ...r, ok: false, error: 'the agent reported success, but not that the disk was committed (its partition tables written)' }
}

/** A wipe's result as its operation shows it: what each disk got (the erase reports kept). */
export function wipeResult (params: WipeParams, kept: TaskResult['eraseReports']): TaskResultJson {
  return {
    method: params.method,
    disks: kept.map(e => ({ disk: e.disk, bytesWritten: e.bytesWritten, verified: e.verified, refused: e.refused === '' ? null : e.refused }))
  }
}
