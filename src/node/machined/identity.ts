import { createPrivateKey, generateKeyPairSync, type KeyObject } from 'node:crypto'
import type { StatePayload } from '../../node-state/record.ts'

/**
 * The node's identity: an Ed25519 key pair made on the node at its first boot and kept in STATE
 * (PKCS#8 and SPKI DER, base64). The private half never leaves the node: only the public half and
 * signatures made with it go into reports.
 */
export type Identity = NonNullable<StatePayload['identity']>

/** A fresh identity (node:crypto, OpenSSL's RNG). */
export function makeIdentity (now: number): Identity {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return {
    privateKeyPkcs8: privateKey.export({ format: 'der', type: 'pkcs8' }).toString('base64'),
    publicKeySpki: publicKey.export({ format: 'der', type: 'spki' }).toString('base64'),
    createdAt: now
  }
}

/** The private key of a stored identity. */
export function identityKey (identity: Identity): KeyObject {
  return createPrivateKey({ key: Buffer.from(identity.privateKeyPkcs8, 'base64'), format: 'der', type: 'pkcs8' })
}
