// The apid process (src/node/apid/main.ts) as machined will start it: explicit flags, certificate
// files on disk, SIGHUP to reload them in place, SIGTERM to stop. No machined runs here, so every
// allowed call answers ERR_NODE_UNREACHABLE: that still proves TLS, the role check and the proxy.
import assert from 'node:assert/strict'
import { spawn, type ChildProcess } from 'node:child_process'
import { once } from 'node:events'
import { copyFile, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { after, before, test } from 'node:test'
import { credentials, status, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../src/grpc/errors.ts'
import { loadNodeProto } from '../../src/grpc/proto.ts'
import type { ProtoGrpcType } from '../../src/proto/generated/node.ts'
import { makeNodePki, type Issued, type NodePki } from '../helpers/node-pki-openssl.ts'

const MAIN = new URL('../../src/node/apid/main.ts', import.meta.url).pathname

let pki: NodePki
let proto: ProtoGrpcType
let dir: string

before(async () => {
  pki = await makeNodePki()
  proto = await loadNodeProto()
  dir = await mkdtemp(join(tmpdir(), 'anvil-apid-proc-'))
})

after(async () => {
  await rm(dir, { recursive: true, force: true })
  await pki.cleanup()
})

function run (args: string[]): { child: ChildProcess, stdout: () => string, stderr: () => string } {
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let out = ''
  let err = ''
  child.stdout?.on('data', (b: Buffer) => { out += b.toString() })
  child.stderr?.on('data', (b: Buffer) => { err += b.toString() })
  return { child, stdout: () => out, stderr: () => err }
}

/** Resolves with the first JSON log line whose msg matches. */
async function logLine (child: ChildProcess, msg: string): Promise<Record<string, unknown>> {
  let buf = ''
  return await new Promise((resolve, reject) => {
    const onData = (b: Buffer): void => {
      buf += b.toString()
      for (const line of buf.split('\n')) {
        if (!line.startsWith('{')) continue
        try {
          const entry = JSON.parse(line) as Record<string, unknown>
          if (entry.msg === msg) { child.stdout?.off('data', onData); resolve(entry); return }
        } catch { /* a partial line: wait for the rest */ }
      }
    }
    child.stdout?.on('data', onData)
    child.once('exit', (code) => { reject(new Error(`apid exited ${code} before logging "${msg}"`)) })
  })
}

async function version (port: number, id: Issued): Promise<{ err: ServiceError | null, served: PeerCertificate | undefined }> {
  let served: PeerCertificate | undefined
  const creds = credentials.createSsl(Buffer.from(pki.ca.certPem), Buffer.from(id.keyPem), Buffer.from(id.certPem), {
    checkServerIdentity: (host, cert) => { served = cert; return checkServerIdentity(host, cert) }
  })
  const c = new proto.anvil.node.v1.Node(`127.0.0.1:${port}`, creds, { 'grpc.use_local_subchannel_pool': 1 })
  try {
    const err = await new Promise<ServiceError | null>((resolve) => {
      c.Version({}, { deadline: Date.now() + 10_000 }, (e) => { resolve(e) })
    })
    return { err, served }
  } finally {
    c.close()
  }
}

test('bad arguments: exit 2 with the usage, nothing listens', async () => {
  const p = run(['--listen', '127.0.0.1:0', '--cert', 'x'])
  const [code] = await once(p.child, 'exit') as [number]
  assert.equal(code, 2)
  assert.match(p.stderr(), /--ca, --cert and --key are required[\s\S]*usage: apid/)
})

test('serves from its files, rotates on SIGHUP (a bad pair is refused and logged), stops on SIGTERM', async () => {
  const cert = join(dir, 'apid.pem')
  const key = join(dir, 'apid.key')
  await copyFile(pki.server.certFile, cert)
  await copyFile(pki.server.keyFile, key)
  const p = run(['--listen', '127.0.0.1:0', '--ca', pki.ca.certFile, '--cert', cert, '--key', key,
    '--machined-socket', join(dir, 'machined.sock'), '--log-level', 'info'])
  try {
    const listening = await logLine(p.child, 'apid listening (mutual TLS)')
    const port = (listening.address as { port: number }).port

    const a = await version(port, pki.clients.reader)
    assert.equal(a.err?.code, status.UNAVAILABLE)
    assert.equal(a.err?.metadata.get(ERROR_CODE_TRAILER)[0], 'ERR_NODE_UNREACHABLE')
    assert.equal(a.served?.subject.CN, 'apid node-1')

    // A half-written renewal (new certificate, old key) must not take the listener down.
    await copyFile(pki.server2.certFile, cert)
    const refused = logLine(p.child, 'SIGHUP: certificate not rotated')
    p.child.kill('SIGHUP')
    assert.equal((await refused).code, 'ERR_CERT_KEY_INVALID')
    assert.equal((await version(port, pki.clients.reader)).served?.subject.CN, 'apid node-1')

    await copyFile(pki.server2.keyFile, key)
    const rotated = logLine(p.child, 'apid certificate rotated')
    p.child.kill('SIGHUP')
    await rotated
    const b = await version(port, pki.clients.reader)
    assert.equal(b.served?.subject.CN, 'apid node-1 renewed')

    const exited = once(p.child, 'exit') as Promise<[number | null, string | null]>
    p.child.kill('SIGTERM')
    assert.deepEqual(await exited, [0, null])
    assert.doesNotMatch(p.stdout() + p.stderr(), /PRIVATE KEY/)
  } finally {
    if (p.child.exitCode === null) p.child.kill('SIGKILL')
  }
})
