import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'

/**
 * What the agent sends the server, across streams: written at once while a stream is open; while
 * none is (a network blip, a server restart), kept — the latest progress of each task and disk,
 * and every result — and written when the next stream has sent its hello and hardware report.
 * A result the server missed all the same (written into a dying stream) is not lost either: the
 * server sends a resumed session its running tasks again, and the dispatcher answers a finished
 * one with its result.
 */
export class Outbox {
  #write: ((msg: AgentMessageInput) => void) | undefined
  readonly #progress = new Map<string, AgentMessageInput>()
  readonly #results: AgentMessageInput[] = []

  send (msg: AgentMessageInput): void {
    if (this.#write !== undefined) {
      this.#write(msg)
      return
    }
    if (msg.progress != null) {
      this.#progress.set(`${msg.progress.taskId ?? ''}\u0000${msg.progress.disk ?? ''}\u0000${msg.progress.phase ?? ''}`, msg)
    } else if (msg.result != null) {
      const taskId = msg.result.taskId ?? ''
      // The result says more than any progress of its task.
      for (const [key, p] of this.#progress) if (p.progress?.taskId === taskId) this.#progress.delete(key)
      this.#results.push(msg)
    }
  }

  /** A stream is open (past its hello and hardware): what was kept goes first, in order. */
  attach (write: (msg: AgentMessageInput) => void): void {
    const kept = [...this.#progress.values(), ...this.#results]
    this.#progress.clear()
    this.#results.length = 0
    this.#write = write
    for (const msg of kept) write(msg)
  }

  detach (): void {
    this.#write = undefined
  }

  /** Messages kept for the next stream. */
  get pending (): number {
    return this.#progress.size + this.#results.length
  }
}
