// Reset on the node: the plan (pure), then the real node API on a unix socket over a machine of
// files: a sysfs tree naming EFI (an ESP made by mkfs.vfat and mtools as the image build makes it),
// ANVIL-STATE (a real STATE record) and ANVIL-EPHEMERAL (a pattern), a real supervised child, and
// ports that stand in for power and for Anvil (the notice's own wire test is
// test/integration/node-notice-grpc.test.ts). Every mode is checked byte by byte.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as delay } from 'node:timers/promises'
import { after, before, test } from 'node:test'
import { credentials, status, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadNodeProto } from '../../grpc/proto.ts'
import { decodeGrubenv, encodeGrubenv, INITIAL_ENV } from '../../image/grub.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, encodeStateCopy, pickState, STATE_SCHEMA, type StatePayload } from '../../node-state/record.ts'
import type { NodeClient } from '../../proto/generated/anvil/node/v1/Node.ts'
import type { OperationReply } from '../../proto/generated/anvil/node/v1/OperationReply.ts'
import { skipReason } from '../../../test/helpers/requirements.ts'
import { AnvilCallError } from '../trustd/anvil-ca.ts'
import { BusyGuard } from './busy.ts'
import { locateGrubenv } from './esp-grubenv.ts'
import type { NodeNotice } from './node-notice.ts'
import { startNodeApi } from './node-api.ts'
import { parseResetWipe, resetPlan } from './reset.ts'
import { Supervisor } from './supervisor.ts'

const MiB = 1 << 20
const skip = skipReason('the node reset test', { programs: ['mkfs.vfat', 'mmd', 'mcopy'] })
const root = mkdtempSync(join(tmpdir(), 'anvil-reset-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
/** Keeps a test child alive, and ends it should this test process die without stopping it. */
const STAY = `setInterval(() => { if (process.ppid !== ${process.pid}) process.exit(0) }, 500)`

test('the wipe mode: "" is all; anything unknown is ERR_VALIDATION', () => {
  assert.equal(parseResetWipe(''), 'all')
  assert.equal(parseResetWipe('ephemeral'), 'ephemeral')
  assert.throws(() => parseResetWipe('disk'), { code: 'ERR_VALIDATION' })
})

test('the plan: grubenv first for all; EPHEMERAL by its ends, whole when small; missing partitions noted; all without an ESP refused', () => {
  const p = (name: string, bytes: number) => ({ name, device: `/dev/${name}`, bytes })
  const disk = { esp: p('vda2', 64 * MiB), state: p('vda5', 16 * MiB), ephemeral: p('vda6', 100 * MiB) }
  assert.deepEqual(resetPlan('all', disk).steps, [
    { kind: 'grubenv', device: '/dev/vda2' },
    { kind: 'zero', what: 'ANVIL-STATE', device: '/dev/vda5', ranges: [{ offset: 0, length: 16 * MiB }] },
    { kind: 'zero', what: 'ANVIL-EPHEMERAL', device: '/dev/vda6', ranges: [{ offset: 0, length: MiB }, { offset: 99 * MiB, length: MiB }] }
  ])
  assert.deepEqual(resetPlan('state', disk).steps.map(s => s.kind === 'zero' ? s.what : s.kind), ['ANVIL-STATE'])
  assert.deepEqual(resetPlan('ephemeral', { ephemeral: p('vda6', 3 * MiB) }).steps, [{ kind: 'zero', what: 'ANVIL-EPHEMERAL', device: '/dev/vda6', ranges: [{ offset: 0, length: 3 * MiB }] }])
  const noEphemeral = resetPlan('all', { esp: disk.esp, state: disk.state })
  assert.equal(noEphemeral.steps.length, 2)
  assert.match(noEphemeral.notes.join(), /no ANVIL-EPHEMERAL partition/)
  assert.throws(() => resetPlan('all', { state: disk.state }), (err: Error & { code?: string }) => err.code === 'ERR_STATE_INVALID' && /nothing is wiped/.test(err.message))
})

let espTemplate = ''
before(() => {
  if (skip !== undefined) return
  espTemplate = join(root, 'esp.img')
  writeFileSync(join(root, 'grubenv'), encodeGrubenv({ ...INITIAL_ENV, A_OK: '1' }))
  execFileSync('mkfs.vfat', ['-C', '--invariant', '-F', '32', '-s', '1', '-S', '512', '-n', 'ANVIL-EFI', espTemplate, String(64 * 1024)], { stdio: 'ignore' })
  execFileSync('mmd', ['-i', espTemplate, '::/EFI', '::/EFI/BOOT', '::/grub'])
  execFileSync('mcopy', ['-m', '-i', espTemplate, join(root, 'grubenv'), '::/grub/grubenv'])
})

const STATE: StatePayload = {
  schema: STATE_SCHEMA,
  machineId: 'm-reset-0001',
  install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: '0'.repeat(64), slot: 'A', disk: 'vda', installedAt: 0 },
  config: { yaml: 'version: v1alpha1\n', signature: 'sig', generation: 2 },
  trust: { configKey: '', imageKeys: [] },
  server: { host: '127.0.0.1', port: 1, fingerprint: '' }
}

let n = 0
/**
 * A node of files with its API on a unix socket: EFI, STATE and EPHEMERAL partitions, one
 * supervised child, a power port and a notice port that record (the notice fails when `refuse`).
 */
async function node (o: { ephemeralBytes?: number, refuse?: boolean, busy?: BusyGuard } = {}) {
  const dir = join(root, `n${n++}`)
  const sys = join(dir, 'sys')
  const dev = join(dir, 'dev')
  mkdirSync(dev, { recursive: true })
  const ephemeralBytes = o.ephemeralBytes ?? 8 * MiB
  const parts = [['vda2', 'EFI', 64 * MiB], ['vda5', 'ANVIL-STATE', 16 * MiB], ['vda6', 'ANVIL-EPHEMERAL', ephemeralBytes]] as const
  for (const [name, partName, size] of parts) {
    mkdirSync(join(sys, 'class/block', name), { recursive: true })
    writeFileSync(join(sys, 'class/block', name, 'uevent'), `MAJOR=254\nDEVNAME=${name}\nDEVTYPE=partition\nPARTNAME=${partName}\n`)
    writeFileSync(join(sys, 'class/block', name, 'size'), `${size / 512}\n`)
  }
  mkdirSync(join(sys, 'class/block/vda'), { recursive: true })
  writeFileSync(join(sys, 'class/block/vda/uevent'), 'DEVNAME=vda\nDEVTYPE=disk\n')
  const esp = join(dev, 'vda2')
  const state = join(dev, 'vda5')
  const ephemeral = join(dev, 'vda6')
  writeFileSync(esp, readFileSync(espTemplate))
  const stateBytes = Buffer.alloc(16 * MiB)
  const copy = encodeStateCopy(STATE, 1n)
  for (const at of COPY_OFFSETS) copy.copy(stateBytes, at)
  writeFileSync(state, stateBytes)
  writeFileSync(ephemeral, Buffer.alloc(ephemeralBytes, 0xa5))
  const proc = join(dir, 'proc')
  mkdirSync(join(proc, 'sys/kernel/random'), { recursive: true })
  writeFileSync(join(proc, 'cmdline'), 'anvil.slot=A anvil.try=0 console=ttyS0\n')
  writeFileSync(join(proc, 'sys/kernel/random/boot_id'), '8f0c1f6e-3d0b-4d2a-9c4b-2b1f0e6a7d55\n')
  const supervisor = new Supervisor({ graceMs: 5000 })
  supervisor.start({ id: 'apid', argv: [process.execPath, '-e', `console.log("up"); ${STAY}`] })
  const events: string[] = []
  const notices: NodeNotice[] = []
  const lines: string[] = []
  // When the first service stops, what STATE still holds: services go before anything is wiped.
  let stateAtStop: boolean | undefined
  supervisor.watch(s => {
    if (s.state === 'stopped' && stateAtStop === undefined) {
      stateAtStop = validState(state)
      events.push('services stopped')
    }
  })
  let rebooted: () => void = () => {}
  const reboot = new Promise<void>(resolve => { rebooted = resolve })
  const socket = join(dir, 'run/machined.sock')
  const api = await startNodeApi({
    socket,
    roots: { proc, sys, dev, etcAnvil: join(dir, 'etc') },
    state: STATE,
    supervisor,
    power: { reboot: async () => { events.push('reboot'); rebooted() }, powerOff: async () => { events.push('powerOff') } },
    log: line => lines.push(line),
    sync: async () => { events.push('sync') },
    settleMs: 0,
    notice: async (x) => {
      notices.push(x)
      events.push(`notice (STATE ${validState(state) ? 'intact' : 'gone'}, apid ${supervisor.list().find(s => s.id === 'apid')?.state ?? '?'})`)
      if (o.refuse === true) throw new AnvilCallError('grpc UNAVAILABLE', 'No connection established')
      return { machineState: 'resetting' }
    },
    ...(o.busy === undefined ? {} : { busy: o.busy })
  })
  const proto = await loadNodeProto()
  const client: NodeClient = new proto.anvil.node.v1.Node(`unix:${socket}`, credentials.createInsecure())
  after(async () => { client.close(); await supervisor.stopAll(); await api.stop() })
  while (supervisor.list().find(s => s.id === 'apid')?.state !== 'running') await delay(10)
  const files = { esp: readFileSync(esp), state: readFileSync(state), ephemeral: readFileSync(ephemeral) }
  const reset = async (graceful: boolean, wipe: string): Promise<OperationReply> => await new Promise((resolve, reject) => {
    client.Reset({ graceful, wipe }, (err: ServiceError | null, r?: OperationReply) => { if (err !== null) reject(err); else resolve(r as OperationReply) })
  })
  const until = async (pred: () => boolean): Promise<void> => { while (!pred()) await delay(10) }
  return { esp, state, ephemeral, files, events, notices, lines, reset, reboot, until, supervisor, stateAtStop: () => stateAtStop }
}

function validState (file: string): boolean {
  const b = readFileSync(file)
  try {
    pickState([b.subarray(COPY_OFFSETS[0], COPY_READ_BYTES), b.subarray(COPY_OFFSETS[1], COPY_OFFSETS[1] + COPY_READ_BYTES)])
    return true
  } catch {
    return false
  }
}

const zeroes = (b: Buffer): boolean => b.every(x => x === 0)

function grubenvOf (esp: string): { vars: Record<string, string>, offset: number } {
  const b = readFileSync(esp)
  const at = locateGrubenv((o, l) => b.subarray(o, o + l))
  return { vars: decodeGrubenv(b.subarray(at.offset, at.offset + 1024)), offset: at.offset }
}

/** `now` equals `was` outside [from, from + length). */
function sameOutside (now: Buffer, was: Buffer, from: number, length: number): boolean {
  return now.length === was.length && now.subarray(0, from).equals(was.subarray(0, from)) && now.subarray(from + length).equals(was.subarray(from + length))
}

test('wipe all, graceful: Anvil told while apid still serves, services stopped before any byte is erased; no slot bootable, STATE gone, EPHEMERAL\'s ends zeroed; rebooted', { skip }, async () => {
  const m = await node()
  const reply = await m.reset(true, '')
  assert.equal(reply.operation?.kind, 'reset')
  assert.equal(reply.operation?.state, 'running')
  assert.match(reply.operation?.id ?? '', /^op-/)
  await m.reboot
  assert.deepEqual(m.events, ['notice (STATE intact, apid running)', 'services stopped', 'sync', 'reboot'])
  assert.equal(m.stateAtStop(), true, 'STATE was intact when the services stopped')
  assert.deepEqual(m.notices, [{ kind: 'reset', operationId: reply.operation?.id, imageName: 'anvil-node', imageVersion: '0.1.0', slot: 'A', detail: 'graceful reset, wipe all' }])
  const env = grubenvOf(m.esp)
  assert.deepEqual(env.vars, { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '0', B_OK: '0', B_LEFT: '0' })
  assert.ok(sameOutside(readFileSync(m.esp), m.files.esp, env.offset, 512), 'the ESP is unchanged but grubenv\'s first sector')
  assert.ok(zeroes(readFileSync(m.state)), 'both STATE copies, the whole partition, zeroed')
  const e = readFileSync(m.ephemeral)
  assert.ok(zeroes(e.subarray(0, MiB)) && zeroes(e.subarray(7 * MiB)), 'EPHEMERAL\'s first and last MiB zeroed')
  assert.ok(e.subarray(MiB, 7 * MiB).every(x => x === 0xa5), 'and nothing between')
})

test('wipe state: only STATE; wipe ephemeral: only EPHEMERAL, whole when small; not graceful: services left running', { skip }, async () => {
  const a = await node()
  await a.reset(false, 'state')
  await a.reboot
  assert.ok(zeroes(readFileSync(a.state)))
  assert.ok(readFileSync(a.esp).equals(a.files.esp), 'the ESP untouched')
  assert.ok(readFileSync(a.ephemeral).equals(a.files.ephemeral), 'EPHEMERAL untouched')
  assert.deepEqual(a.events, ['notice (STATE intact, apid running)', 'sync', 'reboot'], 'a forced reset stops no service')
  const b = await node({ ephemeralBytes: 2 * MiB })
  await b.reset(false, 'ephemeral')
  await b.reboot
  assert.ok(zeroes(readFileSync(b.ephemeral)), 'a 2 MiB EPHEMERAL is zeroed whole')
  assert.ok(readFileSync(b.state).equals(b.files.state) && validState(b.state), 'STATE untouched')
  assert.ok(readFileSync(b.esp).equals(b.files.esp))
})

test('graceful, and Anvil cannot be told: the reset fails, nothing is wiped, the services run on; it can be asked again', { skip }, async () => {
  const m = await node({ refuse: true })
  const { operation } = await m.reset(true, 'all')
  await m.until(() => m.lines.some(l => l.includes(`reset ${operation?.id ?? ''}: failed`)))
  const failed = m.lines.find(l => l.includes('failed:')) ?? ''
  assert.match(failed, /Anvil was not told \(grpc UNAVAILABLE: No connection established\): nothing wiped/)
  assert.ok(readFileSync(m.esp).equals(m.files.esp) && readFileSync(m.state).equals(m.files.state) && readFileSync(m.ephemeral).equals(m.files.ephemeral), 'every byte as it was')
  assert.deepEqual(m.events, ['notice (STATE intact, apid running)'], 'no service stopped, no sync, no reboot')
  assert.equal(m.supervisor.list().find(s => s.id === 'apid')?.state, 'running')
  // The guard was released: a forced reset goes on without Anvil.
  await m.reset(false, 'state')
  await m.reboot
  assert.ok(zeroes(readFileSync(m.state)))
  assert.ok(m.lines.some(l => /Anvil was not told .*going on, as the reset is forced/.test(l)))
})

test('refused: a wipe mode it does not know (ERR_VALIDATION); another operation holding the node (ERR_NODE_BUSY); nothing wiped', { skip }, async () => {
  const busy = new BusyGuard()
  const m = await node({ busy })
  await assert.rejects(m.reset(false, 'disks'), (err: ServiceError) => err.code === status.INVALID_ARGUMENT && err.metadata.get(ERROR_CODE_TRAILER)[0] === 'ERR_VALIDATION')
  const release = busy.take({ id: 'op-upgrade-1', kind: 'upgrade' })
  await assert.rejects(m.reset(true, 'all'), (err: ServiceError) => err.code === status.FAILED_PRECONDITION && err.metadata.get(ERROR_CODE_TRAILER)[0] === 'ERR_NODE_BUSY' && /upgrade op-upgrade-1/.test(err.details))
  release()
  const first = await m.reset(false, 'state')
  await assert.rejects(m.reset(false, 'state'), (err: ServiceError) => err.metadata.get(ERROR_CODE_TRAILER)[0] === 'ERR_NODE_BUSY' && err.details.includes(first.operation?.id ?? '?'), 'a second reset while the first runs')
  await m.reboot
  assert.equal(m.notices.length, 1)
})
