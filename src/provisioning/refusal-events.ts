import type { ErrorCode } from '../lib/error-codes.ts'
import { TokenBucket } from '../lib/rate-limit.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { Clock } from '../inventory/ports.ts'

/**
 * `node.refused` events for calls nodes make unauthenticated (ReportIn, IssueNodeCertificate):
 * at most `perMinute` of them, the ones held back counted into the next, so a flood of bad calls
 * costs the timeline a bounded number of rows.
 */
export class NodeRefusals {
  readonly #events: BootEventSink & { flush (): Promise<void> }
  readonly #clock: Clock
  readonly #what: string
  readonly #bucket: TokenBucket
  #suppressed = 0

  /** `what` names the call in the message: "a node report", "a node certificate request". */
  constructor (o: { events: BootEventSink & { flush (): Promise<void> }, clock: Clock, what: string, perMinute?: number }) {
    this.#events = o.events
    this.#clock = o.clock
    this.#what = o.what
    this.#bucket = new TokenBucket(o.perMinute ?? 30)
  }

  async record (machineId: string | undefined, peer: string, code: ErrorCode, why: string): Promise<void> {
    if (!this.#bucket.take(this.#clock.now())) {
      this.#suppressed++
      return
    }
    const suppressed = this.#suppressed
    this.#suppressed = 0
    this.#events.record({
      source: 'api',
      type: EventType.nodeRefused,
      ...(machineId === undefined ? {} : { machineId }),
      ip: peer,
      message: `refused ${this.#what} from ${peer}: ${why}${suppressed > 0 ? ` (${suppressed} more refusals not recorded)` : ''}`,
      data: { code, peer, suppressed }
    })
    await this.#events.flush()
  }
}
