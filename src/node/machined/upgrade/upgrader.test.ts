// Upgrade and rollback end to end on one host, against real peers: the real node API on a unix
// socket, a machine of files (sysfs naming the partitions; an ESP made by mkfs.vfat and mtools as
// the image build makes it; slot and STATE partitions as plain files), the test image compressed
// by the real zstd and signed, served by a real HTTP server on 127.0.0.1 with Range. A reboot is a
// new NodeOperations and Upgrader over the same files with another kernel command line.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test, type TestContext } from 'node:test'
import { credentials, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../../grpc/errors.ts'
import { loadNodeProto } from '../../../grpc/proto.ts'
import { zstdDecompress } from '../../../agent/install-decompress.ts'
import { decodeGrubenv, encodeGrubenv, INITIAL_ENV } from '../../../image/grub.ts'
import { encodeManifest, type ImageManifest } from '../../../image/manifest.ts'
import { COPY_OFFSETS, encodeStateCopy, STATE_SCHEMA, type StatePayload } from '../../../node-state/record.ts'
import type { NodeClient } from '../../../proto/generated/anvil/node/v1/Node.ts'
import type { OperationReply } from '../../../proto/generated/anvil/node/v1/OperationReply.ts'
import type { OperationsReply } from '../../../proto/generated/anvil/node/v1/OperationsReply.ts'
import type { UpgradeRequest } from '../../../proto/generated/anvil/node/v1/UpgradeRequest.ts'
import { signManifest } from '../../../signing/manifest-signature.ts'
import { encodePublicKeyString, generateSecretKey } from '../../../signing/minisign.ts'
import { buildTestImage, MIB, serveImages, type ImageServer, type TestImage } from '../../../../test/helpers/install-image.ts'
import { skipReason } from '../../../../test/helpers/requirements.ts'
import { parseNodeCmdline } from '../cmdline.ts'
import { readGrubenv, readState, writeState } from '../disk-io.ts'
import { startNodeApi } from '../node-api.ts'
import { NodeOperations } from '../operations.ts'
import { Supervisor } from '../supervisor.ts'
import { Upgrader, type NodeNotice } from './upgrader.ts'
import { armWatchdog } from './watchdog.ts'

const skip = skipReason('the node upgrade test', { programs: ['zstd', 'mkfs.vfat', 'mmd', 'mcopy', 'mtype'] })
const root = mkdtempSync(join(tmpdir(), 'anvil-upgrade-'))
const SLOT = { start: 4 * MIB, end: 12 * MIB } // the test image's ANVIL-A
let img: TestImage
let server: ImageServer
let espTemplate = ''
let client: NodeClient
let closeApi: () => Promise<void> = async () => {}

before(async () => {
  if (skip !== undefined) return
  img = await buildTestImage()
  const bad = Buffer.from(img.compressed)
  // A byte inside chunk 1's frame (the slot's first chunk): the decompressor or the chunk hash must catch it.
  const frame1 = img.manifest.artifact.frames[0] ?? 0
  const at = frame1 + Math.floor((img.manifest.artifact.frames[1] ?? 0) / 2)
  bad[at] = (bad[at] ?? 0) ^ 0x40
  server = await serveImages(new Map([['/images/anvil-node/0.2.0', img.compressed], ['/images/anvil-node/bad', bad]]))
  espTemplate = join(root, 'esp.img')
  writeFileSync(join(root, 'grubenv'), encodeGrubenv({ ...INITIAL_ENV, A_OK: '1', A_LEFT: '2' }))
  execFileSync('mkfs.vfat', ['-C', '--invariant', '-F', '32', '-s', '1', '-S', '512', '-n', 'ANVIL-EFI', espTemplate, String(64 * 1024)], { stdio: 'ignore' })
  execFileSync('mmd', ['-i', espTemplate, '::/EFI', '::/grub'])
  execFileSync('mcopy', ['-m', '-i', espTemplate, join(root, 'grubenv'), '::/grub/grubenv'])
  const proto = await loadNodeProto()
  client = new proto.anvil.node.v1.Node(`unix:${join(root, 'run/machined.sock')}`, credentials.createInsecure())
})

after(async () => {
  client?.close()
  await closeApi()
  await server?.close()
  rmSync(root, { recursive: true, force: true })
})

let n = 0
type Machine = { dir: string, roots: { sys: string, dev: string, proc: string, etcAnvil: string }, esp: string, slotB: string, state: string }

/** A node installed with 0.1.0 in slot A, committed, slot B holding old bytes. */
function machine (over: Partial<StatePayload> = {}): Machine {
  const dir = join(root, `m${n++}`)
  const sys = join(dir, 'sys')
  const dev = join(dir, 'dev')
  mkdirSync(dev, { recursive: true })
  for (const [name, part, bytes] of [['vda2', 'EFI', 32 * MIB], ['vda3', 'ANVIL-A', 8 * MIB], ['vda4', 'ANVIL-B', 8 * MIB], ['vda5', 'ANVIL-STATE', 16 * MIB]] as const) {
    mkdirSync(join(sys, 'class/block', name), { recursive: true })
    writeFileSync(join(sys, 'class/block', name, 'uevent'), `DEVNAME=${name}\nDEVTYPE=partition\nPARTNAME=${part}\n`)
    writeFileSync(join(sys, 'class/block', name, 'size'), `${bytes / 512}\n`)
    writeFileSync(join(dev, name), '')
    truncateSync(join(dev, name), bytes)
  }
  writeFileSync(join(dev, 'vda2'), readFileSync(espTemplate))
  writeFileSync(join(dev, 'vda4'), Buffer.alloc(8 * MIB, 0xee))
  const state: StatePayload = {
    schema: STATE_SCHEMA,
    machineId: 'm-upgrade-1',
    install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: 'ab'.repeat(32), slot: 'A', disk: 'vda', installedAt: 0 },
    config: { yaml: '', signature: '', generation: 1 },
    trust: { configKey: '', imageKeys: [encodePublicKeyString(img.imageKey.publicKey)] },
    server: { host: '127.0.0.1', port: 1, fingerprint: '' },
    ...over
  }
  const copy = encodeStateCopy(state, 1n)
  const fd = join(dev, 'vda5')
  const b = readFileSync(fd)
  copy.copy(b, COPY_OFFSETS[0])
  copy.copy(b, COPY_OFFSETS[1])
  writeFileSync(fd, b)
  mkdirSync(join(dir, 'proc/sys/kernel/random'), { recursive: true })
  writeFileSync(join(dir, 'proc/sys/kernel/random/boot_id'), 'boot-1\n')
  mkdirSync(join(dir, 'etc/anvil/keys'), { recursive: true })
  writeFileSync(join(dir, 'watchdog'), '')
  return { dir, roots: { sys, dev, proc: join(dir, 'proc'), etcAnvil: join(dir, 'etc/anvil') }, esp: join(dev, 'vda2'), slotB: join(dev, 'vda4'), state: fd }
}

type Booted = { upgrader: Upgrader, operations: NodeOperations, reboots: string[], notices: NodeNotice[] }

/** machined's start on `slot`: STATE read afresh, the node API serving this upgrader on the test socket. */
async function boot (m: Machine, slot: 'A' | 'B', health: () => Promise<string | undefined> = async () => undefined, apiOptions: { upgradeAnswerMs?: number } = {}): Promise<Booted> {
  await closeApi()
  const record = await readState(m.state)
  const operations = new NodeOperations({ store: { write: async (p, seq, copy) => await writeState(m.state, p, seq, copy) }, record })
  const reboots: string[] = []
  const notices: NodeNotice[] = []
  const upgrader = new Upgrader({
    roots: m.roots,
    cmdline: parseNodeCmdline(`anvil.slot=${slot} anvil.try=0`),
    operations,
    reboot: async () => { reboots.push('reboot') },
    health,
    notify: async (x) => { notices.push(x); throw new Error('Anvil is down') },
    decompress: () => zstdDecompress(),
    zeroOut: undefined,
    fetch: { backoff: async () => {} },
    log: () => {},
    bootId: async () => 'boot-1',
    healthPollMs: 20,
    // A file stands in for /dev/watchdog (never the host's: opening it would arm it).
    watchdog: async () => await armWatchdog(join(m.dir, 'watchdog'), 5)
  })
  const api = await startNodeApi({ socket: join(root, 'run/machined.sock'), roots: { ...m.roots }, state: record.payload, supervisor: new Supervisor({}), power: { reboot: async () => {}, powerOff: async () => {} }, log: (l) => { if (process.env.UPGRADE_TEST_LOG !== undefined) process.stderr.write(`${l}\n`) }, operations, upgrader, ...apiOptions })
  closeApi = async () => { await api.stop(); closeApi = async () => {} }
  return { upgrader, operations, reboots, notices }
}

function signed (version: string, change: Partial<ImageManifest> = {}, key = img.imageKey): { manifest: Buffer, manifestSignature: string } {
  const manifest = encodeManifest({ ...img.manifest, version, ...change })
  return { manifest, manifestSignature: signManifest(manifest, key, { name: 'anvil-node', version }) }
}

function request (over: Partial<UpgradeRequest> = {}): UpgradeRequest {
  return { imageName: 'anvil-node', imageVersion: '0.2.0', ...signed('0.2.0'), imageUrl: server.url('/images/anvil-node/0.2.0'), force: false, healthTimeoutS: 0, ...over }
}

async function call<T> (fn: (cb: (err: ServiceError | null, value?: T) => void) => void): Promise<T> {
  return await new Promise((resolve, reject) => { fn((err, value) => { if (err !== null) reject(err); else resolve(value as T) }) })
}

async function refused (p: Promise<unknown>, code: string | RegExp): Promise<void> {
  await assert.rejects(p, (err: ServiceError) => {
    const got = String(err.metadata?.get(ERROR_CODE_TRAILER)[0] ?? '')
    assert.ok(typeof code === 'string' ? got === code : code.test(got), `error code ${got} (${err.details})`)
    return true
  })
}

const upgrade = async (req: UpgradeRequest): Promise<OperationReply> => await call<OperationReply>(cb => client.Upgrade(req, cb))

/** What must not have changed after a refusal before anything was written. */
function snapshot (m: Machine): { esp: Buffer, slot: Buffer, state: Buffer } {
  return { esp: readFileSync(m.esp), slot: readFileSync(m.slotB), state: readFileSync(m.state) }
}

test('Upgrade writes exactly the image\'s slot into B, verifies it, selects B for one try, records the pending upgrade, reboots; the new slot passes the health gate and commits', { skip }, async (t: TestContext) => {
  const m = machine()
  const first = await boot(m, 'A')
  const reply = await upgrade(request())
  const op = reply.operation
  assert.ok(op !== null)
  assert.deepEqual([op.kind, op.state, op.phase, op.fromSlot, op.toSlot, op.fromVersion, op.toVersion], ['upgrade', 'running', 'reboot', 'A', 'B', '0.1.0', '0.2.0'])
  assert.ok(readFileSync(m.slotB).equals(img.raw.subarray(SLOT.start, SLOT.end)), 'slot B holds the image\'s slot bytes')
  assert.deepEqual(await readGrubenv(m.esp), { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '1' })
  const state = (await readState(m.state)).payload
  assert.equal(state.pending?.operationId, op.id)
  assert.equal(state.slots?.B?.imageVersion, '0.2.0')
  assert.equal(state.operations?.[0]?.id, op.id)
  assert.deepEqual(first.reboots, ['reboot'])
  await refused(upgrade(request()), 'ERR_NODE_BUSY')
  await refused(call(cb => client.Rollback({}, cb)), 'ERR_NODE_BUSY')

  // The reboot: GRUB spent B's try (B_LEFT=0) and booted it.
  execFileSync('mcopy', ['-o', '-i', m.esp, writeGrubenvFile(t, { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '0' }), '::/grub/grubenv'])
  let asks = 0
  const second = await boot(m, 'B', async () => ++asks < 3 ? 'apid is starting' : undefined)
  assert.equal((await call<OperationReply>(cb => client.GetOperation({ id: op.id }, cb))).operation?.state, 'running', 'running across the reboot')
  await second.upgrader.afterBoot()
  assert.deepEqual(await readGrubenv(m.esp), { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '1', B_LEFT: '0' })
  const done = (await call<OperationReply>(cb => client.GetOperation({ id: op.id }, cb))).operation
  assert.deepEqual([done?.state, done?.phase], ['succeeded', 'commit'])
  const after = (await readState(m.state)).payload
  assert.equal(after.pending, undefined)
  assert.equal(after.slots?.B?.committed, true)
  assert.deepEqual(second.notices.map(x => [x.kind, x.operationId, x.imageVersion, x.slot]), [['upgraded', op.id, '0.2.0', 'B']], 'told Anvil once; its being down changed nothing')
  assert.deepEqual(second.reboots, [])
  const petted = readFileSync(join(m.dir, 'watchdog'), 'latin1')
  assert.match(petted, /^\0+V$/, 'the watchdog was petted during the trial, then closed with the magic V')
  const list = await call<OperationsReply>(cb => client.Operations({}, cb))
  assert.equal(list.operations[0]?.id, op.id)
  await refused(call(cb => client.GetOperation({ id: 'op-none' }, cb)), 'ERR_OPERATION_NOT_FOUND')

  // Rollback: A is committed and holds 0.1.0 (the install's).
  const rb = (await call<OperationReply>(cb => client.Rollback({}, cb))).operation
  assert.deepEqual([rb?.kind, rb?.fromSlot, rb?.toSlot, rb?.toVersion], ['rollback', 'B', 'A', '0.1.0'])
  assert.equal((await readGrubenv(m.esp)).ANVIL_ORDER, 'A B')
  assert.deepEqual(second.reboots, ['reboot'])
  const third = await boot(m, 'A')
  await third.upgrader.afterBoot()
  assert.equal(third.operations.get(rb?.id ?? '')?.state, 'succeeded')
  assert.deepEqual(third.notices.map(x => [x.kind, x.slot, x.imageVersion]), [['rolled_back', 'A', '0.1.0']])
})

test('GRUB fell back (the new slot never reached the gate): rolled_back with the reason, the old slot first again', { skip }, async (t: TestContext) => {
  const m = machine()
  await boot(m, 'A')
  const op = (await upgrade(request())).operation
  const fell = await boot(m, 'A')
  await fell.upgrader.afterBoot()
  const got = fell.operations.get(op?.id ?? '')
  assert.equal(got?.state, 'rolled_back')
  assert.match(got?.error ?? '', /did not come up/)
  assert.equal((await readGrubenv(m.esp)).ANVIL_ORDER, 'A B')
  assert.equal((await readState(m.state)).payload.pending, undefined)
  assert.deepEqual(fell.notices.map(x => [x.kind, x.slot, x.imageVersion]), [['rolled_back', 'A', '0.1.0']])
  await refused(call(cb => client.Rollback({}, cb)), 'ERR_NODE_NO_ROLLBACK')
  t.diagnostic('after a fall-back slot B holds nothing committed: no rollback')
})

test('the health gate fails by its deadline: failed, a reboot; back on the old slot: rolled_back with the gate\'s reason', { skip }, async () => {
  const m = machine()
  await boot(m, 'A')
  const op = (await upgrade(request({ healthTimeoutS: 1 }))).operation
  const trial = await boot(m, 'B', async () => 'apid is backoff (last exit: exit 1)')
  await trial.upgrader.afterBoot()
  assert.equal(trial.operations.get(op?.id ?? '')?.state, 'failed')
  assert.deepEqual(trial.reboots, ['reboot'])
  assert.equal((await readGrubenv(m.esp)).B_OK, '0', 'never committed')
  assert.ok(!readFileSync(join(m.dir, 'watchdog'), 'latin1').endsWith('V'), 'the watchdog stays armed: a hung reboot still resets')
  const back = await boot(m, 'A')
  await back.upgrader.afterBoot()
  const got = back.operations.get(op?.id ?? '')
  assert.equal(got?.state, 'rolled_back')
  assert.match(got?.error ?? '', /^health gate: apid is backoff/)
})

test('refused with nothing written: a tampered manifest, an unknown key, a key baked into the image that is not the signer, an equal or older version, a lower security version', { skip }, async () => {
  const m = machine({ slots: { A: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: 'ab'.repeat(32), securityVersion: 2, committed: true } } })
  await boot(m, 'A')
  const before = snapshot(m)
  const tampered = request()
  tampered.manifest = Buffer.from(tampered.manifest.toString('utf8').replace('"x86_64"', '"x86_64" '))
  await refused(upgrade(tampered), /^ERR_SIGNATURE/)
  await refused(upgrade(request(signed('0.2.0', {}, generateSecretKey()))), /^ERR_SIGNATURE/)
  await refused(upgrade(request({ imageVersion: '0.3.0' })), 'ERR_SIGNATURE_COMMENT_UNEXPECTED')
  await refused(upgrade(request({ imageVersion: '0.1.0', ...signed('0.1.0', { securityVersion: 2 }) })), 'ERR_IMAGE_DOWNGRADE')
  await refused(upgrade(request({ imageVersion: '0.0.9', ...signed('0.0.9', { securityVersion: 2 }) })), 'ERR_IMAGE_DOWNGRADE')
  await refused(upgrade(request({ force: true })), 'ERR_IMAGE_DOWNGRADE') // security version 1 < 2, force or not
  writeFileSync(join(m.roots.etcAnvil, 'keys/image.pub'), encodePublicKeyString(generateSecretKey().publicKey))
  await refused(upgrade(request(signed('0.2.0', { securityVersion: 2 }))), /^ERR_SIGNATURE/)
  const now = snapshot(m)
  assert.ok(now.esp.equals(before.esp) && now.slot.equals(before.slot) && now.state.equals(before.state), 'ESP, slot B and STATE as they were')
})

test('a tampered chunk in the artifact: refused, the operation failed, grubenv never selects the slot', { skip }, async () => {
  const m = machine()
  await boot(m, 'A')
  await refused(upgrade(request({ imageUrl: server.url('/images/anvil-node/bad') })), /^ERR_IMAGE_(CHUNK|HASH)_MISMATCH$/)
  assert.deepEqual(await readGrubenv(m.esp), { ANVIL_ORDER: 'A B', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '0' })
  const state = (await readState(m.state)).payload
  assert.equal(state.pending, undefined)
  assert.equal(state.operations?.[0]?.state, 'failed')
  assert.match(state.operations?.[0]?.errorCode ?? '', /^ERR_IMAGE_(CHUNK|HASH)_MISMATCH$/)
  assert.ok(!readFileSync(m.slotB).equals(img.raw.subarray(SLOT.start, SLOT.end)))
})

let envFiles = 0
function writeGrubenvFile (_t: TestContext, vars: Record<string, string>): string {
  const file = join(root, `grubenv-${envFiles++}`)
  writeFileSync(file, encodeGrubenv(vars))
  return file
}

test('grubenv as mtools reads it after an upgrade selects B (the bytes GRUB\'s load_env reads)', { skip }, async () => {
  const m = machine()
  await boot(m, 'A')
  await upgrade(request())
  assert.deepEqual(decodeGrubenv(execFileSync('mtype', ['-i', m.esp, '::/grub/grubenv'])), { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '1' })
})

test('an Upgrade that outlasts the answer deadline is answered with its operation as it is; GetOperation follows it to the reboot', { skip }, async () => {
  const m = machine()
  const booted = await boot(m, 'A', undefined, { upgradeAnswerMs: 1 })
  const op = (await upgrade(request())).operation
  assert.ok(op !== null && op.state === 'running', JSON.stringify(op))
  assert.ok(['fetch', 'write', 'verify', 'reboot'].includes(op.phase), op.phase)
  let seen = op
  for (let i = 0; i < 600 && seen.phase !== 'reboot'; i++) {
    await new Promise(resolve => setTimeout(resolve, 20))
    seen = (await call<OperationReply>(cb => client.GetOperation({ id: op.id }, cb))).operation ?? seen
    assert.equal(seen.state, 'running')
  }
  assert.equal(seen.phase, 'reboot')
  assert.equal((await readGrubenv(m.esp)).ANVIL_ORDER, 'B A')
  assert.deepEqual(booted.reboots, ['reboot'])
})
