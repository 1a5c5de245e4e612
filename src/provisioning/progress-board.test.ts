import { test } from 'node:test'
import assert from 'node:assert/strict'
import { ProgressBoard } from './progress-board.ts'

const p = (taskId: string, disk: string, bytesDone: number) => ({ taskId, disk, phase: 'zero', bytesDone, bytesTotal: 100, rateBytesPerSecond: 1 })

test('a timeline step every 10% and at a new phase; live progress per disk', () => {
  const b = new ProgressBoard()
  assert.equal(b.update(p('t-1', 'vda', 5), 1), 0)
  assert.equal(b.update(p('t-1', 'vda', 9), 2), undefined)
  assert.equal(b.update(p('t-1', 'vda', 10), 3), 1)
  assert.equal(b.update({ ...p('t-1', 'vda', 10), phase: 'verify' }, 4), 1)
  assert.deepEqual(b.of('t-1').map(d => [d.disk, d.phase, d.bytesDone]), [['vda', 'verify', 10]])
  b.forget('t-1')
  assert.deepEqual(b.of('t-1'), [])
})

test('what agents can make it hold is bounded: the least recently updated task goes first, disk names are capped', () => {
  const b = new ProgressBoard()
  for (let i = 0; i < 5000; i++) b.update(p(`t-${i}`, 'vda', 1), i)
  b.update(p('t-1000', 'vda', 2), 5001)
  for (let i = 0; i < 1000; i++) b.update(p(`t-new-${i}`, 'vda', 1), 6000 + i)
  assert.equal(b.size, 4096)
  assert.equal(b.of('t-0').length, 0, 'the oldest went')
  assert.equal(b.of('t-1000').length, 1, 'a recently updated one stays')
  for (let d = 0; d < 2000; d++) b.update(p('t-disks', `d${d}`, 1), 9000)
  assert.equal(b.of('t-disks').length, 1024)
})
