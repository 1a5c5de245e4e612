import assert from 'node:assert/strict'
import { test } from 'node:test'
import { certificateFingerprint, parseFingerprint } from './agent-credentials.ts'

const HEX = '8e8097e65f0721119fae71ff574c930dd4d2677b56f3b035e632612c5eb7bdae'

test('a pin is 64 hex digits; openssl\'s colon-separated upper-case form is accepted too', () => {
  assert.equal(parseFingerprint(HEX).toString('hex'), HEX)
  const openssl = HEX.toUpperCase().match(/../g)?.join(':') ?? ''
  assert.equal(parseFingerprint(openssl).toString('hex'), HEX)
  for (const bad of ['', HEX.slice(2), HEX + '00', HEX.replace('8e', 'zz'), 'sha256:' + HEX]) {
    assert.throws(() => parseFingerprint(bad), { code: 'ERR_TLS_PIN_INVALID' }, bad)
  }
})

test('the fingerprint is lower-case hex SHA-256 of the DER', () => {
  // SHA-256 of the empty string (FIPS 180-4 test vector).
  assert.equal(certificateFingerprint(Buffer.alloc(0)), 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855')
})
