import { readFile, writeFile } from 'node:fs/promises'
import type { Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { loadSecretKey, publicKeyString } from '../signing/keys.ts'
import { signManifest, verifyManifest, type ImageLabel } from '../signing/manifest-signature.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderFields } from './output.ts'

/** A manifest is a few KiB of JSON; anything this big is an image given by mistake. */
const MAX_MANIFEST_BYTES = 16 * 1024 * 1024

/** The name and version the trusted comment repeats, read from the manifest itself so the two cannot disagree. */
function manifestLabel (bytes: Buffer, file: string): ImageLabel {
  let value: unknown
  try {
    value = JSON.parse(bytes.toString('utf8'))
  } catch {
    throw new CodedError('ERR_USAGE', `${file} is not JSON: sign the image's manifest.json`)
  }
  const { name, version } = (typeof value === 'object' && value !== null ? value : {}) as { name?: unknown, version?: unknown }
  if (typeof name !== 'string' || typeof version !== 'string') throw new CodedError('ERR_USAGE', `${file} has no string "name" and "version": is it an image manifest?`)
  return { name, version }
}

async function readManifest (file: string): Promise<Buffer> {
  let bytes: Buffer
  try {
    bytes = await readFile(file)
  } catch (err) {
    throw new CodedError('ERR_USAGE', `cannot read ${file}: ${(err as Error).message}`)
  }
  if (bytes.length > MAX_MANIFEST_BYTES) throw new CodedError('ERR_USAGE', `${file} is over 16 MiB: sign the image's manifest, not the image`)
  return bytes
}

/** `anvil images sign --key FILE MANIFEST [--out SIG]`: sign with an image key kept offline. */
export function registerImagesCommand (program: Command, ctx: CliContext): void {
  const images = program.command('images').alias('image').description('node OS images')

  images.command('sign').description('sign an image manifest with an image key kept offline (writes MANIFEST.minisig); no server needed')
    .requiredOption('--key <file>', 'unencrypted minisign secret key (minisign -G -W, or a server\'s image.key)')
    .option('--out <file>', 'signature file (default: MANIFEST.minisig)')
    .argument('<manifest>', 'the image\'s manifest.json')
    .action(async (manifest: string, opts: { key: string, out?: string }) => {
      const key = await loadSecretKey(opts.key)
      const bytes = await readManifest(manifest)
      const label = manifestLabel(bytes, manifest)
      const signature = signManifest(bytes, key, label)
      // As minisign does: never write a signature that its own public key would refuse.
      verifyManifest(bytes, signature, [key.publicKey])
      const out = opts.out ?? `${manifest}.minisig`
      await writeFile(out, signature)
      const result = { manifest, signature: out, name: label.name, version: label.version, keyId: key.keyId, publicKey: publicKeyString(key) }
      const format = ctx.output()
      ctx.print(format === 'table' ? renderFields(Object.entries(result)) : renderData(result, format))
    })
}
