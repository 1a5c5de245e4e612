// trustd ↔ Anvil over the wire: the real provisioning gRPC server (TLS on 127.0.0.1:0) with the
// real NodeCertificateService and the real node CA in a temp data dir; a node that reported in
// (ReportIn, also over the wire) asks with trustd's own code (prepareCertificateRequest +
// requestNodeCertificate, pinned as the node pins). The certificate it gets is checked with
// node:crypto and the real `openssl verify`, and used for a real mutual-TLS handshake.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { X509Certificate } from 'node:crypto'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, test } from 'node:test'
import { agentChannelOptions, pinnedChannelCredentials } from '../../src/grpc/agent-credentials.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { DEFAULT_PROTO_FILE, loadProvisioningProto } from '../../src/grpc/proto.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { createLogger } from '../../src/log/logger.ts'
import { SqliteNodeReportStore } from '../../src/db/node-report-store.ts'
import { ensureNodeCa } from '../../src/pki/node-ca.ts'
import { NodeCertificateService, nodeServerCa } from '../../src/provisioning/node-certificates.ts'
import { requestNodeCertificate } from '../../src/node/trustd/anvil-ca.ts'
import { prepareCertificateRequest } from '../../src/node/trustd/certificate-request.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, nodeIdentity, setMachineState, signedReport } from '../helpers/node-report.ts'
import { Metadata } from '@grpc/grpc-js'
import { skipReason } from '../helpers/requirements.ts'

const skip = skipReason('node certificate tests', { programs: ['openssl'] })
const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

async function start () {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-node-cert-'))
  dirs.push(dir)
  const inv = makeInventory()
  const prov = makeProvisioning(inv)
  const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
  const ca = await ensureNodeCa(dir)
  const log = createLogger('error', new Writable({ write (_c, _e, cb) { cb() } }))
  const nodeCertificates = new NodeCertificateService({ nodes: new SqliteNodeReportStore(inv.db), machines: inv.machines, ca: nodeServerCa(ca), events: inv.timeline, clock: { now: () => Date.now() } })
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway: prov.agents, nodeReports: makeNodeReports(inv, prov), nodeCertificates, tls: cert, log })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  const target = { host: '127.0.0.1', port: service.address().port, fingerprint: cert.fingerprint }
  // The node reports in first (over the wire too): that registers its identity key.
  const machine = await inv.machines.enroll({ mac: '52:54:00:aa:dd:01' })
  setMachineState(inv.db, machine.id)
  const token = issueNodeToken(inv.db, machine.id, { now: inv.clock.now() })
  const identity = nodeIdentity()
  const proto = await loadProvisioningProto()
  const client = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${target.port}`, await pinnedChannelCredentials('127.0.0.1', target.port, cert.fingerprint), agentChannelOptions)
  await new Promise<void>((resolve, reject) => {
    const md = new Metadata()
    md.set('authorization', `Node ${token}`)
    client.ReportIn(signedReport(machine.id, token, identity, { addresses: ['127.0.0.1/8'], hostname: 'node-1' }), md, (err) => { if (err === null) resolve(); else reject(err) })
  })
  client.close()
  return { dir, ca, target, id: machine.id, identity, inv }
}

test('trustd gets apid\'s certificate from Anvil\'s node CA: its key, its names, serverAuth, 24 h; openssl agrees', { skip }, async () => {
  const { dir, ca, target, id, identity } = await start()
  const prepared = prepareCertificateRequest({ machineId: id, identity: identity.privateKey, ips: ['127.0.0.1'], dnsNames: ['node-1'], now: Date.now() })
  const reply = await requestNodeCertificate(target, prepared.request, DEFAULT_PROTO_FILE)
  const x = new X509Certificate(reply.certificatePem)
  assert.equal(reply.caPem, ca.certPem)
  assert.ok(x.verify(new X509Certificate(ca.certPem).publicKey), 'signed by the node CA')
  assert.ok(x.publicKey.export({ format: 'der', type: 'spki' }).equals(prepared.request.tlsPublicKey), 'for the key trustd made')
  assert.match(x.subject, new RegExp(`CN=${id}`))
  assert.equal(x.checkIP('127.0.0.1'), '127.0.0.1')
  assert.equal(x.checkHost('node-1'), 'node-1')
  const hours = (reply.notAfterMs - Date.now()) / 3_600_000
  assert.ok(hours > 23.5 && hours <= 24.1, `valid ${hours.toFixed(2)} h`)
  writeFileSync(join(dir, 'apid.crt'), reply.certificatePem)
  writeFileSync(join(dir, 'ca.crt'), reply.caPem)
  const out = execFileSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', join(dir, 'ca.crt'), join(dir, 'apid.crt')], { encoding: 'utf8' })
  assert.match(out, /OK/)
})

test('over the wire, refusals keep their stable codes: another key, an address the node does not have', { skip }, async () => {
  const { target, id, identity } = await start()
  const other = prepareCertificateRequest({ machineId: id, identity: nodeIdentity().privateKey, ips: ['127.0.0.1'], dnsNames: [], now: Date.now() })
  await assert.rejects(requestNodeCertificate(target, other.request, DEFAULT_PROTO_FILE), /^Error: ERR_NODE_PROOF_INVALID: /)
  const elsewhere = prepareCertificateRequest({ machineId: id, identity: identity.privateKey, ips: ['10.9.9.9'], dnsNames: [], now: Date.now() })
  await assert.rejects(requestNodeCertificate(target, elsewhere.request, DEFAULT_PROTO_FILE), /^Error: ERR_VALIDATION: .*none of 10\.9\.9\.9 is this node's/)
})
