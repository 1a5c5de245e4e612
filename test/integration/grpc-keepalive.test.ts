// A dead agent (its machine lost power mid-session: no FIN, no RST, just silence) is noticed by
// the server's keepalive pings, its stream cancelled and the gateway told. The silence is a
// loopback TCP relay between a real grpc-js client and the server that stops forwarding.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { connect, createServer, type Server as NetServer, type Socket } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { Metadata } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../src/grpc/agent-credentials.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { loadProvisioningProto } from '../../src/grpc/proto.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { AgentDirective, AgentGateway } from '../../src/provisioning/agent-gateway.ts'

/** Forwards TCP both ways until freeze(), after which bytes are swallowed in both directions. */
async function relay (targetPort: number): Promise<{ port: number, freeze: () => void, close: () => void }> {
  let frozen = false
  const sockets = new Set<Socket>()
  const server: NetServer = createServer((inbound) => {
    const outbound = connect(targetPort, '127.0.0.1')
    for (const [from, to] of [[inbound, outbound], [outbound, inbound]] as const) {
      sockets.add(from)
      from.on('data', (chunk: Buffer) => { if (!frozen) to.write(chunk) })
      from.on('error', () => { to.destroy() })
      from.on('close', () => { if (!frozen) to.destroy() })
    }
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const address = server.address()
  assert.ok(address !== null && typeof address === 'object')
  return {
    port: address.port,
    freeze: () => { frozen = true },
    close: () => { for (const s of sockets) s.destroy(); server.close() }
  }
}

test('an agent that goes silent is noticed by keepalive and its session closed', { timeout: 60_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-grpc-ka-'))
  after(() => { rmSync(dir, { recursive: true, force: true }) })
  const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
  let closed: (v: [string, string]) => void = () => {}
  const closedP = new Promise<[string, string]>((resolve) => { closed = resolve })
  let hardware: () => void = () => {}
  const hardwareP = new Promise<void>((resolve) => { hardware = resolve })
  let taskSignal: AbortSignal | undefined
  const gateway: AgentGateway = {
    openSession: async () => ({ machineId: 'm-ka', sessionId: 's-ka', streamId: 'st-ka', resumed: false, credential: 'c', credentialTtlMs: 1000 }),
    hardwareReported: async () => { hardware() },
    async * tasks (_s, signal: AbortSignal): AsyncIterable<AgentDirective> {
      taskSignal = signal
      await new Promise((resolve) => { signal.addEventListener('abort', resolve, { once: true }) })
    },
    progress: () => {},
    result: async () => {},
    sessionClosed: async (s, reason) => { closed([s.machineId, reason]) }
  }
  // Short keepalive so the test takes about a second, not the production ~40 s.
  const service = createProvisioningService({
    listen: '127.0.0.1:0',
    gateway,
    tls: cert,
    log: createLogger('silent'),
    keepalive: { timeMs: 500, timeoutMs: 500 },
    // The dropped connection's TCP socket lingers half-closed behind the frozen relay (as it would
    // behind a dead machine until TCP gives up); stop() cuts it after this grace period.
    shutdownGraceMs: 1_000
  })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  const r = await relay(service.address().port)
  after(() => { r.close() })

  const proto = await loadProvisioningProto()
  const creds = await pinnedChannelCredentials('127.0.0.1', r.port, cert.fingerprint)
  // The client itself does not ping: only the server's keepalive can notice the silence.
  const client = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${r.port}`, creds, { ...agentChannelOptions, 'grpc.keepalive_time_ms': 3_600_000 })
  after(() => { client.close() })
  const md = new Metadata()
  md.set('authorization', 'Bearer tok-ka')
  const call = client.Session(md)
  call.on('error', () => {})
  call.write({ hello: { agentVersion: 't', bootMac: '52:54:00:00:00:01' } })
  const it = call[Symbol.asyncIterator]()
  assert.equal(((await it.next()).value as { body?: string }).body, 'welcome')
  call.write({ hardware: { kernel: 't' } })
  await hardwareP

  r.freeze()
  assert.deepEqual(await closedP, ['m-ka', 'the agent cancelled the stream or its connection was lost'])
  assert.equal(taskSignal?.aborted, true)
})
