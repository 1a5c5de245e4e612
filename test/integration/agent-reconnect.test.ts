// The real agent (runAgent on the vm1 tree captured from a QEMU VM, its disks plain files in a
// copy of that tree) against the real server side (AgentService over SQLite, the TLS gRPC
// listener), with a loopback TCP relay between them that misbehaves on cue: a network blip in the
// middle of a wipe, the server restarted while the stream is down (a new AgentService on the same
// database: what a new process knows), and an operator's cancel. The agent carries on with its
// session credential each time, and the wipe's result lands in the same session.
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { runAgent } from '../../src/agent/main.ts'
import type { TaskDeps } from '../../src/agent/tasks.ts'
import { wipeDisks } from '../../src/agent/wipe.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { ObservedGateway, startProvisioning } from '../helpers/agent-server.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { TcpRelay } from '../helpers/tcp-relay.ts'

const vm1 = fileURLToPath(new URL('../fixtures/agent/vm1', import.meta.url))
const MAC = '52:54:00:a1:00:02'
const MiB = 2 ** 20
const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

const certDir = mkdtempSync(join(tmpdir(), 'anvil-reconnect-'))
dirs.push(certDir)
const cert = await ensureServerCertificate(certDir, { ip: '127.0.0.1' })

/** A private copy of the vm1 tree whose vda (64 MiB in its sysfs) is a file full of 0xa5. */
function machineTree (): string {
  const root = mkdtempSync(join(tmpdir(), 'anvil-reconnect-root-'))
  dirs.push(root)
  cpSync(vm1, root, { recursive: true, verbatimSymlinks: true })
  writeFileSync(join(root, 'dev/vda'), Buffer.alloc(64 * MiB, 0xa5))
  return root
}

/** A wipe that waits at its start until released; then the real wipe of the tree's files. */
function gatedWipe (): { wipe: TaskDeps['wipe'], started: Promise<void>, release: () => void } {
  let started: () => void = () => {}
  let release: () => void = () => {}
  const startedP = new Promise<void>((resolve) => { started = resolve })
  const gate = new Promise<void>((resolve) => { release = resolve })
  const wipe: TaskDeps['wipe'] = async (task, disks, options) => {
    options.onProgress?.({ disk: 'vda', bytesDone: 0, bytesTotal: 64 * MiB, rateBytesPerSecond: 0, phase: 'wipe' })
    started()
    await gate
    return await wipeDisks(task, disks, { ...options, chunkBytes: 4 * MiB })
  }
  return { wipe, started: startedP, release }
}

async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await new Promise((resolve) => setTimeout(resolve, 25))
  }
}

/** A server (domain over the database of `inv`), a relay in front, one accepted machine with a queued zero wipe of vda. */
async function rig (): Promise<{ inv: ReturnType<typeof makeInventory>, relay: TcpRelay, relayPort: number, machineId: string, taskId: string, server: Awaited<ReturnType<typeof serve>> }> {
  const inv = makeInventory()
  const server = await serve(inv)
  const relay = new TcpRelay(server.port)
  const relayPort = await relay.start()
  after(async () => { await relay.close() })
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'VM1' })
  await server.p.discovery.accept(machine.id)
  const task = await server.p.discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
  return { inv, relay, relayPort, machineId: machine.id, taskId: task.id, server }
}

/** One server process, as far as the agents can tell: a fresh AgentService and listener on the database of `inv`. */
async function serve (inv: ReturnType<typeof makeInventory>): Promise<{ p: ReturnType<typeof makeProvisioning>, gateway: ObservedGateway, port: number, stop: () => Promise<void> }> {
  const p = makeProvisioning(inv)
  const gateway = new ObservedGateway(p.agents)
  const { service, port } = await startProvisioning(gateway, cert)
  let stopped = false
  const stop = async (): Promise<void> => { if (!stopped) { stopped = true; await service.stop() } }
  after(stop)
  return { p, gateway, port, stop }
}

function agent (relayPort: number, token: string, wipe: TaskDeps['wipe'], lines: string[]): Promise<number> {
  return runAgent({
    cmdline: `anvil.grpc=127.0.0.1:${relayPort} anvil.token=${token} anvil.fingerprint=${cert.fingerprint} BOOTIF=01-${MAC.replaceAll(':', '-')} console=ttyS0`,
    root: machineTree(),
    log: (l) => lines.push(l),
    wipe,
    backoff: async () => { await new Promise((resolve) => setTimeout(resolve, 100)) }
  })
}

async function eventTypes (inv: ReturnType<typeof makeInventory>, machineId: string): Promise<string[]> {
  await inv.timeline.flush()
  return (await inv.machines.events(machineId)).map(e => e.type)
}

test('a network blip mid-wipe: the agent reconnects with its session credential, the wipe goes on, its result lands in the same session', { timeout: 60_000 }, async () => {
  const r = await rig()
  const { p, gateway } = r.server
  const g = gatedWipe()
  const lines: string[] = []
  const exit = agent(r.relayPort, await p.agents.issueToken(r.machineId, '127.0.0.1'), g.wipe, lines)
  const first = await gateway.nextOpened()
  await g.started
  await until('the first progress', () => p.agents.progressOf(r.taskId).length > 0)
  const resumed = gateway.nextOpened()
  r.relay.cut()
  const second = await resumed
  assert.deepEqual([second.sessionId, second.resumed], [first.sessionId, true], 'the same session continues')
  g.release()
  await until('the machine ready', async () => (await r.inv.machines.get(r.machineId)).state === 'ready')
  const reports = await p.discovery.eraseReports(r.machineId)
  assert.deepEqual(reports.map(e => [e.disk, e.method, e.bytesWritten, e.verified]), [['vda', 'zeroes', 64 * MiB, true]])
  const task = (await p.store.tasks(r.machineId)).find(t => t.id === r.taskId)
  assert.equal(task?.sessionId, first.sessionId)
  assert.ok(lines.some(l => l.includes(`task ${r.taskId}: already running, not started again`)), lines.join('\n'))
  const types = await eventTypes(r.inv, r.machineId)
  assert.deepEqual(types.filter(t => t === 'agent.connected' || t === 'agent.reconnected'), ['agent.connected', 'agent.reconnected'])
  assert.ok(!types.includes('task.requeued'), 'the wipe never went back to the queue')
  await p.discovery.queueAgentTask(r.machineId, 'powerOff')
  assert.equal(await exit, 0)
})

test('the server restarts while the stream is down and the wipe ends meanwhile: the kept result reaches the new process after the reconnect', { timeout: 60_000 }, async () => {
  const r = await rig()
  const before = r.server
  const g = gatedWipe()
  const lines: string[] = []
  const exit = agent(r.relayPort, await before.p.agents.issueToken(r.machineId, '127.0.0.1'), g.wipe, lines)
  const first = await before.gateway.nextOpened()
  await g.started
  r.relay.down()
  await before.stop()
  g.release()
  await until('the agent to finish the wipe offline', () => lines.some(l => l === `task ${r.taskId}: ok`))
  assert.equal((await r.inv.machines.get(r.machineId)).state, 'wiping', 'nothing reached the server yet')
  const after = await serve(r.inv)
  r.relay.retarget(after.port)
  const resumed = after.gateway.nextOpened()
  r.relay.up()
  assert.equal((await resumed).sessionId, first.sessionId)
  await until('the machine ready', async () => (await r.inv.machines.get(r.machineId)).state === 'ready')
  assert.deepEqual((await after.p.discovery.eraseReports(r.machineId)).map(e => [e.disk, e.bytesWritten, e.verified]), [['vda', 64 * MiB, true]])
  await after.p.discovery.queueAgentTask(r.machineId, 'reboot')
  assert.equal(await exit, 10)
})

test('an operator cancels the running wipe: the agent stops between chunks and its result says how far vda got', { timeout: 60_000 }, async () => {
  const r = await rig()
  const { p } = r.server
  let started: () => void = () => {}
  const running = new Promise<void>((resolve) => { started = resolve })
  // A wipe that takes a while (64 chunks of 1 MiB, 20 ms apart) and stops at the next chunk
  // when told, as the real one does (src/agent/wipe.test.ts shows that on the real wipe).
  const slow: TaskDeps['wipe'] = async (_task, _disks, options) => {
    const file = await open(join(options.root ?? '/', 'dev/vda'), 'r+')
    let done = 0
    try {
      for (let i = 0; i < 64 && options.signal?.aborted !== true; i++) {
        await new Promise((resolve) => setTimeout(resolve, 20))
        await file.write(Buffer.alloc(MiB), 0, MiB, done)
        done += MiB
        options.onProgress?.({ disk: 'vda', bytesDone: done, bytesTotal: 64 * MiB, rateBytesPerSecond: 50 * MiB, phase: 'wipe' })
        if (done === 4 * MiB) started()
      }
    } finally {
      await file.close()
    }
    return [{ disk: 'vda', serial: 'DISK123', method: 'zeroes', bytesWritten: done, durationMs: 1, verified: done === 64 * MiB, refused: '' }]
  }
  const lines: string[] = []
  const exit = agent(r.relayPort, await p.agents.issueToken(r.machineId, '127.0.0.1'), slow, lines)
  await running
  await p.discovery.cancel(r.machineId, r.taskId)
  await until('the erase report of the cancelled wipe', async () => (await p.discovery.eraseReports(r.machineId)).length > 0)
  const [report] = await p.discovery.eraseReports(r.machineId)
  assert.ok(report !== undefined && report.bytesWritten >= 4 * MiB && report.bytesWritten < 64 * MiB, `stopped part way: ${report?.bytesWritten}`)
  assert.equal(report.verified, false)
  const task = (await p.store.tasks(r.machineId)).find(t => t.id === r.taskId)
  assert.equal(task?.state, 'cancelled')
  assert.equal((await r.inv.machines.get(r.machineId)).state, 'accepted')
  assert.ok(lines.some(l => l.includes('cancelled by the server')), lines.join('\n'))
  await p.discovery.queueAgentTask(r.machineId, 'powerOff')
  assert.equal(await exit, 0)
})
