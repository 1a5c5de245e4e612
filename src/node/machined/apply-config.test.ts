// ApplyConfig on the node through the real node API on a unix socket, over a machine of files: a
// sysfs tree naming ANVIL-STATE (a real STATE record with a config signed by a test config key)
// and one NIC, /proc/sys files for the hostname and sysctls; a recorder stands in for `ip` (never
// run), a power port records the reboot, and the try's timer is the test's to fire.
import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { credentials, type ServiceError } from '@grpc/grpc-js'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadNodeProto } from '../../grpc/proto.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, encodeStateCopy, pickState, type StatePayload } from '../../node-state/record.ts'
import type { ApplyConfigReply } from '../../proto/generated/anvil/node/v1/ApplyConfigReply.ts'
import type { NodeClient } from '../../proto/generated/anvil/node/v1/Node.ts'
import type { VersionReply } from '../../proto/generated/anvil/node/v1/VersionReply.ts'
import { signConfig } from '../../signing/config-signature.ts'
import { generateSecretKey } from '../../signing/minisign.ts'
import { installedState } from '../../../test/helpers/node-state.ts'
import { BusyGuard } from './busy.ts'
import { startNodeApi } from './node-api.ts'
import { Supervisor } from './supervisor.ts'

const MiB = 1 << 20
const MAC = '52:54:00:aa:bb:01'
const MACHINE = 'm-apply-0001'
const root = mkdtempSync(join(tmpdir(), 'anvil-apply-'))
after(() => { rmSync(root, { recursive: true, force: true }) })
const key = generateSecretKey()
const NOW = Date.parse('2026-12-02T06:00:00Z')

function yaml (o: { hostname?: string, address?: string, gateway?: string, serial?: string, sysctl?: string } = {}): string {
  return `version: v1alpha1
kind: MachineConfig
hostname: ${o.hostname ?? 'node-1'}
install:
  disk:
    serial: ${o.serial ?? 'DISK1'}
network:
  interfaces:
    - mac: "${MAC}"
      addresses: ["${o.address ?? '10.0.0.5/24'}"]
      routes:
        - to: 0.0.0.0/0
          via: ${o.gateway ?? '10.0.0.1'}
${o.sysctl === undefined ? '' : `sysctls:\n  net.ipv4.ip_forward: "${o.sysctl}"\n`}`
}

const sign = (text: string, generation: number, o: { machineId?: string, expiresAt?: number, key?: ReturnType<typeof generateSecretKey> } = {}): string =>
  signConfig(Buffer.from(text), o.key ?? key, { machineId: o.machineId ?? MACHINE, generation, expiresAt: new Date(o.expiresAt ?? NOW + 3_600_000) })

let n = 0
async function node (o: { failing?: string } = {}) {
  const dir = join(root, `n${n++}`)
  const sys = join(dir, 'sys')
  const dev = join(dir, 'dev')
  const proc = join(dir, 'proc')
  mkdirSync(join(sys, 'class/block/vda5'), { recursive: true })
  writeFileSync(join(sys, 'class/block/vda5/uevent'), 'MAJOR=254\nDEVNAME=vda5\nDEVTYPE=partition\nPARTNAME=ANVIL-STATE\n')
  writeFileSync(join(sys, 'class/block/vda5/size'), `${16 * MiB / 512}\n`)
  mkdirSync(join(sys, 'class/net/eth0'), { recursive: true })
  writeFileSync(join(sys, 'class/net/eth0/address'), `${MAC}\n`)
  mkdirSync(dev, { recursive: true })
  mkdirSync(join(proc, 'sys/kernel/random'), { recursive: true })
  mkdirSync(join(proc, 'sys/net/ipv4'), { recursive: true })
  writeFileSync(join(proc, 'sys/kernel/hostname'), 'node-1')
  writeFileSync(join(proc, 'sys/net/ipv4/ip_forward'), '0')
  writeFileSync(join(proc, 'sys/kernel/random/boot_id'), 'boot-1\n')
  const state = join(dev, 'vda5')
  const base = installedState({ machineId: MACHINE, configKey: key, yaml: yaml(), server: { host: '127.0.0.1', port: 1, fingerprint: '' }, token: 't', generation: 3, expiresAt: new Date(NOW + 3_600_000) })
  const { credential: _t, ...payload } = base
  const installed: StatePayload = { ...payload, reported: { at: NOW, configGeneration: 3 } }
  const bytes = Buffer.alloc(16 * MiB)
  const copy = encodeStateCopy(installed, 1n)
  for (const at of COPY_OFFSETS) copy.copy(bytes, at)
  writeFileSync(state, bytes)
  const argvs: string[][] = []
  const events: string[] = []
  const lines: string[] = []
  const timers: Array<{ ms: number, fire: () => void, cancelled: boolean }> = []
  const busy = new BusyGuard()
  const recorded: Array<{ id: string | undefined, state: string | undefined, phase: string | undefined }> = []
  const supervisor = new Supervisor({ graceMs: 1000 })
  const socket = join(dir, 'run/machined.sock')
  const api = await startNodeApi({
    socket,
    roots: { proc, sys, dev, etcAnvil: join(dir, 'etc') },
    state: installed,
    supervisor,
    power: { reboot: async () => { events.push('reboot') }, powerOff: async () => { events.push('powerOff') } },
    log: line => lines.push(line),
    sync: async () => { events.push('sync') },
    settleMs: 0,
    busy,
    recordOperation: async (op) => { recorded.push({ id: op.id, state: op.state, phase: op.phase }) },
    now: () => NOW,
    timer: (fire, ms) => {
      const t = { ms, fire, cancelled: false }
      timers.push(t)
      return () => { t.cancelled = true }
    },
    live: {
      exec: async (argv) => {
        argvs.push([...argv])
        if (o.failing !== undefined && argv.includes(o.failing)) throw new Error('RTNETLINK answers: File exists')
      },
      writeResolvConf: async () => { events.push('resolv.conf') }
    }
  })
  const proto = await loadNodeProto()
  const client: NodeClient = new proto.anvil.node.v1.Node(`unix:${socket}`, credentials.createInsecure())
  after(async () => { client.close(); await api.stop() })
  const apply = async (text: string, signature: string, mode = '', o: { dryRun?: boolean, tryTimeoutS?: number } = {}): Promise<ApplyConfigReply> => await new Promise((resolve, reject) => {
    client.ApplyConfig({ config: Buffer.from(text), configSignature: signature, mode, dryRun: o.dryRun === true, tryTimeoutS: o.tryTimeoutS ?? 0 }, (err: ServiceError | null, r?: ApplyConfigReply) => { if (err !== null) reject(err); else resolve(r as ApplyConfigReply) })
  })
  const version = async (): Promise<VersionReply> => await new Promise((resolve, reject) => {
    client.Version({}, (err: ServiceError | null, r?: VersionReply) => { if (err !== null) reject(err); else resolve(r as VersionReply) })
  })
  const readState = (): { seq: bigint, payload: StatePayload } => {
    const b = readFileSync(state)
    return pickState([b.subarray(COPY_OFFSETS[0], COPY_READ_BYTES), b.subarray(COPY_OFFSETS[1], COPY_OFFSETS[1] + COPY_READ_BYTES)])
  }
  const hostname = (): string => readFileSync(join(proc, 'sys/kernel/hostname'), 'utf8')
  const forward = (): string => readFileSync(join(proc, 'sys/net/ipv4/ip_forward'), 'utf8')
  // Settled: the work after the reply (settleMs 0) has run.
  const settled = async (): Promise<void> => { for (let i = 0; i < 50 && busy.holder !== undefined; i++) await new Promise(resolve => setTimeout(resolve, 10)) }
  return { apply, version, readState, hostname, forward, argvs, events, lines, timers, busy, settled, client, recorded, stateFile: state }
}

const codeOf = (err: unknown): unknown => (err as ServiceError).metadata?.get(ERROR_CODE_TRAILER)[0]

test('auto, all live: STATE written first (generation 4, seq 2), then hostname, network (new before old), sysctl; no reboot', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-2', address: '10.0.1.5/24', gateway: '10.0.1.1', sysctl: '1' })
  const r = await nd.apply(text, sign(text, 4))
  assert.equal(r.appliedAs, 'live')
  assert.equal(Number(r.generation), 4)
  assert.deepEqual(r.changes, ['hostname', 'network.interfaces[0].addresses', 'network.interfaces[0].routes[0].via', 'sysctls["net.ipv4.ip_forward"]'])
  assert.equal(r.operation?.kind, 'apply-config')
  assert.equal(r.operation?.state, 'running')
  await nd.settled()
  const s = nd.readState()
  assert.equal(s.seq, 2n)
  assert.equal(s.payload.config.generation, 4)
  assert.equal(s.payload.config.yaml, text)
  assert.equal(nd.hostname(), 'node-2')
  assert.equal(nd.forward(), '1')
  assert.deepEqual(nd.argvs, [
    ['ip', 'link', 'set', 'dev', 'eth0', 'up'],
    ['ip', '-4', 'addr', 'add', '10.0.1.5/24', 'dev', 'eth0'],
    ['ip', '-4', 'route', 'replace', 'default', 'via', '10.0.1.1', 'dev', 'eth0'],
    ['ip', '-4', 'addr', 'del', '10.0.0.5/24', 'dev', 'eth0']
  ])
  assert.deepEqual(nd.events, [])
  assert.equal(Number((await nd.version()).configGeneration), 4)
  assert.ok(nd.lines.some(l => /apply-config op-[0-9a-f-]+: succeeded/.test(l)))
  // No value of the config on the console: key paths only.
  assert.ok(!nd.lines.some(l => l.includes('10.0.1.5') && !l.includes('ip ')), 'addresses appear only in the argv of a failed step')
})

test('the install disk: auto writes STATE and reboots (services stopped, sync); no-reboot and try refuse it with nothing changed', async () => {
  const nd = await node()
  const text = yaml({ serial: 'DISK2', hostname: 'node-3' })
  for (const mode of ['no-reboot', 'try']) {
    await assert.rejects(nd.apply(text, sign(text, 4), mode), (err: ServiceError) => codeOf(err) === 'ERR_VALIDATION' && err.details.includes('install.disk.serial'))
  }
  assert.equal(nd.readState().seq, 1n)
  assert.equal(nd.hostname(), 'node-1')
  const r = await nd.apply(text, sign(text, 4), 'auto')
  assert.equal(r.appliedAs, 'reboot')
  await nd.settled()
  assert.deepEqual(nd.events, ['sync', 'reboot'])
  assert.equal(nd.readState().payload.config.generation, 4)
  assert.equal(nd.hostname(), 'node-1', 'nothing live: the next boot applies it')
  assert.deepEqual(nd.argvs, [])
})

test('reboot mode: written, then a reboot, even when everything could be live', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-4' })
  const r = await nd.apply(text, sign(text, 5), 'reboot')
  assert.equal(r.appliedAs, 'reboot')
  await nd.settled()
  assert.deepEqual(nd.events, ['sync', 'reboot'])
  assert.equal(nd.readState().payload.config.generation, 5)
  assert.equal(nd.hostname(), 'node-1')
})

test('dry run: the changes only, no operation, nothing written or run', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-5', serial: 'DISK9' })
  const r = await nd.apply(text, sign(text, 4), 'no-reboot', { dryRun: true })
  assert.equal(r.appliedAs, 'dry-run')
  assert.equal(r.operation, null)
  assert.deepEqual(r.changes, ['hostname', 'install.disk.serial'])
  assert.equal(nd.readState().seq, 1n)
  assert.equal(nd.hostname(), 'node-1')
  assert.deepEqual(nd.argvs, [])
})

test('refused with nothing changed: a bad signature, another machine\'s config, an equal or older generation, an expired one, another key, an invalid config', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-6' })
  const good = sign(text, 4)
  const cases: Array<[string, string, string, string]> = [
    ['bytes changed after signing', text.replace('node-6', 'node-7'), good, 'ERR_SIGNATURE_INVALID'],
    ['another machine', text, sign(text, 4, { machineId: 'm-other-0002' }), 'ERR_CONFIG_WRONG_MACHINE'],
    ['the running generation', text, sign(text, 3), 'ERR_CONFIG_REPLAYED'],
    ['an older generation', text, sign(text, 2), 'ERR_CONFIG_REPLAYED'],
    ['expired', text, sign(text, 4, { expiresAt: NOW - 1000 }), 'ERR_CONFIG_EXPIRED'],
    ['another key', text, sign(text, 4, { key: generateSecretKey() }), 'ERR_SIGNATURE_KEY_MISMATCH'],
    ['not a machine config', 'hostname: x\n', sign('hostname: x\n', 4), 'ERR_MACHINE_CONFIG_INVALID']
  ]
  for (const [why, t, sig, code] of cases) {
    await assert.rejects(nd.apply(t, sig), (err: ServiceError) => { assert.equal(codeOf(err), code, why); return true })
  }
  await assert.rejects(nd.apply(text, good, 'staged'), (err: ServiceError) => codeOf(err) === 'ERR_VALIDATION')
  assert.equal(nd.readState().seq, 1n)
  assert.equal(nd.hostname(), 'node-1')
  assert.deepEqual(nd.argvs, [])
  assert.deepEqual(nd.events, [])
})

test('busy: refused while a reset (or upgrade) holds the node', async () => {
  const nd = await node()
  const release = nd.busy.take({ id: 'op-reset', kind: 'reset' })
  const text = yaml({ hostname: 'node-8' })
  await assert.rejects(nd.apply(text, sign(text, 4)), (err: ServiceError) => codeOf(err) === 'ERR_NODE_BUSY' && err.details.includes('op-reset'))
  release()
  assert.equal(nd.readState().seq, 1n)
})

test('try: live with STATE untouched; the timer restores the previous config by itself (rolled back)', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-9', address: '10.0.0.6/24' })
  const r = await nd.apply(text, sign(text, 4), 'try', { tryTimeoutS: 30 })
  assert.equal(r.appliedAs, 'live')
  await nd.settled()
  assert.equal(nd.hostname(), 'node-9')
  assert.equal(nd.readState().seq, 1n, 'STATE keeps the old config: a reboot now boots it')
  assert.equal(nd.timers.length, 1)
  assert.equal(nd.timers[0]?.ms, 30_000)
  // Another generation is refused while one is on trial.
  const other = yaml({ hostname: 'node-10' })
  await assert.rejects(nd.apply(other, sign(other, 5)), (err: ServiceError) => codeOf(err) === 'ERR_NODE_BUSY')
  nd.argvs.length = 0
  nd.timers[0]?.fire()
  for (let i = 0; i < 50 && nd.hostname() !== 'node-1'; i++) await new Promise(resolve => setTimeout(resolve, 10))
  await nd.settled()
  assert.equal(nd.hostname(), 'node-1')
  assert.deepEqual(nd.argvs, [
    ['ip', 'link', 'set', 'dev', 'eth0', 'up'],
    ['ip', '-4', 'addr', 'add', '10.0.0.5/24', 'dev', 'eth0'],
    ['ip', '-4', 'addr', 'del', '10.0.0.6/24', 'dev', 'eth0']
  ])
  assert.equal(nd.readState().seq, 1n)
  assert.ok(nd.lines.some(l => l.includes('rolled back')))
  assert.deepEqual(nd.recorded.map(o => `${o.state ?? ''} ${o.phase ?? ''}`), ['running verify', 'running trying', 'rolled_back reverted'], 'the operations list hears each step')
  assert.ok(nd.recorded.every(o => o.id === r.operation?.id))
  // The trial is over: the same generation may be tried or applied again.
  const again = await nd.apply(text, sign(text, 4), 'no-reboot')
  assert.equal(again.appliedAs, 'live')
})

test('try, then confirmed by the same generation in another mode: kept and written to STATE, the timer cancelled', async () => {
  const nd = await node()
  const text = yaml({ hostname: 'node-11' })
  const sig = sign(text, 4)
  await nd.apply(text, sig, 'try')
  await nd.settled()
  assert.equal(nd.timers[0]?.ms, 120_000, 'try_timeout_s 0 is 120 s')
  const c = await nd.apply(text, sig, 'auto')
  assert.deepEqual(c.changes, [], 'nothing left to change: it is live already')
  await nd.settled()
  assert.equal(nd.timers[0]?.cancelled, true)
  assert.deepEqual(nd.recorded.map(o => `${o.state ?? ''} ${o.phase ?? ''}`), ['running verify', 'running trying', 'running verify', 'succeeded confirmed', 'succeeded apply'])
  const s = nd.readState()
  assert.equal(s.seq, 2n)
  assert.equal(s.payload.config.generation, 4)
  assert.equal(nd.hostname(), 'node-11')
  assert.deepEqual(nd.events, [])
})

test('a live step that fails is reported and the rest go on; the operation fails, STATE keeps the new generation for the next boot', async () => {
  const nd = await node({ failing: 'add' })
  const text = yaml({ hostname: 'node-12', address: '10.0.0.7/24' })
  await nd.apply(text, sign(text, 4), 'no-reboot')
  await nd.settled()
  assert.equal(nd.hostname(), 'node-12')
  assert.deepEqual(nd.argvs.map(a => a.join(' ')), ['ip link set dev eth0 up', 'ip -4 addr add 10.0.0.7/24 dev eth0', 'ip -4 addr del 10.0.0.5/24 dev eth0'])
  assert.ok(nd.lines.some(l => /failed: 1 live step\(s\) failed: ip -4 addr add 10\.0\.0\.7\/24 dev eth0: RTNETLINK answers: File exists; STATE holds generation 4/.test(l)), nd.lines.join('\n'))
  assert.equal(nd.readState().payload.config.generation, 4)
})

test('a config that is not UTF-8 is refused before it is verified', async () => {
  const nd = await node()
  const bytes = Buffer.from([0x68, 0x6f, 0xc3, 0x28])
  const raw = await new Promise<unknown>((resolve) => {
    nd.client.ApplyConfig({ config: bytes, configSignature: 'x', mode: '', dryRun: false, tryTimeoutS: 0 }, (err: ServiceError | null) => { resolve(codeOf(err)) })
  })
  assert.equal(raw, 'ERR_VALIDATION')
  assert.equal(nd.readState().seq, 1n)
})
