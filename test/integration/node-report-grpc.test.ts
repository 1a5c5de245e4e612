// ReportIn over the wire: the real provisioning gRPC server with TLS on 127.0.0.1:0, the real
// NodeReportService over SQLite, and a grpc-js client that pins the certificate as the node does.
// What the node sees: the reply, UNAUTHENTICATED with the stable code in the trailer for a used or
// missing token, PERMISSION_DENIED for a bad proof, and UNIMPLEMENTED from a server without reports.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, test } from 'node:test'
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../src/grpc/agent-credentials.ts'
import { ERROR_CODE_TRAILER } from '../../src/grpc/errors.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { loadProvisioningProto } from '../../src/grpc/proto.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { MachineState } from '../../src/inventory/machine.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { NodeReportInput } from '../../src/proto/generated/anvil/provisioning/v1/NodeReport.ts'
import type { NodeReportReply } from '../../src/proto/generated/anvil/provisioning/v1/NodeReportReply.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, nodeIdentity, setMachineState, signedReport } from '../helpers/node-report.ts'

const proto = await loadProvisioningProto()
const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

async function start (withReports = true) {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-node-report-'))
  dirs.push(dir)
  const inv = makeInventory()
  const prov = makeProvisioning(inv)
  const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
  const log = createLogger('error', new Writable({ write (_c, _e, cb) { cb() } }))
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway: prov.agents, ...(withReports ? { nodeReports: makeNodeReports(inv, prov) } : {}), tls: cert, log })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  const port = service.address().port
  const client = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${port}`, await pinnedChannelCredentials('127.0.0.1', port, cert.fingerprint), agentChannelOptions)
  after(() => { client.close() })
  const machine = await inv.machines.enroll({ mac: '52:54:00:aa:cc:01' })
  setMachineState(inv.db, machine.id)
  const token = issueNodeToken(inv.db, machine.id, { now: inv.clock.now() })
  const call = async (report: NodeReportInput, auth?: string): Promise<{ reply?: NodeReportReply, err?: ServiceError }> => await new Promise((resolve) => {
    const md = new Metadata()
    if (auth !== undefined) md.set('authorization', auth)
    client.ReportIn(report, md, { deadline: Date.now() + 10_000 }, (err, reply) => { resolve(err === null ? (reply === undefined ? {} : { reply }) : { err }) })
  })
  return { inv, id: machine.id, token, call }
}

const codeOf = (err: ServiceError | undefined): unknown => err?.metadata.get(ERROR_CODE_TRAILER)[0]

test('a node reports in over pinned TLS: the reply names the machine and its new state', async () => {
  const { inv, id, token, call } = await start()
  const identity = nodeIdentity()
  const { reply, err } = await call(signedReport(id, token, identity), `Node ${token}`)
  assert.equal(err, undefined)
  assert.deepEqual(reply, { machineId: id, state: MachineState.provisioned })
  assert.equal((await inv.machines.get(id)).state, MachineState.provisioned)

  const again = await call(signedReport(id, token, identity), `Node ${token}`)
  assert.equal(again.err?.code, status.UNAUTHENTICATED)
  assert.equal(codeOf(again.err), 'ERR_NODE_TOKEN_USED')
})

test('no token, another scheme, a bad proof: refused with stable codes, nothing spent', async () => {
  const { inv, id, token, call } = await start()
  for (const auth of [undefined, `Bearer ${token}`, 'Node ']) {
    const r = await call(signedReport(id, token), auth)
    assert.equal(r.err?.code, status.UNAUTHENTICATED, String(auth))
    assert.equal(codeOf(r.err), 'ERR_NODE_TOKEN_INVALID')
  }
  const bad = await call({ ...signedReport(id, token), publicKey: nodeIdentity().spki }, `Node ${token}`)
  assert.equal(bad.err?.code, status.PERMISSION_DENIED)
  assert.equal(codeOf(bad.err), 'ERR_NODE_PROOF_INVALID')
  const big = await call(signedReport(id, token, nodeIdentity(), { addresses: Array.from({ length: 17 }, () => '10.0.0.1/24') }), `Node ${token}`)
  assert.equal(big.err?.code, status.INVALID_ARGUMENT)
  assert.equal((await inv.machines.get(id)).state, MachineState.installing)
})

test('a server built without node reports answers UNIMPLEMENTED', async () => {
  const { id, token, call } = await start(false)
  const r = await call(signedReport(id, token), `Node ${token}`)
  assert.equal(r.err?.code, status.UNIMPLEMENTED)
})
