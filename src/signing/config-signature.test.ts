import { test } from 'node:test'
import assert from 'node:assert/strict'
import { generateSecretKey, sign, verify } from './minisign.ts'
import { configTrustedComment, parseConfigTrustedComment, signConfig, verifyConfig } from './config-signature.ts'
import { signManifest } from './manifest-signature.ts'

const configKey = generateSecretKey()
const yaml = Buffer.from('machine:\n  hostname: node-1\n  install:\n    disk: /dev/sda\n')
const expiresAt = new Date('2027-01-01T00:00:00Z')
const binding = { machineId: 'm-0000001', generation: 7, expiresAt }
const signed = signConfig(yaml, configKey, binding)
const now = new Date('2026-12-01T00:00:00Z')
const expect = { machineId: 'm-0000001', minGeneration: 7, now }

test('the trusted comment carries machine, generation and expiry exactly', () => {
  assert.equal(configTrustedComment(binding), 'anvil config machine=m-0000001 generation=7 expires=1798761600')
  assert.equal(verify(yaml, signed, configKey.publicKey).trustedComment, 'anvil config machine=m-0000001 generation=7 expires=1798761600')
  assert.deepEqual(parseConfigTrustedComment(configTrustedComment(binding)), binding)
  // A fraction of a second is cut off: the config expires early, never late.
  assert.equal(configTrustedComment({ ...binding, expiresAt: new Date(1798761600999) }), configTrustedComment(binding))
})

test('a good config verifies; the same generation again is a re-apply, not a replay', () => {
  assert.deepEqual(verifyConfig(yaml, signed, configKey.publicKey, expect), { ...binding, keyId: configKey.keyId })
  assert.equal(verifyConfig(yaml, signed, [generateSecretKey().publicKey, configKey.publicKey], { ...expect, minGeneration: 0 }).generation, 7)
})

test('another machine, an older generation, an expired config: each its own code', () => {
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, machineId: 'm-0000002' }), { code: 'ERR_CONFIG_WRONG_MACHINE' })
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, minGeneration: 8 }), { code: 'ERR_CONFIG_REPLAYED', message: /generation 7, older than generation 8/ })
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, now: expiresAt }), { code: 'ERR_CONFIG_EXPIRED' }, 'expired at the second itself')
  assert.doesNotThrow(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, now: new Date(expiresAt.getTime() - 1) }))
  // A config the node accepted before (STATE's) is not judged by its expiry again; everything else still is.
  assert.equal(verifyConfig(yaml, signed, configKey.publicKey, { ...expect, now: 'accepted' }).generation, 7)
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, now: 'accepted', minGeneration: 8 }), { code: 'ERR_CONFIG_REPLAYED' })
  // A machine id that merely starts like the expected one is another machine.
  const longer = signConfig(yaml, configKey, { ...binding, machineId: 'm-00000011' })
  assert.throws(() => verifyConfig(yaml, longer, configKey.publicKey, expect), { code: 'ERR_CONFIG_WRONG_MACHINE' })
})

test('the signature is checked before the binding: a tampered YAML, an edited comment, another key', () => {
  assert.throws(() => verifyConfig(Buffer.from(yaml.toString().replace('sda', 'sdb')), signed, configKey.publicKey, expect), { code: 'ERR_SIGNATURE_INVALID' })
  const edited = signed.replace('generation=7', 'generation=9')
  assert.throws(() => verifyConfig(yaml, edited, configKey.publicKey, { ...expect, minGeneration: 9 }), { code: 'ERR_SIGNATURE_COMMENT_INVALID' })
  const moved = signed.replace('machine=m-0000001', 'machine=m-0000002')
  assert.throws(() => verifyConfig(yaml, moved, configKey.publicKey, { ...expect, machineId: 'm-0000002' }), { code: 'ERR_SIGNATURE_COMMENT_INVALID' })
  assert.throws(() => verifyConfig(yaml, signed, generateSecretKey().publicKey, expect), { code: 'ERR_SIGNATURE_KEY_MISMATCH' })
  assert.throws(() => verifyConfig(yaml, signed.slice(0, 100), configKey.publicKey, expect), { code: 'ERR_SIGNATURE_MALFORMED' })
  const legacy = sign(yaml, configKey, configTrustedComment(binding), { legacy: true })
  assert.throws(() => verifyConfig(yaml, legacy, configKey.publicKey, expect), { code: 'ERR_SIGNATURE_INVALID', message: /legacy/ })
})

test('a validly signed comment that is not a config binding is refused (an image signature, loose forms)', () => {
  const image = signManifest(yaml, configKey, { name: 'anvil-node', version: '1.3.0' })
  assert.throws(() => verifyConfig(yaml, image, configKey.publicKey, expect), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' })
  for (const comment of [
    'anvil config machine=m-0000001 generation=7 expires=1798761600 extra=1',
    'anvil config machine=m-0000001  generation=7 expires=1798761600',
    'anvil config generation=7 machine=m-0000001 expires=1798761600',
    'anvil config machine=m-0000001 generation=07 expires=1798761600',
    'anvil config machine=m-0000001 generation=-1 expires=1798761600',
    'anvil config machine=m-0000001 generation=7 expires=1.5',
    'anvil config machine=m-0000001 generation=99999999999999999 expires=1798761600',
    'anvil config machine=m=1 generation=7 expires=1798761600',
    'anvil config machine= generation=7 expires=1798761600',
    'anvil config machine=m-0000001 generation=7 expires=1798761600\t',
    ' anvil config machine=m-0000001 generation=7 expires=1798761600'
  ]) {
    assert.throws(() => parseConfigTrustedComment(comment), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' }, comment)
    assert.throws(() => verifyConfig(yaml, sign(yaml, configKey, comment), configKey.publicKey, expect), { code: 'ERR_SIGNATURE_COMMENT_UNEXPECTED' }, comment)
  }
})

test('bindings that cannot be written, and expectations that would refuse nothing, are errors', () => {
  for (const bad of [{ machineId: 'has space' }, { machineId: 'a=b' }, { machineId: '' }, { generation: -1 }, { generation: 1.5 }, { expiresAt: new Date(NaN) }, { expiresAt: new Date(-1000) }]) {
    assert.throws(() => signConfig(yaml, configKey, { ...binding, ...bad }), { code: 'ERR_INVALID_ARG_VALUE' }, JSON.stringify(bad))
  }
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, minGeneration: NaN }), { code: 'ERR_INVALID_ARG_VALUE' })
  assert.throws(() => verifyConfig(yaml, signed, configKey.publicKey, { ...expect, now: new Date(NaN) }), { code: 'ERR_INVALID_ARG_VALUE' })
})
