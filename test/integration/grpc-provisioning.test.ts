// The provisioning gRPC transport over real TLS on 127.0.0.1:0 with a real grpc-js client that
// pins the server certificate exactly as the agent does (src/grpc/agent-credentials.ts). The
// AgentGateway is a scripted fake in the first tests (the transport is what is under test), and the
// real domain (AgentService over SQLite in memory) in the last ones: who holds a machine, resuming,
// the address binding, all over the wire. The real agent reconnecting: agent-reconnect.test.ts.
import assert from 'node:assert/strict'
import { EventEmitter, once } from 'node:events'
import { cpSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, test } from 'node:test'
import { Metadata, status, type ClientDuplexStream, type ServiceError } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../src/grpc/agent-credentials.ts'
import { ERROR_CODE_TRAILER } from '../../src/grpc/errors.ts'
import { createProvisioningService, type ProvisioningServiceOptions } from '../../src/grpc/provisioning-server.ts'
import { loadProvisioningProto } from '../../src/grpc/proto.ts'
import { ensureServerCertificate, type ServerCertificate } from '../../src/grpc/tls.ts'
import { CodedError } from '../../src/lib/errors.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { AgentMessageInput } from '../../src/proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { ServerMessage } from '../../src/proto/generated/anvil/provisioning/v1/ServerMessage.ts'
import type { AgentAuth, AgentDirective, AgentGateway, AgentStream, HardwareReport, Hello, OpenedStream, TaskInput, TaskProgress, TaskResult } from '../../src/provisioning/agent-gateway.ts'
import { ObservedGateway, startProvisioning } from '../helpers/agent-server.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { TcpRelay } from '../helpers/tcp-relay.ts'

/** Tokens map to machines; each is consumed by its first session, as the contract says. */
class ScriptedGateway extends EventEmitter implements AgentGateway {
  readonly tokens = new Map<string, string>()
  readonly used = new Set<string>()
  readonly opened: { auth: AgentAuth, hello: Hello, peer: string }[] = []
  readonly closed: { machineId: string, reason: string }[] = []
  readonly taskSignals = new Map<string, AbortSignal>()
  readonly #queues = new Map<string, { tasks: AgentDirective[], wake: () => void }>()
  failOpen: Error | undefined

  async openSession (auth: AgentAuth, hello: Hello, peer: string): Promise<OpenedStream> {
    if (this.failOpen !== undefined) throw this.failOpen
    if (auth.kind === 'session') {
      if (auth.credential !== 'cred-m-1') throw new CodedError('ERR_AGENT_SESSION_INVALID', 'this session is over')
      this.opened.push({ auth, hello, peer })
      return { machineId: 'm-1', sessionId: 's-m-1', streamId: 'st-2', resumed: true, credential: 'cred-m-1b', credentialTtlMs: 3_600_000 }
    }
    const machineId = this.tokens.get(auth.token)
    if (machineId === undefined) throw new CodedError('ERR_AGENT_TOKEN_INVALID', 'unknown or expired token')
    if (this.used.has(auth.token)) throw new CodedError('ERR_AGENT_TOKEN_USED', 'this token was already used')
    this.used.add(auth.token)
    this.opened.push({ auth, hello, peer })
    return { machineId, sessionId: `s-${machineId}`, streamId: 'st-1', resumed: false, credential: `cred-${machineId}`, credentialTtlMs: 3_600_000 }
  }

  async hardwareReported (s: AgentStream, report: HardwareReport): Promise<void> { this.emit('hardware', s.machineId, report) }
  progress (s: AgentStream, progress: TaskProgress): void { this.emit('progress', s.machineId, progress) }
  async result (s: AgentStream, result: TaskResult): Promise<void> { this.emit('result', s.machineId, result) }
  async sessionClosed (s: AgentStream, reason: string): Promise<void> {
    this.closed.push({ machineId: s.machineId, reason })
    this.emit('closed', s.machineId, reason)
  }

  async * tasks (s: AgentStream, signal: AbortSignal): AsyncIterable<AgentDirective> {
    this.taskSignals.set(s.machineId, signal)
    const q = this.#queue(s.machineId)
    while (!signal.aborted) {
      const task = q.tasks.shift()
      if (task !== undefined) { yield task; continue }
      await new Promise<void>((resolve) => { q.wake = resolve; signal.addEventListener('abort', () => { resolve() }, { once: true }) })
    }
  }

  /** What an operator asking for a wipe does, seen from the transport. */
  pushTask (machineId: string, task: TaskInput): void {
    this.push(machineId, { task })
  }

  push (machineId: string, directive: AgentDirective): void {
    const q = this.#queue(machineId)
    q.tasks.push(directive)
    q.wake()
  }

  #queue (machineId: string): { tasks: AgentDirective[], wake: () => void } {
    let q = this.#queues.get(machineId)
    if (q === undefined) { q = { tasks: [], wake: () => {} }; this.#queues.set(machineId, q) }
    return q
  }
}

const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })
const proto = await loadProvisioningProto()

type Harness = { dir: string, gateway: ScriptedGateway, port: number, cert: ServerCertificate, logs: string[], stop: () => Promise<void> }

async function startServer (dataDir?: string, extra: Partial<ProvisioningServiceOptions> = {}): Promise<Harness> {
  const dir = dataDir ?? mkdtempSync(join(tmpdir(), 'anvil-grpc-it-'))
  dirs.push(dir)
  const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
  const logs: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb() } })
  const gateway = new ScriptedGateway()
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway, tls: cert, log: createLogger('info', sink), ...extra })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  return { dir, gateway, port: service.address().port, cert, logs, stop: async () => { await service.stop() } }
}

async function client (h: Harness): Promise<InstanceType<typeof proto.anvil.provisioning.v1.Provisioning>> {
  const creds = await pinnedChannelCredentials('127.0.0.1', h.port, h.cert.fingerprint)
  const c = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${h.port}`, creds, agentChannelOptions)
  after(() => { c.close() })
  return c
}

type Call = ClientDuplexStream<AgentMessageInput, ServerMessage>

function session (c: Awaited<ReturnType<typeof client>>, token?: string, scheme = 'Bearer'): { call: Call, next: () => Promise<ServerMessage>, status: Promise<ServiceError | undefined> } {
  const md = new Metadata()
  if (token !== undefined) md.set('authorization', `${scheme} ${token}`)
  const call = c.Session(md)
  const it = call[Symbol.asyncIterator]() as AsyncIterator<ServerMessage>
  // Resolves with the error status, or undefined for OK.
  const statusP = new Promise<ServiceError | undefined>((resolve) => {
    call.on('status', (s: { code: status }) => { if (s.code === status.OK) resolve(undefined) })
    call.on('error', (err: ServiceError) => { resolve(err) })
  })
  const next = async (): Promise<ServerMessage> => {
    const r = await it.next()
    assert.equal(r.done, false, 'the server ended the stream')
    return r.value as ServerMessage
  }
  return { call, next, status: statusP }
}

/** A session past hello and hardware: the state in which tasks flow. */
async function reportedSession (server: Harness, token: string): Promise<ReturnType<typeof session>> {
  const s = session(await client(server), token)
  s.call.write(HELLO)
  await s.next()
  const hardware = once(server.gateway, 'hardware')
  s.call.write(HARDWARE)
  await hardware
  return s
}

function assertStatus (err: ServiceError | undefined, code: status, errorCode: string): void {
  assert.ok(err !== undefined, 'expected an error status')
  assert.equal(err.code, code, `status ${err.code}: ${err.details}`)
  assert.deepEqual(err.metadata.get(ERROR_CODE_TRAILER), [errorCode])
}

const HELLO = { hello: { agentVersion: '0.1.0', bootMac: '52:54:00:12:34:56', bootDisk: '' } }
const HARDWARE = { hardware: { system: { uuid: '0f0e0d0c-0b0a-0908-0706-050403020100', serial: 'SER-1' }, disks: [{ name: 'vda', sizeBytes: 8 * 2 ** 30, serial: 'D1' }], kernel: '6.1.0-test' } }

const h = await startServer()

test('a good token: welcome, hardware to the gateway, a task to the agent, progress and result back', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-good', 'm-1')
  const s = session(await client(h), 'tok-good')
  s.call.write(HELLO)
  assert.deepEqual(await s.next(), { welcome: { machineId: 'm-1', sessionId: 's-m-1', credential: 'cred-m-1', credentialTtlMs: 3_600_000, resumed: false }, body: 'welcome' })
  assert.equal(h.gateway.opened[0]?.hello.bootMac, '52:54:00:12:34:56')
  assert.deepEqual(h.gateway.opened[0]?.auth, { kind: 'token', token: 'tok-good' })
  assert.equal(h.gateway.opened[0]?.peer, '127.0.0.1', 'the remote address, without the port')

  const hardware = once(h.gateway, 'hardware')
  s.call.write(HARDWARE)
  const [machineId, report] = await hardware as [string, HardwareReport]
  assert.equal(machineId, 'm-1')
  assert.equal(report.system?.uuid, '0f0e0d0c-0b0a-0908-0706-050403020100')
  assert.equal(report.disks[0]?.sizeBytes, 8 * 2 ** 30, 'uint64 as a number (longs: Number)')

  h.gateway.pushTask('m-1', { id: 't-1', wipe: { method: 'FAST', disks: ['vda'] } })
  const task = (await s.next()).task
  assert.equal(task?.id, 't-1')
  assert.equal(task?.kind, 'wipe')
  assert.deepEqual(task?.wipe, { method: 'FAST', disks: ['vda'], verifySamples: 0 })

  const progress = once(h.gateway, 'progress')
  s.call.write({ progress: { taskId: 't-1', disk: 'vda', bytesDone: 2 ** 20, bytesTotal: 8 * 2 ** 30, phase: 'wipe' } })
  assert.equal(((await progress)[1] as TaskProgress).bytesDone, 2 ** 20)
  const result = once(h.gateway, 'result')
  s.call.write({ result: { taskId: 't-1', ok: true, eraseReports: [{ disk: 'vda', serial: 'D1', method: 'fast', verified: true }] } })
  const done = (await result)[1] as TaskResult
  assert.equal(done.ok, true)
  assert.equal(done.eraseReports[0]?.serial, 'D1')
  h.gateway.push('m-1', { cancel: { taskId: 't-0' } })
  assert.deepEqual(await s.next(), { cancel: { taskId: 't-0' }, body: 'cancel' })

  const closed = once(h.gateway, 'closed')
  s.call.end()
  assert.equal(await s.status, undefined, 'status OK after the agent half-closes')
  assert.deepEqual(await closed, ['m-1', 'the agent closed the stream'])
  assert.equal(h.gateway.taskSignals.get('m-1')?.aborted, true, 'the task iterator was aborted')
})

test('a session credential: `authorization: Session <credential>` reaches the gateway as such; the welcome says resumed', { timeout: 30_000 }, async () => {
  const s = session(await client(h), 'cred-m-1', 'Session')
  s.call.write(HELLO)
  assert.deepEqual((await s.next()).welcome, { machineId: 'm-1', sessionId: 's-m-1', credential: 'cred-m-1b', credentialTtlMs: 3_600_000, resumed: true })
  assert.deepEqual(h.gateway.opened.at(-1)?.auth, { kind: 'session', credential: 'cred-m-1' })
  s.call.cancel()
  const stale = session(await client(h), 'cred-old', 'session')
  stale.call.write(HELLO)
  assertStatus(await stale.status, status.UNAUTHENTICATED, 'ERR_AGENT_SESSION_INVALID')
  const long = session(await client(h), 'c'.repeat(513), 'Session')
  long.call.write(HELLO)
  assertStatus(await long.status, status.UNAUTHENTICATED, 'ERR_AGENT_SESSION_INVALID')
})

test('a wrong token and a reused token are UNAUTHENTICATED', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-once', 'm-2')
  const c = await client(h)
  const wrong = session(c, 'tok-nope')
  wrong.call.write(HELLO)
  assertStatus(await wrong.status, status.UNAUTHENTICATED, 'ERR_AGENT_TOKEN_INVALID')

  const first = session(c, 'tok-once')
  first.call.write(HELLO)
  assert.equal((await first.next()).welcome?.machineId, 'm-2')
  const again = session(c, 'tok-once')
  again.call.write(HELLO)
  const err = await again.status
  assertStatus(err, status.UNAUTHENTICATED, 'ERR_AGENT_TOKEN_USED')
  assert.match(err?.details ?? '', /already used/)
  first.call.cancel()
})

test('no token is UNAUTHENTICATED before anything reaches the gateway', { timeout: 30_000 }, async () => {
  const before = h.gateway.opened.length
  const s = session(await client(h))
  assertStatus(await s.status, status.UNAUTHENTICATED, 'ERR_AGENT_TOKEN_MISSING')
  const other = session(await client(h))
  other.call.write(HELLO)
  assertStatus(await other.status, status.UNAUTHENTICATED, 'ERR_AGENT_TOKEN_MISSING')
  assert.equal(h.gateway.opened.length, before)
})

test('hardware before hello is INVALID_ARGUMENT and opens no session', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-order', 'm-3')
  const s = session(await client(h), 'tok-order')
  s.call.write(HARDWARE)
  const err = await s.status
  assertStatus(err, status.INVALID_ARGUMENT, 'ERR_AGENT_PROTOCOL')
  assert.match(err?.details ?? '', /first message must be hello, not a hardware message/)
  assert.equal(h.gateway.used.has('tok-order'), false, 'the token was not consumed')
})

test('anything after hello but hardware is INVALID_ARGUMENT; the session is closed at the gateway', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-order2', 'm-4')
  const s = session(await client(h), 'tok-order2')
  s.call.write(HELLO)
  await s.next()
  const closed = once(h.gateway, 'closed')
  s.call.write({ progress: { taskId: 'x' } })
  assertStatus(await s.status, status.INVALID_ARGUMENT, 'ERR_AGENT_PROTOCOL')
  assert.deepEqual((await closed)[0], 'm-4')
})

test('a message over the 2 MiB receive limit is refused with RESOURCE_EXHAUSTED; the session is closed', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-big', 'm-big')
  const s = session(await client(h), 'tok-big')
  s.call.write(HELLO)
  await s.next()
  const closed = once(h.gateway, 'closed')
  const pci = Array.from({ length: 70_000 }, (_, i) => ({ address: `0000:${String(i).padStart(6, '0')}.0`, vendorId: 0x1af4, deviceId: 0x1000, classCode: 0x020000, driver: 'virtio-pci' }))
  s.call.write({ hardware: { ...HARDWARE.hardware, pci } })
  const err = await s.status
  assert.equal(err?.code, status.RESOURCE_EXHAUSTED, err?.details)
  assert.equal((await closed)[0], 'm-big')
})

test('an unexpected gateway failure is INTERNAL, logged, and its message is not sent', { timeout: 30_000 }, async () => {
  h.gateway.failOpen = new Error('database is on fire at /var/lib/secret')
  try {
    const s = session(await client(h), 'tok-any')
    s.call.write(HELLO)
    const err = await s.status
    assertStatus(err, status.INTERNAL, 'ERR_INTERNAL')
    assert.doesNotMatch(err?.details ?? '', /fire|secret/)
    assert.ok(h.logs.some((l) => l.includes('database is on fire')), 'the cause is in the server log')
  } finally {
    h.gateway.failOpen = undefined
  }
})

test('an agent that cancels its stream is reported closed and its task iterator aborted', { timeout: 30_000 }, async () => {
  h.gateway.tokens.set('tok-cancel', 'm-5')
  const s = await reportedSession(h, 'tok-cancel')
  const closed = once(h.gateway, 'closed')
  s.call.cancel()
  assert.deepEqual(await closed, ['m-5', 'the agent cancelled the stream or its connection was lost'])
  assert.equal(h.gateway.taskSignals.get('m-5')?.aborted, true)
})

test('pinning another fingerprint fails with ERR_TLS_PIN_MISMATCH before any RPC', { timeout: 30_000 }, async () => {
  const other = 'ab'.repeat(32)
  const before = h.gateway.opened.length
  await assert.rejects(pinnedChannelCredentials('127.0.0.1', h.port, other), (err: unknown) => {
    assert.ok(err instanceof CodedError)
    assert.equal(err.code, 'ERR_TLS_PIN_MISMATCH')
    assert.match(err.message, new RegExp(h.cert.fingerprint))
    return true
  })
  assert.equal(h.gateway.opened.length, before)
  await assert.rejects(pinnedChannelCredentials('127.0.0.1', h.port, 'xyz'), { code: 'ERR_TLS_PIN_INVALID' })
})

test('the real connection is pinned too: a reissued certificate (same key, same name) is refused', { timeout: 30_000 }, async () => {
  // Server B holds A's key with a certificate reissued for another address: OpenSSL's chain check
  // alone would accept it (same issuer name, signed by the trusted key), only the pin tells them apart.
  const dirB = mkdtempSync(join(tmpdir(), 'anvil-grpc-it-'))
  cpSync(join(h.dir, 'grpc.key'), join(dirB, 'grpc.key'))
  const certB = await ensureServerCertificate(dirB, { ip: '127.0.0.2' })
  assert.equal(certB.origin, 'reissued')
  const b = await startServer(dirB)
  b.gateway.tokens.set('tok-b', 'm-b')
  const credsForA = await pinnedChannelCredentials('127.0.0.1', h.port, h.cert.fingerprint)
  const c = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${b.port}`, credsForA, agentChannelOptions)
  after(() => { c.close() })
  const md = new Metadata()
  md.set('authorization', 'Bearer tok-b')
  const call = c.Session(md)
  call.write(HELLO)
  const err = await new Promise<ServiceError>((resolve) => { call.on('error', resolve); call.on('data', () => {}) })
  assert.equal(err.code, status.UNAVAILABLE, err.details)
  assert.equal(b.gateway.opened.length, 0, 'server B never saw the token')
})

test('no hello within the timeout is DEADLINE_EXCEEDED', { timeout: 30_000 }, async () => {
  const quick = await startServer(undefined, { helloTimeoutMs: 200 })
  const s = session(await client(quick), 'tok-slow')
  assertStatus(await s.status, status.DEADLINE_EXCEEDED, 'ERR_AGENT_HELLO_TIMEOUT')
})

test('the server stops cleanly with an open stream: UNAVAILABLE to the agent, closed at the gateway', { timeout: 30_000 }, async () => {
  const s2 = await startServer()
  s2.gateway.tokens.set('tok-stop', 'm-stop')
  const s = await reportedSession(s2, 'tok-stop')
  await s2.stop()
  assertStatus(await s.status, status.UNAVAILABLE, 'ERR_SERVER_STOPPING')
  assert.deepEqual(s2.gateway.closed, [{ machineId: 'm-stop', reason: 'the server is shutting down; reconnect later' }])
  assert.equal(s2.gateway.taskSignals.get('m-stop')?.aborted, true)
  assert.ok(!s2.logs.some((l) => l.includes('did not finish in time')), 'no connection had to be cut')
  await assert.rejects(pinnedChannelCredentials('127.0.0.1', s2.port, s2.cert.fingerprint, { timeoutMs: 2000 }), { code: 'ERR_TLS_HANDSHAKE' })
})

// --- the real domain behind the transport -------------------------------------------------------

const MAC = HELLO.hello.bootMac

/** AgentService over SQLite behind a real listener, one machine registered and accepted. */
async function realServer (): Promise<{ inv: ReturnType<typeof makeInventory>, p: ReturnType<typeof makeProvisioning>, gateway: ObservedGateway, port: number, machineId: string, token: (peer?: string) => Promise<string> }> {
  const inv = makeInventory()
  const p = makeProvisioning(inv)
  const gateway = new ObservedGateway(p.agents)
  const { service, port } = await startProvisioning(gateway, h.cert)
  after(async () => { await service.stop() })
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'SER-1' })
  await p.discovery.accept(machine.id)
  return { inv, p, gateway, port, machineId: machine.id, token: async (peer = '127.0.0.1') => await p.agents.issueToken(machine.id, peer) }
}

async function welcomed (port: number, auth: string, scheme = 'Bearer'): Promise<{ s: ReturnType<typeof session>, welcome: NonNullable<ServerMessage['welcome']> }> {
  const s = session(await client({ ...h, port }), auth, scheme)
  s.call.write(HELLO)
  const first = await s.next()
  assert.ok(first.welcome != null, `a welcome, not ${JSON.stringify(first)}`)
  s.call.write(HARDWARE)
  return { s, welcome: first.welcome }
}

async function refusedWith (port: number, auth: string, code: status, errorCode: string, scheme = 'Bearer'): Promise<void> {
  const s = session(await client({ ...h, port }), auth, scheme)
  s.call.write(HELLO)
  assertStatus(await s.status, code, errorCode)
}

test('real domain, new while the old session is alive: UNAVAILABLE ERR_AGENT_SESSION_HELD, the token kept; in once the old stream is gone', { timeout: 30_000 }, async () => {
  const r = await realServer()
  const { s: old, welcome } = await welcomed(r.port, await r.token())
  const second = await r.token()
  await refusedWith(r.port, second, status.UNAVAILABLE, 'ERR_AGENT_SESSION_HELD')
  const closed = once(r.gateway, 'closed')
  old.call.end()
  assert.equal(await old.status, undefined)
  await closed
  const { s: next, welcome: w2 } = await welcomed(r.port, second)
  assert.notEqual(w2.sessionId, welcome.sessionId)
  assert.equal(w2.resumed, false)
  await refusedWith(r.port, welcome.credential, status.UNAUTHENTICATED, 'ERR_AGENT_SESSION_INVALID', 'Session')
  next.call.cancel()
})

test('real domain, old then new: a stream dropped mid-wipe holds the machine through the grace, then the new session is handed the wipe', { timeout: 30_000 }, async () => {
  const r = await realServer()
  const task = await r.p.discovery.wipe(r.machineId, { method: 'zeroes', disks: ['vda'] })
  const { s: old, welcome } = await welcomed(r.port, await r.token())
  assert.equal((await old.next()).task?.id, task.id)
  const closed = once(r.gateway, 'closed')
  old.call.cancel()
  await closed
  const second = await r.token()
  await refusedWith(r.port, second, status.UNAVAILABLE, 'ERR_AGENT_SESSION_HELD')
  r.inv.clock.advance(120_001)
  const { s: next, welcome: w2 } = await welcomed(r.port, second)
  assert.equal((await next.next()).task?.id, task.id, 'the new session gets the wipe')
  assert.equal((await r.p.store.tasks(r.machineId))[0]?.sessionId, w2.sessionId)
  await refusedWith(r.port, welcome.credential, status.UNAUTHENTICATED, 'ERR_AGENT_SESSION_INVALID', 'Session')
  next.call.cancel()
})

test('real domain, resume: Session <credential> continues the session, the wipe is sent again, progress and result land', { timeout: 30_000 }, async () => {
  const r = await realServer()
  const task = await r.p.discovery.wipe(r.machineId, { method: 'zeroes', disks: ['vda'] })
  const { s: first, welcome } = await welcomed(r.port, await r.token())
  assert.equal((await first.next()).task?.id, task.id)
  const progress = once(r.gateway, 'progress')
  first.call.write({ progress: { taskId: task.id, disk: 'vda', bytesDone: 2 ** 30, bytesTotal: 8 * 2 ** 30, phase: 'wipe' } })
  await progress
  const closed = once(r.gateway, 'closed')
  first.call.cancel()
  await closed
  const { s: again, welcome: w2 } = await welcomed(r.port, welcome.credential, 'Session')
  assert.deepEqual([w2.sessionId, w2.resumed, w2.machineId], [welcome.sessionId, true, r.machineId])
  assert.notEqual(w2.credential, welcome.credential)
  assert.equal((await again.next()).task?.id, task.id, 'sent again: the agent knows the id')
  const result = once(r.gateway, 'result')
  again.call.write({ result: { taskId: task.id, ok: true, eraseReports: [{ disk: 'vda', serial: 'D1', method: 'zeroes', bytesWritten: 8 * 2 ** 30, verified: true }] } })
  await result
  assert.equal((await r.inv.machines.get(r.machineId)).state, 'ready')
  again.call.cancel()
})

test('real domain, address binding: a token used from another address is refused and not spent', { timeout: 30_000 }, async () => {
  const r = await realServer()
  const relay = new TcpRelay(r.port, { from: '127.0.0.2' })
  const relayPort = await relay.start()
  after(async () => { await relay.close() })
  const token = await r.token('127.0.0.1')
  await refusedWith(relayPort, token, status.UNAUTHENTICATED, 'ERR_AGENT_ADDRESS')
  await r.inv.timeline.flush()
  assert.match((await r.inv.machines.events(r.machineId)).find(e => e.type === 'agent.refused')?.message ?? '', /from 127\.0\.0\.2: its token works only from 127\.0\.0\.1/)
  const { s, welcome } = await welcomed(r.port, token)
  const closed = once(r.gateway, 'closed')
  s.call.cancel()
  await closed
  // The session credential is bound to the address the session started from.
  await refusedWith(relayPort, welcome.credential, status.UNAUTHENTICATED, 'ERR_AGENT_ADDRESS', 'Session')
  const { s: back } = await welcomed(r.port, welcome.credential, 'Session')
  back.call.cancel()
})
