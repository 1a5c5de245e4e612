import { test } from 'node:test'
import assert from 'node:assert/strict'
import { escapeControlChars, hasControlChars, sanitizeText } from './text.ts'

const isControl = (cp: number): boolean => cp <= 0x1f || (cp >= 0x7f && cp <= 0x9f)

test('exactly C0, DEL and C1 are controls; every other BMP code point passes through both helpers', () => {
  for (let cp = 0; cp <= 0xffff; cp++) {
    if (cp >= 0xd800 && cp <= 0xdfff) continue // lone surrogates: not characters
    const c = String.fromCharCode(cp)
    assert.equal(hasControlChars(c), isControl(cp), `U+${cp.toString(16)}`)
    if (!isControl(cp)) {
      assert.equal(sanitizeText(c), c)
      assert.equal(escapeControlChars(c), c)
    } else {
      assert.ok(!hasControlChars(sanitizeText(c)) && !hasControlChars(escapeControlChars(c)), `U+${cp.toString(16)}`)
    }
  }
  assert.equal(sanitizeText('🙂'), '🙂')
})

test('escapeControlChars writes each control as a visible escape', () => {
  assert.equal(escapeControlChars('\x1b]0;evil\x07'), '\\x1b]0;evil\\x07')
  assert.equal(escapeControlChars('a\tb\nc\rd'), 'a\\tb\\nc\\rd')
  assert.equal(escapeControlChars('\0\x7f\u0085\u009b'), '\\x00\\x7f\\x85\\x9b')
  assert.equal(escapeControlChars('plain ünïcode \\x1b'), 'plain ünïcode \\x1b')
})
