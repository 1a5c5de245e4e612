import { test } from 'node:test'
import assert from 'node:assert/strict'
import { KeyedSerializer, Semaphore } from './concurrency.ts'

function deferred (): { promise: Promise<void>, resolve: () => void } {
  let open = (): void => {}
  const promise = new Promise<void>((resolve) => { open = resolve })
  return { promise, resolve: () => { open() } }
}

test('Semaphore holds tasks beyond its limit until a slot frees, in order', async () => {
  const sem = new Semaphore(2)
  const gates = [deferred(), deferred(), deferred(), deferred()]
  let active = 0
  let peak = 0
  const order: number[] = []
  const runs = gates.map((g, i) => sem.run(async () => {
    active++; peak = Math.max(peak, active); order.push(i)
    await g.promise
    active--
    return i
  }))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(order, [0, 1])
  gates[1]?.resolve()
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(order, [0, 1, 2])
  for (const g of gates) g.resolve()
  assert.deepEqual(await Promise.all(runs), [0, 1, 2, 3])
  assert.equal(peak, 2)
  assert.throws(() => new Semaphore(0), RangeError)
})

test('KeyedSerializer runs one task at a time per key, keys independently, and survives failures', async () => {
  const ser = new KeyedSerializer()
  const log: string[] = []
  const gate = deferred()
  const a1 = ser.run('a', async () => { log.push('a1 start'); await gate.promise; log.push('a1 end'); throw new Error('boom') })
  const a2 = ser.run('a', async () => { log.push('a2'); return 2 })
  const b1 = ser.run('b', async () => { log.push('b1'); return 1 })
  assert.equal(await b1, 1)
  assert.deepEqual(log, ['a1 start', 'b1'])
  gate.resolve()
  await assert.rejects(a1, /boom/)
  assert.equal(await a2, 2)
  assert.deepEqual(log, ['a1 start', 'b1', 'a1 end', 'a2'])
})
