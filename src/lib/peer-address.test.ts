import { test } from 'node:test'
import assert from 'node:assert/strict'
import { normalizeIp, peerAddress } from './peer-address.ts'

test('peer strings from grpc-js, gRPC core and others give the remote address', () => {
  const cases: Array<[string, string | undefined]> = [
    ['10.77.0.5:43210', '10.77.0.5'],
    ['ipv4:10.77.0.5:43210', '10.77.0.5'],
    ['10.77.0.5', '10.77.0.5'],
    // grpc-js on a dual-stack listener: the IPv4-mapped address, unbracketed, then the port.
    ['::ffff:10.77.0.5:43210', '10.77.0.5'],
    ['[::ffff:10.77.0.5]:43210', '10.77.0.5'],
    ['ipv6:[::ffff:10.77.0.5]:43210', '10.77.0.5'],
    ['[::1]:50051', '::1'],
    ['::1:50051', '::1'],
    ['::1', '::1'],
    ['[2001:DB8:0:0:0:0:0:1]', '2001:db8::1'],
    ['fe80::1%eth0', 'fe80::1'],
    ['unknown', undefined],
    ['', undefined],
    ['host.example:443', undefined],
    ['10.77.0.5:443:1', undefined],
    ['[::1', undefined],
    ['[::1]junk', undefined],
    ['999.1.1.1:80', undefined]
  ]
  for (const [peer, want] of cases) assert.equal(peerAddress(peer), want, peer)
})

test('one canonical form per address', () => {
  assert.equal(normalizeIp('::FFFF:0a4d:0005'), '10.77.0.5')
  assert.equal(normalizeIp('0:0:0:0:0:ffff:10.77.0.5'), '10.77.0.5')
  assert.equal(normalizeIp('2001:0db8:0000:0000:0001:0000:0000:0001'), '2001:db8::1:0:0:1')
  assert.equal(normalizeIp('2001:db8:0:1:1:1:1:1'), '2001:db8:0:1:1:1:1:1')
  assert.equal(normalizeIp('::'), '::')
  assert.equal(normalizeIp(' 10.0.0.1 '), '10.0.0.1')
  assert.equal(normalizeIp('10.0.0'), undefined)
})

test('not addresses', () => {
  for (const t of ['1:2:3:4:5:6:7', '1:2:3:4:5:6:7:8:9', '1::2::3', '12345::', 'g::1', '::1.2.3', '1:2:3:4:5:6:7::8:9', ':1', '1:', '::ffff:256.1.1.1']) {
    assert.equal(normalizeIp(t), undefined, t)
  }
  assert.equal(normalizeIp('1:2:3:4:5:6:7::'), '1:2:3:4:5:6:7:0')
  assert.equal(normalizeIp('::2:3:4:5:6:7:8'), '0:2:3:4:5:6:7:8')
})
