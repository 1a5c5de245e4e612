import { after, test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { Writable } from 'node:stream'
import { CodedError } from '../lib/errors.ts'
import { createProvisioningService } from '../grpc/provisioning-server.ts'
import { ensureServerCertificate } from '../grpc/tls.ts'
import { createLogger } from '../log/logger.ts'
import type { AgentAuth, AgentDirective, AgentGateway, AgentStream, HardwareReport, Hello, OpenedStream, TaskInput, TaskProgress, TaskResult } from '../provisioning/agent-gateway.ts'
import { runAgent } from './main.ts'

// The whole agent against the real provisioning listener on loopback (TLS, pinned certificate,
// bearer token), a gateway that plays the server, and the vm1 tree captured from a QEMU VM.
const vm1 = fileURLToPath(new URL('../../test/fixtures/agent/vm1', import.meta.url))

class FakeServer implements AgentGateway {
  readonly used = new Set<string>()
  readonly hellos: Hello[] = []
  readonly reports: HardwareReport[] = []
  readonly results: TaskResult[] = []
  readonly progressSeen: TaskProgress[] = []
  readonly script: TaskInput[]
  constructor (script: TaskInput[]) { this.script = script }
  async openSession (auth: AgentAuth, hello: Hello): Promise<OpenedStream> {
    if (auth.kind !== 'token' || auth.token !== 'good-token') throw new CodedError('ERR_AGENT_TOKEN_INVALID', 'unknown token')
    if (this.used.has(auth.token)) throw new CodedError('ERR_AGENT_TOKEN_USED', 'already used')
    this.used.add(auth.token)
    this.hellos.push(hello)
    return { machineId: 'm-1', sessionId: 's-1', streamId: 'st-1', resumed: false, credential: 'cred-1', credentialTtlMs: 3_600_000 }
  }

  async hardwareReported (_s: AgentStream, report: HardwareReport): Promise<void> { this.reports.push(report) }
  async * tasks (): AsyncIterable<AgentDirective> { for (const task of this.script) yield { task } }
  progress (_s: AgentStream, p: TaskProgress): void { this.progressSeen.push(p) }
  async result (_s: AgentStream, r: TaskResult): Promise<void> { this.results.push(r) }
  async sessionClosed (): Promise<void> {}
}

const dir = mkdtempSync(join(tmpdir(), 'anvil-agent-main-'))
after(() => { rmSync(dir, { recursive: true, force: true }) })
const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })

async function serve (gateway: AgentGateway): Promise<number> {
  const quiet = new Writable({ write (_c, _e, cb) { cb() } })
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway, tls: cert, log: createLogger('silent', quiet) })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  return service.address().port
}

const cmdline = (port: number, token = 'good-token', fp = cert.fingerprint): string =>
  `anvil.grpc=127.0.0.1:${port} anvil.token=${token} anvil.fingerprint=${fp} BOOTIF=01-52-54-00-a1-00-02 console=ttyS0 quiet`

test('hello, hardware, a refused wipe, then power off: exit 0 for init; the token cannot be used twice (exit 3)', async () => {
  const server = new FakeServer([
    { id: 'wipe-1', wipe: { method: 'FAST', disks: ['nvme0n1'] } }, // nvme0n1p1 is mounted in the capture: refused, untouched
    { id: 'off-1', powerOff: {} }
  ])
  const port = await serve(server)
  const lines: string[] = []
  assert.equal(await runAgent({ cmdline: cmdline(port), root: vm1, log: (l) => lines.push(l) }), 0)
  assert.deepEqual(server.hellos, [{ agentVersion: '0.1.0', bootMac: '52:54:00:a1:00:02', bootDisk: '' }])
  assert.equal(server.reports[0]?.system?.uuid, '4c4c4544-0031-3210-8052-b4c04f4d3232')
  assert.deepEqual(server.reports[0]?.disks.map((d) => [d.name, d.serial, d.sizeBytes]), [['nvme0n1', 'NVME456', 32 << 20], ['vda', 'DISK123', 64 << 20]])
  assert.deepEqual(server.results.map((r) => [r.taskId, r.ok, r.error]), [
    ['wipe-1', false, 'nvme0n1: refused: nvme0n1p1 is mounted on /mnt'],
    ['off-1', true, '']
  ])
  assert.equal(server.results[0]?.eraseReports[0]?.serial, 'NVME456')
  assert.ok(lines.some((l) => l.startsWith('BMC: SMBIOS type 38 KCS at io 0xca2')), lines.join('\n'))

  const again: string[] = []
  assert.equal(await runAgent({ cmdline: cmdline(port), root: vm1, log: (l) => again.push(l) }), 3)
  assert.ok(again.some((l) => l.startsWith('token refused')))
})

test('a reboot task: exit 10', async () => {
  const port = await serve(new FakeServer([{ id: 'r', reboot: {} }]))
  assert.equal(await runAgent({ cmdline: cmdline(port), root: vm1, log: () => {} }), 10)
})

test('a server whose certificate is not the pinned one gets no token (exit 4)', async () => {
  const server = new FakeServer([])
  const port = await serve(server)
  assert.equal(await runAgent({ cmdline: cmdline(port, 'good-token', 'ab'.repeat(32)), root: vm1, log: () => {} }), 4)
  assert.equal(server.hellos.length, 0)
})

test('a command line without the discovery arguments: exit 1 before any I/O', async () => {
  assert.equal(await runAgent({ cmdline: 'console=ttyS0', root: vm1, log: () => {} }), 1)
})
