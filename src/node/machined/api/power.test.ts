import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { PowerOperations, sysrqPower, type PowerOperationsOptions } from './power.ts'

/** Operations whose every step is recorded; `done` resolves when the power port was called (or failed). */
function recorded (o: { failPower?: boolean } = {}): { ops: PowerOperations, calls: string[], done: () => Promise<void>, lines: string[] } {
  const calls: string[] = []
  const lines: string[] = []
  let finish: () => void = () => {}
  let finished = new Promise<void>(resolve => { finish = resolve })
  const step = (name: string) => async (): Promise<void> => {
    calls.push(name)
    if (name === 'reboot' || name === 'powerOff') {
      finish()
      finished = new Promise<void>(resolve => { finish = resolve })
      if (o.failPower === true) throw new Error('sysrq-trigger: permission denied')
    }
  }
  const opts: PowerOperationsOptions = {
    stopServices: step('stop'),
    sync: step('sync'),
    power: { reboot: step('reboot'), powerOff: step('powerOff') },
    bootId: async () => 'boot-1',
    log: l => lines.push(l),
    now: () => 42,
    settleMs: 0
  }
  return { ops: new PowerOperations(opts), calls, done: async () => { await finished }, lines }
}

test('shutdown (default): services stopped, then sync, then power off', async () => {
  const r = recorded()
  const done = r.done()
  const op = await r.ops.begin('shutdown', false)
  assert.deepEqual({ ...op, id: undefined }, { id: undefined, kind: 'shutdown', state: 'running', phase: 'stopping-services', startedAtMs: 42, bootIdBefore: 'boot-1' })
  assert.deepEqual(r.calls, [], 'nothing happens before the answer is out')
  await done
  assert.deepEqual(r.calls, ['stop', 'sync', 'powerOff'])
})

test('force: no services stopped; a power port that fails leaves the node up and a later request starts anew', async () => {
  const r = recorded({ failPower: true })
  let done = r.done()
  const first = await r.ops.begin('reboot', true)
  await done
  assert.deepEqual(r.calls, ['sync', 'reboot'])
  // The failure is logged after the port rejects; wait for the line rather than a fixed time.
  for (let i = 0; i < 100 && !r.lines.some(l => l.includes('failed: sysrq-trigger')); i++) await new Promise(resolve => setImmediate(resolve))
  assert.ok(r.lines.some(l => l.includes(`reboot ${first?.id ?? ''}: failed: sysrq-trigger: permission denied`)), r.lines.join('\n'))
  done = r.done()
  const second = await r.ops.begin('reboot', true)
  assert.notEqual(second?.id, first?.id)
  await done
})

test('sysrq: s and u before b (reboot) or o (power off), the last key written last', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-sysrq-'))
  try {
    const trigger = join(dir, 'sysrq-trigger')
    writeFileSync(trigger, '')
    const written: string[] = []
    const power = sysrqPower({ trigger, pauseMs: 0, onWrite: k => written.push(k) })
    await power.reboot()
    assert.equal(readFileSync(trigger, 'utf8'), 'b')
    await power.powerOff()
    assert.equal(readFileSync(trigger, 'utf8'), 'o')
    assert.deepEqual(written, ['s', 'u', 'b', 's', 'u', 'o'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
