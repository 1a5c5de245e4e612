import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { ensureSigningKeys, loadPublicKey, loadSecretKey, publicKeyString, signingKeyFiles } from './keys.ts'
import { decodePublicKey, decodeSecretKey, sign, verify } from './minisign.ts'
import { tempDir } from './testing.ts'

const dirs: Array<() => void> = []
const fresh = (): string => {
  const { dir, remove } = tempDir('anvil-keys-')
  dirs.push(remove)
  return join(dir, 'var') // ensureSigningKeys makes the data dir too
}
after(() => { for (const remove of dirs) remove() })

const mode = (file: string): number => statSync(file).mode & 0o777

test('first start makes both key pairs: secret keys 0600, public keys 0644, minisign formats, no stray files', async () => {
  const dataDir = fresh()
  const keys = await ensureSigningKeys(dataDir)
  for (const k of [keys.image, keys.config]) {
    assert.equal(k.origin, 'created')
    assert.equal(k.tightened, false)
    assert.equal(mode(k.keyFile), 0o600)
    assert.equal(mode(k.publicKeyFile), 0o644)
    assert.equal(decodeSecretKey(readFileSync(k.keyFile)).keyId, k.keyId)
    assert.equal(readFileSync(k.publicKeyFile, 'utf8'), `untrusted comment: anvil ${k.name} public key ${k.keyId}\n${publicKeyString(k.publicKey)}\n`)
    assert.ok(k.secretKey !== undefined)
    assert.equal(verify(Buffer.from('x'), sign(Buffer.from('x'), k.secretKey, 'c'), decodePublicKey(readFileSync(k.publicKeyFile))).keyId, k.keyId)
  }
  assert.notEqual(keys.image.keyId, keys.config.keyId)
  assert.equal(mode(dataDir), 0o700)
  assert.deepEqual(readdirSync(dataDir).sort(), ['config.key', 'config.pub', 'image.key', 'image.pub'])
})

test('keys are stable across restarts; a missing public key file is rewritten', async () => {
  const dataDir = fresh()
  const first = await ensureSigningKeys(dataDir)
  rmSync(first.config.publicKeyFile)
  const second = await ensureSigningKeys(dataDir)
  for (const name of ['image', 'config'] as const) {
    assert.equal(second[name].origin, 'loaded')
    assert.equal(second[name].keyId, first[name].keyId)
    assert.ok(second[name].publicKey.raw.equals(first[name].publicKey.raw))
  }
  assert.equal((await loadPublicKey(first.config.publicKeyFile)).keyId, first.config.keyId)
})

test('two starts at once end with one key each, the same in both', async () => {
  const dataDir = fresh()
  const [a, b] = await Promise.all([ensureSigningKeys(dataDir), ensureSigningKeys(dataDir)])
  assert.equal(a.image.keyId, b.image.keyId)
  assert.equal(a.config.keyId, b.config.keyId)
  assert.equal((await ensureSigningKeys(dataDir)).config.keyId, a.config.keyId)
  assert.deepEqual(readdirSync(dataDir).filter(f => f.endsWith('.tmp')), [])
})

test('a key file others can read is set back to 0600 and reported', async () => {
  const dataDir = fresh()
  const { image } = await ensureSigningKeys(dataDir)
  chmodSync(image.keyFile, 0o644)
  const again = await ensureSigningKeys(dataDir)
  assert.equal(again.image.tightened, true)
  assert.equal(again.config.tightened, false)
  assert.equal(mode(image.keyFile), 0o600)
})

test('an offline image key: image.pub alone is used as it is; config.pub alone is an error', async () => {
  const dataDir = fresh()
  const first = await ensureSigningKeys(dataDir)
  rmSync(first.image.keyFile)
  const offline = await ensureSigningKeys(dataDir)
  assert.equal(offline.image.origin, 'public-only')
  assert.equal(offline.image.secretKey, undefined)
  assert.equal(offline.image.keyId, first.image.keyId)
  rmSync(first.config.keyFile)
  await assert.rejects(ensureSigningKeys(dataDir), { code: 'ERR_SIGNING_KEY_UNREADABLE', message: /restore .*config\.key from a backup/ })
})

test('a damaged key file is an error and is never replaced; a public key that is not its half is an error', async () => {
  const dataDir = fresh()
  const { config, image } = await ensureSigningKeys(dataDir)
  writeFileSync(config.keyFile, 'garbage\n')
  await assert.rejects(ensureSigningKeys(dataDir), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /config\.key: .*never replaced/ })
  assert.equal(readFileSync(config.keyFile, 'utf8'), 'garbage\n')
  writeFileSync(config.keyFile, 'x'.repeat(5000))
  await assert.rejects(ensureSigningKeys(dataDir), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /over 4096 bytes/ })
  rmSync(config.keyFile)
  rmSync(config.publicKeyFile)
  writeFileSync(image.publicKeyFile, readFileSync((await ensureSigningKeys(fresh())).image.publicKeyFile))
  await assert.rejects(ensureSigningKeys(dataDir), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /image\.pub is not the public half of .*image\.key/ })
})

test('loadSecretKey and loadPublicKey read key files and name the file in errors', async () => {
  const dataDir = fresh()
  const { image } = await ensureSigningKeys(dataDir)
  assert.equal((await loadSecretKey(image.keyFile)).keyId, image.keyId)
  assert.equal(publicKeyString(await loadSecretKey(image.keyFile)), publicKeyString(image.publicKey))
  const missing = join(dataDir, 'nope.key')
  await assert.rejects(loadSecretKey(missing), { code: 'ERR_SIGNING_KEY_UNREADABLE', message: /nope\.key/ })
  await assert.rejects(loadSecretKey(image.publicKeyFile), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /image\.pub: / })
  await assert.rejects(loadSecretKey(dataDir), { code: 'ERR_SIGNING_KEY_UNREADABLE' }, 'a directory')
  assert.deepEqual(signingKeyFiles('/d', 'config'), { keyFile: '/d/config.key', publicKeyFile: '/d/config.pub' })
})
