import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import type { AgentDirective, AgentStream, HardwareReport, OpenedStream, TaskResult } from './agent-gateway.ts'
import type { AgentService } from './agent-service.ts'

// The agents' side of discovery against the real stores (in-memory SQLite with migrations): who
// may open a session, who holds a machine, resuming, and what a session may report on.

const MAC = '52:54:00:77:00:11'
const PEER = '10.77.0.100'
const HELLO = { agentVersion: '1', bootMac: MAC, bootDisk: '' }
const MiB = 2 ** 20

function hardware (disks = ['vda', 'vdb']): HardwareReport {
  return {
    system: { uuid: '', serial: 'LAB0001', manufacturer: 'Anvil Lab', product: 'VM', sku: '', family: '', version: '' },
    baseboard: null,
    bios: null,
    chassis: null,
    cpu: null,
    memory: null,
    disks: disks.map(name => ({ name, sizeBytes: 64 * MiB, model: '', serial: `S-${name}`, wwn: '', rotational: false, removable: false, transport: 'virtio', byId: [], partitionTable: '', signatures: [], readOnly: false, logicalBlockSize: 512, discard: false })),
    nics: [],
    pci: [],
    bmc: null,
    kernel: '6.1.0'
  }
}

const erased = (disk: string, bytes = 64 * MiB): TaskResult['eraseReports'][number] => ({ disk, serial: `S-${disk}`, method: 'zeroes', bytesWritten: bytes, durationMs: 10, verified: true, refused: '' })

async function setup (agentOptions: Parameters<typeof makeProvisioning>[1] = {}) {
  const inv = makeInventory()
  const p = makeProvisioning(inv, agentOptions)
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'LAB0001' })
  return { inv, ...p, machine }
}

async function connect (agents: AgentService, machineId: string, peer = PEER): Promise<OpenedStream> {
  const stream = await agents.openSession({ kind: 'token', token: await agents.issueToken(machineId, peer) }, HELLO, peer)
  await agents.hardwareReported(stream, hardware())
  return stream
}

async function resume (agents: AgentService, credential: string, peer = PEER): Promise<OpenedStream> {
  return await agents.openSession({ kind: 'session', credential }, HELLO, peer)
}

/** The directives a task stream yields until it would wait. */
async function drain (agents: AgentService, stream: AgentStream, signal: AbortSignal): Promise<{ directives: AgentDirective[], more: () => Promise<AgentDirective> }> {
  const it = agents.tasks(stream, signal)[Symbol.asyncIterator]()
  const directives: AgentDirective[] = []
  for (;;) {
    const next = it.next()
    const r = await Promise.race([next, new Promise<'waiting'>(resolve => { setTimeout(() => { resolve('waiting') }, 30) })])
    if (r === 'waiting') return { directives, more: async () => { const v = await next; if (v.done === true) throw new Error('ended'); return v.value } }
    if (r.done === true) return { directives, more: async () => { throw new Error('ended') } }
    directives.push(r.value)
  }
}

const ids = (ds: readonly AgentDirective[]): string[] => ds.map(d => 'task' in d ? `task ${d.task.id}` : `cancel ${d.cancel.taskId}`)

async function refusals (inv: ReturnType<typeof makeInventory>, machineId: string): Promise<string[]> {
  await inv.timeline.flush()
  return (await inv.machines.events(machineId)).filter(e => e.type === 'agent.refused').map(e => String(e.data?.code))
}

test('one live token per machine: a newer boot script supersedes the unspent one; spent and expired tokens are pruned', async () => {
  const { agents, machine, store, inv } = await setup()
  const older = await agents.issueToken(machine.id, PEER)
  const newer = await agents.issueToken(machine.id, PEER)
  await assert.rejects(agents.openSession({ kind: 'token', token: older }, HELLO, PEER), { code: 'ERR_AGENT_TOKEN_INVALID', message: /unknown/ })
  const s = await agents.openSession({ kind: 'token', token: newer }, HELLO, PEER)
  await agents.sessionClosed(s, 'gone')
  await agents.issueToken(machine.id, PEER)
  // The spent one went with the next issue: a reuse is now an unknown token.
  await assert.rejects(agents.openSession({ kind: 'token', token: newer }, HELLO, PEER), { code: 'ERR_AGENT_TOKEN_INVALID' })
  inv.clock.advance(3_600_001)
  assert.deepEqual(await agents.prune(), { tokens: 1, credentials: 1, requeued: 0 })
  assert.equal(await store.currentSession(machine.id, inv.clock.now()), undefined)
  // Issuing prunes expired credentials too.
  const s2 = await agents.openSession({ kind: 'token', token: await agents.issueToken(machine.id, PEER) }, HELLO, PEER)
  await agents.sessionClosed(s2, 'gone')
  inv.clock.advance(3_600_001)
  await agents.issueToken(machine.id, PEER)
  assert.deepEqual(await agents.prune(), { tokens: 0, credentials: 0, requeued: 0 })
})

test('a token works only from the address that fetched the boot script, or the machine\'s DHCP lease; a refusal spends nothing', async () => {
  let lease: string | undefined = '10.77.0.150'
  const { agents, machine, inv } = await setup({ agents: { leasedAddress: async () => lease } })
  const token = await agents.issueToken(machine.id, '::ffff:10.77.0.100')
  await assert.rejects(agents.openSession({ kind: 'token', token }, HELLO, '10.77.0.66'), { code: 'ERR_AGENT_ADDRESS' })
  const events = (await inv.machines.events(machine.id)).filter(e => e.type === 'agent.refused')
  assert.match(events[0]?.message ?? '', /from 10\.77\.0\.66: its token works only from 10\.77\.0\.100 \(which fetched its boot script\) or 10\.77\.0\.150 \(its DHCP lease\)/)
  // From the leased address (the boot environment's DHCP gave it another one), the same token works.
  const s = await agents.openSession({ kind: 'token', token }, HELLO, '10.77.0.150')
  assert.equal(s.machineId, machine.id)
  await agents.sessionClosed(s, 'gone')
  lease = undefined
  const again = await agents.issueToken(machine.id, '10.77.0.100')
  await assert.rejects(agents.openSession({ kind: 'token', token: again }, HELLO, '10.77.0.150'), { code: 'ERR_AGENT_ADDRESS' })
  assert.equal((await agents.openSession({ kind: 'token', token: again }, HELLO, '::ffff:10.77.0.100')).machineId, machine.id, 'IPv4-mapped is the same address')
  assert.deepEqual(await refusals(inv, machine.id), ['ERR_AGENT_ADDRESS', 'ERR_AGENT_ADDRESS'])
})

test('the hello must name one of the machine\'s MACs, within bounds; a refusal spends nothing', async () => {
  const { agents, machine, inv } = await setup()
  const token = await agents.issueToken(machine.id, PEER)
  await assert.rejects(agents.openSession({ kind: 'token', token }, { ...HELLO, bootMac: '52:54:00:99:99:99' }, PEER), { code: 'ERR_AGENT_BOOT_MAC' })
  await assert.rejects(agents.openSession({ kind: 'token', token }, { ...HELLO, bootMac: '' }, PEER), { code: 'ERR_AGENT_BOOT_MAC' })
  await assert.rejects(agents.openSession({ kind: 'token', token }, { ...HELLO, agentVersion: 'x'.repeat(65) }, PEER), { code: 'ERR_AGENT_HELLO_INVALID' })
  await assert.rejects(agents.openSession({ kind: 'token', token }, { ...HELLO, bootMac: 'y'.repeat(33) }, PEER), { code: 'ERR_AGENT_HELLO_INVALID' })
  const s = await agents.openSession({ kind: 'token', token }, { ...HELLO, bootMac: '52-54-00-77-00-11' }, PEER)
  assert.equal(s.machineId, machine.id, 'the MAC in any spelling')
  assert.deepEqual(await refusals(inv, machine.id), ['ERR_AGENT_BOOT_MAC', 'ERR_AGENT_BOOT_MAC'])
})

test('new while the old session is alive: refused ERR_AGENT_SESSION_HELD, token kept; once the old stream is gone it gets in', async () => {
  const { agents, discovery, machine, inv } = await setup()
  await discovery.accept(machine.id)
  const old = await connect(agents, machine.id)
  const token = await agents.issueToken(machine.id, PEER)
  await assert.rejects(agents.openSession({ kind: 'token', token }, HELLO, PEER), { code: 'ERR_AGENT_SESSION_HELD' })
  assert.deepEqual(await refusals(inv, machine.id), ['ERR_AGENT_SESSION_HELD'])
  // With a wipe running in the old session, the impostor's attempt changes nothing.
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  const ctl = new AbortController()
  assert.deepEqual(ids((await drain(agents, old, ctl.signal)).directives), [`task ${task.id}`])
  await assert.rejects(agents.openSession({ kind: 'token', token }, HELLO, PEER), { code: 'ERR_AGENT_SESSION_HELD' })
  await agents.result(old, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  assert.equal((await inv.machines.get(machine.id)).state, 'ready')
  ctl.abort()
  await agents.sessionClosed(old, 'the agent closed the stream')
  const next = await agents.openSession({ kind: 'token', token }, HELLO, PEER)
  assert.notEqual(next.sessionId, old.sessionId)
  await assert.rejects(resume(agents, old.credential), { code: 'ERR_AGENT_SESSION_INVALID' }, 'a new session ends the old one')
})

test('old then new: a session that dropped mid-wipe holds the machine for the grace period; after it, a new session takes the task over', async () => {
  const { agents, discovery, machine, inv, store } = await setup()
  await discovery.accept(machine.id)
  const old = await connect(agents, machine.id)
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: [] })
  const ctl = new AbortController()
  await drain(agents, old, ctl.signal)
  ctl.abort()
  await agents.sessionClosed(old, 'the agent cancelled the stream or its connection was lost')
  assert.equal((await store.tasks(machine.id))[0]?.state, 'running', 'kept for the session to resume')
  inv.clock.advance(60_000)
  const token = await agents.issueToken(machine.id, PEER)
  await assert.rejects(agents.openSession({ kind: 'token', token }, HELLO, PEER), { code: 'ERR_AGENT_SESSION_HELD', message: /retry later/ })
  inv.clock.advance(60_001)
  const next = await agents.openSession({ kind: 'token', token }, HELLO, PEER)
  await agents.hardwareReported(next, hardware())
  const ctl2 = new AbortController()
  assert.deepEqual(ids((await drain(agents, next, ctl2.signal)).directives), [`task ${task.id}`])
  // The old session is over: it can neither resume nor report on the task it lost.
  await assert.rejects(resume(agents, old.credential), { code: 'ERR_AGENT_SESSION_INVALID' })
  await agents.result(old, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  assert.equal((await store.tasks(machine.id))[0]?.state, 'running')
  assert.deepEqual(await discovery.eraseReports(machine.id), [])
  await agents.result(next, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda'), erased('vdb')], install: null })
  assert.equal((await inv.machines.get(machine.id)).state, 'ready')
  await inv.timeline.flush()
  const types = (await inv.machines.events(machine.id)).map(e => e.type)
  for (const t of ['agent.refused', 'task.requeued', 'agent.ignored']) assert.ok(types.includes(t), `${t}: ${types.join(', ')}`)
  ctl2.abort()
})

test('resume: the same session continues with its credential (rotated at each reconnect), its task is sent again, its result accepted', async () => {
  const { agents, discovery, machine, inv, store } = await setup()
  await discovery.accept(machine.id)
  const first = await connect(agents, machine.id)
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  const ctl = new AbortController()
  await drain(agents, first, ctl.signal)
  agents.progress(first, { taskId: task.id, disk: 'vda', bytesDone: 16 * MiB, bytesTotal: 64 * MiB, rateBytesPerSecond: MiB, phase: 'wipe' })
  ctl.abort()
  await agents.sessionClosed(first, 'the server restarted')
  inv.clock.advance(30_000)
  const second = await resume(agents, first.credential)
  assert.equal(second.sessionId, first.sessionId)
  assert.equal(second.resumed, true)
  assert.notEqual(second.credential, first.credential)
  await agents.hardwareReported(second, hardware())
  const ctl2 = new AbortController()
  assert.deepEqual(ids((await drain(agents, second, ctl2.signal)).directives), [`task ${task.id}`], 'sent again, the agent does not restart it')
  agents.progress(second, { taskId: task.id, disk: 'vda', bytesDone: 48 * MiB, bytesTotal: 64 * MiB, rateBytesPerSecond: MiB, phase: 'wipe' })
  assert.equal((await discovery.taskViews(machine.id))[0]?.progress[0]?.bytesDone, 48 * MiB)
  // The presented credential stays valid until the fresh one is used (a lost welcome is survivable)…
  ctl2.abort()
  await agents.sessionClosed(second, 'blip')
  const third = await resume(agents, first.credential)
  await agents.sessionClosed(third, 'blip')
  await assert.rejects(resume(agents, second.credential), { code: 'ERR_AGENT_SESSION_INVALID' }, 'superseded by the third')
  const fourth = await resume(agents, third.credential)
  await assert.rejects(resume(agents, first.credential), { code: 'ERR_AGENT_SESSION_INVALID' }, '…and then it is gone')
  // From another address the credential does not work.
  await assert.rejects(resume(agents, fourth.credential, '10.77.0.66'), { code: 'ERR_AGENT_ADDRESS' })
  await agents.result(fourth, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  await agents.result(fourth, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  assert.equal((await inv.machines.get(machine.id)).state, 'ready')
  assert.equal((await store.tasks(machine.id))[0]?.sessionId, first.sessionId)
  assert.equal((await discovery.eraseReports(machine.id)).length, 1, 'a repeated result adds nothing')
  await inv.timeline.flush()
  assert.ok((await inv.machines.events(machine.id)).some(e => e.type === 'agent.reconnected'))
})

test('progress, results and erase reports only for tasks handed to the session, and only for their disks', async () => {
  const { agents, discovery, machine, inv } = await setup()
  const { machine: other } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:12', serial: 'LAB0002' })
  await discovery.accept(machine.id)
  const victim = await connect(agents, machine.id)
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  const ctl = new AbortController()
  await drain(agents, victim, ctl.signal)
  // An agent of another machine writes into the victim's task: nothing lands.
  const impostor = await agents.openSession({ kind: 'token', token: await agents.issueToken(other.id, '10.77.0.101') }, { ...HELLO, bootMac: '52:54:00:77:00:12' }, '10.77.0.101')
  agents.progress(impostor, { taskId: task.id, disk: 'vda', bytesDone: 64 * MiB, bytesTotal: 64 * MiB, rateBytesPerSecond: 1, phase: 'wipe' })
  await agents.result(impostor, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  assert.deepEqual((await discovery.taskViews(machine.id))[0]?.progress, [])
  assert.equal((await discovery.taskViews(machine.id))[0]?.state, 'running')
  // The victim's own agent: a disk that is not the task's is dropped from progress and reports.
  agents.progress(victim, { taskId: task.id, disk: 'vdb', bytesDone: 1, bytesTotal: 64 * MiB, rateBytesPerSecond: 1, phase: 'wipe' })
  assert.deepEqual((await discovery.taskViews(machine.id))[0]?.progress, [])
  await agents.result(victim, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda'), erased('vdb'), erased('vda', 1)], install: null })
  assert.deepEqual((await discovery.eraseReports(machine.id)).map(r => [r.disk, r.bytesWritten]), [['vda', 64 * MiB]])
  await inv.timeline.flush()
  assert.equal((await inv.machines.events(other.id)).filter(e => e.type === 'agent.ignored').length, 2, 'one event per kind, not per message')
  assert.match((await inv.machines.events(machine.id)).find(e => e.type === 'wipe.done')?.message ?? '', /ignored erase reports for vdb, vda/)
  ctl.abort()
})

test('cancel: the running wipe\'s session is told (again after a reconnect); its result keeps the task cancelled with how far each disk got', async () => {
  const { agents, discovery, machine, inv, store } = await setup()
  await discovery.accept(machine.id)
  const first = await connect(agents, machine.id)
  const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: [] })
  const ctl = new AbortController()
  const { more } = await drain(agents, first, ctl.signal)
  const cancelled = more()
  await discovery.cancel(machine.id, task.id)
  assert.deepEqual(ids([await cancelled]), [`cancel ${task.id}`])
  assert.equal((await inv.machines.get(machine.id)).state, 'accepted')
  ctl.abort()
  await agents.sessionClosed(first, 'blip')
  const second = await resume(agents, first.credential)
  await agents.hardwareReported(second, hardware())
  const ctl2 = new AbortController()
  assert.deepEqual(ids((await drain(agents, second, ctl2.signal)).directives), [`cancel ${task.id}`], 'the cancel is sent again, the task is not')
  await agents.result(second, { taskId: task.id, ok: false, error: 'cancelled', eraseReports: [erased('vda', 8 * MiB), erased('vdb', 4 * MiB)], install: null })
  const after = (await store.tasks(machine.id))[0]
  assert.equal(after?.state, 'cancelled')
  assert.ok((after?.finishedAt ?? 0) > (after?.cancelRequestedAt ?? Infinity), 'finishedAt: when the agent stopped')
  assert.deepEqual((await discovery.eraseReports(machine.id)).map(r => [r.disk, r.bytesWritten, r.verified]), [['vda', 8 * MiB, true], ['vdb', 4 * MiB, true]])
  await agents.result(second, { taskId: task.id, ok: false, error: 'cancelled', eraseReports: [erased('vda', 8 * MiB)], install: null })
  assert.equal((await discovery.eraseReports(machine.id)).length, 2, 'answered once')
  ctl2.abort()
  await agents.sessionClosed(second, 'blip')
  const third = await resume(agents, second.credential)
  const ctl3 = new AbortController()
  assert.deepEqual(ids((await drain(agents, third, ctl3.signal)).directives), [], 'nothing left to tell')
  assert.equal((await inv.machines.get(machine.id)).state, 'accepted')
  ctl3.abort()
})

test('an in-band reboot ends the session: its credential is void and the next boot gets in at once', async () => {
  const { agents, discovery, machine } = await setup()
  const s = await connect(agents, machine.id)
  const reboot = await discovery.queueAgentTask(machine.id, 'reboot')
  const ctl = new AbortController()
  await drain(agents, s, ctl.signal)
  await agents.result(s, { taskId: reboot.id, ok: true, error: '', eraseReports: [], install: null })
  await assert.rejects(resume(agents, s.credential), { code: 'ERR_AGENT_SESSION_INVALID' })
  ctl.abort()
  await agents.sessionClosed(s, 'the agent closed the stream')
  assert.equal((await connect(agents, machine.id)).machineId, machine.id)
})

test('a server restart: the session resumes on a new process from its credential; a new token waits out the grace; prune re-queues after it', async () => {
  const inv = makeInventory()
  const before = makeProvisioning(inv)
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'LAB0001' })
  await before.discovery.accept(machine.id)
  const s = await connect(before.agents, machine.id)
  const task = await before.discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  const ctl = new AbortController()
  await drain(before.agents, s, ctl.signal)
  ctl.abort()
  // kill -9: no close is ever recorded. The new process knows the session from the database only.
  inv.clock.advance(5_000)
  const after = makeProvisioning(inv)
  const token = await after.agents.issueToken(machine.id, PEER)
  await assert.rejects(after.agents.openSession({ kind: 'token', token }, HELLO, PEER), { code: 'ERR_AGENT_SESSION_HELD' })
  assert.equal((await after.agents.prune()).requeued, 0, 'within the grace of the restart')
  const resumed = await resume(after.agents, s.credential)
  assert.equal(resumed.sessionId, s.sessionId)
  await after.agents.result(resumed, { taskId: task.id, ok: true, error: '', eraseReports: [erased('vda')], install: null })
  assert.equal((await inv.machines.get(machine.id)).state, 'ready')

  // Another restart, and this time the agent never comes back: prune queues its task again.
  const wipe2 = await after.discovery.wipe(machine.id, { method: 'fast', disks: [] })
  const ctl2 = new AbortController()
  await drain(after.agents, resumed, ctl2.signal)
  ctl2.abort()
  const third = makeProvisioning(inv)
  inv.clock.advance(120_001)
  assert.equal((await third.agents.prune()).requeued, 1)
  assert.equal((await third.store.tasks(machine.id)).find(t => t.id === wipe2.id)?.state, 'queued')
  // It was only late: resuming, it is handed the same task again (the agent knows the id).
  const late = await resume(third.agents, resumed.credential)
  const ctl3 = new AbortController()
  assert.deepEqual(ids((await drain(third.agents, late, ctl3.signal)).directives), [`task ${wipe2.id}`])
  ctl3.abort()
})
