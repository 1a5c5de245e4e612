import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { NO_PROGRESS, type StoredTask, type TaskKind, type TaskState } from '../provisioning/discovery-ports.ts'
import { SqliteDiscoveryStore } from './discovery-store.ts'
import { SqliteOperationStore } from './operation-store.ts'

const T0 = Date.parse('2026-11-22T00:00:00Z')

function task (id: string, machineId: string, createdAt: number, kind: TaskKind = 'wipe', state: TaskState = 'queued'): StoredTask {
  return { id, machineId, kind, params: kind === 'wipe' ? { method: 'fast', disks: [] } : {}, state, error: null, createdAt, startedAt: null, finishedAt: null, sessionId: null, cancelRequestedAt: null, ...NO_PROGRESS }
}

async function setup () {
  const inv = makeInventory()
  const a = (await inv.machines.registerBoot({ mac: '52:54:00:00:0a:01' })).machine.id
  const b = (await inv.machines.registerBoot({ mac: '52:54:00:00:0b:01' })).machine.id
  return { inv, a, b, tasks: new SqliteDiscoveryStore(inv.db), ops: new SqliteOperationStore(inv.db) }
}

test('progress is written to the task row and read back by both stores; a new task has none', async () => {
  const { a, tasks, ops } = await setup()
  await tasks.createTask(task('t-1', a, T0))
  assert.deepEqual(await ops.operation('t-1'), task('t-1', a, T0))
  await tasks.setTaskProgress('t-1', { phase: 'wipe', bytesDone: 3 * 2 ** 30, bytesTotal: 2 ** 33, at: T0 + 5000 })
  await tasks.setTaskProgress('t-1', { phase: 'verify', bytesDone: 2 ** 20, bytesTotal: 2 ** 24, at: T0 + 9000 })
  const t = await ops.operation('t-1')
  assert.deepEqual([t?.phase, t?.bytesDone, t?.bytesTotal, t?.progressAt], ['verify', 2 ** 20, 2 ** 24, T0 + 9000], 'the latest write wins, bytes beyond 32 bits intact')
  assert.equal((await tasks.tasks(a))[0]?.phase, 'verify')
  assert.equal(await ops.operation('t-absent'), undefined)
})

test('a result is JSON in and out; finishTask writes it only while the task runs (compare-and-set)', async () => {
  const { a, tasks, ops } = await setup()
  await tasks.createTask(task('t-run', a, T0, 'wipe', 'running'))
  const result = { method: 'zeroes', disks: [{ disk: 'vda', bytesWritten: 2 ** 36, verified: true, refused: null }] }
  assert.equal(await tasks.finishTask('t-run', { state: 'done', error: null, finishedAt: T0 + 1, result }), true)
  const done = await ops.operation('t-run')
  assert.deepEqual([done?.state, done?.result], ['done', result])
  // Finished already: a second outcome (a repeated result, a racing process) changes nothing.
  assert.equal(await tasks.finishTask('t-run', { state: 'failed', error: 'late', finishedAt: T0 + 2, result: { other: true } }), false)
  assert.deepEqual((await ops.operation('t-run'))?.result, result)

  await tasks.createTask(task('t-cancelled', a, T0, 'wipe', 'cancelled'))
  assert.equal(await tasks.finishTask('t-cancelled', { state: 'done', error: null, finishedAt: T0 + 3, result }), false)
  assert.equal((await ops.operation('t-cancelled'))?.result, null, 'a cancel committed first is never overwritten, result included')
  await tasks.setTaskResult('t-cancelled', { method: 'fast', disks: [] })
  assert.deepEqual((await ops.operation('t-cancelled'))?.result, { method: 'fast', disks: [] })
  assert.equal((await ops.operation('t-cancelled'))?.state, 'cancelled')

  await tasks.createTask(task('t-plain', a, T0, 'reboot', 'running'))
  assert.equal(await tasks.finishTask('t-plain', { state: 'done', error: null, finishedAt: T0 + 4 }), true)
  assert.equal((await ops.operation('t-plain'))?.result, null, 'no result given: none stored')
})

test('operations over every machine, newest first by (createdAt, id), with filters, a limit and a before cursor', async () => {
  const { a, b, tasks, ops } = await setup()
  await tasks.createTask(task('t-a1', a, T0))
  await tasks.createTask(task('t-b1', b, T0 + 10, 'reboot', 'done'))
  await tasks.createTask(task('t-a2', a, T0 + 20, 'install', 'running'))
  await tasks.createTask(task('t-b2', b, T0 + 20, 'wipe', 'failed'))
  await tasks.createTask(task('t-a3', a, T0 + 30, 'wipe', 'done'))
  const ids = async (f: Parameters<SqliteOperationStore['operations']>[0]): Promise<string[]> => (await ops.operations(f)).map(t => t.id)
  assert.deepEqual(await ids({ limit: 50 }), ['t-a3', 't-b2', 't-a2', 't-b1', 't-a1'], 'a tie on createdAt is broken by id, descending')
  assert.deepEqual(await ids({ limit: 2 }), ['t-a3', 't-b2'])
  assert.deepEqual(await ids({ limit: 2, before: { createdAt: T0 + 20, id: 't-b2' } }), ['t-a2', 't-b1'], 'the next page starts right after the cursor, even inside a tie')
  assert.deepEqual(await ids({ limit: 50, machineId: a }), ['t-a3', 't-a2', 't-a1'])
  assert.deepEqual(await ids({ limit: 50, state: 'done' }), ['t-a3', 't-b1'])
  assert.deepEqual(await ids({ limit: 50, kind: 'wipe' }), ['t-a3', 't-b2', 't-a1'])
  assert.deepEqual(await ids({ limit: 50, kind: 'wipe', machineId: b, state: 'failed' }), ['t-b2'])
  assert.deepEqual(await ids({ limit: 50, kind: 'powerOff' }), [])
})
