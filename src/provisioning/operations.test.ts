import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import { SqliteDiscoveryStore } from '../db/discovery-store.ts'
import { SqliteOperationStore } from '../db/operation-store.ts'
import { AgentService } from './agent-service.ts'
import type { AgentDirective, HardwareReport, OpenedStream, TaskInput, TaskProgress } from './agent-gateway.ts'
import type { TaskProgressRecord } from './discovery-ports.ts'
import { OperationsService, operationPercent, operationView } from './operations.ts'
import { LifecycleService } from './lifecycle-service.ts'
import { SqliteLifecycleStore } from '../db/lifecycle-store.ts'
import { DiscoveryService } from './discovery-service.ts'

// Operations through the real agent service and stores (in-memory SQLite with migrations): what a
// wipe's progress leaves in its row, what its operation shows, here and in another server process.

const MAC = '52:54:00:77:00:51'
const PEER = '10.77.0.151'
const MiB = 2 ** 20

function hardware (): HardwareReport {
  const disk = (name: string, sizeBytes: number) => ({ name, sizeBytes, model: '', serial: `S-${name}`, wwn: '', rotational: false, removable: false, transport: 'virtio', byId: [], partitionTable: '', signatures: [], readOnly: false, logicalBlockSize: 512, discard: false })
  return { system: null, baseboard: null, bios: null, chassis: null, cpu: null, memory: null, disks: [disk('vda', 64 * MiB), disk('vdb', 32 * MiB)], nics: [], pci: [], bmc: null, kernel: '6.1.0' }
}

async function connect (agents: AgentService, machineId: string): Promise<OpenedStream> {
  const stream = await agents.openSession({ kind: 'token', token: await agents.issueToken(machineId, PEER) }, { agentVersion: '1', bootMac: MAC, bootDisk: '' }, PEER)
  await agents.hardwareReported(stream, hardware())
  return stream
}

async function first (it: AsyncIterable<AgentDirective>): Promise<TaskInput> {
  const next = await it[Symbol.asyncIterator]().next()
  if (next.done === true || !('task' in next.value)) throw new Error('expected a task')
  return next.value.task
}

const report = (disk: string, phase: string, bytesDone: number, bytesTotal: number): TaskProgress => ({ taskId: '', disk, phase, bytesDone, bytesTotal, rateBytesPerSecond: MiB })

/** A machine accepted and wiping (vda and vdb, zeroes), its agent holding the task. */
async function wiping () {
  const inv = makeInventory()
  const p = makeProvisioning(inv)
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'LAB0051' })
  await p.discovery.accept(machine.id)
  const task = await p.discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda', 'vdb'] })
  const stream = await connect(p.agents, machine.id)
  const ctl = new AbortController()
  assert.equal((await first(p.agents.tasks(stream, ctl.signal))).id, task.id)
  const send = (disk: string, phase: string, done: number, total: number): void => { p.agents.progress(stream, { ...report(disk, phase, done, total), taskId: task.id }) }
  // Another server process on the same database: no live board of its own.
  const elsewhere = new OperationsService({ store: new SqliteOperationStore(inv.db), machine: async (key) => await inv.machines.get(key), progress: () => [] })
  return { inv, ...p, machine, task, stream, ctl, send, elsewhere }
}

test('a wipe\'s progress steps are written to its row (phase, bytes summed over disks); its operation shows them, live here and stored elsewhere', async () => {
  const { operations, elsewhere, store, task, send, ctl } = await wiping()
  assert.deepEqual(await elsewhere.get(task.id).then(o => [o.state, o.phase, o.bytesDone, o.percent]), ['running', null, null, null], 'nothing reported yet')
  send('vda', 'wipe', 0, 64 * MiB)
  send('vdb', 'wipe', 0, 32 * MiB)
  send('vda', 'wipe', 16 * MiB, 64 * MiB) // 25%: a new step of vda, written
  send('vda', 'wipe', 17 * MiB, 64 * MiB) // 26%: same step, live only
  const row = (await store.tasks(task.machineId)).find(t => t.id === task.id)
  assert.deepEqual([row?.phase, row?.bytesDone, row?.bytesTotal], ['wipe', 16 * MiB, 96 * MiB])
  assert.equal(typeof row?.progressAt, 'number')

  const here = await operations.get(task.id)
  assert.deepEqual([here.phase, here.bytesDone, here.bytesTotal, here.percent], ['wipe', 17 * MiB, 96 * MiB, 17], 'this process: the live board, summed')
  assert.deepEqual(here.progress.map(d => [d.disk, d.bytesDone]), [['vda', 17 * MiB], ['vdb', 0]])
  const there = await elsewhere.get(task.id)
  assert.deepEqual([there.phase, there.bytesDone, there.bytesTotal, there.percent, there.progress], ['wipe', 16 * MiB, 96 * MiB, 16, []], 'another process: the row')

  send('vda', 'verify', 0, 64 * MiB) // a new phase: written at once
  assert.deepEqual(await elsewhere.get(task.id).then(o => [o.phase, o.bytesDone, o.bytesTotal]), ['verify', 0, 96 * MiB])
  send('vda', 'v'.repeat(10_000), 0, 64 * MiB)
  assert.equal((await elsewhere.get(task.id)).phase, 'v'.repeat(32), 'a phase no agent of ours sends is cut before it is stored')
  ctl.abort()
})

test('a finished wipe\'s operation holds its result: what each disk got; a failed one its error', async () => {
  const { operations, elsewhere, agents, stream, task, send, ctl } = await wiping()
  send('vda', 'wipe', 64 * MiB, 64 * MiB)
  await agents.result(stream, {
    taskId: task.id,
    ok: true,
    error: '',
    eraseReports: [
      { disk: 'vda', serial: 'S-vda', method: 'zeroes', bytesWritten: 64 * MiB, durationMs: 10, verified: true, refused: '' },
      { disk: 'vdb', serial: 'S-vdb', method: 'zeroes', bytesWritten: 0, durationMs: 0, verified: false, refused: 'mounted at /' },
      { disk: 'sdz', serial: '', method: 'zeroes', bytesWritten: 1, durationMs: 0, verified: true, refused: '' }
    ],
    install: null
  })
  for (const o of [await operations.get(task.id), await elsewhere.get(task.id)]) {
    assert.equal(o.state, 'done')
    assert.equal(o.percent, 100)
    assert.deepEqual(o.progress, [], 'the live board is forgotten once it ended')
    assert.deepEqual(o.result, { method: 'zeroes', disks: [{ disk: 'vda', bytesWritten: 64 * MiB, verified: true, refused: null }, { disk: 'vdb', bytesWritten: 0, verified: false, refused: 'mounted at /' }] }, 'the disks of the task only')
  }
  ctl.abort()
})

test('a wipe cancelled while it ran keeps state cancelled, and its result says how far it got', async () => {
  const { operations, discovery, agents, stream, task, send, machine, ctl } = await wiping()
  send('vda', 'wipe', 8 * MiB, 64 * MiB)
  await discovery.cancel(machine.id, task.id)
  await agents.result(stream, { taskId: task.id, ok: false, error: 'stopped', eraseReports: [{ disk: 'vda', serial: 'S-vda', method: 'zeroes', bytesWritten: 8 * MiB, durationMs: 5, verified: false, refused: '' }], install: null })
  const o = await operations.get(task.id)
  assert.equal(o.state, 'cancelled')
  assert.equal(o.error, 'cancelled by an operator while it ran')
  assert.deepEqual(o.result, { method: 'zeroes', disks: [{ disk: 'vda', bytesWritten: 8 * MiB, verified: false, refused: null }] })
  assert.deepEqual([o.phase, o.bytesDone, o.percent], ['wipe', 8 * MiB, 12], 'the last stored progress stays')
  ctl.abort()
})

test('a progress write that fails is reported to onError, never thrown at the agent', async () => {
  const inv = makeInventory()
  class FailingStore extends SqliteDiscoveryStore {
    override async setTaskProgress (_id: string, _p: TaskProgressRecord): Promise<void> { throw new Error('disk full') }
  }
  const store = new FailingStore(inv.db)
  const errors: unknown[] = []
  const lifecycle = new LifecycleService({ machines: inv.machines, store: new SqliteLifecycleStore(inv.db, inv.store), timeline: inv.timeline, clock: inv.clock })
  const agents = new AgentService({ machines: inv.machines, lifecycle, store, events: inv.timeline, clock: inv.clock, tokenTtlMs: 60_000, autoAccept: [], onError: (e) => errors.push(e) })
  const discovery = new DiscoveryService({ machines: inv.machines, lifecycle, agents, store, events: inv.timeline, clock: inv.clock })
  const { machine } = await inv.machines.registerBoot({ mac: MAC })
  await discovery.accept(machine.id)
  const task = await discovery.wipe(machine.id, { method: 'fast', disks: ['vda'] })
  const stream = await connect(agents, machine.id)
  const ctl = new AbortController()
  await first(agents.tasks(stream, ctl.signal))
  agents.progress(stream, { ...report('vda', 'wipe', 0, 64 * MiB), taskId: task.id })
  await new Promise(resolve => setImmediate(resolve))
  assert.deepEqual(errors.map(e => (e as Error).message), ['disk full'])
  assert.equal(agents.progressOf(task.id)[0]?.bytesTotal, 64 * MiB, 'the live board still has it')
  ctl.abort()
})

test('list: every machine newest first; filters by machine key, state and kind; limit and before; precise errors', async () => {
  const inv = makeInventory()
  const { discovery, operations } = makeProvisioning(inv)
  const a = (await inv.machines.registerBoot({ mac: '52:54:00:77:00:61', serial: 'SER-A' })).machine
  const b = (await inv.machines.registerBoot({ mac: '52:54:00:77:00:62' })).machine
  await discovery.accept(a.id)
  await discovery.accept(b.id)
  const wipeA = await discovery.wipe(a.id, { method: 'fast', disks: [] })
  inv.clock.advance(1000)
  const rebootB = await discovery.queueAgentTask(b.id, 'reboot')
  inv.clock.advance(1000)
  const wipeB = await discovery.wipe(b.id, { method: 'fast', disks: [] })
  const ids = async (q: Parameters<OperationsService['list']>[0]): Promise<string[]> => (await operations.list(q)).map(o => o.id)
  assert.deepEqual(await ids({}), [wipeB.id, rebootB.id, wipeA.id])
  assert.deepEqual(await ids({ machine: 'SER-A' }), [wipeA.id], 'a serial names the machine')
  assert.deepEqual(await ids({ machine: '52:54:00:77:00:62', kind: 'wipe' }), [wipeB.id])
  assert.deepEqual(await ids({ state: 'queued', limit: 1 }), [wipeB.id])
  assert.deepEqual(await ids({ before: rebootB.id }), [wipeA.id])
  await assert.rejects(operations.list({ state: 'exploded' }), { code: 'ERR_VALIDATION', message: /state "exploded" is not one of queued, running, done, failed, cancelled/, details: { field: 'state', allowed: ['queued', 'running', 'done', 'failed', 'cancelled'] } })
  await assert.rejects(operations.list({ kind: 'upgrade' }), { code: 'ERR_VALIDATION', details: { field: 'kind', allowed: ['wipe', 'install', 'reboot', 'powerOff', 'rollout'] } })
  for (const limit of [0, 501, 1.5]) await assert.rejects(operations.list({ limit }), { code: 'ERR_VALIDATION', details: { field: 'limit' } })
  assert.equal((await operations.list({ limit: 500 })).length, 3)
  await assert.rejects(operations.list({ machine: 'nobody' }), { code: 'ERR_MACHINE_NOT_FOUND' })
  await assert.rejects(operations.list({ before: 't-0000' }), { code: 'ERR_OPERATION_NOT_FOUND', details: { id: 't-0000', field: 'before' } })
  await assert.rejects(operations.get('t-0000'), { code: 'ERR_OPERATION_NOT_FOUND' })
  const o = await operations.get(rebootB.id)
  assert.deepEqual([o.kind, o.state, o.machineId, o.percent, o.result], ['reboot', 'queued', b.id, null, null])
  assert.ok(!('params' in o) && !('sessionId' in o), 'parameters (an install\'s config and token) and the session stay out of the view')
})

test('percent: from the bytes, clamped; 100 once done; null before any report', () => {
  assert.equal(operationPercent('running', 1, 3), 33)
  assert.equal(operationPercent('running', 5, 3), 100)
  assert.equal(operationPercent('running', 0, 0), 100, 'nothing to do is all done')
  assert.equal(operationPercent('running', null, null), null)
  assert.equal(operationPercent('done', null, null), 100)
  assert.equal(operationPercent('failed', 1, 4), 25, 'how far a failed one got')
  const stored = { id: 't-1', machineId: 'm-1', kind: 'wipe', params: { method: 'fast', disks: [] }, state: 'failed', error: 'EIO', createdAt: 0, startedAt: 1, finishedAt: 2, sessionId: 's', cancelRequestedAt: null, phase: 'wipe', bytesDone: 1, bytesTotal: 2, progressAt: 1, result: null } as const
  const live = [{ disk: 'vda', phase: 'verify', bytesDone: 2, bytesTotal: 2, rateBytesPerSecond: 0, at: 3 }]
  assert.deepEqual([operationView(stored, live).phase, operationView(stored, live).progress], ['wipe', []], 'an ended task shows its row, not a stale board')
})
