import { test } from 'node:test'
import assert from 'node:assert/strict'
import { firstMatchingRule, globMatch, selectorMatches } from './selector.ts'

const report = {
  system: { manufacturer: 'Anvil Lab', product: 'VM', serial: 'LAB0001' },
  memory: { totalBytes: 536870912 },
  nics: [{ name: 'eth0', mac: '52:54:00:77:00:11' }, { name: 'eth1', mac: 'aa:bb:cc:00:00:01' }],
  disks: [{ name: 'vda', serial: 'DISK1' }]
}

test('every key must match; globs; lists match when any element does', () => {
  assert.ok(selectorMatches({ 'system.manufacturer': 'Anvil Lab' }, report))
  assert.ok(selectorMatches({ 'system.manufacturer': 'Anvil*', 'nics.mac': 'aa:bb:*' }, report))
  assert.ok(selectorMatches({ 'memory.totalBytes': 536870912 }, report))
  assert.ok(!selectorMatches({ 'system.manufacturer': 'Anvil*', 'nics.mac': 'ff:*' }, report))
  assert.ok(!selectorMatches({ 'system.manufacturer': 'anvil lab' }, report), 'case-sensitive')
  assert.ok(!selectorMatches({ 'system.product': 'V.' }, report), 'regex characters are literal')
  assert.ok(!selectorMatches({ 'system.missing': '*' }, report))
  assert.ok(!selectorMatches({ system: '*' }, report), 'an object is not a value')
  assert.ok(!selectorMatches({}, report), 'an empty rule accepts nothing')
})

test('firstMatchingRule', () => {
  assert.equal(firstMatchingRule([{ 'system.serial': 'X*' }, { 'disks.serial': 'DISK?' }, { 'disks.serial': 'DISK*' }], report), 2)
  assert.equal(firstMatchingRule([], report), -1)
})

/** The definition, by dynamic programming over (pattern, text) prefixes: the reference globMatch must agree with. */
function reference (pattern: string, text: string): boolean {
  let row = Array.from({ length: text.length + 1 }, (_, j) => j === 0)
  for (const p of pattern) {
    const next = new Array<boolean>(text.length + 1).fill(false)
    next[0] = p === '*' && row[0] === true
    for (let j = 1; j <= text.length; j++) {
      next[j] = p === '*' ? (row[j] === true || next[j - 1] === true) : (row[j - 1] === true && text[j - 1] === p)
    }
    row = next
  }
  return row[text.length] === true
}

test('globMatch: whole string, case-sensitive, `*` any run (empty and newlines too), the rest literal', () => {
  const cases: Array<[string, string, boolean]> = [
    ['', '', true], ['', 'a', false], ['*', '', true], ['**', 'anything', true],
    ['abc', 'abc', true], ['abc', 'abcd', false], ['abc', 'ABC', false],
    ['a*', 'a', true], ['*a', 'ba', true], ['a*a', 'a', false], ['a*a', 'aa', true],
    ['a*b*c', 'abc', true], ['a*b*c', 'axxbyyc', true], ['a*b*c', 'acb', false], ['a*b*c', 'abcb', false],
    ['*ab*ab*', 'abab', true], ['*ab*ab*', 'aba', false], ['Dell*', 'Dell Inc.', true],
    ['52:54:00:*', '52:54:00:77:00:11', true], ['V.', 'VM', false], ['D?SK', 'DISK', false], ['(x)*[y]', '(x)z[y]', true],
    ['a*c', 'a\nb\nc', true]
  ]
  for (const [pattern, text, want] of cases) {
    assert.equal(globMatch(pattern, text), want, `${JSON.stringify(pattern)} ~ ${JSON.stringify(text)}`)
    assert.equal(reference(pattern, text), want, `reference: ${JSON.stringify(pattern)} ~ ${JSON.stringify(text)}`)
  }
})

test('globMatch agrees with the definition on every small pattern and text over {a, b, *}', () => {
  const words = (alphabet: string, max: number): string[] => {
    const out = ['']
    for (let n = 0, layer = ['']; n < max; n++) {
      layer = layer.flatMap(w => [...alphabet].map(c => w + c))
      out.push(...layer)
    }
    return out
  }
  const texts = words('ab', 6)
  for (const pattern of words('ab*', 5)) {
    for (const text of texts) assert.equal(globMatch(pattern, text), reference(pattern, text), `${pattern} ~ ${text}`)
  }
})

test('a 300K-character value against many-star patterns: no RegExp, one forward search per piece', (t) => {
  const noRegExp = (): never => { throw new Error('selector matching must not use a (backtracking) RegExp') }
  t.mock.method(RegExp.prototype, 'test', noRegExp)
  t.mock.method(RegExp.prototype, 'exec', noRegExp)
  const almost = 'a'.repeat(300_000) + 'c' // /^.*a.*b.*c$/ backtracks over every split of this
  const hit = 'x'.repeat(150_000) + 'ab' + 'x'.repeat(150_000) + 'c'
  const runs: Array<[string, string, boolean]> = [
    ['*a*b*c', almost, false], ['a*a*a*a*b*c', almost, false], ['*ab*c', hit, true], ['x*a*b*x*c', hit, true], ['*a*a*a*a*a*c', almost, true]
  ]
  for (const [pattern, text, want] of runs) {
    const indexOf = t.mock.method(String.prototype, 'indexOf')
    let got: boolean
    try {
      got = selectorMatches({ 'system.serial': pattern }, { system: { serial: text } })
    } finally {
      indexOf.mock.restore()
    }
    assert.equal(got, want, pattern)
    const middlePieces = pattern.split('*').length - 2
    assert.ok(indexOf.mock.callCount() <= middlePieces, `${pattern}: ${indexOf.mock.callCount()} searches for ${middlePieces} middle pieces`)
  }
})
