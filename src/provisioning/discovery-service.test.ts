import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import type { AgentDirective, HardwareReport, OpenedStream, TaskInput } from './agent-gateway.ts'
import type { AgentService } from './agent-service.ts'

const HELLO = { agentVersion: '1', bootMac: '52:54:00:77:00:11', bootDisk: '' }
const PEER = '10.77.0.100'

/** What the agent of a freshly booted machine does: spend the boot script's token on a stream. */
async function connect (agents: AgentService, machineId: string, bootMac = HELLO.bootMac, peer = PEER): Promise<OpenedStream> {
  const token = await agents.issueToken(machineId, peer)
  return await agents.openSession({ kind: 'token', token }, { ...HELLO, bootMac }, peer)
}

function report (manufacturer = 'Anvil Lab'): HardwareReport {
  return {
    system: { uuid: 'a4e1ab00-0077-4000-8000-000000000011', serial: 'LAB0001', manufacturer, product: 'VM', sku: '', family: '', version: '' },
    baseboard: null,
    bios: null,
    chassis: null,
    cpu: { model: 'QEMU Virtual CPU', sockets: 1, cores: 1, threads: 1 },
    memory: { totalBytes: 512 * 2 ** 20, dimms: [] },
    disks: [{ name: 'vda', sizeBytes: 64 * 2 ** 20, model: '', serial: 'DISK1', wwn: '', rotational: false, removable: false, transport: 'virtio', byId: [], partitionTable: '', signatures: [], readOnly: false, logicalBlockSize: 512, discard: false }],
    nics: [{ name: 'eth0', mac: '52:54:00:77:00:11', driver: 'virtio_net', speedMbps: 0, link: true, pciAddress: '0000:00:03.0' }],
    pci: [],
    bmc: null,
    kernel: '6.1.0'
  }
}

async function setup (autoAccept = [] as Record<string, string>[]) {
  const inv = makeInventory()
  const { store, agents, discovery, lifecycle } = makeProvisioning(inv, { autoAccept })
  const { machine } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: 'a4e1ab00-0077-4000-8000-000000000011', serial: 'LAB0001' })
  return { inv, store, agents, discovery, lifecycle, machine }
}

function taskOf (d: AgentDirective | undefined): TaskInput {
  if (d === undefined || !('task' in d)) throw new Error(`expected a task, got ${JSON.stringify(d)}`)
  return d.task
}

async function first (it: AsyncIterable<AgentDirective>): Promise<TaskInput> {
  const next = await it[Symbol.asyncIterator]().next()
  if (next.done === true) throw new Error('the task stream ended')
  if (!('task' in next.value)) throw new Error(`expected a task, got ${JSON.stringify(next.value)}`)
  return next.value.task
}

test('a token opens one session only; unknown and expired tokens are refused', async () => {
  const { agents, machine, inv } = await setup()
  const token = await agents.issueToken(machine.id, PEER)
  const stream = await agents.openSession({ kind: 'token', token }, HELLO, PEER)
  assert.equal(stream.machineId, machine.id)
  assert.equal(stream.resumed, false)
  await assert.rejects(agents.openSession({ kind: 'token', token }, HELLO, PEER), { code: 'ERR_AGENT_TOKEN_USED' })
  await assert.rejects(agents.openSession({ kind: 'token', token: 'made-up' }, HELLO, PEER), { code: 'ERR_AGENT_TOKEN_INVALID' })
  await agents.sessionClosed(stream, 'done')
  const old = await agents.issueToken(machine.id, PEER)
  inv.clock.advance(3_600_001)
  await assert.rejects(agents.openSession({ kind: 'token', token: old }, HELLO, PEER), { code: 'ERR_AGENT_TOKEN_INVALID' })
  const all = await inv.store.listEvents(machine.id)
  assert.ok(!JSON.stringify(all).includes(token) && !JSON.stringify(all).includes(stream.credential), 'tokens and credentials never reach the timeline')
})

test('hardware is stored; a machine not accepted is never wiped; accept then wipe hands the task to the agent', async () => {
  const { agents, discovery, machine, inv } = await setup()
  const stream = await connect(agents, machine.id)
  await agents.hardwareReported(stream, report())
  assert.equal((await discovery.hardware(machine.id)).report.disks[0]?.serial, 'DISK1')
  assert.equal((await inv.machines.get(machine.id)).state, 'discovered')
  await assert.rejects(discovery.wipe(machine.id, { method: 'fast', disks: [] }), { code: 'ERR_NOT_ACCEPTED' })
  await discovery.accept(machine.id)
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  assert.equal((await inv.machines.get(machine.id)).state, 'wiping')
  await assert.rejects(discovery.wipe(machine.id, { method: 'fast', disks: [] }), { code: 'ERR_TASK_PENDING' })

  const ctl = new AbortController()
  const handed = await first(agents.tasks(stream, ctl.signal))
  assert.deepEqual(handed, { id: task.id, wipe: { method: 'ZEROES', disks: ['vda'], verifySamples: 0 } })
  for (const done of [0, 1, 2, 30, 31, 64].map(m => m * 2 ** 20)) {
    agents.progress(stream, { taskId: task.id, disk: 'vda', bytesDone: done, bytesTotal: 64 * 2 ** 20, rateBytesPerSecond: 2 ** 20, phase: 'wipe' })
  }
  const live = await discovery.taskViews(machine.id)
  assert.equal(live[0]?.progress[0]?.bytesDone, 64 * 2 ** 20)
  await agents.result(stream, { taskId: task.id, ok: true, error: '', eraseReports: [{ disk: 'vda', serial: 'DISK1', method: 'zeroes', bytesWritten: 64 * 2 ** 20, durationMs: 900, verified: true, refused: '' }], install: null })
  const m = await inv.machines.get(machine.id)
  assert.equal(m.state, 'ready')
  assert.match(m.stateReason ?? '', /vda 64 MiB in 0\.9 s, verified/)
  assert.deepEqual((await discovery.eraseReports(machine.id)).map(e => [e.disk, e.serial, e.verified, e.refused]), [['vda', 'DISK1', true, null]])
  const types = (await inv.machines.events(machine.id)).map(e => e.type)
  const progressEvents = types.filter(t => t === 'wipe.progress').length
  assert.equal(progressEvents, 3, 'an event per new 10% step: 0% (1% and 3% share it), 46% (48% shares it), 100%')
  for (const t of ['agent.hardware', 'wipe.started', 'wipe.done', 'machine.state']) assert.ok(types.includes(t), t)
  ctl.abort()
})

test('a task running when a session ends for good is queued again for the next session; a failed wipe is an error with the reason', async () => {
  const { agents, discovery, machine, inv } = await setup()
  await discovery.accept(machine.id)
  const task = await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  const stream = await connect(agents, machine.id)
  const ctl = new AbortController()
  assert.equal((await first(agents.tasks(stream, ctl.signal))).id, task.id)
  ctl.abort()
  await agents.sessionClosed(stream, 'the machine rebooted')
  // The session could resume for a while; after the grace the task is anyone's again.
  inv.clock.advance(120_001)
  assert.equal((await agents.prune()).requeued, 1)
  const next = await connect(agents, machine.id)
  const again = new AbortController()
  assert.equal((await first(agents.tasks(next, again.signal))).id, task.id)
  await agents.result(next, { taskId: task.id, ok: false, error: 'vda: EIO at 4096', eraseReports: [], install: null })
  const m = await inv.machines.get(machine.id)
  assert.equal(m.state, 'error')
  assert.match(m.stateReason ?? '', /EIO/)
  again.abort()
})

test('the task stream waits for work and ends when aborted', async () => {
  const { agents, discovery, machine } = await setup()
  await discovery.accept(machine.id)
  const stream = await connect(agents, machine.id)
  const ctl = new AbortController()
  const waiting = first(agents.tasks(stream, ctl.signal))
  await new Promise((resolve) => setImmediate(resolve))
  const task = await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  assert.equal((await waiting).id, task.id)
  const idle = new AbortController()
  const ended = agents.tasks(stream, idle.signal)[Symbol.asyncIterator]().next().then(r => r.done === true ? 'ended' : 'task')
  idle.abort()
  assert.equal(await ended, 'ended')
  ctl.abort()
})

test('auto-accept rules accept a discovered machine whose hardware matches', async () => {
  const { agents, machine, inv } = await setup([{ 'system.manufacturer': 'Other*' }, { 'system.manufacturer': 'Anvil*', 'nics.mac': '52:54:00:*' }])
  await agents.hardwareReported(await connect(agents, machine.id), report())
  const m = await inv.machines.get(machine.id)
  assert.equal(m.state, 'accepted')
  assert.match(m.stateReason ?? '', /discovery\.autoAccept\[1\]/)
  const { agents: strict, machine: other, inv: inv2 } = await setup([{ 'system.manufacturer': 'Other*' }])
  await strict.hardwareReported(await connect(strict, other.id), report())
  assert.equal((await inv2.machines.get(other.id)).state, 'discovered')
})

test('reboot and power-off tasks reach the agent; not for a machine that runs no agent', async () => {
  const { agents, discovery, machine, inv } = await setup()
  const reboot = await discovery.queueAgentTask(machine.id, 'reboot')
  const stream = await connect(agents, machine.id)
  const ctl = new AbortController()
  assert.deepEqual(await first(agents.tasks(stream, ctl.signal)), { id: reboot.id, reboot: {} })
  await agents.result(stream, { taskId: reboot.id, ok: true, error: '', eraseReports: [], install: null })
  assert.ok((await inv.machines.events(machine.id)).some(e => e.type === 'reboot.done'))
  await discovery.reject(machine.id)
  await assert.rejects(discovery.queueAgentTask(machine.id, 'powerOff'), { code: 'ERR_INVALID_STATE' })
  ctl.abort()
})

test('a wipe for a machine whose agent is away boots it through the hook; a connected agent needs no boot', async () => {
  const inv = makeInventory()
  const booted: string[] = []
  let fail = false
  const { agents, discovery } = makeProvisioning(inv, {
    tokenTtlMs: 60_000,
    bootForTask: async (id) => {
      if (fail) throw new Error('ERR_NO_BMC: no BMC')
      booted.push(id)
      return 'boot device PXE and power on through its BMC'
    }
  })
  const { machine } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:51' })
  await discovery.accept(machine.id)
  await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  assert.deepEqual(booted, [machine.id])
  const events = await inv.machines.events(machine.id)
  assert.match(events.find(e => e.type === 'task.boot')?.message ?? '', /power on through its BMC/)

  // With the agent connected, nothing is booted; an in-band reboot or power-off never boots a machine.
  const { machine: other } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:52' })
  await discovery.accept(other.id)
  const otherStream = await connect(agents, other.id, '52:54:00:77:00:52', '10.77.0.101')
  await discovery.wipe(other.id, { method: 'fast', disks: [] })
  await discovery.queueAgentTask(machine.id, 'powerOff')
  assert.deepEqual(booted, [machine.id])
  await agents.sessionClosed(otherStream, 'gone')

  // A failing hook is recorded; the task stays queued.
  fail = true
  const { machine: third } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:53' })
  await discovery.accept(third.id)
  const queued = await discovery.wipe(third.id, { method: 'zeroes', disks: [] })
  assert.equal(queued.state, 'queued')
  assert.match((await inv.machines.events(third.id)).find(e => e.type === 'task.boot')?.message ?? '', /could not be booted \(ERR_NO_BMC: no BMC\)/)
})

test('a power-off through the BMC ends the agent session: its task stream ends, its task is queued again, new work boots it', async () => {
  const inv = makeInventory()
  const booted: string[] = []
  const { agents, discovery } = makeProvisioning(inv, { tokenTtlMs: 60_000, bootForTask: async (id) => { booted.push(id); return 'powered on' } })
  const { machine } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:61' })
  await discovery.accept(machine.id)
  const first1 = await connect(agents, machine.id, '52:54:00:77:00:61')
  const task = await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  assert.deepEqual(booted, [], 'the agent is connected: nothing to boot')
  const ctl = new AbortController()
  const stream = agents.tasks(first1, ctl.signal)[Symbol.asyncIterator]()
  assert.equal(taskOf((await stream.next()).value).id, task.id)
  const after = stream.next()
  await agents.machinePowerChanged(machine.id, 'off')
  await assert.rejects(after, { code: 'ERR_AGENT_SESSION_ENDED' })
  assert.deepEqual((await discovery.taskViews(machine.id)).map(t => t.state), ['queued'])
  assert.ok((await inv.machines.events(machine.id)).some(e => e.type === 'agent.cut-off'))
  // The cut-off session cannot resume: its credential is gone with the machine's power.
  await assert.rejects(agents.openSession({ kind: 'session', credential: first1.credential }, { ...HELLO, bootMac: '52:54:00:77:00:61' }, PEER), { code: 'ERR_AGENT_SESSION_INVALID' })

  // The cut-off session's late close does not count against a new one, nor end it.
  const next = await connect(agents, machine.id, '52:54:00:77:00:61')
  const again = new AbortController()
  assert.equal((await first(agents.tasks(next, again.signal))).id, task.id)
  await agents.result(next, { taskId: task.id, ok: true, error: '', eraseReports: [], install: null })
  await agents.sessionClosed(first1, 'the old stream finally timed out')
  await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  assert.deepEqual(booted, [], 'the new session still counts as connected')
  again.abort()
  const { machine: other } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:62' })
  await discovery.accept(other.id)
  await connect(agents, other.id, '52:54:00:77:00:62', '10.77.0.101')
  await agents.machinePowerChanged(other.id, 'reset')
  await discovery.wipe(other.id, { method: 'fast', disks: [] })
  assert.deepEqual(booted, [other.id], 'with its agent cut off, a wipe boots the machine')
  ctl.abort()
})

test('reject while wiping cancels the queued wipe, which no agent is then handed; reject and accept otherwise', async () => {
  const { agents, discovery, machine, store } = await setup()
  await discovery.accept(machine.id)
  const task = await discovery.wipe(machine.id, { method: 'fast', disks: [] })
  assert.equal((await discovery.reject(machine.id)).state, 'rejected')
  assert.equal((await store.tasks(machine.id)).find(t => t.id === task.id)?.state, 'cancelled')
  const ctl = new AbortController()
  const it = agents.tasks(await connect(agents, machine.id), ctl.signal)[Symbol.asyncIterator]()
  const next = it.next()
  const raced = await Promise.race([next, new Promise(resolve => setTimeout(() => { resolve('nothing') }, 50))])
  assert.equal(raced, 'nothing', 'the cancelled wipe is never handed out')
  ctl.abort()
  await next
  const { discovery: d2, machine: m2 } = await setup()
  assert.equal((await d2.reject(m2.id)).state, 'rejected')
  assert.equal((await d2.accept(m2.id)).state, 'accepted')
})

test('a hardware report over its caps is refused before anything is stored; control characters never reach the inventory', async () => {
  const { agents, discovery, machine } = await setup()
  const stream = await connect(agents, machine.id)
  const huge = report()
  await assert.rejects(agents.hardwareReported(stream, { ...huge, system: { ...(huge.system as NonNullable<HardwareReport['system']>), product: 'x'.repeat(300_000) } }), { code: 'ERR_REPORT_TOO_LARGE' })
  await assert.rejects(discovery.hardware(machine.id), { code: 'ERR_NO_HARDWARE' })
  await agents.hardwareReported(stream, { ...huge, system: { ...(huge.system as NonNullable<HardwareReport['system']>), product: 'VM\x1b]0;owned\x07' } })
  assert.equal((await discovery.hardware(machine.id)).report.system?.product, 'VM]0;owned')
})
