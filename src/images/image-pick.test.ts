import { test } from 'node:test'
import assert from 'node:assert/strict'
import { compareSemver, parseImageRef, pickInstallImage } from './image-pick.ts'
import type { StoredImage } from './ports.ts'

const image = (version: string, state: StoredImage['state'] = 'ready'): StoredImage => ({ name: 'anvil-node', version, manifest: '', signature: '', keyId: 'K', state, file: '', compressedSize: 0, size: 0, importedAt: 0, readyAt: null })

test('semver order: numbers numerically, pre-releases below their release (semver.org §11)', () => {
  const sorted = ['1.10.0', '1.2.0', '1.0.0-rc.1', '1.0.0', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta.11', '1.0.0-beta.2', '0.9.9'].sort(compareSemver)
  assert.deepEqual(sorted, ['0.9.9', '1.0.0-alpha', '1.0.0-alpha.1', '1.0.0-beta.2', '1.0.0-beta.11', '1.0.0-rc.1', '1.0.0', '1.2.0', '1.10.0'])
  assert.equal(compareSemver('2.0.0', '2.0.0'), 0)
})

test('the highest ready version; a named one only when ready; precise codes otherwise', () => {
  const all = [image('1.9.0'), image('1.10.0'), image('2.0.0', 'pending')]
  assert.equal(pickInstallImage(all, 'anvil-node', undefined).version, '1.10.0')
  assert.equal(pickInstallImage(all, 'anvil-node', '1.9.0').version, '1.9.0')
  assert.throws(() => pickInstallImage(all, 'anvil-node', '2.0.0'), { code: 'ERR_IMAGE_UNAVAILABLE' })
  assert.throws(() => pickInstallImage(all, 'anvil-node', '3.0.0'), { code: 'ERR_IMAGE_NOT_FOUND' })
  assert.throws(() => pickInstallImage([image('2.0.0', 'pending')], 'anvil-node', undefined), { code: 'ERR_IMAGE_UNAVAILABLE' })
  assert.throws(() => pickInstallImage([], 'anvil-node', undefined), { code: 'ERR_IMAGE_NOT_FOUND' })
  assert.deepEqual(parseImageRef('anvil-node:1.0.0'), { name: 'anvil-node', version: '1.0.0' })
  assert.deepEqual(parseImageRef('anvil-node'), { name: 'anvil-node', version: undefined })
})
