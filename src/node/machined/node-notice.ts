/**
 * machined telling Anvil what it does to its own life (provisioning.proto NodeNotice): reset,
 * upgraded, rolled_back. Signed with the identity key from STATE over nodeNoticeProof (every field
 * and the node's clock: a notice overheard on the provisioning network replays for five minutes at
 * most and cannot be turned into another), sent once over the pinned channel trustd uses
 * (src/node/trustd/anvil-ca.ts), within `timeoutMs`. Callers decide what a failure means: a
 * graceful reset stops, a forced one goes on.
 */
import { sign } from 'node:crypto'
import { CodedError } from '../../lib/errors.ts'
import type { StatePayload } from '../../node-state/record.ts'
import { nodeNoticeProof, type NodeNoticeKind } from '../../node-state/notice-proof.ts'
import type { NodeNoticeReply } from '../../proto/generated/anvil/provisioning/v1/NodeNoticeReply.ts'
import { callAnvil } from '../trustd/anvil-ca.ts'
import { identityKey } from './identity.ts'

/** What the node says; image, version and slot name what runs now (for a reset: what ran). */
export type NodeNotice = {
  readonly kind: NodeNoticeKind
  readonly operationId: string
  readonly imageName: string
  readonly imageVersion: string
  readonly slot: string
  /** A short reason, at most 512 characters (longer is cut here: Anvil refuses more). */
  readonly detail: string
}

/** The port the reset and upgrade operations call (sendNodeNotice bound to STATE, or a test double). */
export type NodeNoticePort = (notice: NodeNotice) => Promise<{ machineState: string }>

export const DEFAULT_NOTICE_TIMEOUT_MS = 10_000
const MAX_DETAIL = 512

/** Signs and sends one notice; resolves with the machine's state in Anvil's inventory afterwards. */
export async function sendNodeNotice (o: { state: StatePayload, notice: NodeNotice, now?: () => number, timeoutMs?: number, protoFile?: string }): Promise<{ machineState: string }> {
  if (o.state.identity === undefined) throw new CodedError('ERR_STATE_INVALID', 'STATE holds no identity: the node never reported in, so Anvil knows no key to check a notice with')
  const fields = {
    machineId: o.state.machineId,
    ...o.notice,
    detail: cut(o.notice.detail, MAX_DETAIL),
    requestedAtMs: (o.now ?? Date.now)()
  }
  const request = { ...fields, signature: sign(null, nodeNoticeProof(fields), identityKey(o.state.identity)) }
  const reply = await callAnvil<NodeNoticeReply>(o.state.server, o.protoFile, (client, deadline, done) => { client.NodeNotice(request, { deadline }, done) }, o.timeoutMs ?? DEFAULT_NOTICE_TIMEOUT_MS)
  return { machineState: reply.machineState }
}

/** At most `max` UTF-16 units (what Anvil counts), never half of a surrogate pair. */
function cut (s: string, max: number): string {
  if (s.length <= max) return s
  const head = s.slice(0, max)
  return /[\uD800-\uDBFF]$/.test(head) ? head.slice(0, -1) : head
}
