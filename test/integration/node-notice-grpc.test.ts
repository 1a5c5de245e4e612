// NodeNotice over the wire: the real provisioning gRPC server (TLS on 127.0.0.1:0) with the real
// NodeNoticeService over SQLite, the machine provisioned by a real ReportIn (which registers its
// identity key); the node's side is machined's own sendNodeNotice (pinned as the node pins) and,
// for what sendNodeNotice never sends (an unknown kind, an oversize detail), a request signed by
// hand over the same channel (callAnvil).
import assert from 'node:assert/strict'
import { sign, type KeyObject } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, test } from 'node:test'
import { Metadata } from '@grpc/grpc-js'
import { eq } from 'drizzle-orm'
import { SqliteConfigStore } from '../../src/db/config-store.ts'
import { SqliteNodeReportStore } from '../../src/db/node-report-store.ts'
import { events, machineNodes, tasks } from '../../src/db/schema.ts'
import { agentChannelOptions, pinnedChannelCredentials } from '../../src/grpc/agent-credentials.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { loadProvisioningProto } from '../../src/grpc/proto.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { MachineState } from '../../src/inventory/machine.ts'
import { createLogger } from '../../src/log/logger.ts'
import { nodeNoticeProof } from '../../src/node-state/notice-proof.ts'
import { STATE_SCHEMA, type StatePayload } from '../../src/node-state/record.ts'
import { identityKey, makeIdentity } from '../../src/node/machined/identity.ts'
import { sendNodeNotice, type NodeNotice } from '../../src/node/machined/node-notice.ts'
import { callAnvil } from '../../src/node/trustd/anvil-ca.ts'
import { NodeNoticeService } from '../../src/provisioning/node-notices.ts'
import type { NodeNoticeReply } from '../../src/proto/generated/anvil/provisioning/v1/NodeNoticeReply.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, setMachineState, signedReport } from '../helpers/node-report.ts'

const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

/** A node that reported in over the wire: its STATE (identity, server pin) and Anvil's world. */
async function start () {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-node-notice-'))
  dirs.push(dir)
  const inv = makeInventory()
  inv.clock.t = Date.now()
  const booted: string[] = []
  const prov = makeProvisioning(inv, { bootForTask: async (id) => { booted.push(id); return 'boot device set to PXE through its BMC' } })
  const cert = await ensureServerCertificate(dir, { ip: '127.0.0.1' })
  const nodes = new SqliteNodeReportStore(inv.db)
  const nodeNotices = new NodeNoticeService({
    nodes,
    machines: inv.machines,
    reset: async (machineId, requestedBy) => {
      const r = await prov.discovery.reset(machineId, { requestedBy })
      return { state: r.machine.state, taskId: r.task.id }
    },
    events: inv.timeline,
    clock: { now: () => Date.now() }
  })
  const log = createLogger('error', new Writable({ write (_c, _e, cb) { cb() } }))
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway: prov.agents, nodeReports: makeNodeReports(inv, prov), nodeNotices, tls: cert, log })
  await service.start(new AbortController().signal)
  after(async () => { await service.stop() })
  const server = { host: '127.0.0.1', port: service.address().port, fingerprint: cert.fingerprint }
  const node = async (mac: string): Promise<{ id: string, state: StatePayload, key: KeyObject, identity: ReturnType<typeof makeIdentity> }> => {
    const machine = await inv.machines.enroll({ mac })
    setMachineState(inv.db, machine.id)
    const token = issueNodeToken(inv.db, machine.id, { now: inv.clock.now() })
    const identity = makeIdentity(Date.now())
    const key = identityKey(identity)
    const proto = await loadProvisioningProto()
    const client = new proto.anvil.provisioning.v1.Provisioning(`127.0.0.1:${server.port}`, await pinnedChannelCredentials('127.0.0.1', server.port, cert.fingerprint), agentChannelOptions)
    await new Promise<void>((resolve, reject) => {
      const md = new Metadata()
      md.set('authorization', `Node ${token}`)
      client.ReportIn(signedReport(machine.id, token, { privateKey: key, spki: Buffer.from(identity.publicKeySpki, 'base64') }), md, (err) => { if (err === null) resolve(); else reject(err) })
    })
    client.close()
    const state: StatePayload = {
      schema: STATE_SCHEMA,
      machineId: machine.id,
      install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: '0'.repeat(64), slot: 'A', disk: 'vda', installedAt: 0 },
      config: { yaml: '', signature: '', generation: 1 },
      trust: { configKey: '', imageKeys: [] },
      server,
      identity
    }
    return { id: machine.id, state, key, identity }
  }
  const stateOf = async (id: string): Promise<string> => (await inv.machines.get(id)).state
  const typesOf = (id: string): string[] => inv.db.select().from(events).where(eq(events.machineId, id)).all().map(e => e.type)
  const tasksOf = (id: string) => inv.db.select().from(tasks).where(eq(tasks.machineId, id)).all()
  const nodeRow = (id: string) => inv.db.select().from(machineNodes).where(eq(machineNodes.machineId, id)).get()
  return { inv, server, node, booted, stateOf, typesOf, tasksOf, nodeRow }
}

const RESET: NodeNotice = { kind: 'reset', operationId: 'op-reset-1', imageName: 'anvil-node', imageVersion: '0.1.0', slot: 'A', detail: 'graceful reset, wipe all' }

/** A notice signed by hand (what sendNodeNotice would never send), over the same pinned channel. */
async function rawNotice (server: StatePayload['server'], key: KeyObject, f: { machineId: string, kind: string, operationId: string, imageName: string, imageVersion: string, slot: string, detail: string, requestedAtMs: number }): Promise<NodeNoticeReply> {
  const signature = sign(null, nodeNoticeProof(f as Parameters<typeof nodeNoticeProof>[0]), key)
  return await callAnvil<NodeNoticeReply>(server, undefined, (client, deadline, done) => { client.NodeNotice({ ...f, signature }, { deadline }, done) })
}

test('reset: a provisioned machine goes resetting with a wipe of every disk queued, booted for its agent; a repeat changes nothing', async () => {
  const { node, booted, stateOf, typesOf, tasksOf } = await start()
  const n = await node('52:54:00:aa:ee:01')
  assert.equal(await stateOf(n.id), MachineState.provisioned)
  const reply = await sendNodeNotice({ state: n.state, notice: RESET })
  assert.equal(reply.machineState, 'resetting')
  assert.equal(await stateOf(n.id), MachineState.resetting)
  const queued = tasksOf(n.id)
  assert.equal(queued.length, 1)
  assert.equal(queued[0]?.kind, 'wipe')
  assert.equal(queued[0]?.state, 'queued')
  assert.deepEqual(JSON.parse(queued[0]?.params ?? '{}'), { method: 'fast', disks: [] })
  assert.deepEqual(booted, [n.id], 'no agent connected: the machine is booted for its task')
  assert.ok(typesOf(n.id).includes('node.reset'))
  assert.equal((await sendNodeNotice({ state: n.state, notice: { ...RESET, operationId: 'op-reset-2' } })).machineState, 'resetting')
  assert.equal(tasksOf(n.id).length, 1, 'a repeated notice queues nothing more')
})

test('upgraded and rolled_back record the running image (what machines show prints) and their events; the detail is sanitised', async () => {
  const { inv, node, stateOf, nodeRow } = await start()
  const n = await node('52:54:00:aa:ee:02')
  const up = await sendNodeNotice({ state: n.state, notice: { kind: 'upgraded', operationId: 'op-up-1', imageName: 'anvil-node', imageVersion: '0.2.0', slot: 'B', detail: '' } })
  assert.equal(up.machineState, 'provisioned')
  assert.deepEqual([nodeRow(n.id)?.imageVersion, nodeRow(n.id)?.slot], ['0.2.0', 'B'])
  const shown = await new SqliteConfigStore(inv.db).node(n.id)
  assert.deepEqual([shown?.imageVersion, shown?.slot], ['0.2.0', 'B'])
  await sendNodeNotice({ state: n.state, notice: { kind: 'rolled_back', operationId: 'op-up-2', imageName: 'anvil-node', imageVersion: '0.2.0', slot: 'B', detail: 'health gate: apid not serving\n\u001b[2Jafter 300 s' } })
  assert.equal(await stateOf(n.id), MachineState.provisioned)
  const ev = inv.db.select().from(events).where(eq(events.type, 'node.rolled_back')).get()
  assert.match(ev?.message ?? '', /rolled back to anvil-node 0\.2\.0 in slot B \(operation op-up-2\): health gate: apid not serving \[2Jafter 300 s$/)
  assert.ok(!/\p{Cc}/u.test(ev?.message ?? ''), 'no control character reaches the timeline')
  assert.ok(inv.db.select().from(events).where(eq(events.type, 'node.upgraded')).get() !== undefined)
})

test('refused with IssueNodeCertificate\'s codes, and nothing changes: another key, another machine, an unknown machine, an old clock, an unknown kind, an oversize detail, not provisioned', async () => {
  const { inv, server, node, stateOf, typesOf, tasksOf, nodeRow } = await start()
  const n = await node('52:54:00:aa:ee:03')
  const other = await node('52:54:00:aa:ee:04')
  const before = nodeRow(n.id)
  const fields = { machineId: n.id, ...RESET, requestedAtMs: Date.now() }
  // Another key: the other node's, for this machine.
  await assert.rejects(sendNodeNotice({ state: { ...n.state, identity: other.identity }, notice: RESET }), { code: 'ERR_NODE_PROOF_INVALID' })
  // Another machine: this node's key, the other machine's id.
  await assert.rejects(rawNotice(server, n.key, { ...fields, machineId: other.id }), { code: 'ERR_NODE_PROOF_INVALID' })
  await assert.rejects(rawNotice(server, n.key, { ...fields, machineId: 'm-unknown' }), (err: Error & { code?: string }) => err.code === 'ERR_NODE_PROOF_INVALID' && /not reported in/.test(err.message))
  await assert.rejects(sendNodeNotice({ state: n.state, notice: RESET, now: () => Date.now() - 6 * 60_000 }), (err: Error & { code?: string }) => err.code === 'ERR_NODE_PROOF_INVALID' && /set the node's time/.test(err.message))
  await assert.rejects(rawNotice(server, n.key, { ...fields, kind: 'wiped' }), (err: Error & { code?: string }) => err.code === 'ERR_VALIDATION' && /kind "wiped"/.test(err.message))
  await assert.rejects(rawNotice(server, n.key, { ...fields, detail: 'x'.repeat(513) }), (err: Error & { code?: string }) => err.code === 'ERR_VALIDATION' && /detail is longer than 512/.test(err.message))
  await assert.rejects(rawNotice(server, n.key, { ...fields, operationId: 'op\u001b[2J' }), { code: 'ERR_VALIDATION' })
  await assert.rejects(rawNotice(server, n.key, { ...fields, kind: 'upgraded', slot: 'C' }), { code: 'ERR_VALIDATION' })
  assert.equal(await stateOf(n.id), MachineState.provisioned)
  assert.equal(await stateOf(other.id), MachineState.provisioned)
  assert.deepEqual(tasksOf(n.id), [])
  assert.deepEqual(tasksOf(other.id), [])
  assert.deepEqual(nodeRow(n.id), before)
  setMachineState(inv.db, n.id, MachineState.ready)
  await assert.rejects(sendNodeNotice({ state: n.state, notice: RESET }), { code: 'ERR_INVALID_STATE' })
  await assert.rejects(sendNodeNotice({ state: n.state, notice: { kind: 'upgraded', operationId: 'op-3', imageName: 'anvil-node', imageVersion: '0.2.0', slot: 'B', detail: '' } }), { code: 'ERR_INVALID_STATE' })
  assert.equal(await stateOf(n.id), MachineState.ready)
  assert.deepEqual(tasksOf(n.id), [])
  assert.deepEqual(nodeRow(n.id), before)
  assert.ok(!typesOf(n.id).includes('node.reset') && !typesOf(n.id).includes('node.upgraded'))
  // Refusals before the signature verified name no machine (nothing unproven is pinned on one).
  assert.equal(inv.db.select().from(events).where(eq(events.type, 'node.refused')).all().length, 10, 'each refusal is in the timeline')
})
