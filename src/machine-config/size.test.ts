import { test } from 'node:test'
import assert from 'node:assert/strict'
import { formatSize, parseSize } from './size.ts'

test('sizes parse exactly, binary and decimal units apart', () => {
  const cases: [string | number, number][] = [
    ['100GiB', 100 * 1024 ** 3],
    ['100GB', 100e9],
    ['1.5TB', 1.5e12],
    ['1.5KiB', 1536],
    ['0.5MiB', 524288],
    ['512B', 512],
    ['2 TiB', 2 * 1024 ** 4],
    ['0B', 0],
    [107374182400, 107374182400]
  ]
  for (const [text, bytes] of cases) assert.equal(parseSize(text), bytes, String(text))
})

test('sizes that are not a whole number of bytes, or not sizes, are refused with the reason', () => {
  assert.throws(() => parseSize('1.0001KiB'), { message: '1.0001KiB is not a whole number of bytes' })
  assert.throws(() => parseSize('1.3B'), { message: '1.3B is not a whole number of bytes' })
  assert.throws(() => parseSize('100G'), { message: '"100G" is not a size; use a number and a unit, e.g. 100GiB or 1.5TB (KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB of 1000)' })
  assert.throws(() => parseSize('100gib'), { message: /^"100gib" is not a size \(units are case-sensitive: GiB\);/ })
  assert.throws(() => parseSize('100'), { message: /^"100" is not a size;/ })
  assert.throws(() => parseSize('-1GiB'), { message: /is not a size/ })
  assert.throws(() => parseSize(1.5), { message: /^1\.5 is not a whole number of bytes/ })
  assert.throws(() => parseSize('9000TiB'), { message: `9000TiB is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)` })
})

test('formatSize writes the shortest exact unit, and parses back', () => {
  const cases: [number, string][] = [[0, '0B'], [1023, '1023B'], [1024, '1KiB'], [400 * 1024 ** 3, '400GiB'], [2e12, '2TB'], [1536, '1536B'], [1000204886016, '976762584KiB']]
  for (const [bytes, text] of cases) {
    assert.equal(formatSize(bytes), text)
    assert.equal(parseSize(text), bytes)
  }
})
