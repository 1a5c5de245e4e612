import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { EraseReportInput } from '../proto/generated/anvil/provisioning/v1/EraseReport.ts'
import type { Task } from '../proto/generated/anvil/provisioning/v1/Task.ts'
import type { WipeTask } from '../proto/generated/anvil/provisioning/v1/WipeTask.ts'
import { TaskDispatcher, type TaskDeps } from './tasks.ts'
import type { WipeOptions } from './wipe.ts'

// The dispatcher against a fake stream (an array of sent messages) and a fake wipe.
const disks: DiskInput[] = [{ name: 'vda', serial: 'DISK123', sizeBytes: 1 << 20 }]
const report = (disk: string, extra: Partial<EraseReportInput> = {}): EraseReportInput =>
  ({ disk, serial: 'S', method: 'fast', bytesWritten: 10, durationMs: 1, verified: true, refused: '', ...extra })
const wipeTask = (id: string, w: Partial<WipeTask> = {}): Task =>
  ({ id, kind: 'wipe', wipe: { method: 'FAST', disks: [], verifySamples: 0, ...w } })

function harness (wipe: TaskDeps['wipe']): { sent: AgentMessageInput[], lines: string[], d: TaskDispatcher } {
  const sent: AgentMessageInput[] = []
  const lines: string[] = []
  const install: TaskDeps['install'] = async () => { throw new Error('no install in these tests') }
  const d = new TaskDispatcher({ send: (m) => sent.push(m), disks, wipe, install, server: { host: '127.0.0.1', port: 1, fingerprint: 'ab'.repeat(32) }, bootDisk: 'sda', log: (l) => lines.push(l) })
  return { sent, lines, d }
}

test('wipe: progress is forwarded with the task id, then one ok result with the erase reports', async () => {
  let seen: { task: WipeTask, options: WipeOptions } | undefined
  const { sent, d } = harness(async (task, _disks, options) => {
    seen = { task, options }
    options.onProgress?.({ disk: 'vda', bytesDone: 5, bytesTotal: 10, rateBytesPerSecond: 50, phase: 'wipe' })
    options.onProgress?.({ disk: 'vda', bytesDone: 10, bytesTotal: 10, rateBytesPerSecond: 50, phase: 'verify' })
    return [report('vda')]
  })
  assert.equal(await d.submit(wipeTask('t1', { method: 'ZEROES', disks: ['vda'] })), 'continue')
  assert.equal(seen?.task.method, 'ZEROES')
  assert.equal(seen?.options.bootDisk, 'sda')
  assert.deepEqual(sent, [
    { progress: { taskId: 't1', disk: 'vda', bytesDone: 5, bytesTotal: 10, rateBytesPerSecond: 50, phase: 'wipe' } },
    { progress: { taskId: 't1', disk: 'vda', bytesDone: 10, bytesTotal: 10, rateBytesPerSecond: 50, phase: 'verify' } },
    { result: { taskId: 't1', ok: true, error: '', eraseReports: [report('vda')] } }
  ])
})

test('wipe with a refused or unverified disk: result not ok, saying which and why', async () => {
  const { sent, d } = harness(async () => [report('vda', { refused: 'vda1 is mounted on /mnt', bytesWritten: 0 }), report('vdb', { verified: false })])
  await d.submit(wipeTask('t2'))
  const result = sent.at(-1)?.result
  assert.equal(result?.ok, false)
  assert.equal(result?.error, 'vda: refused: vda1 is mounted on /mnt; vdb: verification found non-zero data')
  assert.equal(result?.eraseReports?.length, 2)
})

test('a wipe that throws still gets exactly one result', async () => {
  const { sent, d } = harness(async () => { throw new Error('EIO on /dev/vda') })
  assert.equal(await d.submit(wipeTask('t3')), 'continue')
  assert.deepEqual(sent, [{ result: { taskId: 't3', ok: false, error: 'wipe failed: EIO on /dev/vda', eraseReports: [] } }])
})

test('reboot and power off answer ok and tell the caller to end the environment', async () => {
  const { sent, d } = harness(async () => [])
  assert.equal(await d.submit({ id: 'r', kind: 'reboot', reboot: {} }), 'reboot')
  assert.equal(await d.submit({ id: 'p', kind: 'powerOff', powerOff: {} }), 'powerOff')
  assert.deepEqual(sent.map((m) => [m.result?.taskId, m.result?.ok]), [['r', true], ['p', true]])
})

test('an unknown task kind is answered not ok, and the agent carries on', async () => {
  const { sent, d } = harness(async () => [])
  assert.equal(await d.submit({ id: 'x' }), 'continue')
  assert.equal(sent[0]?.result?.ok, false)
})

test('tasks run one at a time in arrival order; a repeated id is never rerun: ignored while it runs, answered again once done', async () => {
  const order: string[] = []
  let release: () => void = () => {}
  const gate = new Promise<void>((resolve) => { release = resolve })
  const { sent, d } = harness(async (task) => {
    order.push(`start ${task.disks.join()}`)
    if (task.disks[0] === 'a') await gate
    order.push(`end ${task.disks.join()}`)
    return []
  })
  const first = d.submit(wipeTask('w1', { disks: ['a'] }))
  const second = d.submit(wipeTask('w2', { disks: ['b'] }))
  const again = d.submit(wipeTask('w1', { disks: ['a'] }))
  await new Promise((resolve) => setImmediate(resolve))
  assert.deepEqual(order, ['start a'])
  release()
  await Promise.all([first, second, again])
  assert.deepEqual(order, ['start a', 'end a', 'start b', 'end b'])
  assert.deepEqual(sent.map((m) => m.result?.taskId), ['w1', 'w2'], 'the repeat while it ran added nothing')
  assert.equal(await d.submit(wipeTask('w2', { disks: ['b'] })), 'continue')
  assert.deepEqual(sent.map((m) => m.result?.taskId), ['w1', 'w2', 'w2'], 'a repeat after it ended: its result again')
})

test('cancel: a running wipe is told to stop (its reports say how far it got); a queued task never starts; a finished one is answered again', async () => {
  let started: () => void = () => {}
  const running = new Promise<void>((resolve) => { started = resolve })
  const { sent, d, lines } = harness(async (task, _disks, options) => {
    started()
    // A stand-in for the wipe's safe point: it returns when told to stop.
    await new Promise<void>((resolve) => { options.signal?.addEventListener('abort', () => { resolve() }, { once: true }) })
    return [report(task.disks[0] ?? 'vda', { bytesWritten: 3 * 4096, verified: false })]
  })
  const w1 = d.submit(wipeTask('c1', { disks: ['vda'] }))
  const w2 = d.submit(wipeTask('c2', { disks: ['vda'] }))
  await running
  d.cancel('c2')
  d.cancel('c1')
  await Promise.all([w1, w2])
  assert.deepEqual(sent.map((m) => [m.result?.taskId, m.result?.ok, m.result?.error, m.result?.eraseReports?.map(r => r.bytesWritten)]), [
    ['c1', false, 'cancelled', [3 * 4096]],
    ['c2', false, 'cancelled', []]
  ])
  d.cancel('c1')
  assert.equal(sent.length, 3, 'a cancel of a finished task repeats its result')
  assert.deepEqual(sent[2], sent[0])
  d.cancel('nope')
  assert.ok(lines.some(l => l.includes('never had')))
})

test('final: resolves with the first reboot or power-off answered', async () => {
  const { d } = harness(async () => [])
  await d.submit({ id: 'p', kind: 'powerOff', powerOff: {} })
  assert.equal(await d.final, 'powerOff')
})
