import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MalformedPacketError } from '../lib/errors.ts'
import { decodeLanRequest, decodeLanResponse, encodeLanRequest, encodeLanResponse, ipmiChecksum } from './lan-message.ts'

// ipmitool's Get Channel Authentication Capabilities request and ipmi_sim's answer (power-status-c3.json).
//   20 rsAddr | 18 netFn 06h << 2 | c8 checksum | 81 rqAddr | 00 rqSeq 0 | 38 cmd | 8e 04 data | b5 checksum
const REQUEST = Buffer.from('2018c88100388e04b5', 'hex')
//   81 rqAddr | 1c netFn 07h << 2 | 63 | 20 rsAddr | 00 | 38 | 00 completion | 01 97 04 03 00 00 00 00 | 09
const RESPONSE = Buffer.from('811c6320003800019704030000000009', 'hex')

test('checksums are two\'s complements (IPMI v2.0 §5.5)', () => {
  assert.equal(ipmiChecksum(Buffer.of(0x20, 0x18)), 0xc8)
  assert.equal(ipmiChecksum(Buffer.of(0x81, 0x04, 0x01)), 0x7a)
})

test('request round trip reproduces ipmitool\'s bytes', () => {
  const req = decodeLanRequest(REQUEST)
  assert.deepEqual({ ...req, data: [...req.data] }, { rsAddr: 0x20, netFn: 6, rsLun: 0, rqAddr: 0x81, rqSeq: 0, rqLun: 0, cmd: 0x38, data: [0x8e, 0x04] })
  assert.deepEqual(encodeLanRequest(req), REQUEST)
})

test('response round trip reproduces ipmi_sim\'s bytes', () => {
  const rsp = decodeLanResponse(RESPONSE)
  assert.equal(rsp.netFn, 7)
  assert.equal(rsp.completionCode, 0)
  assert.equal(rsp.data.toString('hex'), '019704030000000009'.slice(0, 16))
  assert.deepEqual(encodeLanResponse(rsp), RESPONSE)
})

test('a wrong checksum is malformed, at the checksum\'s offset', () => {
  const bad = Buffer.from(RESPONSE)
  bad[2] = 0
  assert.throws(() => decodeLanResponse(bad), (e: unknown) => e instanceof MalformedPacketError && e.offset === 2)
  const bad2 = Buffer.from(RESPONSE)
  bad2[8] = 0xff
  assert.throws(() => decodeLanResponse(bad2), (e: unknown) => e instanceof MalformedPacketError && e.offset === RESPONSE.length - 1)
})
