import { test } from 'node:test'
import assert from 'node:assert/strict'
import { judgeUuid, canonicalUuid, cleanSmbiosString } from './identity.ts'

test('a well-formed UUID is valid and canonicalised', () => {
  const v = judgeUuid('4C4C4544-0042-3510-8057-B4C04F4B4E32')
  assert.equal(v.status, 'valid')
  assert.equal(v.uuid, '4c4c4544-0042-3510-8057-b4c04f4b4e32')
  assert.equal(canonicalUuid('4c4c454400423510 8057b4c04f4b4e32'), null)
  assert.equal(canonicalUuid('4c4c4544004235108057b4c04f4b4e32'), '4c4c4544-0042-3510-8057-b4c04f4b4e32')
})

test('missing, malformed, all-zero, all-FF and placeholder UUIDs are not identities', () => {
  assert.equal(judgeUuid(undefined).status, 'missing')
  assert.equal(judgeUuid('').status, 'missing')
  assert.equal(judgeUuid('not-a-uuid').status, 'invalid')
  assert.equal(judgeUuid('00000000-0000-0000-0000-000000000000').status, 'invalid')
  assert.equal(judgeUuid('FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF').status, 'invalid')
  const placeholder = judgeUuid('03000200-0400-0500-0006-000700080009')
  assert.equal(placeholder.status, 'invalid')
  assert.equal(placeholder.uuid, null)
  assert.match(placeholder.reason, /placeholder/)
})

test('SMBIOS filler strings are dropped', () => {
  assert.equal(cleanSmbiosString('  LAB0001 '), 'LAB0001')
  assert.equal(cleanSmbiosString('To Be Filled By O.E.M.'), null)
  assert.equal(cleanSmbiosString(''), null)
  assert.equal(cleanSmbiosString(undefined), null)
})
