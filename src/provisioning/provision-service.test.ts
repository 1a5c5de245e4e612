import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { eq } from 'drizzle-orm'
import { machineConfigs, nodeTokens, tasks } from '../db/schema.ts'
import { verifyConfig } from '../signing/config-signature.ts'
import { decodePublicKey, encodePublicKeyString } from '../signing/minisign.ts'
import { planBoot } from './boot-planner.ts'
import type { AgentDirective, TaskInput } from './agent-gateway.ts'
import type { AgentService } from './agent-service.ts'
import type { OpenedStream } from './agent-gateway.ts'
import { BASE_URL, configYaml, GiB, HOSTNAME, makeInstallWorld } from '../../test/helpers/install.ts'
import { makeNodeReports, signedReport } from '../../test/helpers/node-report.ts'

// ProvisionService and InstallTasks against the real stores (SQLite with migrations), the real
// agent service and the real power policy over a scripted BMC.

async function first (agents: AgentService, stream: OpenedStream, signal: AbortSignal): Promise<TaskInput> {
  const next = await agents.tasks(stream, signal)[Symbol.asyncIterator]().next()
  if (next.done === true) throw new Error('the task stream ended')
  const d: AgentDirective = next.value
  if (!('task' in d)) throw new Error(`expected a task, got ${JSON.stringify(d)}`)
  return d.task
}

const REPORT = { disk: 'vda', bytesWritten: 2 * GiB, durationMs: 20_000, writeMs: 16_000, imageSha256: 'e'.repeat(64), verified: true, slot: 'A', committed: true }

test('a ready machine becomes installing with one queued install task; the timeline has image, disk and generation, never the config', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId } = await w.readyMachine()
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml('D1') })
  assert.equal(r.machine.state, 'installing')
  assert.deepEqual(r.image, { name: 'anvil-node', version: '1.0.0' })
  assert.deepEqual(r.disk, { name: 'vda', serial: 'D1', wwn: '', sizeBytes: 64 * GiB })
  assert.equal(r.configGeneration, 1)
  const installs = (await w.store.tasks(machineId)).filter(t => t.kind === 'install')
  assert.equal(installs.length, 1)
  assert.equal(installs[0]?.id, r.task.id)
  assert.equal(installs[0]?.state, 'queued')
  assert.deepEqual(installs[0]?.params, { image: r.image, disk: r.disk, configGeneration: 1 })
  const events = await w.inv.machines.events(machineId)
  const queued = events.find(e => e.type === 'install.queued')
  assert.deepEqual(queued?.data, { taskId: r.task.id, image: r.image, disk: r.disk, configGeneration: 1 })
  assert.ok(!JSON.stringify(events).includes(HOSTNAME), 'the config never reaches the timeline')
  // A second provision while installing: the lifecycle refuses it, and nothing more is stored.
  await assert.rejects(w.provision.provision(machineId, { image: 'anvil-node', config: configYaml('D1') }), { code: 'ERR_INVALID_STATE', message: /installing; provisioning it needs it to be ready/ })
  assert.equal(w.inv.db.select().from(machineConfigs).all().length, 1)
})

test('refusals: wrong state, no image, only pending images, a bad config or disk selector (with key paths), no disk, several disks, a disk too small', async () => {
  const w = makeInstallWorld()
  const { machine: discovered } = await w.inv.machines.registerBoot({ mac: '52:54:00:77:00:99' })
  await assert.rejects(w.provision.provision(discovered.id, { image: 'anvil-node', config: configYaml() }), { code: 'ERR_INVALID_STATE' })
  const { machineId } = await w.readyMachine()
  const go = async (image: string, config = configYaml(), disk?: unknown) => await w.provision.provision(machineId, { image, config, ...(disk === undefined ? {} : { disk }) })
  await assert.rejects(go('anvil-node'), { code: 'ERR_IMAGE_NOT_FOUND' })
  await w.addImage('anvil-node', '1.0.0', { pending: true })
  await assert.rejects(go('anvil-node'), { code: 'ERR_IMAGE_UNAVAILABLE', message: /1\.0\.0 pending/ })
  await assert.rejects(go('anvil-node:1.0.0'), { code: 'ERR_IMAGE_UNAVAILABLE' })
  await assert.rejects(go('anvil-node:9.9.9'), { code: 'ERR_IMAGE_NOT_FOUND' })
  await assert.rejects(go('Not An Image'), { code: 'ERR_VALIDATION' })
  await w.addImage('anvil-node', '1.9.0')
  await w.addImage('anvil-node', '1.10.0', { minDiskBytes: 32 * GiB })
  await assert.rejects(go('anvil-node', configYaml('D1', '      mtu: 12')), (err: { code: string, details: { issues: Array<{ path: string }> } }) => {
    assert.equal(err.code, 'ERR_MACHINE_CONFIG_INVALID')
    assert.deepEqual(err.details.issues.map(i => i.path), ['network.interfaces[0].mtu'])
    return true
  })
  await assert.rejects(go('anvil-node', configYaml(), { transport: 'floppy' }), (err: { code: string, details: { issues: Array<{ path: string }> } }) => {
    assert.equal(err.code, 'ERR_MACHINE_CONFIG_INVALID')
    assert.deepEqual(err.details.issues.map(i => i.path), ['disk.transport'])
    return true
  })
  await assert.rejects(go('anvil-node', configYaml('NOPE')), { code: 'ERR_INSTALL_DISK_NONE', message: /vda \(serial D1/ })
  await assert.rejects(go('anvil-node', configYaml(), { transport: 'virtio' }), { code: 'ERR_INSTALL_DISK_AMBIGUOUS' })
  // The highest semver (1.10.0, not 1.9.0) needs 32 GiB: the USB stick is too small for it.
  await assert.rejects(go('anvil-node', configYaml(), { serial: 'USB1' }), { code: 'ERR_INSTALL_DISK_TOO_SMALL', message: /sda/ })
  assert.equal((await w.inv.machines.get(machineId)).state, 'ready', 'nothing moved')
  assert.equal(w.inv.db.select().from(machineConfigs).all().length, 0, 'nothing stored')
  const r = await go('anvil-node', configYaml(), { transport: 'virtio', serial: 'D2' })
  assert.equal(r.image.version, '1.10.0')
  assert.equal(r.disk.name, 'vdb', 'the request\'s disk selector overrides install.disk')
})

test('never the disk the environment booted from: with vda the boot disk, transport=virtio picks vdb alone', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId } = await w.readyMachine({ bootDisk: 'vda' })
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml(), disk: { transport: 'virtio' } })
  assert.equal(r.disk.name, 'vdb')
})

test('generations 1, 2, 3 across re-provisions after an error; each signature binds the machine and its generation', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId, stream } = await w.readyMachine()
  const ctl = new AbortController()
  for (const generation of [1, 2, 3]) {
    const r = await w.provision.provision(machineId, { image: 'anvil-node:1.0.0', config: configYaml() })
    assert.equal(r.configGeneration, generation)
    const handed = await first(w.agents, stream, ctl.signal)
    assert.equal(handed.id, r.task.id)
    assert.equal(Number(handed.install?.configGeneration), generation)
    const binding = verifyConfig(handed.install?.config as Buffer, String(handed.install?.configSignature), decodePublicKey(String(handed.install?.configKey)), { machineId, minGeneration: generation, now: new Date(w.inv.clock.now()) })
    assert.equal(binding.generation, generation)
    await assert.rejects(async () => { verifyConfig(handed.install?.config as Buffer, String(handed.install?.configSignature), w.configKey.publicKey, { machineId: 'm-other', minGeneration: 0, now: new Date(w.inv.clock.now()) }) }, { code: 'ERR_CONFIG_WRONG_MACHINE' })
    await w.agents.result(stream, { taskId: r.task.id, ok: false, error: 'vda: EIO at 4096', eraseReports: [], install: { ...REPORT, committed: false, verified: false } })
    const m = await w.inv.machines.get(machineId)
    assert.equal(m.state, 'error')
    assert.match(m.stateReason ?? '', /install failed: vda: EIO at 4096/)
    // error → accept → wipe → ready
    await w.discovery.accept(machineId)
    const wipe = await w.discovery.wipe(machineId, { method: 'fast', disks: [] })
    assert.equal((await first(w.agents, stream, ctl.signal)).id, wipe.id)
    await w.agents.result(stream, { taskId: wipe.id, ok: true, error: '', eraseReports: [], install: null })
    assert.equal((await w.inv.machines.get(machineId)).state, 'ready')
  }
  const types = (await w.inv.machines.events(machineId)).map(e => e.type)
  assert.equal(types.filter(t => t === 'install.failed').length, 3)
  ctl.abort()
})

test('the config is stored sealed: its text is not in the database file, and it opens only for its machine and generation', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-provision-'))
  try {
    const file = join(dir, 'anvil.db')
    const w = makeInstallWorld(file)
    await w.addImage('anvil-node', '1.0.0')
    const { machineId } = await w.readyMachine()
    const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
    await w.inv.timeline.flush()
    const row = w.inv.db.select().from(machineConfigs).where(eq(machineConfigs.machineId, machineId)).get()
    assert.ok(row !== undefined)
    assert.match(row.signature, /trusted comment: anvil config machine=\S+ generation=1 expires=\d+/)
    assert.equal(row.taskId, r.task.id)
    assert.equal(row.expiresAt, Math.floor((w.inv.clock.now() + 24 * 3_600_000) / 1000))
    assert.match(w.secrets.open(row.configSealed, `anvil machine config ${machineId} generation 1`), new RegExp(HOSTNAME.replaceAll('.', '\\.')))
    assert.throws(() => w.secrets.open(row.configSealed, `anvil machine config ${machineId} generation 2`), { code: 'ERR_SECRET_UNREADABLE' })
    w.inv.db.$client.pragma('wal_checkpoint(TRUNCATE)')
    for (const f of [file, `${file}-wal`]) {
      if (!existsSync(f)) continue
      const bytes = readFileSync(f)
      assert.equal(bytes.indexOf(Buffer.from(HOSTNAME)), -1, `${f} holds the config's text`)
      assert.equal(bytes.indexOf(Buffer.from('sealed-7f3a9c')), -1)
    }
    w.inv.db.$client.close()
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})

test('the InstallTask the agent gets: image URL, manifest and signature, keys, the config and a node token whose hash is stored; again after a reconnect', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId, stream } = await w.readyMachine()
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
  const ctl = new AbortController()
  const t = await first(w.agents, stream, ctl.signal)
  const i = t.install
  if (i === undefined || i === null) throw new Error('not an install task')
  assert.equal(i.imageUrl, `${BASE_URL}/images/anvil-node/1.0.0`)
  assert.deepEqual([i.imageName, i.imageVersion, i.machineId, i.disk, i.diskSerial, i.diskWwn, Number(i.diskSizeBytes)], ['anvil-node', '1.0.0', machineId, 'vda', 'D1', '', 64 * GiB])
  const image = await w.images.get('anvil-node', '1.0.0')
  assert.equal(Buffer.from(i.manifest as Buffer).toString('utf8'), image?.manifest)
  assert.equal(i.manifestSignature, image?.signature)
  assert.deepEqual(i.imageKeys, [encodePublicKeyString(w.imageKey.publicKey)])
  assert.match(String(i.configKey), /^RW/)
  assert.match(Buffer.from(i.config as Buffer).toString('utf8'), /hostname: "node-sealed-7f3a9c\.lab\.example"/)
  const token = String(i.nodeToken)
  assert.ok(token.length >= 40)
  const hash = createHash('sha256').update(token).digest('hex')
  const rows = w.inv.db.select().from(nodeTokens).all()
  assert.deepEqual(rows.map(x => [x.tokenHash, x.machineId, x.taskId, x.configGeneration, x.usedAt]), [[hash, machineId, r.task.id, 1, null]])
  assert.ok(!JSON.stringify(w.inv.db.select().from(nodeTokens).all()).includes(token), 'only the hash is stored')
  // The agent reconnects (same session): the running task comes again, with the same config and a new token.
  ctl.abort()
  await w.agents.sessionClosed(stream, 'network blip')
  const resumed = await w.agents.openSession({ kind: 'session', credential: stream.credential }, { agentVersion: '1', bootMac: '52:54:00:77:00:11', bootDisk: '' }, '10.77.0.100')
  const again = new AbortController()
  const t2 = await first(w.agents, resumed, again.signal)
  assert.equal(t2.id, t.id)
  assert.deepEqual(t2.install?.config, i.config)
  assert.equal(t2.install?.configSignature, i.configSignature)
  assert.notEqual(t2.install?.nodeToken, token)
  assert.equal(w.inv.db.select().from(nodeTokens).all().length, 2, 'the first token stays valid: the agent may have written it already')
  const events = JSON.stringify(await w.inv.machines.events(machineId))
  assert.ok(!events.includes(token) && !events.includes(HOSTNAME), 'neither token nor config in the timeline')
  again.abort()
})

test('success: install.written, the result stored, the machine stays installing, its BMC boots the disk (boot device, power cycle), and the planner answers local-disk', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId, stream } = await w.readyMachine()
  await w.registry.set(machineId, { address: '10.77.1.11', username: 'admin', password: 'pw' })
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
  const ctl = new AbortController()
  await first(w.agents, stream, ctl.signal)
  assert.deepEqual(planBoot(await w.inv.machines.get(machineId), { bootenv: true, recheckSeconds: 30 }, { installWritten: await w.installs.installWritten(machineId) }).kind, 'install')
  await w.agents.result(stream, { taskId: r.task.id, ok: true, error: '', eraseReports: [], install: REPORT })
  const m = await w.inv.machines.get(machineId)
  assert.equal(m.state, 'installing', 'the node\'s report moves it to provisioned')
  const row = w.inv.db.select().from(tasks).where(eq(tasks.id, r.task.id)).get()
  assert.equal(row?.state, 'done')
  assert.deepEqual(JSON.parse(row?.result ?? 'null'), REPORT)
  const events = await w.inv.machines.events(machineId)
  const written = events.find(e => e.type === 'install.written')
  assert.match(written?.message ?? '', /2 GiB to vda in 20\.0 s, 128 MiB\/s, verified, committed \(slot A\)/)
  assert.equal(written?.data?.rate, Math.round(2 * GiB / 16))
  assert.deepEqual(w.bmc.boot, { device: 'disk', persistent: true, efi: false, valid: true })
  assert.ok(events.some(e => e.type === 'power.boot-device' && /disk/.test(e.message)))
  assert.ok(w.bmc.calls.some(c => c.endsWith(':cycle')), `the BMC power-cycled it: ${w.bmc.calls.join(', ')}`)
  assert.deepEqual((await w.store.tasks(machineId)).filter(t => t.kind === 'reboot'), [], 'no in-band reboot when the BMC did it')
  assert.equal(await w.installs.installWritten(machineId), true)
  const plan = planBoot(m, { bootenv: true, recheckSeconds: 30 }, { installWritten: true })
  assert.deepEqual(plan, { kind: 'local-disk', message: 'this machine\'s image is written: booting from its local disk' })
  assert.equal(await w.store.currentSession(machineId, w.inv.clock.now()), undefined, 'the power cycle ended the agent\'s session')
  ctl.abort()
})

test('a BMC that fails to set the boot device is recorded, never fatal; then, as without a BMC, the agent is asked to reboot in band', async () => {
  for (const withBmc of [true, false]) {
    const w = makeInstallWorld()
    await w.addImage('anvil-node', '1.0.0')
    const { machineId, stream } = await w.readyMachine()
    if (withBmc) {
      await w.registry.set(machineId, { address: '10.77.1.11', username: 'admin', password: 'pw' })
      w.bmc.ignoreBootFlags = true // reads back non-persistent: the read-back check fails
    }
    const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
    const ctl = new AbortController()
    await first(w.agents, stream, ctl.signal)
    await w.agents.result(stream, { taskId: r.task.id, ok: true, error: '', eraseReports: [], install: REPORT })
    assert.equal((await w.inv.machines.get(machineId)).state, 'installing')
    const events = await w.inv.machines.events(machineId)
    assert.equal(events.some(e => e.type === 'power.boot-device' && /could not boot the machine from its disk through the BMC/.test(e.message)), withBmc)
    assert.equal(w.bmc.calls.length > 0, withBmc)
    assert.equal(w.bmc.calls.some(c => c.endsWith(':cycle')), false, 'no power cycle without a boot device read back')
    assert.deepEqual((await w.store.tasks(machineId)).filter(t => t.kind === 'reboot').map(t => t.state), ['queued'], 'the agent is asked to reboot')
    ctl.abort()
  }
})

test('ok without a committed disk is a failure; a task whose config is gone fails before it is sent', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId, stream } = await w.readyMachine()
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
  const ctl = new AbortController()
  await first(w.agents, stream, ctl.signal)
  await w.agents.result(stream, { taskId: r.task.id, ok: true, error: '', eraseReports: [], install: { ...REPORT, committed: false } })
  const m = await w.inv.machines.get(machineId)
  assert.equal(m.state, 'error')
  assert.match(m.stateReason ?? '', /not that the disk was committed/)
  assert.equal(await w.installs.installWritten(machineId), false)

  await w.discovery.accept(machineId)
  const wipe = await w.discovery.wipe(machineId, { method: 'fast', disks: [] })
  assert.equal((await first(w.agents, stream, ctl.signal)).id, wipe.id)
  await w.agents.result(stream, { taskId: wipe.id, ok: true, error: '', eraseReports: [], install: null })
  const again = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
  await w.configs.remove(machineId, again.configGeneration)
  // The hand-out fails the task instead of sending it; the stream then waits for more work.
  const it = w.agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]()
  const next = it.next()
  for (let i = 0; i < 500 && (await w.inv.machines.get(machineId)).state !== 'error'; i++) await new Promise(resolve => setTimeout(resolve, 10))
  const after = await w.inv.machines.get(machineId)
  assert.equal(after.state, 'error')
  assert.match(after.stateReason ?? '', /could not be sent to the agent: machine \S+ has no config generation 2/)
  ctl.abort()
  await next.catch(() => undefined)
})

test('end to end: the token an install task carries is the one the node reports in with; then provisioned, and the view shows the node', async () => {
  const w = makeInstallWorld()
  await w.addImage('anvil-node', '1.0.0')
  const { machineId, stream } = await w.readyMachine()
  const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
  const ctl = new AbortController()
  const t = await first(w.agents, stream, ctl.signal)
  await w.agents.result(stream, { taskId: r.task.id, ok: true, error: '', eraseReports: [], install: REPORT })
  const reports = makeNodeReports(w.inv, w)
  const token = String(t.install?.nodeToken)
  await assert.rejects(reports.report(token, signedReport(machineId, token, undefined, { configGeneration: 2 }), '10.77.0.50'), { code: 'ERR_NODE_TOKEN_INVALID', message: /config generation 1, not 2/ })
  const answer = await reports.report(token, signedReport(machineId, token, undefined, { imageVersion: '1.0.0' }), '10.77.0.50')
  assert.equal(answer.state, 'provisioned')
  const view = await w.provision.installView(machineId)
  assert.equal(view?.task.state, 'done')
  assert.deepEqual(view?.node === null ? null : { ...view?.node, reportedAt: 0 }, { imageName: 'anvil-node', imageVersion: '1.0.0', slot: 'A', configGeneration: 1, addresses: ['10.77.0.50/24'], hostname: 'node-1', reportedAt: 0 })
  ctl.abort()
})
