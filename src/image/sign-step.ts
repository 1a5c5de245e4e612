/**
 * The last step of `npm run build:image`: signs boot-assets/images/anvil-node-<version>.manifest.json
 * into anvil-node-<version>.minisig (minisign Ed25519 over the manifest's exact bytes, trusted
 * comment `anvil image <name> <version>`).
 *
 * The key: ANVIL_IMAGE_KEY (an unencrypted minisign secret key file, e.g. an offline release key),
 * else the image key of the local server's data directory (ANVIL_DATA_DIR, default ./var; made
 * there at first use, as `anvil serve` would), so `npm run build:image` then
 * `anvil images import` works against a local server out of the box. An existing signature that
 * still verifies with that key is kept, so an unchanged build changes nothing.
 */
import { readFile, rename, writeFile } from 'node:fs/promises'
import { join, resolve } from 'node:path'
import { decodeManifest } from './manifest.ts'
import { ensureSigningKeys, loadSecretKey } from '../signing/keys.ts'
import { signManifest, verifyManifest } from '../signing/manifest-signature.ts'
import type { SecretKey } from '../signing/minisign.ts'

const repo = resolve(import.meta.dirname, '../..')

async function imageKey (): Promise<{ key: SecretKey, from: string }> {
  const file = process.env.ANVIL_IMAGE_KEY
  if (file !== undefined && file !== '') return { key: await loadSecretKey(file), from: file }
  const dataDir = resolve(process.env.ANVIL_DATA_DIR ?? join(repo, 'var'))
  const keys = await ensureSigningKeys(dataDir)
  if (keys.image.secretKey === undefined) throw new Error(`${dataDir} holds only the image key's public half (kept offline): set ANVIL_IMAGE_KEY to the secret key file`)
  return { key: keys.image.secretKey, from: join(dataDir, 'image.key') }
}

async function main (): Promise<void> {
  // ANVIL_IMAGE_VERSION as build-image.sh takes it: another version of the same build.
  const version = process.env.ANVIL_IMAGE_VERSION ?? (JSON.parse(await readFile(join(repo, 'package.json'), 'utf8')) as { version: string }).version
  const dir = resolve(process.env.ANVIL_IMAGE_OUT ?? join(repo, 'boot-assets', 'images'))
  const manifestFile = join(dir, `anvil-node-${version}.manifest.json`)
  const signatureFile = join(dir, `anvil-node-${version}.minisig`)
  const bytes = await readFile(manifestFile)
  const manifest = decodeManifest(bytes)
  const { key, from } = await imageKey()
  try {
    verifyManifest(bytes, await readFile(signatureFile, 'utf8'), [key.publicKey])
    process.stdout.write(`sign-step: ${signatureFile} already verifies with key ${key.keyId}\n`)
    return
  } catch {
    // Missing, stale (another build) or by another key: sign anew.
  }
  const signature = signManifest(bytes, key, { name: manifest.name, version: manifest.version })
  verifyManifest(bytes, signature, [key.publicKey])
  await writeFile(`${signatureFile}.tmp`, signature, { mode: 0o644 })
  await rename(`${signatureFile}.tmp`, signatureFile)
  process.stdout.write(`sign-step: signed ${manifestFile} with key ${key.keyId} (${from}) → ${signatureFile}\n`)
}

main().catch((err: unknown) => {
  process.stderr.write(`sign-step: ${err instanceof Error ? err.message : String(err)}\n`)
  process.exit(1)
})
