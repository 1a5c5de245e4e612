/**
 * An image manifest's signature: minisign over the manifest's exact bytes (no canonical JSON:
 * verify the bytes, then parse them) with an image key, and the trusted comment
 *
 *   anvil image <name> <version>
 *
 * Only prehashed signatures (minisign's default) are accepted: see VerifyOptions in minisign.ts.
 * The manifest's schema is src/image/manifest.ts's; here it is only bytes. A caller that parses
 * the manifest should check that its name and version are the ones verifyManifest returns, so a
 * signature cannot be moved onto another manifest's bytes under a different label (it could not
 * verify anyway: the comment is bound to the signature, the signature to the bytes).
 */
import { CodedError } from '../lib/errors.ts'
import { sign, verifyWithAny, type PublicKey, type SecretKey } from './minisign.ts'

/** What an image signature names. */
export type ImageLabel = { readonly name: string, readonly version: string }

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/
const VERSION = /^[A-Za-z0-9][A-Za-z0-9.+_~-]{0,63}$/
const COMMENT = /^anvil image ([^ ]+) ([^ ]+)$/

/** The trusted comment for an image. */
export function imageTrustedComment (label: ImageLabel): string {
  if (!NAME.test(label.name)) throw new CodedError('ERR_INVALID_ARG_VALUE', `an image name to sign must match ${String(NAME)}`)
  if (!VERSION.test(label.version)) throw new CodedError('ERR_INVALID_ARG_VALUE', `an image version to sign must match ${String(VERSION)}`)
  return `anvil image ${label.name} ${label.version}`
}

/** Parses a trusted comment strictly; anything else (a config's comment included) is ERR_SIGNATURE_COMMENT_UNEXPECTED. */
export function parseImageTrustedComment (comment: string): ImageLabel {
  const m = COMMENT.exec(comment)
  const name = m?.[1] ?? ''
  const version = m?.[2] ?? ''
  if (!NAME.test(name) || !VERSION.test(version)) {
    throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', 'the signature\'s trusted comment is not an image label ("anvil image <name> <version>")')
  }
  return { name, version }
}

/** Signs manifest bytes with an image key; returns the manifest.json.minisig text. */
export function signManifest (manifest: Uint8Array, imageKey: SecretKey, label: ImageLabel): string {
  return sign(manifest, imageKey, imageTrustedComment(label), { untrustedComment: `anvil image manifest ${label.name} ${label.version}, key ${imageKey.keyId}` })
}

/** Verifies manifest bytes with whichever trusted image key signed them; returns the label and that key. */
export function verifyManifest (manifest: Uint8Array, signatureFile: string | Uint8Array, trusted: readonly PublicKey[]): ImageLabel & { readonly keyId: string, readonly publicKey: PublicKey } {
  const verified = verifyWithAny(manifest, signatureFile, trusted, { prehashedOnly: true })
  return { ...parseImageTrustedComment(verified.trustedComment), keyId: verified.keyId, publicKey: verified.publicKey }
}
