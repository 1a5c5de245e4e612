import { createHash, randomBytes } from 'node:crypto'
import { createWriteStream } from 'node:fs'
import { mkdir, open, rename, rm, stat } from 'node:fs/promises'
import { join } from 'node:path'
import type { Readable } from 'node:stream'
import { pipeline } from 'node:stream/promises'
import { Transform } from 'node:stream'
import { CodedError } from '../lib/errors.ts'
import type { Clock } from '../inventory/ports.ts'
import { decodeManifest, type ImageManifest } from '../image/manifest.ts'
import type { PublicKey } from '../signing/minisign.ts'
import { verifyManifest } from '../signing/manifest-signature.ts'
import type { ImageStore, StoredImage } from './ports.ts'

export type ImageServiceOptions = {
  readonly store: ImageStore
  /** Where artifacts live (<dataDir>/images); created 0700. */
  readonly dir: string
  /** The image keys whose signatures Anvil accepts (its own image.pub and any configured). */
  readonly trustedKeys: () => readonly PublicKey[]
  readonly clock: Clock
}

/** An image as the API shows it: the catalogue row without the bulky bytes, with the parsed manifest. */
export type ImageView = Omit<StoredImage, 'manifest' | 'signature'> & { readonly manifest: ImageManifest }

/** A ready image as a node verifies it: the manifest's exact bytes (UTF-8) and their minisign signature. */
export type ImageRelease = { readonly name: string, readonly version: string, readonly manifest: string, readonly signature: string }

const MAX_MANIFEST_BYTES = 1024 * 1024
const NAME = /^[a-z0-9][a-z0-9-]{0,62}$/

/**
 * The image catalogue. Importing is two steps: the signed manifest (verified against the trusted
 * image keys before anything is stored), then its artifact, streamed to a temporary file while it
 * is hashed and kept only when its size and SHA-256 are the manifest's. Images are never modified
 * in place: a name and version is imported once.
 */
export class ImageService {
  readonly #o: ImageServiceOptions

  constructor (options: ImageServiceOptions) {
    this.#o = options
  }

  /** Verifies and records a manifest; the image is `pending` until its artifact is uploaded. */
  async importManifest (manifestBytes: Buffer, signature: string): Promise<ImageView> {
    if (manifestBytes.length > MAX_MANIFEST_BYTES) throw new CodedError('ERR_VALIDATION', 'an image manifest over 1 MiB is not one')
    const verified = verifyManifest(manifestBytes, signature, this.#o.trustedKeys())
    const manifest = decodeManifest(manifestBytes)
    if (manifest.name !== verified.name || manifest.version !== verified.version) {
      throw new CodedError('ERR_SIGNATURE_COMMENT_UNEXPECTED', `the signature names ${verified.name}:${verified.version} but the manifest is ${manifest.name}:${manifest.version}`)
    }
    const image: StoredImage = {
      name: manifest.name,
      version: manifest.version,
      manifest: manifestBytes.toString('utf8'),
      signature,
      keyId: verified.keyId,
      state: 'pending',
      file: `${manifest.name}-${manifest.version}.raw.zst`,
      compressedSize: manifest.artifact.compressedSize,
      size: manifest.artifact.size,
      importedAt: this.#o.clock.now(),
      readyAt: null
    }
    await this.#o.store.insert(image)
    return view(image)
  }

  /**
   * Streams the artifact of a pending image into place. A body of the wrong size or hash is
   * refused and nothing is kept; a second upload of a ready image is ERR_IMAGE_EXISTS.
   */
  async uploadArtifact (name: string, version: string, body: Readable): Promise<ImageView> {
    const image = await this.#get(name, version)
    if (image.state === 'ready') throw new CodedError('ERR_IMAGE_EXISTS', `image ${name}:${version} already has its artifact`, { name, version })
    const manifest = decodeManifest(Buffer.from(image.manifest, 'utf8'))
    await mkdir(this.#o.dir, { recursive: true, mode: 0o700 })
    const tmp = join(this.#o.dir, `.upload-${randomBytes(8).toString('hex')}`)
    const hash = createHash('sha256')
    let bytes = 0
    const limit = manifest.artifact.compressedSize
    const meter = new Transform({
      transform (chunk: Buffer, _enc, done) {
        bytes += chunk.length
        if (bytes > limit) { done(new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the artifact is larger than the manifest's ${limit} bytes`)); return }
        hash.update(chunk)
        done(null, chunk)
      }
    })
    try {
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }))
      if (bytes !== limit) throw new CodedError('ERR_IMAGE_SIZE_MISMATCH', `the artifact is ${bytes} bytes, the manifest says ${limit}`)
      const digest = hash.digest('hex')
      if (digest !== manifest.artifact.compressedSha256) throw new CodedError('ERR_IMAGE_HASH_MISMATCH', `the artifact's SHA-256 is ${digest}, the manifest says ${manifest.artifact.compressedSha256}`)
      const fh = await open(tmp, 'r')
      try { await fh.sync() } finally { await fh.close() }
      await rename(tmp, join(this.#o.dir, image.file))
    } catch (err) {
      await rm(tmp, { force: true })
      throw err
    }
    const at = this.#o.clock.now()
    await this.#o.store.markReady(name, version, at)
    return view({ ...image, state: 'ready', readyAt: at })
  }

  /** `name` (its newest ready version, or newest of all when none is ready) or `name:version`. */
  async resolve (ref: string): Promise<ImageView> {
    return view(await this.#resolve(ref))
  }

  /**
   * What a node needs to upgrade itself to `ref` (a ready image): the manifest's exact bytes and
   * their signature, which the node verifies with its own baked keys; the artifact URL is the
   * caller's to add (the boot listener's address).
   */
  async release (ref: string): Promise<ImageRelease> {
    const image = await this.#resolve(ref)
    if (image.state !== 'ready') throw new CodedError('ERR_IMAGE_NOT_READY', `image ${image.name}:${image.version} has no artifact yet`, { name: image.name, version: image.version })
    return { name: image.name, version: image.version, manifest: image.manifest, signature: image.signature }
  }

  async list (name?: string): Promise<ImageView[]> {
    return (await this.#o.store.list(name)).map(view)
  }

  /** The artifact's path and size, for the boot HTTP listener to serve (ready images only). */
  async artifactFile (name: string, version: string): Promise<{ path: string, size: number, mtimeMs: number }> {
    const image = await this.#get(name, version)
    if (image.state !== 'ready') throw new CodedError('ERR_IMAGE_NOT_READY', `image ${name}:${version} has no artifact yet`, { name, version })
    const path = join(this.#o.dir, image.file)
    const st = await stat(path)
    return { path, size: st.size, mtimeMs: st.mtimeMs }
  }

  async #resolve (ref: string): Promise<StoredImage> {
    const i = ref.indexOf(':')
    const name = i < 0 ? ref : ref.slice(0, i)
    if (!NAME.test(name)) throw new CodedError('ERR_VALIDATION', `not an image name: ${JSON.stringify(name)}`)
    if (i >= 0) return await this.#get(name, ref.slice(i + 1))
    const all = await this.#o.store.list(name)
    const pick = all.find(x => x.state === 'ready') ?? all[0]
    if (pick === undefined) throw new CodedError('ERR_IMAGE_NOT_FOUND', `no image ${name}`, { name })
    return pick
  }

  async #get (name: string, version: string): Promise<StoredImage> {
    const image = await this.#o.store.get(name, version)
    if (image === undefined) throw new CodedError('ERR_IMAGE_NOT_FOUND', `no image ${name}:${version}`, { name, version })
    return image
  }
}

function view (image: StoredImage): ImageView {
  const { manifest, signature: _signature, ...rest } = image
  return { ...rest, manifest: decodeManifest(Buffer.from(manifest, 'utf8')) }
}
