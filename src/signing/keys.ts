/**
 * Anvil's two signing keys in the data dir, made at first start:
 *
 *   image.key  image.pub    signs image manifests (may be kept offline: see below)
 *   config.key config.pub   signs machine configs (always online: the server signs per machine)
 *
 * File formats are minisign's (minisign.ts), so an operator can use either tool on them:
 * `*.key` is an unencrypted minisign secret key (as `minisign -G -W` writes, with its BLAKE2b
 * checksum filled in), mode 0600; `*.pub` is a minisign public key file, mode 0644.
 *
 * Lifecycle:
 * - neither file: a key pair is made. The secret key is written to a temporary file with mode
 *   0600, fsynced, then hard-linked into place, which fails if another process got there first
 *   (that one's key is then loaded); then the public key file.
 * - a key file: loaded; a key file others may read is tightened to 0600 and reported
 *   (`tightened`) so the caller logs it (the key may have leaked). A missing public key file is
 *   rewritten; one that is not the key's public half is an error.
 * - image.pub without image.key: the operator keeps the image key offline (signing with
 *   `anvil images sign --key FILE`); the public key is returned alone. config.pub without
 *   config.key is an error: nodes trust that key, so a new one is never made silently.
 * - a key file that does not decode is an error, never replaced.
 */
import { chmod, mkdir, open, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { createFileExclusive, writeFileAtomically } from '../storage/atomic-file.ts'
import { decodePublicKey, decodeSecretKey, encodePublicKey, encodePublicKeyString, encodeSecretKey, generateSecretKey, MAX_KEY_FILE_BYTES, type PublicKey, type SecretKey } from './minisign.ts'

export type SigningKeyName = 'image' | 'config'

/** One key of the data dir. */
export type SigningKey = {
  readonly name: SigningKeyName
  readonly keyFile: string
  readonly publicKeyFile: string
  readonly keyId: string
  readonly publicKey: PublicKey
  /** Absent only for an image key kept offline (image.pub alone in the data dir). */
  readonly secretKey: SecretKey | undefined
  /** What this start did, for the start-up log line. */
  readonly origin: 'created' | 'loaded' | 'public-only'
  /** The key file was readable by group or others and has been set to 0600: log it, the key may have leaked. */
  readonly tightened: boolean
}

/** Both keys; the config key always has its secret half. */
export type SigningKeys = { readonly image: SigningKey, readonly config: SigningKey & { readonly secretKey: SecretKey } }

/** The two file names of a key in the data dir. */
export function signingKeyFiles (dataDir: string, name: SigningKeyName): { keyFile: string, publicKeyFile: string } {
  return { keyFile: join(dataDir, `${name}.key`), publicKeyFile: join(dataDir, `${name}.pub`) }
}

/** Loads or makes image.key/.pub and config.key/.pub in dataDir (see the module comment). */
export async function ensureSigningKeys (dataDir: string): Promise<SigningKeys> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const image = await ensureKey(dataDir, 'image')
  const config = await ensureKey(dataDir, 'config')
  const secretKey = config.secretKey
  if (secretKey === undefined) throw new Error('unreachable: the config key is made when missing')
  return { image, config: { ...config, secretKey } }
}

async function ensureKey (dataDir: string, name: SigningKeyName): Promise<SigningKey> {
  const base = { name, ...signingKeyFiles(dataDir, name) }
  const text = await readBounded(base.keyFile)
  if (text !== undefined) return await loadExisting(base, text)
  const pub = await readBounded(base.publicKeyFile)
  if (pub !== undefined) return publicOnly(base, pub)
  const made = generateSecretKey()
  if (await createFileExclusive(base.keyFile, encodeSecretKey(made, `anvil ${name} secret key (unencrypted minisign format)`), 0o600)) {
    return await withPublicFile(base, made, 'created', false)
  }
  // Another process made the key between our read and our link: use its key.
  const theirs = await readBounded(base.keyFile)
  if (theirs === undefined) throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `${base.keyFile} vanished while being created`)
  return await loadExisting(base, theirs)
}

type KeyBase = Pick<SigningKey, 'name' | 'keyFile' | 'publicKeyFile'>

async function loadExisting (base: KeyBase, text: string): Promise<SigningKey> {
  const secretKey = withFile(base.keyFile, () => decodeSecretKey(text), 'it is never replaced: restore it from a backup')
  let tightened = false
  if (((await stat(base.keyFile)).mode & 0o077) !== 0) {
    await chmod(base.keyFile, 0o600)
    tightened = true
  }
  return await withPublicFile(base, secretKey, 'loaded', tightened)
}

/** A public key without its secret key: an offline image key, or a lost config key (an error). */
function publicOnly (base: KeyBase, text: string): SigningKey {
  if (base.name === 'config') {
    throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `${base.publicKeyFile} exists but ${base.keyFile} does not: restore ${base.keyFile} from a backup; only if it is lost, remove ${base.publicKeyFile} to have a new pair made (nodes that trust the old key then refuse new configs until reinstalled)`)
  }
  const publicKey = withFile(base.publicKeyFile, () => decodePublicKey(text))
  return { ...base, keyId: publicKey.keyId, publicKey, secretKey: undefined, origin: 'public-only', tightened: false }
}

/** Writes the public key file when missing; refuses one that is not this key's. */
async function withPublicFile (base: KeyBase, secretKey: SecretKey, origin: SigningKey['origin'], tightened: boolean): Promise<SigningKey> {
  const publicKey = secretKey.publicKey
  const existing = await readBounded(base.publicKeyFile)
  if (existing === undefined) {
    await writeFileAtomically(base.publicKeyFile, encodePublicKey(publicKey, `anvil ${base.name} public key ${publicKey.keyId}`), 0o644)
  } else if (!samePublicKey(withFile(base.publicKeyFile, () => decodePublicKey(existing)), publicKey)) {
    throw new CodedError('ERR_SIGNING_KEY_MALFORMED', `${base.publicKeyFile} is not the public half of ${base.keyFile}: remove ${base.publicKeyFile} to have it rewritten${base.name === 'image' ? `, or remove ${base.keyFile} to keep the image key offline` : ''}`)
  }
  return { ...base, keyId: publicKey.keyId, publicKey, secretKey, origin, tightened }
}

const samePublicKey = (a: PublicKey, b: PublicKey): boolean => a.raw.equals(b.raw) && a.keyNum.equals(b.keyNum)

/** Reads a minisign secret key file (unencrypted), such as an operator's offline image key. */
export async function loadSecretKey (file: string): Promise<SecretKey> {
  const text = await readBounded(file)
  if (text === undefined) throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `cannot read secret key ${file}: no such file`)
  return withFile(file, () => decodeSecretKey(text))
}

/** Reads a minisign public key file. */
export async function loadPublicKey (file: string): Promise<PublicKey> {
  const text = await readBounded(file)
  if (text === undefined) throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `cannot read public key ${file}: no such file`)
  return withFile(file, () => decodePublicKey(text))
}

/** The `RW…` form of a key (what `anvil keys show` prints and nodes get baked in). */
export function publicKeyString (key: PublicKey | SecretKey): string {
  return encodePublicKeyString('publicKey' in key ? key.publicKey : key)
}

/** Runs a decoder, naming the file in its error (same code). */
function withFile<T> (file: string, decode: () => T, advice?: string): T {
  try {
    return decode()
  } catch (err) {
    if (!isCodedError(err)) throw err
    throw new CodedError(err.code, `${file}: ${err.message}${advice === undefined ? '' : ` (${advice})`}`, err.details, { cause: err })
  }
}

/** The file's text, undefined when it does not exist; a file over MAX_KEY_FILE_BYTES is not a key. */
async function readBounded (file: string): Promise<string | undefined> {
  let handle
  try {
    handle = await open(file, 'r')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `cannot read ${file}: ${(err as Error).message}`)
  }
  try {
    const info = await handle.stat()
    if (!info.isFile()) throw new CodedError('ERR_SIGNING_KEY_UNREADABLE', `cannot read ${file}: not a regular file`)
    if (info.size > MAX_KEY_FILE_BYTES) throw new CodedError('ERR_SIGNING_KEY_MALFORMED', `${file} is over ${MAX_KEY_FILE_BYTES} bytes: not a key file`)
    return (await handle.readFile()).toString('utf8')
  } finally {
    await handle.close()
  }
}
