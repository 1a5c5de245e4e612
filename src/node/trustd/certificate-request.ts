import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { nodeCertificateProof } from '../../node-state/certificate-proof.ts'
import type { NodeCertificateRequest } from '../../proto/generated/anvil/provisioning/v1/NodeCertificateRequest.ts'

/** A fresh TLS key for apid, and the request for its certificate signed with the node's identity key. */
export type PreparedRequest = {
  readonly request: NodeCertificateRequest
  /** PKCS#8 PEM of the new TLS key: it goes to apid, never to the network. */
  readonly keyPem: string
}

/**
 * Makes apid's next TLS key (Ed25519, in memory) and the signed request for its certificate: the
 * identity key proves who asks (Anvil knows its public half from ReportIn); the TLS key is a new
 * one each time, so a certificate never outlives the key it was made for.
 */
export function prepareCertificateRequest (r: { machineId: string, identity: KeyObject, ips: readonly string[], dnsNames: readonly string[], now: number }): PreparedRequest {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const fields = { machineId: r.machineId, tlsPublicKey: publicKey.export({ format: 'der', type: 'spki' }), ips: [...r.ips], dnsNames: [...r.dnsNames], requestedAtMs: r.now }
  return {
    request: { ...fields, signature: sign(null, nodeCertificateProof(fields), r.identity) },
    keyPem: privateKey.export({ format: 'pem', type: 'pkcs8' }).toString()
  }
}
