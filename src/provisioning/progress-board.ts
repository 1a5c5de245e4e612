import type { TaskProgress } from './agent-gateway.ts'

/** The latest progress of one disk of a running task. */
export type DiskProgress = {
  readonly disk: string
  readonly phase: string
  readonly bytesDone: number
  readonly bytesTotal: number
  readonly rateBytesPerSecond: number
  readonly at: number
}

/** Percent steps kept in the timeline; live progress (every update) is served from memory. */
const STEP_PERCENT = 10

/**
 * Bounds on what an agent's reports can make us hold: tasks whose result never came (a machine
 * that died mid-wipe) and disk names are capped; the least recently updated task goes first.
 */
const MAX_TASKS = 4096
const MAX_DISKS_PER_TASK = 1024

/**
 * Live progress of running tasks, per disk. `update` says when a report is worth a timeline event:
 * a new phase, or a further 10% — so a wipe leaves a dozen events per disk, not thousands.
 */
export class ProgressBoard {
  readonly #byTask = new Map<string, Map<string, DiskProgress & { step: number }>>()

  /** Records the report; returns the step when it should become a timeline event, else undefined. */
  update (p: TaskProgress, now: number): number | undefined {
    const disks = this.#byTask.get(p.taskId) ?? new Map()
    // Re-inserted on every update, so the Map's order is least recently updated first.
    this.#byTask.delete(p.taskId)
    this.#byTask.set(p.taskId, disks)
    if (this.#byTask.size > MAX_TASKS) this.#byTask.delete(this.#byTask.keys().next().value as string)
    if (!disks.has(p.disk) && disks.size >= MAX_DISKS_PER_TASK) return undefined
    const pct = p.bytesTotal > 0 ? Math.min(100, Math.floor((p.bytesDone / p.bytesTotal) * 100)) : 100
    const step = Math.floor(pct / STEP_PERCENT)
    const before = disks.get(p.disk)
    disks.set(p.disk, { disk: p.disk, phase: p.phase, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rateBytesPerSecond: p.rateBytesPerSecond, at: now, step })
    if (before !== undefined && before.phase === p.phase && before.step >= step) return undefined
    return step
  }

  of (taskId: string): DiskProgress[] {
    return [...(this.#byTask.get(taskId)?.values() ?? [])].map(({ step: _step, ...d }) => d)
  }

  /** Tasks with live progress held now. */
  get size (): number {
    return this.#byTask.size
  }

  forget (taskId: string): void {
    this.#byTask.delete(taskId)
  }
}

/**
 * A task's progress over all its disks reported so far: bytes summed, and the phase of the disk
 * reported last (disks of one task move through the phases together, give or take a report).
 */
export function aggregateProgress (disks: readonly DiskProgress[]): { phase: string, bytesDone: number, bytesTotal: number, at: number } | undefined {
  let latest: DiskProgress | undefined
  let bytesDone = 0
  let bytesTotal = 0
  for (const d of disks) {
    bytesDone += d.bytesDone
    bytesTotal += d.bytesTotal
    if (latest === undefined || d.at >= latest.at) latest = d
  }
  return latest === undefined ? undefined : { phase: latest.phase, bytesDone, bytesTotal, at: latest.at }
}
