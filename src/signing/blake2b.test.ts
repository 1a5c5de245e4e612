import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, randomBytes } from 'node:crypto'
import { blake2b } from './blake2b.ts'

test('BLAKE2b-512 equals node:crypto\'s blake2b512 at every length around the block boundaries', () => {
  for (const n of [0, 1, 3, 63, 64, 65, 111, 112, 127, 128, 129, 255, 256, 257, 1000]) {
    const data = randomBytes(n)
    assert.equal(blake2b(data, 64).toString('hex'), createHash('blake2b512').update(data).digest('hex'), `${n} bytes`)
  }
})

test('BLAKE2b-256 known answers (RFC 7693 parameter block with digest length 32)', () => {
  assert.equal(blake2b(Buffer.from('abc'), 32).toString('hex'), 'bddd813c634239723171ef3fee98579b94964e3bb1cb3e427262c8c068d52319')
  assert.equal(blake2b(Buffer.alloc(0), 32).toString('hex'), '0e5751c026e543b2e8ab2eb06099daa1d1e5df47778f7787faab45cdf12fe3a8')
})

test('BLAKE2b refuses output lengths outside 1..64', () => {
  for (const n of [0, 65, 1.5]) assert.throws(() => blake2b(Buffer.alloc(1), n), RangeError)
})
