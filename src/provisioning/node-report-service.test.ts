// The server's side of ReportIn over a real SQLite database (in memory, migrations applied): the
// token, the generation, the proof, the bounds, the state, what is stored and what the timeline shows.
import assert from 'node:assert/strict'
import { test } from 'node:test'
import { eq } from 'drizzle-orm'
import { machineNodes, nodeTokens, events } from '../db/schema.ts'
import { isCodedError } from '../lib/errors.ts'
import { MachineState } from '../inventory/machine.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, nodeIdentity, setMachineState, signedReport } from '../../test/helpers/node-report.ts'

const PEER = '10.77.0.50'

async function setup (options: { refusalsPerMinute?: number, state?: MachineState } = {}) {
  const inv = makeInventory()
  const prov = makeProvisioning(inv)
  const service = makeNodeReports(inv, prov, options)
  const machine = await inv.machines.enroll({ mac: '52:54:00:aa:bb:01' })
  setMachineState(inv.db, machine.id, options.state ?? MachineState.installing)
  const token = issueNodeToken(inv.db, machine.id, { now: inv.clock.now() })
  const typesOf = (): string[] => inv.db.select().from(events).all().map(e => e.type)
  return { inv, prov, service, id: machine.id, token, typesOf }
}

async function refusedWith (p: Promise<unknown>, code: string): Promise<void> {
  await assert.rejects(p, (err: unknown) => isCodedError(err) && err.code === code)
}

test('a valid report spends the token, stores the node, moves installing → provisioned and is in the timeline', async () => {
  const { inv, service, id, token, typesOf } = await setup()
  const identity = nodeIdentity()
  const reply = await service.report(token, signedReport(id, token, identity, { addresses: ['10.77.0.50/24', '2001:DB8::5/64'] }), PEER)
  assert.deepEqual(reply, { machineId: id, state: MachineState.provisioned })
  assert.equal((await inv.machines.get(id)).state, MachineState.provisioned)
  const node = inv.db.select().from(machineNodes).where(eq(machineNodes.machineId, id)).get()
  assert.ok(node !== undefined)
  assert.equal(node.publicKey, identity.spki.toString('base64'))
  assert.deepEqual(JSON.parse(node.addresses), ['10.77.0.50/24', '2001:db8::5/64'], 'addresses canonical')
  assert.deepEqual([node.slot, node.configGeneration, node.hostname, node.imageName], ['A', 1, 'node-1', 'anvil-node'])
  assert.equal(node.firstReportedAt, inv.clock.now())
  assert.notEqual(inv.db.select().from(nodeTokens).get()?.usedAt ?? null, null, 'token spent')
  assert.ok(typesOf().includes('node.reported'))
  const reported = inv.db.select().from(events).where(eq(events.type, 'node.reported')).get()
  assert.ok(reported !== undefined && !reported.message.includes(token) && !(reported.data ?? '').includes(token), 'the token is never in the timeline')
})

test('a second report with the same token is ERR_NODE_TOKEN_USED; a new token on a provisioned machine is idempotent', async () => {
  const { inv, service, id, token } = await setup()
  await service.report(token, signedReport(id, token), PEER)
  await refusedWith(service.report(token, signedReport(id, token), PEER), 'ERR_NODE_TOKEN_USED')
  inv.clock.advance(60_000)
  const again = issueNodeToken(inv.db, id, { now: inv.clock.now() })
  const reply = await service.report(again, signedReport(id, again, nodeIdentity(), { slot: 'B' }), PEER)
  assert.equal(reply.state, MachineState.provisioned)
  const node = inv.db.select().from(machineNodes).where(eq(machineNodes.machineId, id)).get()
  assert.equal(node?.slot, 'B', 'the row is updated')
  assert.ok(node !== undefined && node.firstReportedAt < node.reportedAt, 'first report time kept')
})

test('unknown, expired, other-machine and other-generation tokens are ERR_NODE_TOKEN_INVALID and spend nothing', async () => {
  const { inv, service, id, token } = await setup()
  const other = await inv.machines.enroll({ mac: '52:54:00:aa:bb:02' })
  await refusedWith(service.report(undefined, signedReport(id, token), PEER), 'ERR_NODE_TOKEN_INVALID')
  await refusedWith(service.report('not-a-token', signedReport(id, 'not-a-token'), PEER), 'ERR_NODE_TOKEN_INVALID')
  await refusedWith(service.report('x'.repeat(513), signedReport(id, token), PEER), 'ERR_NODE_TOKEN_INVALID')
  await refusedWith(service.report(token, signedReport(other.id, token), PEER), 'ERR_NODE_TOKEN_INVALID')
  await refusedWith(service.report(token, signedReport(id, token, nodeIdentity(), { configGeneration: 2 }), PEER), 'ERR_NODE_TOKEN_INVALID')
  const expired = issueNodeToken(inv.db, id, { now: inv.clock.now(), ttlMs: 1000 })
  inv.clock.advance(1000)
  await refusedWith(service.report(expired, signedReport(id, expired), PEER), 'ERR_NODE_TOKEN_INVALID')
  assert.ok(inv.db.select().from(nodeTokens).all().every(t => t.usedAt === null))
  assert.equal((await inv.machines.get(id)).state, MachineState.installing)
  // Still good afterwards.
  assert.equal((await service.report(token, signedReport(id, token), PEER)).state, MachineState.provisioned)
})

test('a proof that does not verify is ERR_NODE_PROOF_INVALID: another key, another token, a key that is not Ed25519', async () => {
  const { inv, service, id, token } = await setup()
  const a = nodeIdentity()
  const b = nodeIdentity()
  await refusedWith(service.report(token, { ...signedReport(id, token, a), publicKey: b.spki }, PEER), 'ERR_NODE_PROOF_INVALID')
  await refusedWith(service.report(token, { ...signedReport(id, token, a), proof: signedReport(id, 'another token', a).proof }, PEER), 'ERR_NODE_PROOF_INVALID')
  const flipped = signedReport(id, token, a)
  flipped.proof[7] = (flipped.proof[7] ?? 0) ^ 1
  await refusedWith(service.report(token, flipped, PEER), 'ERR_NODE_PROOF_INVALID')
  const { generateKeyPairSync } = await import('node:crypto')
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ format: 'der', type: 'spki' })
  await refusedWith(service.report(token, { ...signedReport(id, token, a), publicKey: ec }, PEER), 'ERR_NODE_PROOF_INVALID')
  await refusedWith(service.report(token, { ...signedReport(id, token, a), publicKey: Buffer.alloc(0) }, PEER), 'ERR_NODE_PROOF_INVALID')
  await refusedWith(service.report(token, { ...signedReport(id, token, a), publicKey: Buffer.alloc(4096, 1) }, PEER), 'ERR_NODE_PROOF_INVALID')
  await refusedWith(service.report(token, { ...signedReport(id, token, a), proof: Buffer.alloc(0) }, PEER), 'ERR_NODE_PROOF_INVALID')
  assert.equal(inv.db.select().from(nodeTokens).get()?.usedAt, null)
  assert.equal(inv.db.select().from(machineNodes).all().length, 0)
})

test('every field is bounded: addresses, lengths, control characters, slot, generation', async () => {
  const { service, id, token } = await setup()
  const cases = [
    { addresses: Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}/24`) },
    { addresses: ['10.0.0.1'] },
    { addresses: ['x'.repeat(300)] },
    { hostname: 'h'.repeat(254) },
    { hostname: 'evil\nnode.reported forged' },
    { imageVersion: '0.1.0\u001b[31m' },
    { imageName: '' },
    { slot: 'C' },
    { configGeneration: -1 },
    { bootId: 'b'.repeat(1000) }
  ]
  for (const c of cases) await refusedWith(service.report(token, signedReport(id, token, nodeIdentity(), c), PEER), 'ERR_VALIDATION')
  await refusedWith(service.report(token, signedReport('m'.repeat(254), token), PEER), 'ERR_VALIDATION')
})

test('a machine that is not installing (here: ready) is ERR_INVALID_STATE and its token stays unspent', async () => {
  const { inv, service, id, token } = await setup({ state: MachineState.ready })
  await refusedWith(service.report(token, signedReport(id, token), PEER), 'ERR_INVALID_STATE')
  assert.equal(inv.db.select().from(nodeTokens).get()?.usedAt, null)
  assert.equal((await inv.machines.get(id)).state, MachineState.ready)
})

test('two reports racing with one token: exactly one is stored', async () => {
  const { inv, service, id, token } = await setup()
  const results = await Promise.allSettled([service.report(token, signedReport(id, token), PEER), service.report(token, signedReport(id, token), PEER)])
  assert.deepEqual(results.map(r => r.status).sort(), ['fulfilled', 'rejected'])
  const lost = results.find(r => r.status === 'rejected')
  assert.ok(lost?.status === 'rejected' && isCodedError(lost.reason) && lost.reason.code === 'ERR_NODE_TOKEN_USED')
  assert.equal(inv.db.select().from(machineNodes).all().length, 1)
})

test('refusals are bounded: a flood of bad reports writes at most refusalsPerMinute node.refused events', async () => {
  const { inv, service, id, token, typesOf } = await setup({ refusalsPerMinute: 5 })
  for (let i = 0; i < 200; i++) await refusedWith(service.report(`bad-${i}`, signedReport(id, token), PEER), 'ERR_NODE_TOKEN_INVALID')
  assert.equal(typesOf().filter(t => t === 'node.refused').length, 5)
  inv.clock.advance(60_000)
  await refusedWith(service.report('bad-late', signedReport(id, token), PEER), 'ERR_NODE_TOKEN_INVALID')
  const last = inv.db.select().from(events).where(eq(events.type, 'node.refused')).all().at(-1)
  assert.match(last?.message ?? '', /195 more refusals not recorded/)
})
