import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parse } from 'yaml'
import { renderData, renderFields, renderTable } from './output.ts'

/** Values a hostile machine can put in its inventory: OSC title change, CSI screen clear, C1 CSI, DEL, NUL, line separators. */
const HOSTILE = {
  serial: '\x1b]0;evil\x07SN1',
  model: 'ok\x1b[2J\x1b[H',
  c1: '\u009b31mred\u009b0m',
  nel: 'a\u0085b',
  del: 'x\x7fy',
  nul: 'z\0',
  lines: 'one\u2028two\u2029three',
  multi: 'a\nb\u009bc',
  long: ('word \u009b ').repeat(30),
  tab: 'k\tv',
  printable: 'Fujitsu — 製品 ñ 🙂 \\x1b'
}

/** Any C0, DEL or C1 control, and the Unicode line separators, except those `allowed`. */
function rawControls (text: string, allowed: string): string[] {
  return [...text].filter(c => /[\p{Cc}\u2028\u2029]/u.test(c) && !allowed.includes(c)).map(c => `U+${c.codePointAt(0)?.toString(16).padStart(4, '0') ?? ''}`)
}

test('table cells show control characters as visible escapes, and columns stay aligned', () => {
  const rows = [{ id: 'm-1', serial: HOSTILE.serial, extra: { c1: HOSTILE.c1 } }, { id: 'm-2', serial: 'PLAIN', extra: [HOSTILE.del, HOSTILE.tab] }]
  const out = renderTable(rows, [{ header: 'ID', get: r => r.id }, { header: 'SERIAL', get: r => r.serial }, { header: 'EXTRA', get: r => r.extra }])
  assert.deepEqual(rawControls(out, '\n'), [])
  const lines = out.split('\n')
  assert.equal(lines[1], 'm-1   \\x1b]0;evil\\x07SN1   {"c1":"\\x9b31mred\\x9b0m"}')
  assert.equal(lines[2], 'm-2   PLAIN                x\\x7fy,k\\tv')
  assert.equal(lines[0]?.indexOf('EXTRA'), lines[1]?.indexOf('{'))
  assert.equal(renderTable([{ v: HOSTILE.printable }], [{ header: 'V', get: r => r.v }]), `V\n${HOSTILE.printable}\n`, 'printable text is untouched')
})

test('fields show keys and values with control characters escaped', () => {
  const out = renderFields([['serial', HOSTILE.serial], ['bad\x1bkey', HOSTILE.multi], ['nested', { model: HOSTILE.model }]])
  assert.deepEqual(rawControls(out, '\n'), [])
  assert.equal(out, [
    'serial:      \\x1b]0;evil\\x07SN1',
    'bad\\x1bkey:  a\\nb\\x9bc',
    'nested:      {"model":"ok\\u001b[2J\\u001b[H"}', // JSON.stringify's own escape for C0
    ''
  ].join('\n'))
})

test('JSON output is exact and has no raw DEL, C1 or line separator (JSON.stringify leaves those raw)', () => {
  const value = { machines: [HOSTILE], [HOSTILE.c1]: 'key too', lone: '\ud800' }
  const out = renderData(value, 'json')
  assert.deepEqual(JSON.parse(out), value)
  assert.deepEqual(rawControls(out, '\n'), [])
  assert.match(out, /"c1": "\\u009b31mred\\u009b0m"/)
  assert.match(out, /"lines": "one\\u2028two\\u2029three"/)
  assert.equal(renderData({ a: 1 }, 'json'), '{\n  "a": 1\n}\n')
})

test('YAML output is exact and has no raw control but LF and TAB (the yaml library leaves DEL and C1 raw in double quotes)', () => {
  const value = { machines: [HOSTILE], [HOSTILE.c1]: 'key too', list: [HOSTILE.del, HOSTILE.nel], nested: { deeper: [{ v: HOSTILE.long }] } }
  const out = renderData(value, 'yaml')
  assert.deepEqual(parse(out), value)
  assert.deepEqual(rawControls(out, '\n\t\u2028\u2029'), [])
  assert.match(out, /serial: "\\e\]0;evil\\aSN1"/)
  assert.match(out, /c1: "\\x9b31mred\\x9b0m"/)
  assert.match(out, /del: "x\\x7fy"/)
  assert.equal(renderData({ a: 'plain', b: [1, 2] }, 'yaml'), 'a: plain\nb:\n  - 1\n  - 2\n')
})
