import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ipv4ToInt, intToIpv4, isIpv4, parseCidr, cidrContains, parseRange, broadcastOf } from './ipv4.ts'

test('ipv4 round trips through integers', () => {
  for (const ip of ['0.0.0.0', '10.77.0.1', '192.168.255.254', '255.255.255.255']) {
    assert.equal(intToIpv4(ipv4ToInt(ip)), ip)
  }
  assert.equal(ipv4ToInt('10.0.0.1'), 0x0a000001)
})

test('ipv4 rejects malformed addresses with a coded error', () => {
  for (const bad of ['', '1.2.3', '1.2.3.4.5', '256.0.0.1', '01.2.3.4', 'a.b.c.d', '1..2.3', '.1.2.3', '1.2.3.', '1.2.3.4 ', '1.2.3.-4', '1.2.3.1000', '00.0.0.0']) {
    assert.throws(() => ipv4ToInt(bad), { code: 'ERR_INVALID_IPV4' }, bad)
  }
})

test('ipv4ToInt agrees with isIpv4 on every input of a seeded sample', () => {
  let seed = 7
  const rnd = (): number => { seed = (seed * 1103515245 + 12345) % 2147483648; return seed / 2147483648 }
  const alphabet = '0123456789..'
  for (let i = 0; i < 20000; i++) {
    const text = Array.from({ length: 1 + Math.floor(rnd() * 15) }, () => alphabet[Math.floor(rnd() * alphabet.length)]).join('')
    let parsed = true
    try { ipv4ToInt(text) } catch { parsed = false }
    assert.equal(parsed, isIpv4(text), text)
  }
})

test('cidr, range and broadcast', () => {
  const c = parseCidr('10.77.0.0/24')
  assert.equal(intToIpv4(c.mask), '255.255.255.0')
  assert.ok(cidrContains(c, ipv4ToInt('10.77.0.200')))
  assert.ok(!cidrContains(c, ipv4ToInt('10.77.1.1')))
  assert.equal(intToIpv4(broadcastOf(c)), '10.77.0.255')
  assert.deepEqual(parseRange('10.77.0.100-10.77.0.199'), { start: ipv4ToInt('10.77.0.100'), end: ipv4ToInt('10.77.0.199') })
  assert.throws(() => parseRange('10.77.0.9-10.77.0.1'), { code: 'ERR_INVALID_RANGE' })
  assert.throws(() => parseCidr('10.77.0.0/33'), { code: 'ERR_INVALID_CIDR' })
})
