import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { test } from 'node:test'
import { COPY_OFFSETS, decodeStateCopy, encodeStateCopy, pickState, STATE_HEADER_BYTES, STATE_SCHEMA, type StatePayload } from './record.ts'

const payload: StatePayload = {
  schema: STATE_SCHEMA,
  machineId: 'm-1',
  install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: 'ab'.repeat(32), slot: 'A', disk: 'vda', installedAt: 1 },
  config: { yaml: 'version: v1alpha1\n', signature: 'untrusted comment: x\n', generation: 3 },
  trust: { configKey: 'RWQ...', imageKeys: ['RWQ...'] },
  server: { host: '10.0.0.1', port: 9091, fingerprint: 'aa:bb' },
  credential: { nodeToken: 'secret' }
}

test('a copy round-trips, and the higher sequence number wins', () => {
  const one = encodeStateCopy(payload, 1n)
  const two = encodeStateCopy({ ...payload, reported: { at: 5, configGeneration: 3 } }, 2n)
  assert.deepEqual(decodeStateCopy(one), { seq: 1n, payload })
  const picked = pickState([one, two])
  assert.equal(picked.seq, 2n)
  assert.equal(picked.copy, 1)
  assert.equal(picked.nextCopy, 0)
  assert.deepEqual(picked.payload.reported, { at: 5, configGeneration: 3 })
  assert.equal(pickState([two, one]).copy, 0)
  assert.ok(COPY_OFFSETS[1] >= one.length)
})

test('every flipped byte of a copy makes it invalid, and the other copy is used', () => {
  const good = encodeStateCopy(payload, 7n)
  const older = encodeStateCopy(payload, 6n)
  // Every header byte but the sequence number and the zero padding, and a spread of payload bytes.
  const positions = [...Array(STATE_HEADER_BYTES).keys()].filter(i => i < 16 || (i >= 24 && i < 56))
  for (let i = STATE_HEADER_BYTES; i < good.length; i += 7) positions.push(i)
  for (const at of positions) {
    const bad = Buffer.from(good)
    bad[at] = (bad[at] ?? 0) ^ 0x40
    const decoded = decodeStateCopy(bad)
    assert.ok('invalid' in decoded, `flip at ${at} was not noticed`)
    assert.equal(pickState([bad, older]).seq, 6n)
  }
})

test('empty, truncated and random copies are refused with a reason; none valid is ERR_STATE_INVALID', () => {
  const zero = Buffer.alloc(4096)
  assert.deepEqual(decodeStateCopy(zero), { invalid: 'empty (zeroes)' })
  const good = encodeStateCopy(payload, 1n)
  for (const n of [0, 10, STATE_HEADER_BYTES, good.length - 1]) assert.ok('invalid' in decodeStateCopy(good.subarray(0, n)))
  for (let i = 0; i < 200; i++) assert.ok('invalid' in decodeStateCopy(randomBytes(i * 5)))
  assert.throws(() => pickState([zero, randomBytes(512)]), (err: Error & { code?: string }) => err.code === 'ERR_STATE_INVALID' && /copy 0: empty/.test(err.message))
})

test('a payload of another schema or shape is refused', () => {
  const other = encodeStateCopy({ ...payload, schema: 'anvil.dev/state/v9' } as unknown as StatePayload, 1n)
  assert.match((decodeStateCopy(other) as { invalid: string }).invalid, /schema/)
  const noServer = encodeStateCopy({ ...payload, server: undefined } as unknown as StatePayload, 1n)
  assert.match((decodeStateCopy(noServer) as { invalid: string }).invalid, /server/)
})
