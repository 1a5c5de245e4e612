/**
 * minisign's key and signature formats (jedisct1/minisign src/minisign.h, minisign.c), pure: no
 * files. Ed25519 by node:crypto; the prehash is node's blake2b512, the secret key checksum our
 * BLAKE2b-256 (blake2b.ts). Every decoder throws one CodedError code per kind of input, never a
 * RangeError: ERR_SIGNATURE_MALFORMED for signatures, ERR_SIGNING_KEY_MALFORMED for keys.
 *
 * Layouts (base64, standard alphabet, padded; offsets in bytes):
 *
 *   public key, 42 bytes ("RW…", 56 characters)
 *     0 sig_alg   2  "Ed"
 *     2 keynum    8  random key id; printed as the little-endian u64 in upper-case hex
 *    10 pk       32  Ed25519 public key
 *
 *   secret key, 158 bytes
 *     0 sig_alg   2  "Ed"
 *     2 kdf_alg   2  "Sc" = keynum..chk XORed with scrypt(password); 00 00 = unencrypted (-W)
 *     4 chk_alg   2  "B2"
 *     6 salt     32  \
 *    38 opslimit  8   > scrypt parameters (little-endian); zero when unencrypted
 *    46 memlimit  8  /
 *    54 keynum    8
 *    62 sk       64  Ed25519 seed (32) || public key (32), libsodium's layout
 *   126 chk      32  BLAKE2b-256(sig_alg || keynum || sk); minisign -G -W leaves it zero
 *
 *   signature, 74 bytes
 *     0 sig_alg   2  "ED" = Ed25519 over BLAKE2b-512(file) (prehashed, minisign's default)
 *                    "Ed" = Ed25519 over the file itself (legacy, -l; signify's)
 *     2 keynum    8
 *    10 sig      64
 *
 *   signature file: four lines, each ending in LF (a CR before it is read too)
 *     untrusted comment: <free text, not signed>
 *     <signature, base64>
 *     trusted comment: <printable UTF-8, TAB allowed>
 *     <global signature, base64: Ed25519(sig || trusted comment)>
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, randomBytes, sign as ed25519Sign, timingSafeEqual, verify as ed25519Verify, type KeyObject } from 'node:crypto'
import type { ErrorCode } from '../lib/error-codes.ts'
import { CodedError } from '../lib/errors.ts'
import { blake2b } from './blake2b.ts'

/** An Ed25519 public key with its minisign key id. */
export type PublicKey = {
  /** The 8 key id bytes as stored. */
  readonly keyNum: Buffer
  /** The key id as minisign prints it: 16 upper-case hex digits. */
  readonly keyId: string
  /** The 32-byte Ed25519 public key. */
  readonly raw: Buffer
  readonly keyObject: KeyObject
}

/** An Ed25519 secret key with its minisign key id and public half. */
export type SecretKey = {
  readonly keyNum: Buffer
  readonly keyId: string
  readonly privateKey: KeyObject
  readonly publicKey: PublicKey
}

/** `prehashed` (ED, minisign's default) or `legacy` (Ed, the file itself is signed). */
export type SignatureAlgorithm = 'prehashed' | 'legacy'

/** A decoded signature file. */
export type Signature = {
  readonly algorithm: SignatureAlgorithm
  readonly keyNum: Buffer
  readonly signature: Buffer
  readonly untrustedComment: string
  readonly trustedComment: string
  readonly globalSignature: Buffer
}

/** What a good signature vouches for. */
export type Verified = { readonly trustedComment: string, readonly keyId: string, readonly algorithm: SignatureAlgorithm }

/** A signature file is four short lines; anything bigger is not one (minisign's own limit is 8 KiB of trusted comment). */
export const MAX_SIGNATURE_FILE_BYTES = 4096
/** Key files: one comment line and one base64 line. */
export const MAX_KEY_FILE_BYTES = 4096
/** Comments we write stay well inside the file limit. */
export const MAX_COMMENT_BYTES = 1024

const UNTRUSTED = 'untrusted comment: '
const TRUSTED = 'trusted comment: '
const ALG_LEGACY = Buffer.from('Ed')
const ALG_PREHASHED = Buffer.from('ED')
const KDF_SCRYPT = Buffer.from('Sc')
const KDF_NONE = Buffer.from([0, 0])
const CHK_BLAKE2B = Buffer.from('B2')
const PUBLIC_KEY_BYTES = 42
const SECRET_KEY_BYTES = 158
const SIGNATURE_BYTES = 74
const BASE64 = /^[A-Za-z0-9+/]+={0,2}$/
/** minisign's is_printable: no C0 control but TAB, no DEL, no C1. */
const UNPRINTABLE = /(?!\t)\p{Cc}/u
const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true })

function fail (code: ErrorCode, message: string): never {
  throw new CodedError(code, message)
}

/** The key id as minisign prints it (`%016" PRIX64` of le64_load(keynum)). */
export function keyIdOf (keyNum: Uint8Array): string {
  return Buffer.from(keyNum).reverse().toString('hex').toUpperCase()
}

/** Exactly `length` bytes of canonical base64, or the error. */
function base64Exact (text: string, length: number, code: ErrorCode, what: string): Buffer {
  const bytes = BASE64.test(text) && text.length % 4 === 0 ? Buffer.from(text, 'base64') : undefined
  if (bytes?.length !== length || bytes.toString('base64') !== text) fail(code, `${what} is not ${length} bytes of base64`)
  return bytes
}

/** Text from bytes or a string: bounded, well-formed UTF-8. */
function boundedText (input: string | Uint8Array, max: number, code: ErrorCode, what: string): string {
  const size = typeof input === 'string' ? Buffer.byteLength(input, 'utf8') : input.byteLength
  if (size > max) fail(code, `${what} is over ${max} bytes`)
  let text: string
  try {
    text = typeof input === 'string' ? input : UTF8.decode(input)
  } catch {
    fail(code, `${what} is not UTF-8`)
  }
  // A JS string may hold lone surrogates, which no file can: they round-trip to U+FFFD.
  if (typeof input === 'string' && Buffer.from(text, 'utf8').toString('utf8') !== text) fail(code, `${what} is not UTF-8`)
  return text
}

/** `count` lines, each ending in LF (CR LF allowed), no CR elsewhere, nothing after. */
function exactLines (text: string, count: number, code: ErrorCode, what: string): string[] {
  if (!text.endsWith('\n')) fail(code, `${what} is truncated (no final line feed)`)
  const lines = text.slice(0, -1).split('\n').map(l => l.endsWith('\r') ? l.slice(0, -1) : l)
  if (lines.length !== count) fail(code, `${what} has ${lines.length} lines, not ${count}`)
  if (lines.some(l => l.includes('\r'))) fail(code, `${what} holds a carriage return inside a line`)
  return lines
}

function afterPrefix (line: string, prefix: string, code: ErrorCode, what: string): string {
  if (!line.startsWith(prefix)) fail(code, `${what} does not start with "${prefix}"`)
  return line.slice(prefix.length)
}

function checkComment (comment: string, trusted: boolean): void {
  const bad = trusted ? UNPRINTABLE.test(comment) : /[\r\n]/.test(comment)
  if (bad || Buffer.byteLength(comment, 'utf8') > MAX_COMMENT_BYTES) {
    fail('ERR_INVALID_ARG_VALUE', `a ${trusted ? 'trusted' : 'untrusted'} comment must be one line of at most ${MAX_COMMENT_BYTES} bytes${trusted ? ' without control characters (TAB allowed)' : ''}`)
  }
}

function publicKeyFromRaw (keyNum: Buffer, raw: Buffer): PublicKey {
  let keyObject: KeyObject
  try {
    keyObject = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') }, format: 'jwk' })
  } catch {
    fail('ERR_SIGNING_KEY_MALFORMED', 'not an Ed25519 public key')
  }
  return { keyNum, keyId: keyIdOf(keyNum), raw, keyObject }
}

/** A new key pair with a random key id, as `minisign -G` makes. */
export function generateSecretKey (): SecretKey {
  const { privateKey } = generateKeyPairSync('ed25519')
  return secretKeyFrom(randomBytes(8), privateKey)
}

function secretKeyFrom (keyNum: Buffer, privateKey: KeyObject): SecretKey {
  const x = createPublicKey(privateKey).export({ format: 'jwk' }).x
  return { keyNum, keyId: keyIdOf(keyNum), privateKey, publicKey: publicKeyFromRaw(keyNum, Buffer.from(x ?? '', 'base64url')) }
}

/** The `RW…` string: base64 of "Ed" || key id || public key (fits a kernel command line). */
export function encodePublicKeyString (key: PublicKey): string {
  return Buffer.concat([ALG_LEGACY, key.keyNum, key.raw]).toString('base64')
}

/** A public key file as minisign writes it (comment line, key line). */
export function encodePublicKey (key: PublicKey, comment = `minisign public key ${key.keyId}`): string {
  checkComment(comment, false)
  return `${UNTRUSTED}${comment}\n${encodePublicKeyString(key)}\n`
}

/** A bare `RW…` string, or a public key file (comment line, key line, optional final LF). */
export function decodePublicKey (input: string | Uint8Array): PublicKey {
  const code = 'ERR_SIGNING_KEY_MALFORMED'
  const text = boundedText(input, MAX_KEY_FILE_BYTES, code, 'the public key')
  let line = text.trim()
  if (line.includes('\n')) {
    const [comment = '', key = ''] = exactLines(text.endsWith('\n') ? text : text + '\n', 2, code, 'the public key file')
    afterPrefix(comment, UNTRUSTED, code, 'the public key file')
    line = key.trim()
  }
  const bytes = base64Exact(line, PUBLIC_KEY_BYTES, code, 'the public key')
  if (!bytes.subarray(0, 2).equals(ALG_LEGACY)) fail(code, 'the public key is not an Ed25519 minisign key')
  return publicKeyFromRaw(bytes.subarray(2, 10), bytes.subarray(10, 42))
}

/** An unencrypted secret key file (kdf_alg 00 00, as `minisign -G -W` writes), with its checksum filled in. */
export function encodeSecretKey (key: SecretKey, comment = 'minisign secret key (unencrypted)'): string {
  checkComment(comment, false)
  const seed = Buffer.from(key.privateKey.export({ format: 'jwk' }).d ?? '', 'base64url')
  const sk = Buffer.concat([seed, key.publicKey.raw])
  const chk = blake2b(Buffer.concat([ALG_LEGACY, key.keyNum, sk]), 32)
  const bytes = Buffer.concat([ALG_LEGACY, KDF_NONE, CHK_BLAKE2B, Buffer.alloc(48), key.keyNum, sk, chk])
  const text = `${UNTRUSTED}${comment}\n${bytes.toString('base64')}\n`
  for (const b of [seed, sk, bytes]) b.fill(0)
  return text
}

/** An unencrypted minisign secret key file. An encrypted one is ERR_SIGNING_KEY_ENCRYPTED. */
export function decodeSecretKey (input: string | Uint8Array): SecretKey {
  const code = 'ERR_SIGNING_KEY_MALFORMED'
  const text = boundedText(input, MAX_KEY_FILE_BYTES, code, 'the secret key file')
  const [comment = '', line = ''] = exactLines(text.endsWith('\n') ? text : text + '\n', 2, code, 'the secret key file')
  afterPrefix(comment, UNTRUSTED, code, 'the secret key file')
  const bytes = base64Exact(line.trim(), SECRET_KEY_BYTES, code, 'the secret key')
  if (!bytes.subarray(0, 2).equals(ALG_LEGACY)) fail(code, 'the secret key is not an Ed25519 minisign key')
  if (!bytes.subarray(4, 6).equals(CHK_BLAKE2B)) fail(code, 'the secret key names an unknown checksum function')
  const kdf = bytes.subarray(2, 4)
  if (kdf.equals(KDF_SCRYPT)) {
    fail('ERR_SIGNING_KEY_ENCRYPTED', 'this minisign secret key is protected by a password, and Anvil reads unencrypted keys only: on the machine that keeps it, remove the password with `minisign -C -W -s FILE` (or make the key with `minisign -G -W`)')
  }
  if (!kdf.equals(KDF_NONE)) fail(code, 'the secret key names an unknown key derivation function')
  const keyNum = bytes.subarray(54, 62)
  const sk = bytes.subarray(62, 126)
  const chk = bytes.subarray(126, 158)
  if (chk.some(b => b !== 0) && !timingSafeEqual(chk, blake2b(Buffer.concat([ALG_LEGACY, keyNum, sk]), 32))) {
    fail(code, 'the secret key\'s checksum does not match: the file is damaged')
  }
  let privateKey: KeyObject
  try {
    privateKey = createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d: sk.subarray(0, 32).toString('base64url'), x: sk.subarray(32).toString('base64url') }, format: 'jwk' })
  } catch {
    fail(code, 'the secret key is not an Ed25519 key')
  }
  const key = secretKeyFrom(Buffer.from(keyNum), privateKey)
  const halvesMatch = timingSafeEqual(key.publicKey.raw, sk.subarray(32))
  bytes.fill(0) // the seed lives on in the KeyObject only
  if (!halvesMatch) fail(code, 'the secret key\'s public half does not match its seed: the file is damaged')
  return key
}

/** Decodes a signature file strictly; any deviation (a truncation included) is ERR_SIGNATURE_MALFORMED. */
export function decodeSignature (input: string | Uint8Array): Signature {
  const code = 'ERR_SIGNATURE_MALFORMED'
  const text = boundedText(input, MAX_SIGNATURE_FILE_BYTES, code, 'the signature file')
  const [l0 = '', l1 = '', l2 = '', l3 = ''] = exactLines(text, 4, code, 'the signature file')
  const untrustedComment = afterPrefix(l0, UNTRUSTED, code, 'the signature file\'s first line')
  const sig = base64Exact(l1, SIGNATURE_BYTES, code, 'the signature')
  const alg = sig.subarray(0, 2)
  const algorithm = alg.equals(ALG_PREHASHED) ? 'prehashed' : alg.equals(ALG_LEGACY) ? 'legacy' : fail(code, 'the signature names an unknown algorithm')
  const trustedComment = afterPrefix(l2, TRUSTED, code, 'the signature file\'s third line')
  if (UNPRINTABLE.test(trustedComment)) fail(code, 'the trusted comment holds control characters')
  const globalSignature = base64Exact(l3, 64, code, 'the global signature')
  return { algorithm, keyNum: sig.subarray(2, 10), signature: sig.subarray(10, 74), untrustedComment, trustedComment, globalSignature }
}

/** The signature file's text. */
export function encodeSignature (s: Signature): string {
  checkComment(s.untrustedComment, false)
  checkComment(s.trustedComment, true)
  const alg = s.algorithm === 'prehashed' ? ALG_PREHASHED : ALG_LEGACY
  return [`${UNTRUSTED}${s.untrustedComment}`, Buffer.concat([alg, s.keyNum, s.signature]).toString('base64'),
    `${TRUSTED}${s.trustedComment}`, s.globalSignature.toString('base64')].join('\n') + '\n'
}

/** What Ed25519 signs: the bytes themselves (legacy), or their BLAKE2b-512. */
function signedMessage (bytes: Uint8Array, algorithm: SignatureAlgorithm): Uint8Array {
  return algorithm === 'legacy' ? bytes : createHash('blake2b512').update(bytes).digest()
}

export type SignOptions = { readonly legacy?: boolean, readonly untrustedComment?: string }

/** Signs `bytes` as `minisign -S -t trustedComment` does (prehashed unless `legacy`); returns the signature file. */
export function sign (bytes: Uint8Array, key: SecretKey, trustedComment: string, options: SignOptions = {}): string {
  checkComment(trustedComment, true)
  const algorithm: SignatureAlgorithm = options.legacy === true ? 'legacy' : 'prehashed'
  const signature = ed25519Sign(null, signedMessage(bytes, algorithm), key.privateKey)
  const globalSignature = ed25519Sign(null, Buffer.concat([signature, Buffer.from(trustedComment, 'utf8')]), key.privateKey)
  const untrustedComment = options.untrustedComment ?? `signature from Anvil, key ${key.keyId}`
  return encodeSignature({ algorithm, keyNum: key.keyNum, signature, untrustedComment, trustedComment, globalSignature })
}

/**
 * `prehashedOnly` (minisign -V -H) refuses legacy signatures. Anvil's own formats set it: a
 * prehashed signature of file F is also a valid legacy signature of the 64-byte file
 * BLAKE2b-512(F), with the same trusted comment, since the global signature does not cover the
 * algorithm bytes.
 */
export type VerifyOptions = { readonly prehashedOnly?: boolean }

/** Checks a decoded signature with the key it names: the file, then the trusted comment (minisign's order). */
function check (bytes: Uint8Array, s: Signature, key: PublicKey, options: VerifyOptions): Verified {
  if (options.prehashedOnly === true && s.algorithm !== 'prehashed') {
    fail('ERR_SIGNATURE_INVALID', 'the signature is in minisign\'s legacy format (minisign -S -l), which is refused here: sign without -l')
  }
  if (!ed25519Verify(null, signedMessage(bytes, s.algorithm), key.keyObject, s.signature)) {
    fail('ERR_SIGNATURE_INVALID', `the signature by key ${key.keyId} does not match the file`)
  }
  if (!ed25519Verify(null, Buffer.concat([s.signature, Buffer.from(s.trustedComment, 'utf8')]), key.keyObject, s.globalSignature)) {
    fail('ERR_SIGNATURE_COMMENT_INVALID', `the trusted comment is not the one key ${key.keyId} signed: it was edited`)
  }
  return { trustedComment: s.trustedComment, keyId: key.keyId, algorithm: s.algorithm }
}

/** Verifies `bytes` against a signature file and one public key (both algorithms unless prehashedOnly), as `minisign -V [-H]` does. */
export function verify (bytes: Uint8Array, signatureFile: string | Uint8Array, key: PublicKey, options: VerifyOptions = {}): Verified {
  const s = decodeSignature(signatureFile)
  if (!timingSafeEqual(s.keyNum, key.keyNum)) {
    throw new CodedError('ERR_SIGNATURE_KEY_MISMATCH', `the signature is by key ${keyIdOf(s.keyNum)}, not by key ${key.keyId}`, { signatureKeyId: keyIdOf(s.keyNum), keyId: key.keyId })
  }
  return check(bytes, s, key, options)
}

/** Verifies with whichever trusted key the signature names; none of them is ERR_SIGNATURE_KEY_MISMATCH. */
export function verifyWithAny (bytes: Uint8Array, signatureFile: string | Uint8Array, keys: readonly PublicKey[], options: VerifyOptions = {}): Verified & { readonly publicKey: PublicKey } {
  const s = decodeSignature(signatureFile)
  // Every key is compared (no early exit), so the time taken does not say which one matched.
  let found: PublicKey | undefined
  for (const key of keys) if (timingSafeEqual(s.keyNum, key.keyNum) && found === undefined) found = key
  if (found === undefined) {
    const trusted = keys.map(k => k.keyId)
    throw new CodedError('ERR_SIGNATURE_KEY_MISMATCH', `the signature is by key ${keyIdOf(s.keyNum)}, which is not trusted here (trusted: ${trusted.join(', ') || 'none'})`, { signatureKeyId: keyIdOf(s.keyNum), trusted })
  }
  return { ...check(bytes, s, found, options), publicKey: found }
}
