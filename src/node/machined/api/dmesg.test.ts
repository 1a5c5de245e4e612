import assert from 'node:assert/strict'
import { accessSync, appendFileSync, constants, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import type { LogLineInput } from '../../../proto/generated/anvil/node/v1/LogLine.ts'
import { kmsgLines, openKmsg, parseKmsgLine, type KmsgSource } from './dmesg.ts'

const dir = mkdtempSync(join(tmpdir(), 'anvil-kmsg-'))
after(() => { rmSync(dir, { recursive: true, force: true }) })

const BOOT = 1_700_000_000_000

async function collect (lines: AsyncIterable<LogLineInput>): Promise<LogLineInput[]> {
  const out: LogLineInput[] = []
  for await (const l of lines) out.push(l)
  return out
}

test('a record line: level from PRI, caller field skipped, control characters removed, dictionary lines ignored', () => {
  assert.deepEqual(parseKmsgLine('12,339,5140900,-,caller=T1;user \u001b[31mred\u001b[0m\ttab'), { priority: 4, seq: 339, usec: 5140900, text: 'user [31mred[0m tab' })
  assert.equal(parseKmsgLine(' SUBSYSTEM=pci'), undefined)
  assert.equal(parseKmsgLine('no header'), undefined)
  assert.equal(parseKmsgLine('x,1,2,-;text'), undefined)
})

test('a regular file of records: the tail of the backlog, times from boot time plus USEC', async () => {
  const file = join(dir, 'kmsg-tail')
  writeFileSync(file, '6,1,0,-;Linux version 6.1.0\n SUBSYSTEM=cpu\n4,2,1500000,-;second\n3,3,2000000,c;third\n')
  const source = await openKmsg(file)
  const lines = await collect(kmsgLines({ source, tail: 2, follow: false, signal: new AbortController().signal, bootTimeMs: BOOT }))
  await source.close()
  assert.deepEqual(lines, [
    { timeMs: BOOT + 1500, source: 'kernel', text: 'second', priority: 4 },
    { timeMs: BOOT + 2000, source: 'kernel', text: 'third', priority: 3 }
  ])
})

test('follow: records appended later arrive, a partial record waits for its newline, abort ends the stream', async () => {
  const file = join(dir, 'kmsg-follow')
  writeFileSync(file, '6,1,0,-;backlog\n')
  const source = await openKmsg(file)
  const controller = new AbortController()
  const seen: string[] = []
  const lines = kmsgLines({ source, tail: 0, follow: true, signal: controller.signal, bootTimeMs: BOOT, pollMs: 5 })
  for await (const l of lines) {
    seen.push(l.text ?? '')
    if (l.text === 'backlog') {
      appendFileSync(file, '6,2,10,-;new one\n6,3,20,-;half')
    } else if (l.text === 'new one') {
      appendFileSync(file, ' of a record\n')
    } else {
      controller.abort()
    }
  }
  await source.close()
  assert.deepEqual(seen, ['backlog', 'new one', 'half of a record'])
})

test('EPIPE (records overwritten before they were read) is skipped, EAGAIN ends the backlog', async () => {
  const reads: Array<string | NodeJS.ErrnoException> = [
    '6,1,0,-;first\n',
    Object.assign(new Error('Broken pipe'), { code: 'EPIPE' }),
    '6,5,50,-;after the gap\n',
    Object.assign(new Error('try again'), { code: 'EAGAIN' })
  ]
  let closed = false
  const source: KmsgSource = {
    read: async (buf) => {
      const next = reads.shift()
      if (next === undefined) throw Object.assign(new Error('try again'), { code: 'EAGAIN' })
      if (typeof next !== 'string') throw next
      return buf.write(next)
    },
    close: async () => { closed = true }
  }
  const lines = await collect(kmsgLines({ source, tail: 0, follow: false, signal: new AbortController().signal, bootTimeMs: BOOT }))
  assert.deepEqual(lines.map(l => l.text), ['first', 'after the gap'])
  assert.equal(closed, false, 'the caller owns the source')
})

test('another read error is thrown, not swallowed', async () => {
  const source: KmsgSource = { read: async () => { throw Object.assign(new Error('bad'), { code: 'EIO' }) }, close: async () => {} }
  await assert.rejects(collect(kmsgLines({ source, tail: 0, follow: false, signal: new AbortController().signal, bootTimeMs: BOOT })), /bad/)
})

const kmsgReadable = ((): boolean => { try { accessSync('/dev/kmsg', constants.R_OK); return true } catch { return false } })()

test('the real /dev/kmsg: the last records of the backlog, then the stream ends (O_NONBLOCK)', { skip: kmsgReadable ? false : '/dev/kmsg is not readable here' }, async () => {
  const source = await openKmsg('/dev/kmsg')
  try {
    const lines = await collect(kmsgLines({ source, tail: 3, follow: false, signal: new AbortController().signal, bootTimeMs: BOOT }))
    assert.ok(lines.length > 0 && lines.length <= 3, `${lines.length} lines`)
    for (const l of lines) {
      assert.equal(l.source, 'kernel')
      assert.ok((l.timeMs as number) >= BOOT)
      assert.ok((l.priority as number) >= 0 && (l.priority as number) <= 7)
    }
  } finally {
    await source.close()
  }
})
