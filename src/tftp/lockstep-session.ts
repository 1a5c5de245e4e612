import { getSystemErrorName } from 'node:util'
import { decodePacket, Opcode, type TftpPacket } from './packet.ts'
import type { SessionEnd } from './session.ts'
import { clientErrorReason, clientGoneReason, gaveUpReason, isSizeQuery, Phase, summarize, type TransferState } from './transfer.ts'
import type { LockstepEngine, LockstepHandle, LockstepResult } from './lockstep-native.ts'

/**
 * Words a native transfer's end exactly as the event-loop path would word the same end, from the
 * state negotiation left (startTransfer) and what the loop reports. Pure.
 */
export function lockstepEnd (s: TransferState, r: LockstepResult, now: number, abortReason = 'aborted'): SessionEnd {
  const final: TransferState = { ...s, phase: Phase.DONE, base: r.base, sentEnd: r.base, retransmits: r.retransmits, startedAt: now - r.durationMs }
  const summary = summarize(final, now)
  switch (r.outcome) {
    case 'complete':
      return { ok: true, reason: 'complete', summary }
    case 'client-error': {
      // The engine hands back only ERRORs the decoder accepts; should one ever slip through, the
      // transfer still ends with a reason rather than an exception on the engine's callback.
      let p: TftpPacket | undefined
      try {
        p = decodePacket(r.packet ?? Buffer.alloc(0))
      } catch {}
      if (p?.op !== Opcode.ERROR) return { ok: false, reason: 'the client ended the transfer with an ERROR packet the decoder rejects', summary }
      const reason = clientErrorReason(p.code, p.message)
      return isSizeQuery(s, r.base) ? { ok: false, reason, summary, sizeQuery: true } : { ok: false, reason, summary }
    }
    case 'timeout':
      return { ok: false, reason: gaveUpReason(r.phase === 'negotiating', r.base, s.totalBlocks, s.retries), summary }
    case 'refused':
      return { ok: false, reason: clientGoneReason(r.phase === 'sending', r.base, s.totalBlocks), summary }
    case 'aborted':
      return { ok: false, reason: abortReason, summary }
    case 'io-error':
      return { ok: false, reason: `socket error ${r.errno === undefined ? 'unknown' : getSystemErrorName(-r.errno)}`, summary }
  }
}

/**
 * A lock-step transfer (windowsize 1) from memory, run by the native engine: the same protocol as
 * TransferSession drives, without a JavaScript callback per datagram.
 */
export class NativeLockstepSession {
  readonly #engine: LockstepEngine
  readonly #handle: LockstepHandle
  #abortReason: string | undefined
  #ended = false
  #reported!: () => void
  /** Settles once the engine has reported and onEnd has run (an abort reports asynchronously). */
  readonly done = new Promise<void>((resolve) => { this.#reported = resolve })

  /** Throws when the transfer's socket cannot be made (the caller answers the client with an error). */
  constructor (engine: LockstepEngine, at: { host: string, peerAddress: string, peerPort: number }, data: Buffer, state: TransferState,
    onEnd: (end: SessionEnd) => void, onStrays: (count: number) => void) {
    this.#engine = engine
    this.#handle = engine.start({
      ...at,
      data,
      blksize: state.negotiated.blksize,
      timeoutMs: state.timeoutMs,
      retries: state.retries,
      oack: state.oack
    }, (result) => {
      this.#ended = true
      try {
        if (result.strays > 0) onStrays(result.strays)
        onEnd(lockstepEnd(state, result, performance.now(), this.#abortReason))
      } finally {
        this.#reported()
      }
    })
  }

  /** Ends the transfer early (server shutting down); it reports through onEnd as it stops. */
  abort (reason: string): void {
    if (this.#ended || this.#abortReason !== undefined) return
    this.#abortReason = reason
    this.#engine.abort(this.#handle)
  }
}
