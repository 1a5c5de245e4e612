import { Metadata, Server, ServerCredentials, status, type ServerWritableStream } from '@grpc/grpc-js'
import { loadNodeProto } from '../../src/grpc/proto.ts'
import type { ServedHandlers } from '../../src/node/machined/node-api.ts'
import type { LogLineInput } from '../../src/proto/generated/anvil/node/v1/LogLine.ts'
import type { VersionReplyInput } from '../../src/proto/generated/anvil/node/v1/VersionReply.ts'

/**
 * A node API server with fixed answers (the CLI is what is under test), on 127.0.0.1 with mutual
 * TLS as apid serves it: the client must present a certificate chained to `clientCa`.
 * Shutdown always answers as apid does for a reader: PERMISSION_DENIED with the code trailer.
 */
export type NodeApiDouble = {
  readonly port: number
  /** Methods called, in order, with the O= of the client certificate that called. */
  readonly calls: Array<{ method: string, role: unknown }>
  readonly streamRequests: unknown[]
  /** Reset requests, in order (answered with a running reset operation). */
  readonly resetRequests: unknown[]
  /** ApplyConfig requests, in order (answered with changes hostname and network.interfaces[0].addresses, live). */
  readonly applyRequests: Array<{ config: Buffer, configSignature: string, mode: string, tryTimeoutS: number, dryRun: boolean }>
  /** Resolves when the next follow stream opens (after its first two lines), with a writer of one more line to it. */
  readonly nextFollower: () => Promise<(text: string) => void>
  readonly stop: () => void
}

export const T0 = Date.parse('2026-12-02T03:00:00.000Z')

export function versionOf (hostname: string, machineId = 'm-0000001'): VersionReplyInput {
  return { machineId, hostname, imageName: 'anvil-node', imageVersion: '0.1.0', slot: 'A', configGeneration: 3, kernel: '6.1.0-28-amd64', nodeJs: 'v20.20.0', arch: 'amd64', bootId: 'b-1', uptimeSeconds: 3725 }
}

export async function startNodeApiDouble (tls: { clientCa: string, keyPem: string, certPem: string }, hostname = 'node-1', options: { machineId?: string, onReset?: () => void } = {}): Promise<NodeApiDouble> {
  const proto = await loadNodeProto()
  const server = new Server()
  const calls: Array<{ method: string, role: unknown }> = []
  const streamRequests: unknown[] = []
  const resetRequests: unknown[] = []
  const applyRequests: NodeApiDouble['applyRequests'] = []
  const waiting: Array<(write: (text: string) => void) => void> = []
  const seen = (method: string, call: { getAuthContext: () => { sslPeerCertificate?: { subject?: { O?: unknown } } } }): void => {
    calls.push({ method, role: call.getAuthContext().sslPeerCertificate?.subject?.O })
  }
  const stream = (method: string, source: string) => (call: ServerWritableStream<{ follow: boolean }, LogLineInput>): void => {
    seen(method, call)
    streamRequests.push(call.request)
    call.write({ timeMs: T0, source, text: `${source} first`, priority: 6 })
    call.write({ timeMs: T0 + 1000, source, text: `${source} second \x1b[2J`, priority: 6 })
    if (!call.request.follow) { call.end(); return }
    // Left open until the client cancels it; only a waiting test writes more.
    for (const w of waiting.splice(0)) w((text) => { call.write({ timeMs: T0 + 2000, source, text, priority: 6 }) })
  }
  const UPGRADE_OP = { id: 'op-up', kind: 'upgrade', state: 'running', phase: 'reboot', startedAtMs: T0, bootIdBefore: 'b-1', fromSlot: 'A', toSlot: 'B', fromVersion: '0.1.0', toVersion: '0.2.0' }
  const handlers: ServedHandlers = {
    Version: (call, cb) => { seen('Version', call); cb(null, versionOf(hostname, options.machineId)) },
    Services: (call, cb) => { seen('Services', call); cb(null, { services: [{ id: 'apid', state: 'running', pid: 42, restarts: 1, startedAtMs: Date.now() - 60_000, health: 'healthy', lastExit: 'exit 1' }] }) },
    Memory: (call, cb) => { seen('Memory', call); cb(null, { totalBytes: 2 * 2 ** 30, freeBytes: 2 ** 30, availableBytes: 1.5 * 2 ** 30, buffersBytes: 0, cachedBytes: 2 ** 20, swapTotalBytes: 0, swapFreeBytes: 0 }) },
    Disks: (call, cb) => { seen('Disks', call); cb(null, { disks: [{ name: 'vda', sizeBytes: 2 ** 30, model: 'QEMU', serial: 'S1', wwn: '', rotational: false, readOnly: false, partitions: [{ number: 1, name: 'ANVIL-A', device: 'vda1', sizeBytes: 2 ** 28 }] }] }) },
    Mounts: (call, cb) => { seen('Mounts', call); cb(null, { mounts: [{ source: '/dev/vda3', target: '/', fstype: 'squashfs', options: 'ro', sizeBytes: 2 ** 28, availableBytes: 0 }] }) },
    Processes: (call, cb) => { seen('Processes', call); cb(null, { processes: [{ pid: 1, ppid: 0, command: 'init', args: ['/sbin/init'], state: 'S', rssBytes: 2 ** 20, cpuSeconds: 0.5, threads: 1 }] }) },
    Reboot: (call, cb) => { seen('Reboot', call); cb(null, { operation: { id: 'op-1', kind: 'reboot', state: 'pending', phase: 'stop-services', startedAtMs: T0, finishedAtMs: 0, error: '', bootIdBefore: 'b-1' } }) },
    Shutdown: (call, cb) => {
      seen('Shutdown', call)
      const metadata = new Metadata()
      metadata.set('anvil-error-code', 'ERR_NODE_ROLE_DENIED')
      cb({ code: status.PERMISSION_DENIED, details: 'role reader may not call Shutdown', metadata })
    },
    Reset: (call, cb) => {
      seen('Reset', call)
      resetRequests.push(call.request)
      cb(null, { operation: { id: 'op-2', kind: 'reset', state: 'running', phase: 'plan', startedAtMs: T0, finishedAtMs: 0, error: '', bootIdBefore: 'b-1' } })
      options.onReset?.()
    },
    ApplyConfig: (call, cb) => {
      seen('ApplyConfig', call)
      applyRequests.push(call.request)
      const changes = ['hostname', 'network.interfaces[0].addresses']
      if (call.request.dryRun) { cb(null, { changes, appliedAs: 'dry-run', generation: 4 }); return }
      cb(null, { operation: { id: 'op-3', kind: 'apply-config', state: 'running', phase: 'verify', startedAtMs: T0, finishedAtMs: 0, error: '', bootIdBefore: 'b-1' }, changes, appliedAs: 'live', generation: 4 })
    },
    Dmesg: stream('Dmesg', 'kernel'),
    Logs: stream('Logs', 'apid'),
    Upgrade: (call, cb) => { seen('Upgrade', call); streamRequests.push(call.request); cb(null, { operation: { ...UPGRADE_OP, toVersion: call.request.imageVersion } }) },
    Rollback: (call, cb) => { seen('Rollback', call); cb(null, { operation: { ...UPGRADE_OP, id: 'op-rb', kind: 'rollback' } }) },
    Operations: (call, cb) => { seen('Operations', call); cb(null, { operations: [{ ...UPGRADE_OP, state: 'succeeded', phase: 'commit' }] }) },
    // The node is away for its reboot on the first two asks (UNAVAILABLE), then reports the upgrade committed.
    GetOperation: (call, cb) => {
      seen('GetOperation', call)
      const n = calls.filter(c => c.method === 'GetOperation').length
      if (n <= 2) { cb({ code: status.UNAVAILABLE, details: 'rebooting' }); return }
      cb(null, { operation: { ...UPGRADE_OP, id: call.request.id, state: call.request.id === 'op-fails' ? 'rolled_back' : 'succeeded', phase: call.request.id === 'op-fails' ? 'health' : 'commit', error: call.request.id === 'op-fails' ? 'health gate: apid is backoff' : '' } })
    }
  }
  server.addService(proto.anvil.node.v1.Node.service, handlers)
  const credentials = ServerCredentials.createSsl(Buffer.from(tls.clientCa), [{ private_key: Buffer.from(tls.keyPem), cert_chain: Buffer.from(tls.certPem) }], true)
  const port = await new Promise<number>((resolve, reject) => {
    server.bindAsync('127.0.0.1:0', credentials, (err, p) => { if (err !== null) reject(err); else resolve(p) })
  })
  return {
    port,
    calls,
    streamRequests,
    resetRequests,
    applyRequests,
    nextFollower: async () => await new Promise((resolve) => { waiting.push(resolve) }),
    stop: () => { server.forceShutdown() }
  }
}
