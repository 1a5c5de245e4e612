/**
 * A machine config's signature: minisign over the exact YAML bytes with the config key, bound to
 * one machine, a generation and an expiry through the trusted comment (signed too):
 *
 *   anvil config machine=<id> generation=<n> expires=<unix seconds>
 *
 * The node verifies before it writes the config to disk and again before it applies it:
 * the signature (ERR_SIGNATURE_*; prehashed only, see VerifyOptions in minisign.ts), then the comment's form (ERR_SIGNATURE_COMMENT_UNEXPECTED),
 * the machine (ERR_CONFIG_WRONG_MACHINE), the generation against the one it holds, equal allowed
 * for a re-apply (ERR_CONFIG_REPLAYED), and the clock (ERR_CONFIG_EXPIRED; not for a config the
 * node accepted before, see ConfigExpectation.now). The clock is the
 * caller's: a node whose RTC came up reset to 1970 accepts expired configs, so pass the best time
 * the node has (the server's Date header, an NTP reading).
 */
import { CodedError } from '../lib/errors.ts'
import { sign, verifyWithAny, type PublicKey, type SecretKey } from './minisign.ts'

/** What a config signature binds the YAML to. */
export type ConfigBinding = {
  readonly machineId: string
  /** Increases with every config issued to the machine; 0 and up. */
  readonly generation: number
  /** Whole seconds: a fraction is cut off when signing (the config expires a little early, never late). */
  readonly expiresAt: Date
}

/** What the node holds, against which a config is checked. */
export type ConfigExpectation = {
  readonly machineId: string
  /** The generation of the config the node already holds (0 when none): lower is a replay. */
  readonly minGeneration: number
  /**
   * The clock the expiry is checked against; `'accepted'` for a config the node took in before
   * (STATE's, verified with the clock when it was written there): the expiry bounds how long a
   * signed config may wait to be delivered, not how long a node may run it, so a node that
   * reboots a day after its install still boots its config.
   */
  readonly now: Date | 'accepted'
}

/** Machine ids as the comment may carry them: no spaces, no `=`. */
const MACHINE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/
/** A decimal without leading zeros, at most 16 digits (then checked against MAX_SAFE_INTEGER). */
const NUMBER = '(0|[1-9][0-9]{0,15})'
const COMMENT = new RegExp(`^anvil config machine=([^ ]+) generation=${NUMBER} expires=${NUMBER}$`)

function checkBinding (b: ConfigBinding): number {
  const expires = Math.floor(b.expiresAt.getTime() / 1000)
  if (!MACHINE_ID.test(b.machineId)) throw new CodedError('ERR_INVALID_ARG_VALUE', `a machine id to sign a config for must match ${String(MACHINE_ID)}`)
  if (!Number.isSafeInteger(b.generation) || b.generation < 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'a config generation is a whole number, 0 or more')
  if (!Number.isSafeInteger(expires) || expires < 0) throw new CodedError('ERR_INVALID_ARG_VALUE', 'a config expiry must be a valid date after 1970')
  return expires
}

/** The trusted comment for a binding. */
export function configTrustedComment (b: ConfigBinding): string {
  const expires = checkBinding(b)
  return `anvil config machine=${b.machineId} generation=${b.generation} expires=${expires}`
}

/** Parses a trusted comment strictly; anything else (an image's comment included) is ERR_SIGNATURE_COMMENT_UNEXPECTED. */
export function parseConfigTrustedComment (comment: string): ConfigBinding {
  const m = COMMENT.exec(comment)
  const machineId = m?.[1] ?? ''
  const generation = Number(m?.[2])
  const expires = Number(m?.[3])
  if (m === null || !MACHINE_ID.test(machineId) || !Number.isSafeInteger(generation) || !Number.isSafeInteger(expires)) {
    throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', 'the signature\'s trusted comment is not a machine config binding ("anvil config machine=… generation=… expires=…")')
  }
  return { machineId, generation, expiresAt: new Date(expires * 1000) }
}

/** Signs a machine config's bytes for one machine, generation and expiry; returns the .minisig text. */
export function signConfig (yaml: Uint8Array, configKey: SecretKey, binding: ConfigBinding): string {
  return sign(yaml, configKey, configTrustedComment(binding), { untrustedComment: `anvil machine config for ${binding.machineId}, key ${configKey.keyId}` })
}

/** Verifies a config's signature and binding (see the module comment for the order of checks). */
export function verifyConfig (yaml: Uint8Array, signatureFile: string | Uint8Array, trusted: PublicKey | readonly PublicKey[], expect: ConfigExpectation): ConfigBinding & { readonly keyId: string } {
  // Fail closed: NaN would make every comparison below false, so nothing would ever be refused.
  if (!Number.isSafeInteger(expect.minGeneration) || expect.minGeneration < 0 || (expect.now !== 'accepted' && !Number.isFinite(expect.now.getTime()))) {
    throw new CodedError('ERR_INVALID_ARG_VALUE', 'verifyConfig needs a whole minGeneration (0 or more) and a valid clock reading')
  }
  const verified = verifyWithAny(yaml, signatureFile, 'keyObject' in trusted ? [trusted] : trusted, { prehashedOnly: true })
  const binding = parseConfigTrustedComment(verified.trustedComment)
  if (binding.machineId !== expect.machineId) {
    throw new CodedError('ERR_CONFIG_WRONG_MACHINE', `the config is signed for machine ${binding.machineId}, not ${expect.machineId}`, { machineId: binding.machineId, expected: expect.machineId })
  }
  if (binding.generation < expect.minGeneration) {
    throw new CodedError('ERR_CONFIG_REPLAYED', `the config is generation ${binding.generation}, older than generation ${expect.minGeneration} already held: a replay`, { generation: binding.generation, minGeneration: expect.minGeneration })
  }
  if (expect.now !== 'accepted' && expect.now.getTime() >= binding.expiresAt.getTime()) {
    throw new CodedError('ERR_CONFIG_EXPIRED', `the config expired at ${binding.expiresAt.toISOString()}`, { expiresAt: binding.expiresAt.toISOString(), now: expect.now.toISOString() })
  }
  return { ...binding, keyId: verified.keyId }
}
