import { test } from 'node:test'
import assert from 'node:assert/strict'
import { TokenBucket } from './rate-limit.ts'

test('a bucket allows its burst, then its rate, and 0 is no limit', () => {
  const b = new TokenBucket(60, 3)
  const t0 = 1_000_000
  assert.deepEqual([b.take(t0), b.take(t0), b.take(t0), b.take(t0)], [true, true, true, false])
  assert.equal(b.take(t0 + 500), false, 'half a token is not one')
  assert.equal(b.take(t0 + 1000), true, 'one a second at 60 a minute')
  assert.equal(b.take(t0 + 1000), false)
  assert.deepEqual([b.take(t0 + 3_600_000), b.take(t0 + 3_600_000), b.take(t0 + 3_600_000), b.take(t0 + 3_600_000)], [true, true, true, false], 'refills to the burst, no further')
  const open = new TokenBucket(0)
  for (let i = 0; i < 1000; i++) assert.equal(open.take(t0), true)
})
