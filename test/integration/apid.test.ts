// apid over real mutual TLS on 127.0.0.1 with a PKI made by the real openssl CLI
// (test/helpers/node-pki-openssl.ts), forwarding to a real gRPC server on a unix socket in a temp
// directory. That upstream is a double of machined (apid is what is under test): it answers
// Version with the caller metadata it saw, streams Logs lines until cancelled, and records every
// call that reached it, so a refused call is seen not to have.
import assert from 'node:assert/strict'
import { once } from 'node:events'
import { mkdtemp, rm } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { after, before, describe, test } from 'node:test'
import {
  Metadata, Server, ServerCredentials, credentials, status, type ClientReadableStream, type ServerUnaryCall, type ServerWritableStream,
  type ServiceDefinition, type StatusObject, type UntypedServiceImplementation, type sendUnaryData
} from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../src/grpc/errors.ts'
import { loadNodeProto } from '../../src/grpc/proto.ts'
import { createLogger } from '../../src/log/logger.ts'
import { CALLER_NAME_HEADER, CALLER_ROLE_HEADER } from '../../src/node/apid/proxy.ts'
import { METHOD_ROLES, ROLES, roleAllows } from '../../src/node/apid/roles.ts'
import { startApid, type Apid } from '../../src/node/apid/server.ts'
import type { CertificateProvider } from '../../src/node/apid/credentials.ts'
import type { NodeClient } from '../../src/proto/generated/anvil/node/v1/Node.ts'
import type { ProtoGrpcType } from '../../src/proto/generated/node.ts'
import { makeNodePki, openssl, type Issued, type NodePki } from '../helpers/node-pki-openssl.ts'

type Seen = { method: string, role: string, name: string, deadline: number, spoofed: string[] }

/** machined's stand-in: every method of the service, recording what reached it. */
class MachinedDouble {
  readonly seen: Seen[] = []
  readonly cancelled: string[] = []
  readonly #server = new Server()
  #onCancel: (() => void) | undefined

  constructor (service: ServiceDefinition) {
    const unary = (method: string, reply: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => void) =>
      (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => { this.#record(method, call); reply(call, cb) }
    const lines = (method: string) => (call: ServerWritableStream<{ follow?: boolean, tail?: number }, unknown>) => {
      this.#record(method, call)
      let n = 0
      const line = (): void => { call.write({ timeMs: Date.now(), source: method, text: `line ${n++}`, priority: 6 }) }
      if (call.request.follow !== true) {
        for (let i = 0; i < (call.request.tail || 3); i++) line()
        call.end()
        return
      }
      const timer = setInterval(line, 5)
      call.on('cancelled', () => { clearInterval(timer); this.cancelled.push(method); this.#onCancel?.() })
    }
    const impl: UntypedServiceImplementation = {
      Version: unary('Version', (call, cb) => { cb(null, { machineId: first(call.metadata, CALLER_NAME_HEADER), hostname: first(call.metadata, CALLER_ROLE_HEADER), imageVersion: '0.1.0' }) }),
      Services: unary('Services', (call, cb) => {
        const headers = new Metadata()
        headers.set('x-machined-header', 'h1')
        call.sendMetadata(headers)
        const trailers = new Metadata()
        trailers.set('x-machined-trailer', 't1')
        cb(null, { services: [{ id: 'apid', state: 'running' }] }, trailers)
      }),
      Memory: unary('Memory', (_call, cb) => {
        const md = new Metadata()
        md.set(ERROR_CODE_TRAILER, 'ERR_NODE_SERVICE_UNKNOWN')
        cb({ code: status.NOT_FOUND, details: 'no such thing here', metadata: md })
      }),
      Disks: unary('Disks', (_call, cb) => { cb(null, { disks: [] }) }),
      Mounts: unary('Mounts', (_call, cb) => { cb(null, { mounts: [] }) }),
      Processes: unary('Processes', (_call, cb) => { cb(null, { processes: [] }) }),
      Reboot: unary('Reboot', (_call, cb) => { cb(null, { operation: { id: 'op-reboot', kind: 'reboot', state: 'pending' } }) }),
      Shutdown: unary('Shutdown', (_call, cb) => { cb(null, { operation: { id: 'op-shutdown', kind: 'shutdown', state: 'pending' } }) }),
      Upgrade: unary('Upgrade', (_call, cb) => { cb(null, { operation: { id: 'op-upgrade', kind: 'upgrade', state: 'running' } }) }),
      Rollback: unary('Rollback', (_call, cb) => { cb(null, { operation: { id: 'op-rollback', kind: 'rollback', state: 'running' } }) }),
      Reset: unary('Reset', (_call, cb) => { cb(null, { operation: { id: 'op-reset', kind: 'reset', state: 'running' } }) }),
      ApplyConfig: unary('ApplyConfig', (_call, cb) => { cb(null, { changes: [], appliedAs: 'dry-run', generation: 2 }) }),
      Operations: unary('Operations', (_call, cb) => { cb(null, { operations: [] }) }),
      GetOperation: unary('GetOperation', (_call, cb) => { cb(null, { operation: { id: 'op-reboot', kind: 'reboot', state: 'succeeded' } }) }),
      Dmesg: lines('Dmesg'),
      Logs: lines('Logs')
    }
    this.#server.addService(service, impl)
  }

  #record (method: string, call: { metadata: Metadata, getDeadline: () => Date | number }): void {
    const d = call.getDeadline()
    this.seen.push({
      method,
      role: first(call.metadata, CALLER_ROLE_HEADER),
      name: first(call.metadata, CALLER_NAME_HEADER),
      deadline: d instanceof Date ? d.getTime() : d,
      spoofed: call.metadata.get('x-client').map(String)
    })
  }

  /** Resolves at the next upstream cancellation. */
  async nextCancel (): Promise<void> {
    await new Promise<void>((resolve) => { this.#onCancel = resolve })
  }

  async listen (socket: string): Promise<void> {
    await new Promise<void>((resolve, reject) => {
      this.#server.bindAsync(`unix:${socket}`, ServerCredentials.createInsecure(), (err) => { if (err === null) resolve(); else reject(err) })
    })
  }

  stop (): void { this.#server.forceShutdown() }
}

const first = (md: Metadata, key: string): string => String(md.get(key)[0] ?? '')

let pki: NodePki
let proto: ProtoGrpcType
let dir: string
let machined: MachinedDouble
let apid: Apid
const logLines: string[] = []
const log = createLogger('debug', new Writable({ write (chunk: Buffer, _enc, cb) { logLines.push(chunk.toString()); cb() } }))
const clients: NodeClient[] = []

/** A fresh channel (its own connection) that records the server certificate it was shown. */
function client (id: Issued | undefined, target = `127.0.0.1:${apid.address().port}`): NodeClient & { served: PeerCertificate[] } {
  const served: PeerCertificate[] = []
  const creds = credentials.createSsl(Buffer.from(pki.ca.certPem), id === undefined ? null : Buffer.from(id.keyPem), id === undefined ? null : Buffer.from(id.certPem), {
    checkServerIdentity: (host, cert) => { served.push(cert); return checkServerIdentity(host, cert) }
  })
  const c = new proto.anvil.node.v1.Node(target, creds, { 'grpc.use_local_subchannel_pool': 1 })
  clients.push(c)
  return Object.assign(c, { served })
}

type Outcome = { code: status, errorCode: string | undefined, details: string, messages: unknown[], trailers: Metadata | undefined, headers: Metadata | undefined }

/** Calls `method` by name (unary or server stream) and waits for its status. */
async function invoke (c: NodeClient, method: string, request: object = {}, metadata = new Metadata(), deadlineMs = 10_000): Promise<Outcome> {
  const def = (proto.anvil.node.v1.Node.service as ServiceDefinition)[method]
  assert.ok(def !== undefined, `no method ${method}`)
  const options = { deadline: Date.now() + deadlineMs }
  return await new Promise<Outcome>((resolve) => {
    const messages: unknown[] = []
    let headers: Metadata | undefined
    const done = (s: StatusObject): void => {
      resolve({ code: s.code, errorCode: s.metadata.get(ERROR_CODE_TRAILER)[0]?.toString(), details: s.details, messages, trailers: s.metadata, headers })
    }
    if (def.responseStream) {
      const stream = c.makeServerStreamRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata, options)
      stream.on('metadata', (md: Metadata) => { headers = md })
      stream.on('data', (m: unknown) => { messages.push(m) })
      stream.on('error', () => {})
      stream.on('status', done)
    } else {
      const call = c.makeUnaryRequest(def.path, def.requestSerialize, def.responseDeserialize, request, metadata, options, (_err, value) => { if (value !== undefined) messages.push(value) })
      call.on('metadata', (md: Metadata) => { headers = md })
      call.on('status', done)
    }
  })
}

before(async () => {
  pki = await makeNodePki()
  proto = await loadNodeProto()
  dir = await mkdtemp(join(tmpdir(), 'anvil-apid-'))
  machined = new MachinedDouble(proto.anvil.node.v1.Node.service)
  await machined.listen(join(dir, 'machined.sock'))
  apid = await startApid({
    listen: '127.0.0.1:0',
    credentials: { caPem: pki.ca.certPem, keyPem: pki.server.keyPem, certPem: pki.server.certPem },
    machinedSocket: join(dir, 'machined.sock'),
    log
  })
})

after(async () => {
  for (const c of clients) c.close()
  await apid.stop(1_000)
  machined.stop()
  await rm(dir, { recursive: true, force: true })
  await pki.cleanup()
})

describe('who may connect', { timeout: 60_000 }, () => {
  test('no client certificate, an expired one, one from another CA: refused in the handshake (UNAVAILABLE)', async () => {
    const before = machined.seen.length
    for (const id of [undefined, pki.clients.expired, pki.clients.otherCa, pki.clients.serverAuthOnly]) {
      const r = await invoke(client(id), 'Version')
      assert.equal(r.code, status.UNAVAILABLE, `${id?.certFile ?? 'no certificate'}: ${r.details}`)
    }
    assert.equal(machined.seen.length, before)
  })

  test('no role, no clientAuth EKU: UNAUTHENTICATED ERR_NODE_CERT_INVALID, never forwarded', async () => {
    const before = machined.seen.length
    for (const [id, reason] of [[pki.clients.noRole, /no role/], [pki.clients.noEku, /clientAuth/]] as const) {
      for (const method of ['Version', 'Logs']) {
        const r = await invoke(client(id), method)
        assert.equal(r.code, status.UNAUTHENTICATED, `${id.certFile} ${method}`)
        assert.equal(r.errorCode, 'ERR_NODE_CERT_INVALID')
        assert.match(r.details, reason)
      }
    }
    assert.equal(machined.seen.length, before)
  })
})

describe('roles', { timeout: 60_000 }, () => {
  test('every RPC × every role: allowed, or PERMISSION_DENIED ERR_NODE_ROLE_DENIED and machined never sees it', async () => {
    const ids = { reader: pki.clients.reader, operator: pki.clients.operator, admin: pki.clients.admin }
    const methods = Object.keys(proto.anvil.node.v1.Node.service)
    assert.equal(methods.length, Object.keys(METHOD_ROLES).length)
    for (const role of ROLES) {
      const c = client(ids[role])
      for (const method of methods) {
        const allowed = roleAllows(role, method)
        const before = machined.seen.length
        const r = await invoke(c, method)
        if (allowed) {
          assert.equal(r.code, method === 'Memory' ? status.NOT_FOUND : status.OK, `${role} ${method}: ${r.details}`)
          assert.deepEqual(machined.seen.slice(before).map(s => [s.method, s.role]), [[method, role]])
        } else {
          assert.equal(r.code, status.PERMISSION_DENIED, `${role} ${method}`)
          assert.equal(r.errorCode, 'ERR_NODE_ROLE_DENIED')
          assert.equal(machined.seen.length, before, `${role} ${method} reached machined`)
        }
      }
    }
  })

  test('several O: the highest counts (O=reader, O=admin may Reboot)', async () => {
    const r = await invoke(client(pki.clients.multi), 'Reboot')
    assert.equal(r.code, status.OK)
    assert.deepEqual(r.messages, [{ operation: { id: 'op-reboot', kind: 'reboot', state: 'pending', phase: '', startedAtMs: 0, finishedAtMs: 0, error: '', bootIdBefore: '', bytesDone: 0, bytesTotal: 0, errorCode: '', fromSlot: '', fromVersion: '', toSlot: '', toVersion: '' } }])
    assert.equal(machined.seen.at(-1)?.role, 'admin')
  })
})

describe('forwarding', { timeout: 60_000 }, () => {
  test('machined sees apid\'s caller metadata (not the client\'s), the client\'s own metadata and a deadline', async () => {
    const md = new Metadata()
    md.set(CALLER_ROLE_HEADER, 'admin') // a reader claiming more
    md.set(CALLER_NAME_HEADER, 'mallory')
    md.set('x-client', 'kept')
    const deadline = Date.now() + 20_000
    const r = await invoke(client(pki.clients.reader), 'Version', {}, md, 20_000)
    assert.equal(r.code, status.OK)
    const reply = r.messages[0] as { machineId: string, hostname: string }
    assert.deepEqual([reply.machineId, reply.hostname], ['rita', 'reader'])
    const seen = machined.seen.at(-1)
    assert.deepEqual({ method: seen?.method, role: seen?.role, name: seen?.name, spoofed: seen?.spoofed }, { method: 'Version', role: 'reader', name: 'rita', spoofed: ['kept'] })
    assert.ok(seen !== undefined && Number.isFinite(seen.deadline) && seen.deadline <= deadline + 1_000, `upstream deadline ${seen?.deadline}`)
  })

  test('machined\'s headers, trailers, error status and code come back as it sent them', async () => {
    const c = client(pki.clients.reader)
    const ok = await invoke(c, 'Services')
    assert.equal(ok.code, status.OK)
    assert.deepEqual(ok.headers?.get('x-machined-header'), ['h1'])
    assert.deepEqual(ok.trailers?.get('x-machined-trailer'), ['t1'])
    const failed = await invoke(c, 'Memory')
    assert.deepEqual([failed.code, failed.errorCode, failed.details], [status.NOT_FOUND, 'ERR_NODE_SERVICE_UNKNOWN', 'no such thing here'])
  })

  test('a server stream is proxied in order', async () => {
    const r = await invoke(client(pki.clients.reader), 'Dmesg', { tail: 5 })
    assert.equal(r.code, status.OK)
    assert.deepEqual(r.messages.map(m => (m as { text: string }).text), ['line 0', 'line 1', 'line 2', 'line 3', 'line 4'])
  })

  test('Logs follow streams until the client cancels, and the cancel reaches machined', async () => {
    const stream: ClientReadableStream<{ text: string }> = client(pki.clients.reader).Logs({ service: 'apid', follow: true })
    const texts: string[] = []
    // Not events.once: it would reject on the 'error' that comes before 'status'.
    const statusSeen = new Promise<StatusObject>((resolve) => { stream.on('status', resolve) })
    stream.on('error', () => {})
    const cancelled = machined.nextCancel()
    await new Promise<void>((resolve) => {
      stream.on('data', (line: { text: string }) => {
        if (texts.length === 20) return
        texts.push(line.text)
        if (texts.length === 20) { stream.cancel(); resolve() }
      })
    })
    await cancelled
    assert.deepEqual(texts, Array.from({ length: 20 }, (_, i) => `line ${i}`))
    assert.equal((await statusSeen).code, status.CANCELLED)
    assert.ok(machined.cancelled.includes('Logs'))
  })
})

describe('machined down', { timeout: 60_000 }, () => {
  test('UNAVAILABLE ERR_NODE_UNREACHABLE, unary and stream, without the socket path', async () => {
    const lonely = await startApid({
      listen: '127.0.0.1:0',
      credentials: { caPem: pki.ca.certPem, keyPem: pki.server.keyPem, certPem: pki.server.certPem },
      machinedSocket: join(dir, 'nobody-here.sock'),
      log
    })
    try {
      const c = client(pki.clients.admin, `127.0.0.1:${lonely.address().port}`)
      for (const method of ['Version', 'Logs']) {
        const r = await invoke(c, method)
        assert.deepEqual([r.code, r.errorCode], [status.UNAVAILABLE, 'ERR_NODE_UNREACHABLE'], `${method}: ${r.details}`)
        assert.doesNotMatch(r.details, /nobody-here|sock|ENOENT/)
      }
    } finally {
      await lonely.stop(1_000)
    }
  })
})

describe('limits', { timeout: 60_000 }, () => {
  test('a request over maxRequestBytes is refused (RESOURCE_EXHAUSTED) and never forwarded', async () => {
    const before = machined.seen.length
    const r = await invoke(client(pki.clients.admin), 'Logs', { service: 'x'.repeat(400 * 1024) })
    assert.equal(r.code, status.RESOURCE_EXHAUSTED, r.details)
    assert.equal(machined.seen.length, before)
  })

  test('a peer that connects and never says a word is cut by the handshake timeout', async () => {
    // Node's default would hold it 120 s, past this suite's timeout: the close proves the limit.
    const strict = await startApid({
      listen: '127.0.0.1:0',
      credentials: { caPem: pki.ca.certPem, keyPem: pki.server.keyPem, certPem: pki.server.certPem },
      machinedSocket: join(dir, 'machined.sock'),
      log,
      limits: { handshakeTimeoutMs: 200 }
    })
    try {
      const socket = connect({ host: '127.0.0.1', port: strict.address().port })
      socket.on('error', () => {})
      await once(socket, 'connect')
      await once(socket, 'close')
    } finally {
      await strict.stop(1_000)
    }
  })
})

describe('certificate rotation', { timeout: 60_000 }, () => {
  test('a Logs stream stays open across rotate(); a new connection sees the new certificate', async () => {
    const first = client(pki.clients.admin)
    const stream = first.Logs({ service: 'apid', follow: true })
    stream.on('error', () => {})
    const it = stream[Symbol.asyncIterator]()
    await it.next()
    assert.equal(first.served[0]?.fingerprint256, apid.currentCertificate()?.fingerprint256)
    const oldFingerprint = first.served[0]?.fingerprint256

    apid.rotate({ keyPem: pki.server2.keyPem, certPem: pki.server2.certPem })

    const second = client(pki.clients.reader)
    const r = await invoke(second, 'Version')
    assert.equal(r.code, status.OK)
    const fresh = second.served[0]
    assert.ok(fresh !== undefined && oldFingerprint !== undefined)
    assert.notEqual(fresh.fingerprint256, oldFingerprint)
    assert.equal(fresh.subject.CN, 'apid node-1 renewed')
    // The old stream goes on over its old TLS session.
    for (let i = 0; i < 10; i++) assert.equal((await it.next()).done, false)
    const cancelled = machined.nextCancel()
    stream.cancel()
    await cancelled
    assert.equal(first.served.length, 1, 'the first client did not reconnect')

    // An independent look: openssl s_client sees the renewed certificate.
    const shown = await openssl(['s_client', '-connect', `127.0.0.1:${apid.address().port}`, '-alpn', 'h2', '-CAfile', pki.ca.certFile,
      '-cert', pki.clients.admin.certFile, '-key', pki.clients.admin.keyFile, '-verify_return_error'], dir, '')
    const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(shown)?.[0]
    assert.ok(pem !== undefined, shown)
    const fp = await openssl(['x509', '-noout', '-fingerprint', '-sha256'], dir, pem)
    const expected = await openssl(['x509', '-noout', '-fingerprint', '-sha256', '-in', pki.server2.certFile], dir)
    assert.equal(fp, expected)
  })

  test('a key that does not match its certificate is refused and the current identity stays', async () => {
    const current = apid.currentCertificate()?.fingerprint256
    assert.throws(() => { apid.rotate({ keyPem: pki.server.keyPem, certPem: pki.server2.certPem }) }, { code: 'ERR_CERT_KEY_INVALID' })
    assert.equal(apid.currentCertificate()?.fingerprint256, current)
    const c = client(pki.clients.reader)
    assert.equal((await invoke(c, 'Version')).code, status.OK)
    assert.equal(c.served[0]?.fingerprint256, current)
  })

  test('a CA bundle rotation admits the second CA\'s clients on new connections', async () => {
    assert.equal((await invoke(client(pki.clients.otherCa), 'Version')).code, status.UNAVAILABLE)
    apid.rotate({ keyPem: pki.server2.keyPem, certPem: pki.server2.certPem, caPem: pki.ca.certPem + pki.otherCa.certPem })
    const stranger = await invoke(client(pki.clients.otherCa), 'Version')
    assert.equal(stranger.code, status.OK, stranger.details)
    assert.equal((await invoke(client(pki.clients.admin), 'Version')).code, status.OK)
  })

  test('a certificate provider: nothing is served before it delivers, then its updates rotate', async () => {
    const provider = new TestProvider()
    const served = await startApid({ listen: '127.0.0.1:0', credentials: provider, machinedSocket: join(dir, 'machined.sock'), log })
    try {
      const target = `127.0.0.1:${served.address().port}`
      assert.equal((await invoke(client(pki.clients.reader, target), 'Version', {}, new Metadata(), 2_000)).code, status.UNAVAILABLE)
      provider.deliver(pki.ca.certPem, pki.server)
      const a = client(pki.clients.reader, target)
      assert.equal((await invoke(a, 'Version')).code, status.OK)
      provider.deliver(pki.ca.certPem, pki.server2)
      const b = client(pki.clients.reader, target)
      assert.equal((await invoke(b, 'Version')).code, status.OK)
      assert.deepEqual([a.served[0]?.subject.CN, b.served[0]?.subject.CN], ['apid node-1', 'apid node-1 renewed'])
    } finally {
      await served.stop(1_000)
    }
  })
})

test('no private key is ever logged', () => {
  assert.ok(logLines.length > 10)
  assert.equal(logLines.filter(l => l.includes('PRIVATE KEY')).length, 0)
  assert.ok(logLines.some(l => l.includes('"caller":"rita"') && l.includes('"method":"Reboot"') && l.includes('PERMISSION_DENIED')))
})

/** A CertificateProvider as trustd would implement one: listeners told of every new pair. */
class TestProvider implements CertificateProvider {
  readonly #ca = new Set<(u: { caCertificate: Buffer } | null) => void>()
  readonly #id = new Set<(u: { certificate: Buffer, privateKey: Buffer } | null) => void>()
  deliver (caPem: string, id: Issued): void {
    for (const l of this.#ca) l({ caCertificate: Buffer.from(caPem) })
    for (const l of this.#id) l({ certificate: Buffer.from(id.certPem), privateKey: Buffer.from(id.keyPem) })
  }

  addCaCertificateListener (l: (u: { caCertificate: Buffer } | null) => void): void { this.#ca.add(l) }
  removeCaCertificateListener (l: (u: { caCertificate: Buffer } | null) => void): void { this.#ca.delete(l) }
  addIdentityCertificateListener (l: (u: { certificate: Buffer, privateKey: Buffer } | null) => void): void { this.#id.add(l) }
  removeIdentityCertificateListener (l: (u: { certificate: Buffer, privateKey: Buffer } | null) => void): void { this.#id.delete(l) }
}
