import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatIp, formatPrefix, networkOf, parseIp, parsePrefix, prefixContains } from './ip.ts'

test('IPv4: dotted quads without leading zeros', () => {
  assert.deepEqual(parseIp('10.0.0.5'), { family: 4, value: 0x0a000005n })
  for (const bad of ['10.0.0', '10.0.0.256', '010.0.0.1', '10.0.0.1 ', '']) assert.equal(parseIp(bad), undefined, bad)
  assert.equal(formatIp({ family: 4, value: 0xffffffffn }), '255.255.255.255')
})

test('IPv6: RFC 4291 forms in, RFC 5952 canonical text out', () => {
  const cases: [string, string][] = [
    ['2001:DB8:0:0:0:0:0:1', '2001:db8::1'],
    ['2001:0db8::0001', '2001:db8::1'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // §4.2.3: the first of two equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // §4.2.2: one zero group stays
    ['::', '::'],
    ['::1', '::1'],
    ['fe80::', 'fe80::']
  ]
  for (const [text, canonical] of cases) assert.equal(formatIp(parseIp(text) ?? assert.fail(text)), canonical, text)
  for (const bad of ['1::2::3', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '12345::', 'fe80::1%eth0', '::ffff:10.0.0.1', ':::', 'g::']) {
    assert.equal(parseIp(bad), undefined, bad)
  }
})

test('prefixes: parse, network, containment across families', () => {
  const p = parsePrefix('10.0.0.5/24') ?? assert.fail()
  assert.equal(formatPrefix({ ip: networkOf(p), prefix: 24 }), '10.0.0.0/24')
  assert.equal(prefixContains(p, parseIp('10.0.0.200') ?? assert.fail()), true)
  assert.equal(prefixContains(p, parseIp('10.0.1.1') ?? assert.fail()), false)
  assert.equal(prefixContains(p, parseIp('::a00:1') ?? assert.fail()), false, 'another family never matches')
  const v6 = parsePrefix('2001:db8:77::21/64') ?? assert.fail()
  assert.equal(prefixContains(v6, parseIp('2001:db8:77::1') ?? assert.fail()), true)
  assert.equal(formatPrefix(parsePrefix('0.0.0.0/0') ?? assert.fail()), '0.0.0.0/0')
  for (const bad of ['10.0.0.5', '10.0.0.5/33', '10.0.0.5/024', '::/129', '10.0.0.5/', '/24', '10.0.0.5/2/4']) assert.equal(parsePrefix(bad), undefined, bad)
})
