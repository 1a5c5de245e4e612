import type { LogLineInput } from '../../../proto/generated/anvil/node/v1/LogLine.ts'
import type { ServiceLine, ServiceLog } from './service-log.ts'

/** Lines a slow follower may fall behind by; older ones are dropped (and counted in a line) rather than buffered without bound. */
const MAX_QUEUE = 2000

export type ServiceLinesOptions = {
  readonly id: string
  readonly log: ServiceLog
  /** The last `tail` lines kept; 0: all of them. */
  readonly tail: number
  readonly follow: boolean
  readonly signal: AbortSignal
}

/** A service's lines as LogLines (priority 6, node.proto): the ring's tail, then (with follow) new ones until the signal aborts. */
export async function * serviceLines (o: ServiceLinesOptions): AsyncGenerator<LogLineInput> {
  const toLine = (l: ServiceLine): LogLineInput => ({ timeMs: l.timeMs, source: o.id, text: l.text, priority: 6 })
  const queue: ServiceLine[] = []
  let dropped = 0
  let wake: (() => void) | undefined
  // Subscribed before the backlog is taken, in the same tick: no line is missed or sent twice.
  const unfollow = o.follow
    ? o.log.follow(line => {
      if (queue.length >= MAX_QUEUE) { queue.shift(); dropped++ }
      queue.push(line)
      wake?.()
    })
    : undefined
  const backlog = o.log.lines(o.tail)
  const onAbort = (): void => { wake?.() }
  o.signal.addEventListener('abort', onAbort)
  try {
    for (const l of backlog) {
      if (o.signal.aborted) return
      yield toLine(l)
    }
    while (o.follow && !o.signal.aborted) {
      if (dropped > 0) {
        yield { timeMs: Date.now(), source: o.id, text: `machined: ${dropped} lines dropped (the reader fell behind)`, priority: 4 }
        dropped = 0
      }
      const line = queue.shift()
      if (line !== undefined) {
        yield toLine(line)
        continue
      }
      await new Promise<void>(resolve => { wake = resolve })
      wake = undefined
    }
  } finally {
    unfollow?.()
    o.signal.removeEventListener('abort', onAbort)
  }
}
