import { createHash } from 'node:crypto'

/**
 * The bytes a provisioned node signs with its identity key to ask for apid's server certificate
 * (NodeCertificateRequest.signature): they bind the request to the machine, the TLS key (by its
 * SHA-256), the exact names asked for, and the node's clock, so an overheard request can only
 * ever buy a certificate for a key its sender does not hold, and only for five minutes.
 */
export function nodeCertificateProof (r: { machineId: string, tlsPublicKey: Buffer, ips: readonly string[], dnsNames: readonly string[], requestedAtMs: number }): Buffer {
  const keyHash = createHash('sha256').update(r.tlsPublicKey).digest('hex')
  return Buffer.from(`anvil node certificate v1\n${r.machineId}\n${keyHash}\n${r.ips.join(',')}\n${r.dnsNames.join(',')}\n${r.requestedAtMs}\n`, 'utf8')
}
