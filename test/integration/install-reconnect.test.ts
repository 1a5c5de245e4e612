// Issue 10: "kill -9 of the server mid-install, or the agent's connection cut: the install resumes
// or starts again cleanly; never a half-bootable disk, never a second install running."
// The real agent (runAgent with the real installImage and the zstd binary, on a copy of the vm1
// tree whose vda is a 64 MiB file) installs the REAL signed test image (install-image.ts) served
// by a real HTTP server on 127.0.0.1, driven by the real server side (AgentService with
// InstallTasks, ProvisionService, SQLite, the TLS gRPC listener) through a TcpRelay that cuts the
// connection on cue. Each machine is accepted, wiped by the agent and provisioned through
// ProvisionService with a config selecting vda by serial, as an operator would.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { after, before, test, type TestContext } from 'node:test'
import { eq } from 'drizzle-orm'
import { framePlan } from '../../src/agent/install-plan.ts'
import { runAgent } from '../../src/agent/main.ts'
import { nodeTokens } from '../../src/db/schema.ts'
import { ensureServerCertificate, type ServerCertificate } from '../../src/grpc/tls.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, decodeStateCopy, pickState } from '../../src/node-state/record.ts'
import { secretHash } from '../../src/provisioning/agent-auth.ts'
import type { StoredTask } from '../../src/provisioning/discovery-ports.ts'
import { buildTestImage, MIB, sfdiskTable, type TestImage } from '../helpers/install-image.ts'
import { ImageHttpServer, machineTree, MACHINE_CONFIG, makeWorld, startServerProcess, until, VDA, VM1_MAC, type World } from '../helpers/install-rig.ts'
import { skipReason } from '../helpers/requirements.ts'
import { TcpRelay } from '../helpers/tcp-relay.ts'

const skip = skipReason('install reconnect tests', { programs: ['zstd', 'sfdisk'] })
let img: TestImage
let cert: ServerCertificate

before(async () => {
  if (skip !== undefined) return
  img = await buildTestImage()
  const dir = mkdtempSync(join(tmpdir(), 'anvil-install-reconnect-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })
  cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
})

type ServerProcess = Awaited<ReturnType<typeof startServerProcess>>
type Rig = {
  w: World
  http: ImageHttpServer
  relay: TcpRelay
  /** The server process the relay points at now (a restart replaces it). */
  server: ServerProcess
  machineId: string
  sessionId: string
  disk: string
  lines: string[]
  exit: Promise<number>
  /** Provisions the machine (the image, MACHINE_CONFIG); resolves with the install task's id. */
  provision: () => Promise<string>
  /** A restarted server: a fresh process on the same database. */
  restart: () => Promise<ServerProcess>
}

/**
 * The machine `ready`, as an operator gets it there: its agent connected (through the relay) and
 * reported its hardware, it was accepted, and its agent wiped vda (zeroes). The agent goes on.
 */
async function rig (t: TestContext): Promise<Rig> {
  const http = new ImageHttpServer(img.compressed)
  const w = await makeWorld(img, cert, await http.start())
  const processes: ServerProcess[] = [await startServerProcess(w)]
  const current = (): ServerProcess => processes.at(-1) as ServerProcess
  const relay = new TcpRelay(current().port)
  const relayPort = await relay.start()
  const root = machineTree()
  const lines: string[] = []
  let exited = false
  t.after(async () => {
    // A test that failed part way leaves an agent that reconnects forever: end it in band, bounded.
    if (!exited) {
      await current().p.discovery.queueAgentTask(machineId, 'powerOff').catch(() => {})
      await Promise.race([exit, sleep(5_000)])
    }
    for (const s of processes) await s.stop()
    await relay.close()
    await http.close()
    rmSync(root, { recursive: true, force: true })
  })
  const { machine } = await w.inv.machines.registerBoot({ mac: VM1_MAC, serial: 'SYS-0001' })
  const machineId = machine.id
  const opened = current().gateway.nextOpened()
  const exit = runAgent({
    cmdline: `anvil.grpc=127.0.0.1:${relayPort} anvil.token=${await current().p.agents.issueToken(machineId, '127.0.0.1')} anvil.fingerprint=${cert.fingerprint} BOOTIF=01-${VM1_MAC.replaceAll(':', '-')} console=ttyS0`,
    root,
    log: (l) => lines.push(l),
    backoff: async () => { await sleep(100) }
  }).finally(() => { exited = true })
  const { sessionId } = await opened
  const { p } = current()
  await until('the hardware report', async () => (await p.store.getHardware(machineId)) !== undefined)
  await p.discovery.accept(machineId)
  await p.discovery.wipe(machineId, { method: 'zeroes', disks: ['vda'] })
  await until('the machine ready', async () => (await w.inv.machines.get(machineId)).state === 'ready')
  return {
    w,
    http,
    relay,
    get server () { return current() },
    machineId,
    sessionId,
    disk: join(root, 'dev/vda'),
    lines,
    exit,
    provision: async () => (await current().provision.provision(machineId, { image: 'anvil-node:0.1.0', config: MACHINE_CONFIG })).task.id,
    restart: async () => {
      processes.push(await startServerProcess(w))
      return current()
    }
  }
}

/**
 * Provisions the rig's machine and holds the image download near its end, once image bytes are on
 * vda: the install is mid-stream, with its task running, until `hold.release()`.
 */
async function provisionHeld (r: Rig): Promise<{ taskId: string, hold: ReturnType<ImageHttpServer['holdAt']> }> {
  const hold = r.http.holdAt(img.compressed.length - 256 * 1024)
  const taskId = await r.provision()
  await hold.reached
  await until('image bytes on vda', () => imageBytesOnDisk(r.disk))
  return { taskId, hold }
}

async function taskOf (r: Rig, taskId: string): Promise<StoredTask | undefined> {
  return (await r.server.p.store.tasks(r.machineId)).find(t => t.id === taskId)
}

async function eventTypes (r: Rig): Promise<string[]> {
  await r.w.inv.timeline.flush()
  return (await r.w.inv.machines.events(r.machineId)).map(e => e.type)
}

/** Bytes of the image on vda already (its BIOS partition, in the first batch the install writes). */
function imageBytesOnDisk (disk: string): boolean {
  return readFileSync(disk).subarray(MIB, 2 * MIB).equals(img.raw.subarray(MIB, 2 * MIB))
}

/** Lines of the agent's log that start one install: the dispatcher's, and the installer's own. */
function installStarts (r: Rig, taskId: string): { dispatched: number, installs: number } {
  return {
    dispatched: r.lines.filter(l => l === `task ${taskId}: install`).length,
    installs: r.lines.filter(l => l.startsWith('install anvil-node 0.1.0 to vda ')).length
  }
}

/**
 * What a committed install leaves, checked from both ends: the task done with its InstallReport,
 * install.written in the timeline, exactly one install run by the agent, and on vda the image
 * byte for byte outside STATE, a GPT that sfdisk reads, and a STATE record for this machine whose
 * node token the server still accepts.
 */
async function assertInstalled (r: Rig, taskId: string): Promise<void> {
  const task = await taskOf(r, taskId)
  assert.equal(task?.state, 'done', `task ${JSON.stringify(task)}`)
  assert.equal(task.sessionId, r.sessionId, 'the task stayed with the first session')
  const report = task.result as Record<string, unknown>
  assert.deepEqual([report.disk, report.committed, report.verified, report.slot, report.bytesWritten, report.imageSha256], ['vda', true, true, 'A', img.raw.length, img.manifest.artifact.sha256])
  const types = await eventTypes(r)
  assert.equal(types.filter(t => t === 'install.written').length, 1)
  assert.equal(types.filter(t => t === 'install.started').length, 1, 'handed out once')
  assert.ok(!types.includes('task.requeued'), 'the install never went back to the queue')
  assert.ok(!types.includes('install.failed'))
  assert.deepEqual(installStarts(r, taskId), { dispatched: 1, installs: 1 }, r.lines.join('\n'))

  const disk = readFileSync(r.disk)
  assert.equal(disk.length, VDA.bytes)
  assert.ok(disk.subarray(0, img.state.start).equals(img.raw.subarray(0, img.state.start)), 'the image up to STATE')
  assert.ok(disk.subarray(img.state.end, img.raw.length).equals(img.raw.subarray(img.state.end)), 'the image after STATE, the backup table included')
  const table = sfdiskTable(r.disk)
  assert.deepEqual(table?.partitions.map(p => p.name), ['BIOS', 'EFI', 'ANVIL-A', 'ANVIL-B', 'ANVIL-STATE'])
  const copy = (i: 0 | 1): Buffer => disk.subarray(img.state.start + COPY_OFFSETS[i], img.state.start + COPY_OFFSETS[i] + COPY_READ_BYTES)
  const state = pickState([copy(0), copy(1)])
  assert.equal(state.seq, 1n)
  assert.equal(state.payload.machineId, r.machineId)
  assert.deepEqual([state.payload.install.imageName, state.payload.install.imageVersion, state.payload.install.disk, state.payload.config.generation], ['anvil-node', '0.1.0', 'vda', 1])
  // A resumed session is handed the running install again, with a fresh node token; the one the
  // disk holds (from the first hand-out) must still be the node's way in.
  const token = state.payload.credential?.nodeToken ?? ''
  const row = r.w.inv.db.select().from(nodeTokens).where(eq(nodeTokens.tokenHash, secretHash(token))).get()
  assert.deepEqual([row?.machineId, row?.taskId, row?.usedAt], [r.machineId, taskId, null], 'the node token on the disk is valid')
}

/**
 * After a committed install the server reboots the machine once; this rig has no BMC, so that is
 * an in-band reboot task, and the agent ends the environment with init's reboot status.
 */
async function assertRebootedInBand (r: Rig): Promise<void> {
  assert.equal(await r.exit, 10)
  const tasks = await r.server.p.store.tasks(r.machineId)
  assert.deepEqual(tasks.map(t => `${t.kind} ${t.state}`).sort(), ['install done', 'reboot done', 'wipe done'])
  const types = await eventTypes(r)
  assert.ok(types.indexOf('reboot.queued') > types.indexOf('install.written'), types.join(' '))
  assert.ok(types.includes('reboot.done'))
}

test('a network blip mid-install: the same session resumes, the install is not started again, and it commits', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const { taskId, hold } = await provisionHeld(r)
  await until('install progress at the server', () => r.server.p.agents.progressOf(taskId).length > 0)
  const resumed = r.server.gateway.nextOpened()
  r.relay.cut()
  const second = await resumed
  assert.deepEqual([second.sessionId, second.resumed], [r.sessionId, true], 'the same session continues')
  // The resumed session is handed its running install again; the agent recognises it.
  await until('the agent to recognise the task', () => r.lines.includes(`task ${taskId}: already running, not started again`))
  assert.equal(sfdiskTable(r.disk), undefined, 'not bootable while the install runs')
  hold.release()
  await until('the install done', async () => (await taskOf(r, taskId))?.state === 'done')
  await assertInstalled(r, taskId)
  const types = await eventTypes(r)
  assert.deepEqual(types.filter(t => t === 'agent.connected' || t === 'agent.reconnected'), ['agent.connected', 'agent.reconnected'])
  assert.ok(types.includes('install.progress'))
  await assertRebootedInBand(r)
})

test('the server restarts while the install runs: the agent finishes offline, and its result reaches the new process after the reconnect', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const { taskId, hold } = await provisionHeld(r)
  r.relay.down()
  await r.server.stop()
  hold.release()
  await until('the agent to finish the install offline', () => r.lines.includes(`task ${taskId}: ok`))
  assert.equal((await taskOf(r, taskId))?.state, 'running', 'nothing reached a server yet')
  const next = await r.restart()
  r.relay.retarget(next.port)
  const resumed = next.gateway.nextOpened()
  r.relay.up()
  assert.deepEqual([(await resumed).sessionId, (await resumed).resumed], [r.sessionId, true])
  await until('the install done', async () => (await taskOf(r, taskId))?.state === 'done')
  await assertInstalled(r, taskId)
  // The reboot is the new process's decision: its InstallTasks took the result.
  await assertRebootedInBand(r)
})

test('the server restarts mid-install and the agent is back before the install ends: the new process hands it the running install, which is not started again', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const { taskId, hold } = await provisionHeld(r)
  r.relay.down()
  await r.server.stop()
  const next = await r.restart()
  r.relay.retarget(next.port)
  const resumed = next.gateway.nextOpened()
  r.relay.up()
  assert.deepEqual([(await resumed).sessionId, (await resumed).resumed], [r.sessionId, true])
  await until('the agent to recognise the task', () => r.lines.includes(`task ${taskId}: already running, not started again`))
  hold.release()
  await until('the install done', async () => (await taskOf(r, taskId))?.state === 'done')
  await assertInstalled(r, taskId)
  await assertRebootedInBand(r)
})

test('the image download is cut mid-stream: the agent resumes it with Range and the install commits', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const cutAt = Math.floor(img.compressed.length / 2)
  r.http.cutOnceAt(cutAt)
  const taskId = await r.provision()
  await until('the install done', async () => (await taskOf(r, taskId))?.state === 'done')
  await assertInstalled(r, taskId)
  assert.equal(r.http.cuts, 1)
  // Two ranges (chunks 0-2, chunk 8: the frames of the chunks that are not zero), the first one
  // cut and resumed from the next byte it had not fed to the decompressor.
  const [head, tail] = framePlan(img.manifest.artifact).fetch
  assert.ok(head !== undefined && tail !== undefined && cutAt < head.end)
  assert.equal(r.http.ranges.length, 3, `requests: ${JSON.stringify(r.http.ranges)}`)
  assert.equal(r.http.ranges[0], `bytes=0-${head.end - 1}`)
  const from = Number(new RegExp(`^bytes=(\\d+)-${head.end - 1}$`).exec(r.http.ranges[1] ?? '')?.[1])
  assert.ok(from > 0 && from <= cutAt, `resumed from byte ${from}, cut at ${cutAt}`)
  assert.equal(r.http.ranges[2], `bytes=${tail.start}-${tail.end - 1}`)
  assert.ok(r.lines.some(l => l.includes(`download interrupted at byte ${from} `) && l.includes(`resuming from byte ${from} `)), r.lines.join('\n'))
  await assertRebootedInBand(r)
})

test('an operator cancels the running install: the task ends cancelled, the machine is ready again, and vda has no partition table', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const { taskId, hold } = await provisionHeld(r)
  const { machine } = await r.server.p.discovery.cancel(r.machineId, taskId)
  assert.equal(machine.state, 'ready', 'taskCancelled from installing')
  await until('the agent to stop', () => r.lines.includes(`task ${taskId}: failed: cancelled`))
  await until('the server to take its result', async () => (await eventTypes(r)).includes('install.failed'))
  hold.release()
  const task = await taskOf(r, taskId)
  assert.equal(task?.state, 'cancelled')
  assert.equal((task.result as Record<string, unknown> | null)?.committed, false)
  assert.equal((await r.w.inv.machines.get(r.machineId)).state, 'ready')
  assert.ok(r.lines.some(l => l.includes(`task ${taskId}: cancelled by the server`)), r.lines.join('\n'))
  assert.deepEqual(installStarts(r, taskId), { dispatched: 1, installs: 1 })
  const disk = readFileSync(r.disk)
  assert.equal(sfdiskTable(r.disk), undefined, 'no partition table')
  assert.ok(disk.subarray(0, 34 * 512).equals(Buffer.alloc(34 * 512)), 'LBA 0 to 33 zero: no PMBR, no primary GPT')
  assert.ok(disk.subarray(VDA.bytes - MIB).equals(Buffer.alloc(MIB)), 'the last MiB zero: no backup GPT of the old disk')
  assert.ok('invalid' in decodeStateCopy(disk.subarray(img.state.start, img.state.start + COPY_READ_BYTES)), 'no STATE record')
  assert.ok(!(await eventTypes(r)).includes('install.written'))
  await r.server.p.discovery.queueAgentTask(r.machineId, 'powerOff')
  assert.equal(await r.exit, 0)
})

test('a cancel that loses the race to the commit: the timeline says the disk is bootable, the node token is revoked, the machine stays ready', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const { taskId, hold } = await provisionHeld(r)
  // The agent is cut off, finishes and commits offline; the operator cancels meanwhile.
  r.relay.down()
  hold.release()
  await until('the agent to finish the install offline', () => r.lines.includes(`task ${taskId}: ok`))
  const { machine } = await r.server.p.discovery.cancel(r.machineId, taskId)
  assert.equal(machine.state, 'ready')
  r.relay.up()
  await until('the server to take the late result', async () => (await eventTypes(r)).includes('install.failed'))
  const events = await r.w.inv.machines.events(r.machineId)
  const late = events.find(e => e.type === 'install.failed')
  assert.match(late?.message ?? '', /already committed it.*The disk is bootable/, late?.message)
  assert.ok(!events.some(e => e.type === 'install.written'))
  assert.equal((await r.w.inv.machines.get(r.machineId)).state, 'ready')
  assert.notEqual(sfdiskTable(r.disk), undefined, 'the disk really is bootable: the record says so')
  assert.deepEqual(r.w.inv.db.select().from(nodeTokens).where(eq(nodeTokens.taskId, taskId)).all(), [], 'no token left for the cancelled install\'s node')
  assert.deepEqual((await r.server.p.store.tasks(r.machineId)).filter(x => x.kind === 'reboot'), [], 'no reboot into a cancelled install')
  await r.server.p.discovery.queueAgentTask(r.machineId, 'powerOff')
  assert.equal(await r.exit, 0)
})

test('after a committed install with no BMC, the server reboots the machine in band: a reboot task, and the agent exits 10', { skip, timeout: 60_000 }, async (t) => {
  const r = await rig(t)
  const taskId = await r.provision()
  await assertRebootedInBand(r)
  await assertInstalled(r, taskId)
  const reboot = (await r.server.p.store.tasks(r.machineId)).find(t => t.kind === 'reboot')
  assert.ok(r.lines.includes(`task ${reboot?.id ?? '?'}: reboot`), r.lines.join('\n'))
  assert.equal((await r.w.inv.machines.get(r.machineId)).state, 'installing', 'provisioned only once the node reports in from its disk')
})
