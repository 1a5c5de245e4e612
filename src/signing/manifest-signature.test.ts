import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { generateSecretKey, sign, verify } from './minisign.ts'
import { parseImageTrustedComment, signManifest, verifyManifest } from './manifest-signature.ts'
import { signConfig } from './config-signature.ts'

const imageKey = generateSecretKey()
const otherKey = generateSecretKey()
const manifest = Buffer.from('{"schema":"anvil.dev/image/v1","name":"anvil-node","version":"1.3.0+build.4"}\n')
const label = { name: 'anvil-node', version: '1.3.0+build.4' }

test('a manifest signature carries "anvil image <name> <version>" and names the key that verified', () => {
  const sig = signManifest(manifest, imageKey, label)
  assert.equal(verify(manifest, sig, imageKey.publicKey).trustedComment, 'anvil image anvil-node 1.3.0+build.4')
  const v = verifyManifest(manifest, sig, [otherKey.publicKey, imageKey.publicKey])
  assert.deepEqual({ name: v.name, version: v.version, keyId: v.keyId }, { ...label, keyId: imageKey.keyId })
  assert.equal(v.publicKey, imageKey.publicKey)
})

test('untrusted key, tampered bytes, edited label, a config signature: refused', () => {
  const sig = signManifest(manifest, imageKey, label)
  assert.throws(() => verifyManifest(manifest, sig, [otherKey.publicKey]), { code: 'ERR_SIGNATURE_KEY_MISMATCH' })
  assert.throws(() => verifyManifest(Buffer.from(manifest.toString().replace('1.3.0', '1.2.0')), sig, [imageKey.publicKey]), { code: 'ERR_SIGNATURE_INVALID' })
  assert.throws(() => verifyManifest(manifest, sig.replace('\ntrusted comment: anvil image anvil-node 1.3.0', '\ntrusted comment: anvil image anvil-node 1.4.0'), [imageKey.publicKey]), { code: 'ERR_SIGNATURE_COMMENT_INVALID' })
  const config = signConfig(manifest, imageKey, { machineId: 'm-1', generation: 1, expiresAt: new Date(2e12) })
  assert.throws(() => verifyManifest(manifest, config, [imageKey.publicKey]), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' })
  // minisign's own default comment, from an operator who forgot -t:
  assert.throws(() => verifyManifest(manifest, sign(manifest, imageKey, 'timestamp:1796160130\tfile:manifest.json\thashed'), [imageKey.publicKey]), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' })
})

test('labels are one word each, strictly', () => {
  for (const bad of ['anvil image anvil-node', 'anvil image a b c', 'anvil image  a 1', 'anvil image -x 1', 'anvil image a 1 ', 'anvil  image a 1']) {
    assert.throws(() => parseImageTrustedComment(bad), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' }, bad)
  }
  for (const bad of [{ name: 'a b', version: '1' }, { name: 'a', version: '' }, { name: '', version: '1' }, { name: 'x'.repeat(65), version: '1' }]) {
    assert.throws(() => signManifest(manifest, imageKey, bad), { code: 'ERR_INVALID_ARG_VALUE' })
  }
})

test('prehashed only: a legacy signature is refused, which stops a prehashed one being passed off for the 64-byte hash', () => {
  const sig = signManifest(manifest, imageKey, label)
  // Flip "ED" to "Ed" and present BLAKE2b-512(manifest) as the file: a valid legacy signature.
  const lines = sig.split('\n')
  const raw = Buffer.from(lines[1] ?? '', 'base64')
  raw.write('Ed', 0, 'latin1')
  const converted = lines.map((l, i) => i === 1 ? raw.toString('base64') : l).join('\n')
  const hash = createHash('blake2b512').update(manifest).digest()
  assert.equal(verify(hash, converted, imageKey.publicKey).trustedComment, 'anvil image anvil-node 1.3.0+build.4', 'plain minisign -V semantics accept it')
  assert.throws(() => verify(hash, converted, imageKey.publicKey, { prehashedOnly: true }), { code: 'ERR_SIGNATURE_INVALID', message: /legacy/ })
  assert.throws(() => verifyManifest(hash, converted, [imageKey.publicKey]), { code: 'ERR_SIGNATURE_INVALID', message: /sign without -l/ })
  assert.throws(() => verifyManifest(manifest, sign(manifest, imageKey, 'anvil image anvil-node 1.3.0', { legacy: true }), [imageKey.publicKey]), { code: 'ERR_SIGNATURE_INVALID' })
})
