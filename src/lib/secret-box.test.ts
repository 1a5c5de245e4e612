import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { SecretBox } from './secret-box.ts'

const box = new SecretBox(randomBytes(32))

test('a sealed secret opens with its key and context, and never shows the plaintext', () => {
  const sealed = box.seal('hunter2-ÄÖ', 'm-1')
  assert.equal(box.open(sealed, 'm-1'), 'hunter2-ÄÖ')
  assert.ok(!sealed.includes('hunter2'))
  assert.notEqual(box.seal('hunter2-ÄÖ', 'm-1'), sealed, 'a fresh IV each time')
})

test('another row, another key, a flipped byte or a mangled format do not open', () => {
  const sealed = box.seal('pw', 'm-1')
  assert.throws(() => box.open(sealed, 'm-2'), { code: 'ERR_SECRET_UNREADABLE' })
  assert.throws(() => new SecretBox(randomBytes(32)).open(sealed, 'm-1'), { code: 'ERR_SECRET_UNREADABLE' })
  const parts = sealed.split('.')
  const ct = Buffer.from(parts[3] as string, 'base64url')
  ct[0] = (ct[0] as number) ^ 1
  assert.throws(() => box.open([parts[0], parts[1], parts[2], ct.toString('base64url')].join('.'), 'm-1'), { code: 'ERR_SECRET_UNREADABLE' })
  for (const bad of ['', 'v1', 'v2.a.b.c', `${sealed}.x`]) assert.throws(() => box.open(bad, 'm-1'), { code: 'ERR_SECRET_UNREADABLE' })
})

test('the key must be 256 bits', () => {
  assert.throws(() => new SecretBox(randomBytes(16)), RangeError)
})
