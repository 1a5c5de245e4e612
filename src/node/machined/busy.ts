import { CodedError } from '../../lib/errors.ts'

/** The operation holding the node: its id and kind (reset, upgrade, rollback). */
export type BusyHolder = { readonly id: string, readonly kind: string }

/**
 * One guard that the operations which rewrite the disk share (reset, upgrade, rollback): at most
 * one of them at a time, since each one's plan assumes the disk it found. In memory only: a
 * reboot ends every holder (an upgrade that spans one takes the guard again at boot).
 */
export class BusyGuard {
  #holder: BusyHolder | undefined

  /** Takes the guard for `op`, or throws ERR_NODE_BUSY naming the operation that holds it. Returns the release. */
  take (op: BusyHolder): () => void {
    const h = this.#holder
    if (h !== undefined) throw new CodedError('ERR_NODE_BUSY', `the node is busy with ${h.kind} ${h.id}: ${op.kind} refused until it ends`, { id: h.id, kind: h.kind })
    this.#holder = op
    return () => { if (this.#holder === op) this.#holder = undefined }
  }

  /** The operation holding it, if any. */
  get holder (): BusyHolder | undefined { return this.#holder }
}
