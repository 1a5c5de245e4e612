// The server's side of IssueNodeCertificate over a real SQLite database: a node that reported in
// asks with its identity key; the clock, the signature, the state and the names are checked, and
// the CA (a recording port here: the CA itself is tested in src/pki) sees only what passed.
import assert from 'node:assert/strict'
import { generateKeyPairSync, sign, type KeyObject } from 'node:crypto'
import { test } from 'node:test'
import { eq } from 'drizzle-orm'
import { events } from '../db/schema.ts'
import { isCodedError } from '../lib/errors.ts'
import { MachineState } from '../inventory/machine.ts'
import { SqliteNodeReportStore } from '../db/node-report-store.ts'
import { nodeCertificateProof } from '../node-state/certificate-proof.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, nodeIdentity, setMachineState, signedReport } from '../../test/helpers/node-report.ts'
import { NodeCertificateService, type NodeCertificateRequest, type NodeServerCa } from './node-certificates.ts'

const PEER = '10.77.0.50'

type Issued = Parameters<NodeServerCa['issueServer']>[0]

async function setup () {
  const inv = makeInventory()
  const prov = makeProvisioning(inv)
  const machine = await inv.machines.enroll({ mac: '52:54:00:aa:bb:01' })
  setMachineState(inv.db, machine.id, MachineState.installing)
  const token = issueNodeToken(inv.db, machine.id, { now: inv.clock.now() })
  const identity = nodeIdentity()
  await makeNodeReports(inv, prov).report(token, signedReport(machine.id, token, identity, { addresses: ['10.77.0.50/24', '2001:db8::5/64'], hostname: 'node-1' }), PEER)
  const issued: Issued[] = []
  const ca: NodeServerCa = {
    caPem: '-----BEGIN CERTIFICATE-----\nCA\n-----END CERTIFICATE-----\n',
    issueServer: (r) => { issued.push(r); return { certificatePem: `cert for ${r.machineId}`, notAfter: new Date(inv.clock.now() + 86_400_000) } }
  }
  const service = new NodeCertificateService({ nodes: new SqliteNodeReportStore(inv.db), machines: inv.machines, ca, events: inv.timeline, clock: inv.clock })
  const tls = generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' })
  const request = (over: Partial<NodeCertificateRequest> = {}, key: KeyObject = identity.privateKey): NodeCertificateRequest => {
    const r = { machineId: machine.id, tlsPublicKey: tls, ips: ['10.77.0.50'], dnsNames: ['node-1'], requestedAtMs: inv.clock.now(), ...over }
    return { ...r, signature: over.signature ?? sign(null, nodeCertificateProof(r), key) }
  }
  const typesOf = (): string[] => inv.db.select().from(events).all().map(e => e.type)
  return { inv, id: machine.id, service, issued, request, typesOf, tls }
}

async function refusedWith (p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => isCodedError(err) && err.code === code && (message === undefined || message.test(err.message)))
}

test('a provisioned node signing with its registered key gets a certificate for its own names; the timeline says so', async () => {
  const { inv, id, service, issued, request, typesOf, tls } = await setup()
  const reply = await service.issue(request({ ips: ['10.77.0.50', '2001:db8::5'] }), PEER)
  assert.equal(reply.certificatePem, `cert for ${id}`)
  assert.match(reply.caPem, /BEGIN CERTIFICATE/)
  assert.equal(reply.notAfterMs, inv.clock.now() + 86_400_000)
  assert.equal(issued.length, 1)
  assert.deepEqual([issued[0]?.machineId, issued[0]?.ips, issued[0]?.dnsNames], [id, ['10.77.0.50', '2001:db8::5'], ['node-1']])
  assert.ok(issued[0]?.publicKey.export({ format: 'der', type: 'spki' }).equals(tls), 'the certificate is for the TLS key the node named')
  assert.ok(typesOf().includes('node.certified'))
  const ev = inv.db.select().from(events).where(eq(events.type, 'node.certified')).get()
  assert.match(ev?.message ?? '', /10\.77\.0\.50 2001:db8::5 node-1/)
})

test('refused, and the CA never asked: another key, a changed field, a stale or future clock, an unknown machine', async () => {
  const { inv, service, issued, request } = await setup()
  await refusedWith(service.issue(request({}, nodeIdentity().privateKey), PEER), 'ERR_NODE_PROOF_INVALID', /does not verify/)
  const good = request()
  await refusedWith(service.issue({ ...good, ips: ['10.77.0.51'] }, PEER), 'ERR_NODE_PROOF_INVALID', /does not verify/)
  await refusedWith(service.issue({ ...good, tlsPublicKey: generateKeyPairSync('ed25519').publicKey.export({ format: 'der', type: 'spki' }) }, PEER), 'ERR_NODE_PROOF_INVALID')
  await refusedWith(service.issue(request({ requestedAtMs: inv.clock.now() - 6 * 60_000 }), PEER), 'ERR_NODE_PROOF_INVALID', /set the node's time/)
  await refusedWith(service.issue(request({ requestedAtMs: inv.clock.now() + 6 * 60_000 }), PEER), 'ERR_NODE_PROOF_INVALID', /set the node's time/)
  await refusedWith(service.issue(request({ machineId: 'm-unknown' }), PEER), 'ERR_NODE_PROOF_INVALID', /not reported in/)
  assert.equal(issued.length, 0)
})

test('only the node\'s own names go into the certificate; nothing of its own left → ERR_VALIDATION', async () => {
  const { service, issued, request } = await setup()
  await service.issue(request({ ips: ['10.77.0.60'] }), '10.77.0.60')
  assert.equal(issued.length, 1, 'the address the request comes from is the node\'s too (a renewed lease)')
  issued.length = 0
  await refusedWith(service.issue(request({ ips: ['10.77.0.99'], dnsNames: [] }), PEER), 'ERR_VALIDATION', /none of 10\.77\.0\.99 is this node's/)
  await refusedWith(service.issue(request({ ips: [], dnsNames: ['anvil.example'] }), PEER), 'ERR_VALIDATION', /hostname node-1/)
  await service.issue(request({ ips: ['10.77.0.50', 'fd77::1'], dnsNames: ['node-1', 'anvil.example'] }), PEER)
  assert.deepEqual([issued[0]?.ips, issued[0]?.dnsNames], [['10.77.0.50'], ['node-1']], 'what is not the node\'s is left out of the certificate')
  issued.length = 0
  await refusedWith(service.issue(request({ ips: [], dnsNames: [] }), PEER), 'ERR_VALIDATION', /no name/)
  await refusedWith(service.issue(request({ ips: ['2001:DB8::5'] }), PEER), 'ERR_VALIDATION', /canonical/)
  assert.equal(issued.length, 0)
})

test('bounds before any lookup: too many names, control characters, a TLS key that is not Ed25519', async () => {
  const { service, request } = await setup()
  await refusedWith(service.issue(request({ ips: Array.from({ length: 17 }, (_, i) => `10.0.0.${i}`) }), PEER), 'ERR_VALIDATION', /more than 16/)
  await refusedWith(service.issue(request({ dnsNames: ['node-1\u001b[2J'] }), PEER), 'ERR_VALIDATION', /control character/)
  const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ format: 'der', type: 'spki' })
  await refusedWith(service.issue(request({ tlsPublicKey: rsa }), PEER), 'ERR_CERT_KEY_INVALID')
  await refusedWith(service.issue(request({ tlsPublicKey: Buffer.from('not a key') }), PEER), 'ERR_CERT_KEY_INVALID')
})

test('a machine that is no longer provisioned gets no certificate (ERR_INVALID_STATE)', async () => {
  const { inv, id, service, issued, request } = await setup()
  setMachineState(inv.db, id, MachineState.ready)
  await refusedWith(service.issue(request(), PEER), 'ERR_INVALID_STATE')
  assert.equal(issued.length, 0)
})
