import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { buildProgram } from './program.ts'
import { decodePublicKey, encodeSecretKey, generateSecretKey } from '../signing/minisign.ts'
import { verifyManifest } from '../signing/manifest-signature.ts'
import { minisign, minisignKeyPair, minisignSkip, tempDir } from '../signing/testing.ts'

const { dir, remove } = tempDir('anvil-cli-images-')
after(remove)
const manifestFile = join(dir, 'manifest.json')
const manifest = Buffer.from('{\n  "schema": "anvil.dev/image/v1",\n  "name": "anvil-node",\n  "version": "1.3.0"\n}\n')
writeFileSync(manifestFile, manifest)

async function run (args: string[]): Promise<string> {
  let out = ''
  await buildProgram(async () => {}, (t) => { out += t }).parseAsync(args, { from: 'user' })
  return out
}

test('anvil images sign with a key made by minisign -G -W: minisign -V and verifyManifest accept it', { skip: minisignSkip ?? false }, async () => {
  const { secretKeyFile, publicKeyFile } = minisignKeyPair(dir)
  const publicKey = decodePublicKey(readFileSync(publicKeyFile))
  const out = await run(['images', 'sign', '--key', secretKeyFile, manifestFile])
  assert.match(out, new RegExp(`signature:\\s+${manifestFile}\\.minisig\\n`))
  assert.match(out, new RegExp(`keyId:\\s+${publicKey.keyId}\\n`))
  const r = minisign(['-V', '-p', 'minisign.pub', '-m', 'manifest.json'], dir)
  assert.equal(r.status, 0, r.stderr)
  assert.match(r.stdout, /Trusted comment: anvil image anvil-node 1\.3\.0\n/)
  const v = verifyManifest(manifest, readFileSync(`${manifestFile}.minisig`), [publicKey])
  assert.deepEqual([v.name, v.version, v.keyId], ['anvil-node', '1.3.0', publicKey.keyId])
})

test('anvil images sign --out, -o json, with an Anvil key file', async () => {
  const key = generateSecretKey()
  const keyFile = join(dir, 'image.key')
  writeFileSync(keyFile, encodeSecretKey(key), { mode: 0o600 })
  const out = join(dir, 'sig')
  const result = JSON.parse(await run(['-o', 'json', 'images', 'sign', '--key', keyFile, '--out', out, manifestFile])) as Record<string, string>
  assert.deepEqual({ ...result, publicKey: undefined }, { manifest: manifestFile, signature: out, name: 'anvil-node', version: '1.3.0', keyId: key.keyId, publicKey: undefined })
  assert.equal(verifyManifest(manifest, readFileSync(out), [key.publicKey]).keyId, key.keyId)
})

test('anvil images sign refuses an encrypted key, a missing key, and a file that is not a manifest', async () => {
  const keyFile = join(dir, 'image.key')
  writeFileSync(keyFile, encodeSecretKey(generateSecretKey()), { mode: 0o600 })
  const encrypted = join(dir, 'encrypted.key')
  const lines = readFileSync(keyFile, 'utf8').split('\n')
  const bytes = Buffer.from(lines[1] ?? '', 'base64')
  bytes.write('Sc', 2, 'latin1') // kdf_alg: scrypt
  writeFileSync(encrypted, `${lines[0] ?? ''}\n${bytes.toString('base64')}\n`)
  await assert.rejects(run(['images', 'sign', '--key', encrypted, manifestFile]), { code: 'ERR_SIGNING_KEY_ENCRYPTED', message: /minisign -C -W/ })
  await assert.rejects(run(['images', 'sign', '--key', join(dir, 'absent.key'), manifestFile]), { code: 'ERR_SIGNING_KEY_UNREADABLE' })
  const notJson = join(dir, 'disk.img')
  writeFileSync(notJson, Buffer.from([0xeb, 0x63, 0x90]))
  await assert.rejects(run(['images', 'sign', '--key', keyFile, notJson]), { code: 'ERR_USAGE', message: /not JSON/ })
  const noLabel = join(dir, 'other.json')
  writeFileSync(noLabel, '{"name": "x"}')
  await assert.rejects(run(['images', 'sign', '--key', keyFile, noLabel]), { code: 'ERR_USAGE', message: /"name" and "version"/ })
  await assert.rejects(run(['images', 'sign', '--key', keyFile, join(dir, 'missing.json')]), { code: 'ERR_USAGE', message: /cannot read/ })
})
