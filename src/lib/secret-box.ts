import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { CodedError } from './errors.ts'

const VERSION = 'v1'
const IV_BYTES = 12 // NIST SP 800-38D §8.2: a 96-bit IV for GCM
const TAG_BYTES = 16

/**
 * Seals small secrets (BMC passwords) for storage: AES-256-GCM with a fresh IV each time, and
 * `context` (the owning row's id) as additional data, so a sealed value copied onto another row
 * does not open. Format: `v1.<base64url iv>.<base64url tag>.<base64url ciphertext>`.
 */
export class SecretBox {
  readonly #key: Buffer

  constructor (key: Buffer) {
    if (key.length !== 32) throw new RangeError('SecretBox needs a 256-bit key')
    this.#key = key
  }

  seal (plaintext: string, context: string): string {
    const iv = randomBytes(IV_BYTES)
    const cipher = createCipheriv('aes-256-gcm', this.#key, iv, { authTagLength: TAG_BYTES })
    cipher.setAAD(Buffer.from(context))
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()])
    return [VERSION, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ct.toString('base64url')].join('.')
  }

  /** Opens a sealed value; a wrong key, context or any tampering is ERR_SECRET_UNREADABLE. */
  open (sealed: string, context: string): string {
    const [version, iv, tag, ct, ...rest] = sealed.split('.')
    if (version !== VERSION || iv === undefined || tag === undefined || ct === undefined || rest.length > 0) {
      throw new CodedError('ERR_SECRET_UNREADABLE', 'a stored secret is not in a format this server reads')
    }
    try {
      const decipher = createDecipheriv('aes-256-gcm', this.#key, Buffer.from(iv, 'base64url'), { authTagLength: TAG_BYTES })
      decipher.setAAD(Buffer.from(context))
      decipher.setAuthTag(Buffer.from(tag, 'base64url'))
      return Buffer.concat([decipher.update(Buffer.from(ct, 'base64url')), decipher.final()]).toString('utf8')
    } catch {
      // Never say more: which check failed is of no use to an operator and some use to an attacker.
      throw new CodedError('ERR_SECRET_UNREADABLE', 'a stored secret does not open with this server\'s key (was secret.key replaced?)')
    }
  }
}
