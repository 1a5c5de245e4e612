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

test('control characters are stripped from SMBIOS strings before the filler rules', () => {
  assert.equal(cleanSmbiosString('\x1b]0;evil\x07LAB0001'), ']0;evilLAB0001', 'OSC title change: ESC and BEL go')
  assert.equal(cleanSmbiosString('\x1b[2J\x1b[HSN\x1b[31m1'), '[2J[HSN[31m1')
  assert.equal(cleanSmbiosString('\u009b31mDell\u009d0;x\u009c'), '31mDell0;x', 'C1 CSI, OSC and ST')
  assert.equal(cleanSmbiosString('\0LAB\x7f0001\0\0'), 'LAB0001', 'NUL padding and DEL')
  assert.equal(cleanSmbiosString('\tDell\nInc.\r\n'), 'Dell Inc.', 'line controls become spaces, then trimmed')
  assert.equal(cleanSmbiosString('\x1bTo Be Filled By O.E.M.\x07'), null, 'filler behind controls is still filler')
  assert.equal(cleanSmbiosString('\x1b\x07\u009b'), null, 'nothing but controls is nothing')
  assert.equal(cleanSmbiosString('Fujitsu — 製品 ñ'), 'Fujitsu — 製品 ñ', 'printable Unicode is kept')
})
