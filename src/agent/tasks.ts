import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { EraseReportInput } from '../proto/generated/anvil/provisioning/v1/EraseReport.ts'
import type { InstallReportInput } from '../proto/generated/anvil/provisioning/v1/InstallReport.ts'
import type { InstallTask } from '../proto/generated/anvil/provisioning/v1/InstallTask.ts'
import type { Task } from '../proto/generated/anvil/provisioning/v1/Task.ts'
import type { WipeTask } from '../proto/generated/anvil/provisioning/v1/WipeTask.ts'
import { InstallError, type InstallOptions } from './install.ts'
import type { ServerPin } from './install-plan.ts'
import type { WipeOptions } from './wipe.ts'

// The agent's task dispatcher: one task at a time, in arrival order, each answered with progress
// and exactly one TaskResult. No gRPC here: `send` is whatever writes to the server (an Outbox
// that keeps messages while the stream is down). It outlives streams: a wipe goes on while the
// agent reconnects, and a server that sends a task again (after a reconnect) is recognised.

/** What the agent does after a task: keep serving, or end the environment. */
export type TaskOutcome = 'continue' | 'reboot' | 'powerOff'

/** The error of a task stopped by the server's cancel. */
export const CANCELLED = 'cancelled'

/** What the dispatcher needs from the rest of the agent. */
export type TaskDeps = {
  send: (msg: AgentMessageInput) => void
  /** The disks of the hardware report (a wipe naming none means all of them). */
  disks: readonly DiskInput[]
  wipe: (task: WipeTask, disks: readonly DiskInput[], options: WipeOptions) => Promise<EraseReportInput[]>
  /** Resolves to the report of a committed install; throws (InstallError: with the report so far) otherwise. */
  install: (task: InstallTask, disks: readonly DiskInput[], options: InstallOptions) => Promise<InstallReportInput>
  /** The agent's server (its command line): an install writes it to STATE for the node's report. */
  server: ServerPin
  bootDisk?: string
  root?: string
  log: (line: string) => void
}

type Outcome = { outcome: TaskOutcome, ok: boolean, error: string, eraseReports: EraseReportInput[], install?: InstallReportInput }

type Entry = {
  readonly done: Promise<TaskOutcome>
  readonly abort: AbortController
  result?: { outcome: TaskOutcome, message: AgentMessageInput }
}

/**
 * Runs tasks one after another. A task id seen before is never run again: while it runs, a
 * repeat is ignored (its result comes when it ends); once it ended, a repeat (or a cancel) is
 * answered with its result again — that is how a result lost with a dropped stream reaches the
 * server, which sends its running tasks again to a resumed session.
 */
export class TaskDispatcher {
  readonly #deps: TaskDeps
  #tail: Promise<unknown> = Promise.resolve()
  readonly #tasks = new Map<string, Entry>()
  #final: ((outcome: Exclude<TaskOutcome, 'continue'>) => void) | undefined
  /** Resolves when a reboot or power-off task has been answered: the environment ends. */
  readonly final: Promise<Exclude<TaskOutcome, 'continue'>>

  constructor (deps: TaskDeps) {
    this.#deps = deps
    this.final = new Promise((resolve) => { this.#final = resolve })
  }

  /** Queues a task (or recognises it); resolves to its outcome once its result was sent. Never rejects. */
  async submit (task: Task): Promise<TaskOutcome> {
    const known = this.#tasks.get(task.id)
    if (known !== undefined) {
      if (known.result === undefined) {
        this.#deps.log(`task ${task.id}: already running, not started again`)
      } else {
        this.#deps.log(`task ${task.id}: already done, result sent again`)
        this.#deps.send(known.result.message)
      }
      return await known.done
    }
    const abort = new AbortController()
    const done = this.#tail.then(async () => await this.#run(task, abort.signal))
    this.#tail = done
    this.#tasks.set(task.id, { done, abort })
    return await done
  }

  /**
   * The server cancelled the task: a running wipe stops at its next safe point, a queued task
   * never starts (both answer ok=false, error "cancelled"); a finished one is answered again.
   */
  cancel (taskId: string): void {
    const entry = this.#tasks.get(taskId)
    if (entry === undefined) {
      this.#deps.log(`task ${taskId}: cancel for a task this agent never had, ignored`)
      return
    }
    if (entry.result !== undefined) {
      this.#deps.send(entry.result.message)
      return
    }
    this.#deps.log(`task ${taskId}: cancelled by the server; stopping at the next safe point`)
    entry.abort.abort()
  }

  async #run (task: Task, signal: AbortSignal): Promise<TaskOutcome> {
    this.#deps.log(`task ${task.id}: ${task.kind ?? 'unknown'}`)
    const { outcome, ok, error, eraseReports, install }: Outcome = signal.aborted
      ? { outcome: 'continue', ok: false, error: CANCELLED, eraseReports: [] }
      : await this.#execute(task, signal)
    const message: AgentMessageInput = { result: { taskId: task.id, ok, error, eraseReports, ...(install !== undefined ? { install } : {}) } }
    const entry = this.#tasks.get(task.id)
    if (entry !== undefined) entry.result = { outcome, message }
    this.#deps.send(message)
    this.#deps.log(`task ${task.id}: ${ok ? 'ok' : `failed: ${error}`}`)
    if (outcome !== 'continue') this.#final?.(outcome)
    return outcome
  }

  async #execute (task: Task, signal: AbortSignal): Promise<Outcome> {
    switch (task.kind) {
      case 'wipe': {
        if (task.wipe == null) return { outcome: 'continue', ok: false, error: 'wipe task without parameters', eraseReports: [] }
        try {
          const reports = await this.#wipe(task.id, task.wipe, signal)
          if (signal.aborted) return { outcome: 'continue', ok: false, error: CANCELLED, eraseReports: reports }
          const problems = reports.flatMap((r) =>
            r.refused !== '' ? [`${r.disk ?? ''}: refused: ${r.refused ?? ''}`] : r.verified === true ? [] : [`${r.disk ?? ''}: verification found non-zero data`])
          return { outcome: 'continue', ok: problems.length === 0, error: problems.join('; '), eraseReports: reports }
        } catch (err) {
          return { outcome: 'continue', ok: false, error: `wipe failed: ${(err as Error).message}`, eraseReports: [] }
        }
      }
      case 'install':
        if (task.install == null) return { outcome: 'continue', ok: false, error: 'install task without parameters', eraseReports: [] }
        return await this.#install(task.id, task.install, signal)
      case 'reboot': return { outcome: 'reboot', ok: true, error: '', eraseReports: [] }
      case 'powerOff': return { outcome: 'powerOff', ok: true, error: '', eraseReports: [] }
      case undefined: break
    }
    return { outcome: 'continue', ok: false, error: 'task of a kind this agent does not know', eraseReports: [] }
  }

  /**
   * Either way the agent keeps serving: after a committed install the server reboots the machine
   * into its disk (a power cycle through its BMC with the boot device set to disk, or an in-band
   * reboot task); after a failed one it moves the machine to error, and may send a wipe or another
   * install (the disk has no partition table then).
   */
  async #install (taskId: string, install: InstallTask, signal: AbortSignal): Promise<Outcome> {
    const options: InstallOptions = {
      onProgress: (p) => {
        this.#deps.send({
          progress: { taskId, disk: p.disk, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rateBytesPerSecond: p.rateBytesPerSecond, phase: p.phase }
        })
      },
      log: this.#deps.log,
      signal,
      server: this.#deps.server
    }
    if (this.#deps.bootDisk !== undefined) options.bootDisk = this.#deps.bootDisk
    if (this.#deps.root !== undefined) options.root = this.#deps.root
    try {
      const report = await this.#deps.install(install, this.#deps.disks, options)
      return { outcome: 'continue', ok: true, error: '', eraseReports: [], install: report }
    } catch (err) {
      const report: InstallReportInput = err instanceof InstallError ? err.report : { disk: install.disk, committed: false, verified: false }
      const error = signal.aborted ? CANCELLED : `install failed: ${err instanceof InstallError ? `${err.code}: ` : ''}${(err as Error).message}`
      return { outcome: 'continue', ok: false, error, eraseReports: [], install: { ...report, committed: false } }
    }
  }

  async #wipe (taskId: string, wipe: WipeTask, signal: AbortSignal): Promise<EraseReportInput[]> {
    const options: WipeOptions = {
      onProgress: (p) => {
        this.#deps.send({
          progress: { taskId, disk: p.disk, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rateBytesPerSecond: p.rateBytesPerSecond, phase: p.phase }
        })
      },
      log: this.#deps.log,
      signal
    }
    if (this.#deps.bootDisk !== undefined) options.bootDisk = this.#deps.bootDisk
    if (this.#deps.root !== undefined) options.root = this.#deps.root
    return await this.#deps.wipe(wipe, this.#deps.disks, options)
  }
}
