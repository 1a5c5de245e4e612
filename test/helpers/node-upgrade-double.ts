import { generateKeyPairSync } from 'node:crypto'
import { Metadata, Server, ServerCredentials, status, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js'
import { loadNodeProto } from '../../src/grpc/proto.ts'
import type { NodeCa } from '../../src/pki/node-ca.ts'
import type { OperationInput } from '../../src/proto/generated/anvil/node/v1/Operation.ts'
import type { UpgradeRequest } from '../../src/proto/generated/anvil/node/v1/UpgradeRequest.ts'

/**
 * A node's apid for upgrades, on its own loopback address (127.0.0.N) with real mutual TLS: its
 * server certificate is issued by the node CA under test (as trustd gets it from Anvil), and it
 * accepts only clients chained to that CA. Upgrade starts an operation that GetOperation walks one
 * phase per poll, fetch → write → verify → select → reboot → health → commit, then ends as the
 * script says:
 *   succeeds     succeeded, and Version then reports the new version on slot B
 *   rolls-back   rolled_back (the new slot failed its health gate), Version still the old one
 *   reboots      as succeeds, but the server goes away at `reboot` until the test calls comeBack()
 *   vanishes     goes away at `reboot` and never comes back
 *   busy         Upgrade refused with ERR_NODE_BUSY
 */
export type UpgradeScript = 'succeeds' | 'rolls-back' | 'reboots' | 'vanishes' | 'busy'

export type NodeUpgradeDouble = {
  readonly host: string
  readonly port: number
  readonly requests: UpgradeRequest[]
  /** Every call, with the client certificate's O= and CN. */
  readonly calls: Array<{ method: string, o: unknown, cn: unknown }>
  /** True between the reboot and comeBack(). */
  readonly down: () => boolean
  readonly comeBack: () => Promise<void>
  readonly stop: () => void
}

const PHASES = ['fetch', 'write', 'verify', 'select', 'reboot', 'health', 'commit'] as const

/** A shared log of starts and ends across doubles, to check max-parallel. */
export type RolloutLog = string[]

export async function startNodeUpgradeDouble (ca: NodeCa, host: string, port: number, script: UpgradeScript, log: RolloutLog): Promise<NodeUpgradeDouble> {
  const proto = await loadNodeProto()
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  const cert = ca.issueServer({ publicKey, machineId: `node-${host}`, ips: [host], dnsNames: [] })
  const credentials = ServerCredentials.createSsl(Buffer.from(ca.certPem), [{ private_key: Buffer.from(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), cert_chain: Buffer.from(cert.certPem) }], true)
  const requests: UpgradeRequest[] = []
  const calls: NodeUpgradeDouble['calls'] = []
  let version = '0.1.0'
  let slot = 'A'
  let op: OperationInput | undefined
  let step = 0
  let server: Server | undefined
  let isDown = false

  const seen = (method: string, call: ServerUnaryCall<unknown, unknown>): void => {
    const subject = call.getAuthContext().sslPeerCertificate?.subject
    calls.push({ method, o: subject?.O, cn: subject?.CN })
  }
  const refuse = (cb: sendUnaryData<unknown>, code: status, errorCode: string, details: string): void => {
    const metadata = new Metadata()
    metadata.set('anvil-error-code', errorCode)
    cb({ code, details, metadata })
  }
  const walk = (): void => {
    if (op === undefined || op.state !== 'running') return
    step++
    if (step < PHASES.length) { op = { ...op, phase: PHASES[step] as string }; return }
    if (script === 'rolls-back') {
      op = { ...op, state: 'rolled_back', error: 'the new slot was not healthy within 300 s: apid did not start', errorCode: '', finishedAtMs: Date.now() }
    } else {
      op = { ...op, state: 'succeeded', finishedAtMs: Date.now() }
      version = op.toVersion ?? version
      slot = 'B'
    }
    log.push(`end ${host}`)
  }
  const handlers = {
    Upgrade: (call: ServerUnaryCall<UpgradeRequest, unknown>, cb: sendUnaryData<unknown>) => {
      seen('Upgrade', call)
      requests.push(call.request)
      if (script === 'busy') { refuse(cb, status.FAILED_PRECONDITION, 'ERR_NODE_BUSY', 'an upgrade is already running (operation op-0)'); return }
      log.push(`start ${host}`)
      op = { id: `op-${host}-1`, kind: 'upgrade', state: 'running', phase: PHASES[0], startedAtMs: Date.now(), fromSlot: slot, toSlot: 'B', fromVersion: version, toVersion: call.request.imageVersion, bootIdBefore: 'b-1' }
      cb(null, { operation: op })
    },
    GetOperation: (call: ServerUnaryCall<{ id: string }, unknown>, cb: sendUnaryData<unknown>) => {
      seen('GetOperation', call)
      if (op === undefined || call.request.id !== op.id) { refuse(cb, status.NOT_FOUND, 'ERR_OPERATION_NOT_FOUND', `no operation ${call.request.id}`); return }
      const before = op.phase
      walk()
      cb(null, { operation: op })
      // The reboot: answered, then the node is gone (its connections reset, its port closed).
      if (before !== 'reboot' && op.phase === 'reboot' && (script === 'reboots' || script === 'vanishes')) {
        isDown = true
        setImmediate(() => { server?.forceShutdown() })
      }
    },
    Version: (call: ServerUnaryCall<unknown, unknown>, cb: sendUnaryData<unknown>) => {
      seen('Version', call)
      cb(null, { machineId: `node-${host}`, hostname: host, imageName: 'anvil-node', imageVersion: version, slot, configGeneration: 1, kernel: '6.1.0', nodeJs: 'v20.20.0', arch: 'amd64', bootId: 'b-2', uptimeSeconds: 10 })
    }
  }
  const listen = async (at: number): Promise<number> => {
    server = new Server()
    server.addService(proto.anvil.node.v1.Node.service, handlers as never)
    return await new Promise<number>((resolve, reject) => {
      server?.bindAsync(`${host}:${at}`, credentials, (err, p) => { if (err !== null) reject(err); else resolve(p) })
    })
  }
  // Back after a reboot on the same address and port, as a node is.
  const bound = await listen(port)
  return {
    host,
    port: bound,
    requests,
    calls,
    down: () => isDown,
    comeBack: async () => { await listen(bound); isDown = false },
    stop: () => { server?.forceShutdown() }
  }
}
