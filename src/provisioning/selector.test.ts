import { test } from 'node:test'
import assert from 'node:assert/strict'
import { firstMatchingRule, selectorMatches } from './selector.ts'

const report = {
  system: { manufacturer: 'Anvil Lab', product: 'VM', serial: 'LAB0001' },
  memory: { totalBytes: 536870912 },
  nics: [{ name: 'eth0', mac: '52:54:00:77:00:11' }, { name: 'eth1', mac: 'aa:bb:cc:00:00:01' }],
  disks: [{ name: 'vda', serial: 'DISK1' }]
}

test('every key must match; globs; lists match when any element does', () => {
  assert.ok(selectorMatches({ 'system.manufacturer': 'Anvil Lab' }, report))
  assert.ok(selectorMatches({ 'system.manufacturer': 'Anvil*', 'nics.mac': 'aa:bb:*' }, report))
  assert.ok(selectorMatches({ 'memory.totalBytes': 536870912 }, report))
  assert.ok(!selectorMatches({ 'system.manufacturer': 'Anvil*', 'nics.mac': 'ff:*' }, report))
  assert.ok(!selectorMatches({ 'system.manufacturer': 'anvil lab' }, report), 'case-sensitive')
  assert.ok(!selectorMatches({ 'system.product': 'V.' }, report), 'regex characters are literal')
  assert.ok(!selectorMatches({ 'system.missing': '*' }, report))
  assert.ok(!selectorMatches({ system: '*' }, report), 'an object is not a value')
  assert.ok(!selectorMatches({}, report), 'an empty rule accepts nothing')
})

test('firstMatchingRule', () => {
  assert.equal(firstMatchingRule([{ 'system.serial': 'X*' }, { 'disks.serial': 'DISK?' }, { 'disks.serial': 'DISK*' }], report), 2)
  assert.equal(firstMatchingRule([], report), -1)
})
