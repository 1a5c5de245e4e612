import assert from 'node:assert/strict'
import { test } from 'node:test'
import { serviceLines } from './logs.ts'
import { ServiceLog, type ServiceLine } from './service-log.ts'

test('lines split across chunks, per stream, timestamped, control characters removed, CRLF trimmed', () => {
  let t = 1000
  const log = new ServiceLog({ now: () => t++ })
  log.write('stdout', Buffer.from('hel'))
  log.write('stderr', Buffer.from('oops\r\n'))
  log.write('stdout', Buffer.from('lo\nwor\u001b[2Jld\nrest'))
  assert.deepEqual(log.lines(), [
    { timeMs: 1000, stream: 'stderr', text: 'oops' },
    { timeMs: 1001, stream: 'stdout', text: 'hello' },
    { timeMs: 1002, stream: 'stdout', text: 'wor[2Jld' }
  ])
  log.flush('stdout')
  assert.equal(log.lines(1)[0]?.text, 'rest')
})

test('bounded: the ring keeps the last lines, a long line is cut into pieces at a character boundary', () => {
  const log = new ServiceLog({ capacity: 5, maxLineBytes: 8 })
  log.write('stdout', Buffer.from(Array.from({ length: 12 }, (_, i) => `l${i}`).join('\n') + '\n'))
  assert.deepEqual(log.lines().map(l => l.text), ['l7', 'l8', 'l9', 'l10', 'l11'])
  assert.deepEqual(log.lines(2).map(l => l.text), ['l10', 'l11'])
  // 7 ASCII bytes then "é" (2 bytes): the cut at 8 would split it, so it comes at 7.
  log.write('stdout', Buffer.from('abcdefgé0123456789\n'))
  assert.deepEqual(log.lines(3).map(l => l.text), ['abcdefg', 'é012345', '6789'])
  // A partial line never grows past the limit either.
  log.write('stderr', Buffer.from('x'.repeat(20)))
  assert.deepEqual(log.lines(2).map(l => l.text), ['xxxxxxxx', 'xxxxxxxx'])
})

test('the default bounds: 2,000 lines of at most 4 KiB', () => {
  const log = new ServiceLog()
  for (let i = 0; i < 2500; i++) log.write('stdout', Buffer.from(`line ${i}\n`))
  log.write('stdout', Buffer.from('y'.repeat(10_000) + '\n'))
  const lines = log.lines()
  assert.equal(lines.length, 2000)
  assert.equal(lines[0]?.text, 'line 503')
  assert.deepEqual(lines.slice(-3).map(l => l.text.length), [4096, 4096, 10_000 - 8192])
})

test('followers get new lines; serviceLines gives the tail, then live lines, and ends on abort', async () => {
  const log = new ServiceLog()
  for (const s of ['a', 'b', 'c']) log.write('stdout', Buffer.from(`${s}\n`))
  const got: ServiceLine[] = []
  const stop = log.follow(l => got.push(l))
  log.write('stderr', Buffer.from('d\n'))
  stop()
  log.write('stderr', Buffer.from('e\n'))
  assert.deepEqual(got.map(l => l.text), ['d'])

  const controller = new AbortController()
  const texts: string[] = []
  for await (const line of serviceLines({ id: 'apid', log, tail: 2, follow: true, signal: controller.signal })) {
    texts.push(line.text ?? '')
    assert.equal(line.source, 'apid')
    assert.equal(line.priority, 6)
    if (line.text === 'e') setImmediate(() => { log.write('stdout', Buffer.from('live\n')) })
    if (line.text === 'live') controller.abort()
  }
  assert.deepEqual(texts, ['d', 'e', 'live'])
})
