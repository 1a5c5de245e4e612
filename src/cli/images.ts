import { createReadStream, existsSync } from 'node:fs'
import { readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { Readable } from 'node:stream'
import type { Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { loadSecretKey, publicKeyString } from '../signing/keys.ts'
import { signManifest, verifyManifest, type ImageLabel } from '../signing/manifest-signature.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderFields, renderTable } from './output.ts'
import type { ImageJson } from '../http/api-types.ts'
import { humanBytes } from '../provisioning/hardware-summary.ts'

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

/** The signature beside a manifest: `NAME.minisig` for `NAME.manifest.json` (the build's names), else `MANIFEST.minisig`. */
function signatureBeside (manifest: string): string {
  const built = manifest.replace(/\.manifest\.json$/, '.minisig')
  return built !== manifest && existsSync(built) ? built : `${manifest}.minisig`
}

function imageTable (items: readonly ImageJson[]): string {
  return renderTable(items, [
    { header: 'NAME', get: i => i.name },
    { header: 'VERSION', get: i => i.version },
    { header: 'STATE', get: i => i.state },
    { header: 'SIZE', get: i => humanBytes(i.size) },
    { header: 'COMPRESSED', get: i => humanBytes(i.compressedSize) },
    { header: 'KEY', get: i => i.keyId },
    { header: 'IMPORTED', get: i => i.importedAt }
  ])
}

/** `anvil images import|list|show|sign`. */
export function registerImagesCommand (program: Command, ctx: CliContext): void {
  const images = program.command('images').alias('image').description('node OS images')

  images.command('import').description('import a signed image: its manifest and signature are verified by the server, then its artifact is uploaded and checked')
    .argument('<manifest>', 'the image\'s manifest.json (its signature and artifact beside it)')
    .option('--signature <file>', 'the signature (default: NAME.minisig beside NAME.manifest.json)')
    .action(async (manifest: string, opts: { signature?: string }) => {
      const bytes = await readManifest(manifest)
      const sigFile = opts.signature ?? signatureBeside(manifest)
      let signature: string
      try {
        signature = await readFile(sigFile, 'utf8')
      } catch (err) {
        throw new CodedError('ERR_USAGE', `cannot read the signature ${sigFile}: ${(err as Error).message} (sign with \`anvil images sign\`, or pass --signature)`)
      }
      const client = ctx.client()
      const created = await client.post<ImageJson & { upload: string }>('/api/v1/images', { manifest: bytes.toString('utf8'), signature })
      const artifact = join(dirname(manifest), created.manifest.artifact.file)
      const ready = await client.putStream<ImageJson>(created.upload, Readable.toWeb(createReadStream(artifact)) as ReadableStream<Uint8Array>)
      const format = ctx.output()
      ctx.print(format === 'table' ? `imported ${ready.name}:${ready.version} (${humanBytes(ready.size)}, signed by ${ready.keyId}): ${ready.state}\n` : renderData(ready, format))
    })

  images.command('list').description('every imported image and version')
    .action(async () => {
      const { items } = await ctx.client().get<{ items: ImageJson[] }>('/api/v1/images')
      const format = ctx.output()
      ctx.print(format === 'table' ? imageTable(items) : renderData(items, format))
    })

  images.command('show').description('one image: NAME (its newest) or NAME:VERSION, with its manifest')
    .argument('<ref>')
    .action(async (ref: string) => {
      const i = await ctx.client().get<ImageJson>(`/api/v1/images/${encodeURIComponent(ref)}`)
      const format = ctx.output()
      if (format !== 'table') { ctx.print(renderData(i, format)); return }
      ctx.print(renderFields([
        ['image', `${i.name}:${i.version}`], ['state', i.state], ['signed by', i.keyId], ['arch', i.manifest.arch],
        ['security version', i.manifest.securityVersion], ['size', `${humanBytes(i.size)} (${humanBytes(i.compressedSize)} compressed)`],
        ['sha256', i.manifest.artifact.sha256], ['chunks', `${i.manifest.artifact.chunks.length} of ${humanBytes(i.manifest.artifact.chunkSize)}`],
        ['partitions', i.manifest.layout.partitions.map(p => p.name).join(' ')], ['slots', `A ${i.manifest.slots.A}, B ${i.manifest.slots.B}`],
        ['imported', i.importedAt]
      ]))
    })

  images.command('sign').description('sign an image manifest with an image key kept offline (writes MANIFEST.minisig); no server needed')
    .requiredOption('--key <file>', 'unencrypted minisign secret key (minisign -G -W, or a server\'s image.key)')
    .option('--out <file>', 'signature file (default: NAME.minisig for NAME.manifest.json, else MANIFEST.minisig)')
    .argument('<manifest>', 'the image\'s manifest.json')
    .action(async (manifest: string, opts: { key: string, out?: string }) => {
      const key = await loadSecretKey(opts.key)
      const bytes = await readManifest(manifest)
      const label = manifestLabel(bytes, manifest)
      const signature = signManifest(bytes, key, label)
      // As minisign does: never write a signature that its own public key would refuse.
      verifyManifest(bytes, signature, [key.publicKey])
      // The build's naming (NAME.manifest.json → NAME.minisig), else MANIFEST.minisig.
      const out = opts.out ?? (manifest.endsWith('.manifest.json') ? manifest.replace(/\.manifest\.json$/, '.minisig') : `${manifest}.minisig`)
      await writeFile(out, signature)
      const result = { manifest, signature: out, name: label.name, version: label.version, keyId: key.keyId, publicKey: publicKeyString(key) }
      const format = ctx.output()
      ctx.print(format === 'table' ? renderFields(Object.entries(result)) : renderData(result, format))
    })
}
