import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { hostname, release, tmpdir, totalmem } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, test } from 'node:test'
import { credentials, Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadNodeProto } from '../../grpc/proto.ts'
import { STATE_SCHEMA, type StatePayload } from '../../node-state/record.ts'
import type { DisksReply } from '../../proto/generated/anvil/node/v1/DisksReply.ts'
import type { LogLine } from '../../proto/generated/anvil/node/v1/LogLine.ts'
import type { MemoryReply } from '../../proto/generated/anvil/node/v1/MemoryReply.ts'
import type { OperationReply } from '../../proto/generated/anvil/node/v1/OperationReply.ts'
import type { ProcessesReply } from '../../proto/generated/anvil/node/v1/ProcessesReply.ts'
import type { ServicesReply } from '../../proto/generated/anvil/node/v1/ServicesReply.ts'
import type { VersionReply } from '../../proto/generated/anvil/node/v1/VersionReply.ts'
import type { NodeClient } from '../../proto/generated/anvil/node/v1/Node.ts'
import type { PowerPort } from './api/power.ts'
import { startNodeApi, type NodeApi } from './node-api.ts'
import { Supervisor, type ServiceStatus } from './supervisor.ts'

/** Keeps a test child alive, and ends it should this test process die without stopping it (it is re-parented). */
const STAY = `setInterval(() => { if (process.ppid !== ${process.pid}) process.exit(0) }, 500)`

const dir = mkdtempSync(join(tmpdir(), 'anvil-node-api-'))
const socket = join(dir, 'run/anvil/machined.sock')
const consoleLines: string[] = []
const calls: string[] = []
let rebooted: () => void = () => {}
const rebootCalled = new Promise<void>(resolve => { rebooted = resolve })
const supervisor = new Supervisor({ graceMs: 5000 })
let api: NodeApi
let client: NodeClient

const state: StatePayload = {
  schema: STATE_SCHEMA,
  machineId: 'm-test-0001',
  install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: '0'.repeat(64), slot: 'A', disk: 'vda', installedAt: 0 },
  config: { yaml: '', signature: '', generation: 3 },
  trust: { configKey: '', imageKeys: [] },
  server: { host: '127.0.0.1', port: 1, fingerprint: '' }
}

const power: PowerPort = {
  reboot: async () => {
    calls.push(`reboot with services ${supervisor.list().map(s => s.state).join(',')}`)
    rebooted()
  },
  powerOff: async () => { calls.push('powerOff') }
}

/** Resolves with the service's status once it satisfies `pred`. */
function until (id: string, pred: (s: ServiceStatus) => boolean): Promise<ServiceStatus> {
  const now = supervisor.list().find(s => s.id === id)
  if (now !== undefined && pred(now)) return Promise.resolve(now)
  return new Promise(resolve => { const stop = supervisor.watch(s => { if (s.id === id && pred(s)) { stop(); resolve(s) } }) })
}

function unary<T> (fn: (cb: (err: ServiceError | null, value?: T) => void) => void): Promise<T> {
  return new Promise((resolve, reject) => { fn((err, value) => { if (err !== null) reject(err); else resolve(value as T) }) })
}

before(async () => {
  // A stale socket from a machined that died: a listener that exits without closing leaves the file.
  mkdirSync(join(dir, 'run/anvil'), { recursive: true })
  execFileSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(socket)}, () => process.exit(0))`])
  assert.ok(statSync(socket).isSocket())
  const sys = join(dir, 'sys')
  mkdirSync(join(sys, 'block/vda/vda1'), { recursive: true })
  writeFileSync(join(sys, 'block/vda/size'), '2048\n')
  writeFileSync(join(sys, 'block/vda/vda1/partition'), '1\n')
  writeFileSync(join(sys, 'block/vda/vda1/size'), '1024\n')
  writeFileSync(join(sys, 'block/vda/vda1/uevent'), 'PARTN=1\nPARTNAME=ANVIL-STATE\n')
  mkdirSync(join(dir, 'dev'))
  writeFileSync(join(dir, 'dev/kmsg'), '6,1,1000,-;first\n5,2,2000,-;second\n')
  supervisor.start({ id: 'echo', argv: [process.execPath, '-e', `process.on("SIGUSR2", () => console.log("poked")); console.log("ready"); ${STAY}`] })
  api = await startNodeApi({
    socket: `unix://${socket}`,
    roots: { proc: '/proc', sys, dev: join(dir, 'dev'), etcAnvil: join(dir, 'etc') },
    state,
    supervisor,
    power,
    log: line => consoleLines.push(line),
    sync: async () => { calls.push('sync') },
    settleMs: 0
  })
  const proto = await loadNodeProto()
  client = new proto.anvil.node.v1.Node(`unix:${socket}`, credentials.createInsecure())
})

after(async () => {
  client.close()
  await supervisor.stopAll()
  await api.stop()
  rmSync(dir, { recursive: true, force: true })
})

test('the socket replaced the stale one, 0600 in a 0700 directory', () => {
  assert.equal(api.socketPath, socket)
  assert.equal(statSync(socket).mode & 0o777, 0o600)
  assert.equal(statSync(join(dir, 'run/anvil')).mode & 0o777, 0o700)
})

test('Version: STATE, the real kernel, hostname and boot id', async () => {
  const v = await unary<VersionReply>(cb => client.Version({}, cb))
  assert.equal(v.machineId, 'm-test-0001')
  assert.equal(v.imageVersion, '0.1.0')
  assert.equal(v.configGeneration, 3)
  assert.equal(v.kernel, release())
  assert.equal(v.hostname, hostname())
  assert.equal(v.bootId, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())
  assert.equal(v.nodeJs, process.version)
  assert.ok(v.uptimeSeconds > 0)
})

test('Memory: MemTotal as the OS reports it', async () => {
  const m = await unary<MemoryReply>(cb => client.Memory({}, cb))
  assert.equal(m.totalBytes, totalmem())
  assert.ok(m.availableBytes > 0 && m.availableBytes <= m.totalBytes)
})

test('Processes: this test process is listed, with its parent', async () => {
  const r = await unary<ProcessesReply>(cb => client.Processes({}, cb))
  const me = r.processes.find(p => p.pid === process.pid)
  assert.ok(me !== undefined)
  assert.equal(me.ppid, process.ppid)
  assert.equal(me.args[0], process.argv0)
})

test('Services: machined first, then the supervised service, running', async () => {
  const s = await until('echo', x => x.state === 'running')
  const r = await unary<ServicesReply>(cb => client.Services({}, cb))
  assert.deepEqual(r.services.map(x => [x.id, x.state]), [['machined', 'running'], ['echo', 'running']])
  assert.equal(r.services[0]?.pid, process.pid)
  assert.equal(r.services[1]?.pid, s.pid)
})

test('Disks and Dmesg from the test trees', async () => {
  const d = await unary<DisksReply>(cb => client.Disks({}, cb))
  assert.deepEqual(d.disks.map(x => [x.name, x.partitions.map(p => p.name)]), [['vda', ['ANVIL-STATE']]])
  const lines = await new Promise<LogLine[]>((resolve, reject) => {
    const got: LogLine[] = []
    client.Dmesg({ tail: 1 }).on('data', (l: LogLine) => got.push(l)).on('error', reject).on('end', () => { resolve(got) })
  })
  assert.deepEqual(lines.map(l => [l.source, l.text, l.priority]), [['kernel', 'second', 5]])
})

test('Logs with follow: the backlog, then a line printed afterwards; the stream ends on cancel', async () => {
  const s = await until('echo', x => x.state === 'running')
  const log = supervisor.log('echo')
  assert.ok(log !== undefined)
  const call = client.Logs({ service: 'echo', follow: true })
  const ended = new Promise<ServiceError>(resolve => { call.on('error', resolve) })
  const texts: string[] = []
  await new Promise<void>((resolve) => {
    call.on('data', (l: LogLine) => {
      texts.push(l.text)
      assert.equal(l.source, 'echo')
      if (l.text === 'ready') process.kill(s.pid, 'SIGUSR2')
      if (l.text === 'poked') resolve()
    })
  })
  assert.deepEqual(texts, ['ready', 'poked'])
  call.cancel()
  assert.equal((await ended).code, status.CANCELLED)
  // The server side lets go of the ring once the cancel reaches it.
  for (let i = 0; i < 500 && log.followers > 0; i++) await delay(10)
  assert.equal(log.followers, 0)
})

test('Logs of an unknown service: NOT_FOUND with ERR_NODE_SERVICE_UNKNOWN', async () => {
  const err = await new Promise<ServiceError>((resolve, reject) => {
    client.Logs({ service: 'nope' }).on('error', resolve).on('end', () => { reject(new Error('ended without an error')) })
  })
  assert.equal(err.code, status.NOT_FOUND)
  assert.deepEqual(err.metadata.get(ERROR_CODE_TRAILER), ['ERR_NODE_SERVICE_UNKNOWN'])
})

test('an error with no stable code: INTERNAL to the caller, the reason on the console only', async () => {
  renameSync(join(dir, 'dev/kmsg'), join(dir, 'dev/kmsg.away'))
  try {
    const err = await new Promise<ServiceError>((resolve, reject) => {
      client.Dmesg({}).on('error', resolve).on('end', () => { reject(new Error('ended without an error')) })
    })
    assert.equal(err.code, status.INTERNAL)
    assert.equal(err.details, 'internal error; see the server log')
    assert.deepEqual(err.metadata.get(ERROR_CODE_TRAILER), ['ERR_INTERNAL'])
    assert.ok(consoleLines.some(l => l.includes('node API Dmesg') && l.includes('ENOENT')), consoleLines.join('\n'))
  } finally {
    renameSync(join(dir, 'dev/kmsg.away'), join(dir, 'dev/kmsg'))
  }
})

test('Reboot: an invalid mode is refused', async () => {
  const err = await unary(cb => client.Reboot({ mode: 'powercycle' }, cb)).then(() => undefined, (e: ServiceError) => e)
  assert.equal(err?.code, status.INVALID_ARGUMENT)
  assert.deepEqual(calls, [])
})

test('Reboot: answered with an operation, then services stopped, sync, and the power port called once', async () => {
  const md = new Metadata()
  md.set('anvil-caller-name', 'alice')
  md.set('anvil-caller-role', 'operator')
  const r = await unary<OperationReply>(cb => client.Reboot({}, md, cb))
  assert.match(r.operation?.id ?? '', /^op-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/)
  assert.deepEqual([r.operation?.kind, r.operation?.state], ['reboot', 'running'])
  assert.equal(r.operation?.bootIdBefore, readFileSync('/proc/sys/kernel/random/boot_id', 'utf8').trim())
  await rebootCalled
  assert.deepEqual(calls, ['sync', 'reboot with services stopped'])
  assert.ok(consoleLines.some(l => l.includes('reboot asked by alice (operator)')), consoleLines.join('\n'))
  // Asked again while under way: the same operation, no second reboot; a shutdown is refused.
  const again = await unary<OperationReply>(cb => client.Reboot({}, cb))
  assert.equal(again.operation?.id, r.operation?.id)
  const refused = await unary(cb => client.Shutdown({}, cb)).then(() => undefined, (e: ServiceError) => e)
  assert.equal(refused?.code, status.FAILED_PRECONDITION)
  assert.deepEqual(refused?.metadata.get(ERROR_CODE_TRAILER), ['ERR_INVALID_STATE'])
  assert.deepEqual(calls, ['sync', 'reboot with services stopped'])
})
