import assert from 'node:assert/strict'
import { test } from 'node:test'
import { MalformedPacketError } from '../lib/errors.ts'
import { decodeAsfPing, decodeAsfPong, encodeAsfPing, encodeAsfPong } from './asf.ts'

// ipmi_sim 2.0.33's answer to a presence ping with tag 0x27 (test/fixtures/ipmi/session/README.md says how).
const PONG = Buffer.from('0600ff06000011be4027001000 0011be000000008100000000000000'.replace(/ /g, ''), 'hex')

test('presence ping bytes (IPMI v2.0 §13.2.3): RMCP class ASF, IANA 4542, type 80h, tag, length 0', () => {
  assert.equal(encodeAsfPing(0x27).toString('hex'), '0600ff06000011be80270000')
  assert.deepEqual(decodeAsfPing(encodeAsfPing(0x27)), { tag: 0x27 })
})

test('ipmi_sim\'s pong says IPMI is supported, ASF 1.0', () => {
  const pong = decodeAsfPong(PONG)
  assert.deepEqual(pong, { tag: 0x27, iana: 4542, oemDefined: 0, ipmiSupported: true, asfVersion: 1, supportedInteractions: 0 })
  assert.deepEqual(encodeAsfPong(pong), PONG)
})

test('every truncated pong, and a ping where a pong belongs, are malformed', () => {
  for (let n = 0; n < PONG.length; n++) assert.throws(() => decodeAsfPong(PONG.subarray(0, n)), MalformedPacketError)
  assert.throws(() => decodeAsfPong(encodeAsfPing(1)), MalformedPacketError)
})
