import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { EraseReportInput } from '../proto/generated/anvil/provisioning/v1/EraseReport.ts'
import type { Task } from '../proto/generated/anvil/provisioning/v1/Task.ts'
import type { WipeTask } from '../proto/generated/anvil/provisioning/v1/WipeTask.ts'
import type { WipeOptions } from './wipe.ts'

// The agent's task dispatcher: one task at a time, in arrival order, each answered with progress
// and exactly one TaskResult. No gRPC here: `send` is whatever writes to the stream.

/** What the agent does after a task: keep serving, or end the environment. */
export type TaskOutcome = 'continue' | 'reboot' | 'powerOff'

/** What the dispatcher needs from the rest of the agent. */
export type TaskDeps = {
  send: (msg: AgentMessageInput) => void
  /** The disks of the hardware report (a wipe naming none means all of them). */
  disks: readonly DiskInput[]
  wipe: (task: WipeTask, disks: readonly DiskInput[], options: WipeOptions) => Promise<EraseReportInput[]>
  bootDisk?: string
  root?: string
  log: (line: string) => void
}

/** Runs tasks one after another; a task id seen before (a server resending after a reconnect) is answered again, not rerun. */
export class TaskDispatcher {
  readonly #deps: TaskDeps
  #tail: Promise<unknown> = Promise.resolve()
  readonly #done = new Map<string, { outcome: TaskOutcome, result: AgentMessageInput }>()

  constructor (deps: TaskDeps) { this.#deps = deps }

  /** Queues a task; resolves to its outcome once its result was sent. Never rejects. */
  async submit (task: Task): Promise<TaskOutcome> {
    const run = this.#tail.then(async () => await this.#run(task))
    this.#tail = run
    return await run
  }

  async #run (task: Task): Promise<TaskOutcome> {
    const earlier = this.#done.get(task.id)
    if (earlier !== undefined) {
      this.#deps.log(`task ${task.id}: already done, result sent again`)
      this.#deps.send(earlier.result)
      return earlier.outcome
    }
    this.#deps.log(`task ${task.id}: ${task.kind ?? 'unknown'}`)
    const { outcome, ok, error, eraseReports } = await this.#execute(task)
    const result: AgentMessageInput = { result: { taskId: task.id, ok, error, eraseReports } }
    this.#done.set(task.id, { outcome, result })
    this.#deps.send(result)
    this.#deps.log(`task ${task.id}: ${ok ? 'ok' : `failed: ${error}`}`)
    return outcome
  }

  async #execute (task: Task): Promise<{ outcome: TaskOutcome, ok: boolean, error: string, eraseReports: EraseReportInput[] }> {
    switch (task.kind) {
      case 'wipe': {
        if (task.wipe == null) return { outcome: 'continue', ok: false, error: 'wipe task without parameters', eraseReports: [] }
        try {
          const reports = await this.#wipe(task.id, task.wipe)
          const problems = reports.flatMap((r) =>
            r.refused !== '' ? [`${r.disk ?? ''}: refused: ${r.refused ?? ''}`] : r.verified === true ? [] : [`${r.disk ?? ''}: verification found non-zero data`])
          return { outcome: 'continue', ok: problems.length === 0, error: problems.join('; '), eraseReports: reports }
        } catch (err) {
          return { outcome: 'continue', ok: false, error: `wipe failed: ${(err as Error).message}`, eraseReports: [] }
        }
      }
      case 'reboot': return { outcome: 'reboot', ok: true, error: '', eraseReports: [] }
      case 'powerOff': return { outcome: 'powerOff', ok: true, error: '', eraseReports: [] }
      case undefined: break
    }
    return { outcome: 'continue', ok: false, error: 'task of a kind this agent does not know', eraseReports: [] }
  }

  async #wipe (taskId: string, wipe: WipeTask): Promise<EraseReportInput[]> {
    const options: WipeOptions = {
      onProgress: (p) => {
        this.#deps.send({
          progress: { taskId, disk: p.disk, bytesDone: p.bytesDone, bytesTotal: p.bytesTotal, rateBytesPerSecond: p.rateBytesPerSecond, phase: p.phase }
        })
      },
      log: this.#deps.log
    }
    if (this.#deps.bootDisk !== undefined) options.bootDisk = this.#deps.bootDisk
    if (this.#deps.root !== undefined) options.root = this.#deps.root
    return await this.#deps.wipe(wipe, this.#deps.disks, options)
  }
}
