/**
 * `--wait` for a node operation that spans a reboot (upgrade, rollback): GetOperation until the
 * operation is final, through the minutes the node cannot answer (it is rebooting: every failure
 * that says "unreachable" is retried with backoff), up to a deadline. Other errors end the wait.
 */
import { CodedError, isCodedError } from '../lib/errors.ts'
import type { Operation } from '../proto/generated/anvil/node/v1/Operation.ts'

export const FINAL_STATES: ReadonlySet<string> = new Set(['succeeded', 'failed', 'rolled_back'])

export type WaitOptions = {
  readonly timeoutMs: number
  readonly now?: () => number
  readonly sleep?: (ms: number) => Promise<void>
  /** Called when the phase (or reachability) changes: "health", "node unreachable (rebooting?)". */
  readonly onPhase?: (phase: string) => void
  /** First pause between asks; doubles to maxDelayMs while the node is unreachable. */
  readonly delayMs?: number
  readonly maxDelayMs?: number
}

/** The operation once final; ERR_NODE_UNREACHABLE (with the last phase seen) at the deadline. */
export async function waitForOperation (get: () => Promise<Operation | null>, o: WaitOptions): Promise<Operation> {
  const now = o.now ?? Date.now
  const sleep = o.sleep ?? (async (ms: number) => { await new Promise(resolve => setTimeout(resolve, ms)) })
  const deadline = now() + o.timeoutMs
  const base = o.delayMs ?? 1000
  let delay = base
  let last = ''
  const seen = (phase: string): void => { if (phase !== last) { last = phase; o.onPhase?.(phase) } }
  for (;;) {
    try {
      const op = await get()
      if (op !== null) {
        if (FINAL_STATES.has(op.state)) return op
        seen(op.phase)
      }
      delay = base
    } catch (err) {
      if (!isCodedError(err) || err.code !== 'ERR_NODE_UNREACHABLE') throw err
      seen('node unreachable (rebooting?)')
      delay = Math.min(delay * 2, o.maxDelayMs ?? 15_000)
    }
    if (now() + delay > deadline) throw new CodedError('ERR_NODE_UNREACHABLE', `the operation was not final after ${Math.round(o.timeoutMs / 1000)} s; last seen: ${last || 'nothing'}`)
    await sleep(delay)
  }
}

/** Exit non-zero for an operation that ended badly, with its error. */
export function operationFailure (op: Operation): CodedError | undefined {
  if (op.state === 'succeeded') return undefined
  const code = op.errorCode !== '' && op.errorCode.startsWith('ERR_') ? op.errorCode : 'ERR_ROLLOUT_FAILED'
  return new CodedError(code as 'ERR_ROLLOUT_FAILED', `${op.kind} ${op.id} ended ${op.state}${op.error === '' ? '' : `: ${op.error}`}`)
}
