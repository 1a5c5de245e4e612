import assert from 'node:assert/strict'
import { test } from 'node:test'
import { datagram, loadSessionFixture } from '../../test/fixtures/ipmi/session/load.ts'
import {
  decodeOpenSessionRequest, decodeOpenSessionResponse, decodeRakp1, decodeRakp2, decodeRakp3, decodeRakp4,
  encodeOpenSessionRequest, encodeOpenSessionResponse, encodeRakp1, encodeRakp2, encodeRakp3, encodeRakp4, rakpStatusName
} from './rakp.ts'
import { decodeSessionPacket, type V20Packet } from './rmcp-plus.ts'

const f = loadSessionFixture('power-status-c3')
const payload = (i: number): Buffer => (decodeSessionPacket(datagram(f, i), 0) as V20Packet).payload

test('Open Session Request/Response round trip to the captured bytes (§13.17, §13.18)', () => {
  const req = decodeOpenSessionRequest(payload(2))
  assert.deepEqual([req.authentication, req.integrity, req.confidentiality, req.maxPrivilege], [1, 1, 1, 0])
  assert.deepEqual(encodeOpenSessionRequest(req), payload(2))
  const rsp = decodeOpenSessionResponse(payload(3))
  assert.equal(rsp.status, 0)
  assert.deepEqual(encodeOpenSessionResponse(rsp), payload(3))
})

test('RAKP 1–4 round trip to the captured bytes (§13.20–§13.23)', () => {
  const r1 = decodeRakp1(payload(4))
  assert.equal(r1.username.toString(), 'admin')
  assert.deepEqual(encodeRakp1(r1), payload(4))
  assert.deepEqual(encodeRakp2(decodeRakp2(payload(5), 20)), payload(5))
  assert.deepEqual(encodeRakp3(decodeRakp3(payload(6), 20)), payload(6))
  assert.deepEqual(encodeRakp4(decodeRakp4(payload(7), 12)), payload(7))
})

test('ipmi_sim\'s short refusal of suite 17 decodes to its status', () => {
  const refused = loadSessionFixture('suite17-refused')
  const rsp = decodeOpenSessionResponse((decodeSessionPacket(datagram(refused, 3), 0) as V20Packet).payload)
  assert.equal(rsp.status, 0x04)
  assert.equal(rsp.bmcSessionId, undefined)
  assert.equal(rakpStatusName(0x04), 'invalid authentication algorithm (0x04)')
})
