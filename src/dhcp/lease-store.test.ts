import { test, mock } from 'node:test'
import assert from 'node:assert/strict'
import { GroupCommitter, MemoryLeaseStore, pacedSchedule, type Lease } from './lease-store.ts'

function lease (address: number): Lease {
  return { address, subnet: '10.77.0.0/24', mac: '52:54:00:00:00:01', clientId: null, hostname: null, state: 'bound', startsAt: 0, expiresAt: 1, updatedAt: 0 }
}

test('pacedSchedule: immediate when idle, then at most one run per interval', () => {
  mock.timers.enable({ apis: ['setTimeout', 'setImmediate'] })
  try {
    let clock = 1000
    const schedule = pacedSchedule(2, () => clock)
    const runs: number[] = []
    schedule(() => runs.push(clock))
    mock.timers.tick(0)
    assert.deepEqual(runs, [1000], 'the first commit runs right after the poll phase')
    clock = 1000.5
    schedule(() => runs.push(clock))
    mock.timers.tick(1)
    assert.deepEqual(runs, [1000], 'half a millisecond later it waits for the interval')
    clock = 1002
    mock.timers.tick(1)
    assert.deepEqual(runs, [1000, 1002])
    clock = 1010
    schedule(() => runs.push(clock))
    mock.timers.tick(0)
    assert.deepEqual(runs, [1000, 1002, 1010], 'after a quiet spell it is immediate again')
  } finally {
    mock.timers.reset()
  }
})

test('GroupCommitter: requests arriving while a batch waits share one commit', async () => {
  const store = new MemoryLeaseStore()
  const committer = new GroupCommitter(store, fn => { setImmediate(fn) })
  await Promise.all([committer.commit([lease(1)]), committer.commit([lease(2)]), committer.commit([lease(3), lease(4)])])
  assert.equal(store.commits, 1)
  assert.equal(committer.batches, 1)
  assert.deepEqual([...store.rows.keys()].sort(), [1, 2, 3, 4])
})
