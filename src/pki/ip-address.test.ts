import assert from 'node:assert/strict'
import { isIP } from 'node:net'
import { test } from 'node:test'
import { ipAddressBytes, isIpAddress } from './ip-address.ts'

const hex = (text: string): string | undefined => ipAddressBytes(text)?.toString('hex')

test('IPv4: four octets', () => {
  assert.equal(hex('10.77.0.21'), '0a4d0015')
  assert.equal(hex('0.0.0.0'), '00000000')
})

test('IPv6: sixteen octets, :: for a run of zero groups, a dotted-quad tail (RFC 4291 §2.2)', () => {
  assert.equal(hex('::1'), '00000000000000000000000000000001')
  assert.equal(hex('::'), '0'.repeat(32))
  assert.equal(hex('2001:db8::21'), '20010db8000000000000000000000021')
  assert.equal(hex('2001:DB8:0:0:0:0:0:21'), '20010db8000000000000000000000021')
  assert.equal(hex('fe80::'), 'fe80' + '0'.repeat(28))
  assert.equal(hex('1:2:3:4:5:6:7::'), '00010002000300040005000600070000')
  assert.equal(hex('::ffff:192.0.2.1'), '00000000000000000000ffffc0000201')
  assert.equal(hex('64:ff9b::10.77.0.21'), '0064ff9b0000000000000000' + '0a4d0015')
})

test('anything else is not an address; what is one agrees with node:net', () => {
  const bad = ['', '1', '10.77.0', '10.77.0.256', '010.77.0.1', ':', ':::', '1::2::3', ':1::', '1:2:3:4:5:6:7:8:9', '1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8::',
    '12345::', 'g::', '::1.2.3', '1.2.3.4::', 'fe80::1%eth0', '[::1]', ' ::1', '::ffff:1.2.3.4:5']
  for (const text of bad) {
    assert.equal(ipAddressBytes(text), undefined, JSON.stringify(text))
    assert.equal(isIpAddress(text), false)
  }
  for (const text of ['::1', '2001:db8::21', '::ffff:192.0.2.1', '10.77.0.21', '1:2:3:4:5:6:7::', 'a:b:c:d:e:f:0:1']) assert.equal(isIpAddress(text), isIP(text) !== 0, text)
  for (const text of bad.filter(t => !t.includes('%') && t !== '010.77.0.1')) assert.equal(isIP(text), 0, `node:net agrees ${JSON.stringify(text)} is none`)
})
