import { createHash } from 'node:crypto'

/** What a node may tell Anvil of its own life (provisioning.proto NodeNotice). */
export const NODE_NOTICE_KINDS = ['reset', 'upgraded', 'rolled_back'] as const
export type NodeNoticeKind = typeof NODE_NOTICE_KINDS[number]

/**
 * The bytes a provisioned node signs with its identity key for a NodeNotice: every field of the
 * notice (the detail by its SHA-256) and the node's clock, so an overheard notice replays for
 * five minutes at most and cannot be turned into another kind, machine or image.
 */
export function nodeNoticeProof (n: { machineId: string, kind: NodeNoticeKind, operationId: string, imageName: string, imageVersion: string, slot: string, detail: string, requestedAtMs: number }): Buffer {
  const detailHash = createHash('sha256').update(n.detail, 'utf8').digest('hex')
  return Buffer.from(`anvil node notice v1\n${n.machineId}\n${n.kind}\n${n.operationId}\n${n.imageName}\n${n.imageVersion}\n${n.slot}\n${detailHash}\n${n.requestedAtMs}\n`, 'utf8')
}
