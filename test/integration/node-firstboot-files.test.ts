// The node's first boot (src/node/machined/first-boot.ts) against real peers, without a VM: a sysfs tree of our own whose
// partitions are files (an ESP made by mkfs.vfat and mtools as the image build makes it, a 16 MiB
// STATE written with the codec), the real provisioning gRPC server with TLS on 127.0.0.1 and the
// real NodeReportService over SQLite. Only `ip`/`udhcpc` are recorded instead of run.
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Writable } from 'node:stream'
import { after, before, test } from 'node:test'
import { eq } from 'drizzle-orm'
import { machineNodes } from '../../src/db/schema.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { decodeGrubenv, encodeGrubenv, grubCfg, INITIAL_ENV } from '../../src/image/grub.ts'
import { MachineState } from '../../src/inventory/machine.ts'
import { createLogger } from '../../src/log/logger.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, pickState } from '../../src/node-state/record.ts'
import { encodePublicKey, generateSecretKey } from '../../src/signing/minisign.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { issueNodeToken, makeNodeReports, setMachineState } from '../helpers/node-report.ts'
import { installedState, machineConfigYaml, writeStatePartition, type InstalledStateOptions } from '../helpers/node-state.ts'
import { skipReason } from '../helpers/requirements.ts'
import { locateGrubenv } from '../../src/node/machined/esp-grubenv.ts'
import { runFirstBoot, type FirstBootDeps, type FirstBootOutcome } from '../../src/node/machined/first-boot.ts'
import { reportIn } from '../../src/node/machined/report-in.ts'

const skip = skipReason('the node first-boot test', { programs: ['mkfs.vfat', 'mmd', 'mcopy', 'mtype', 'mshowfat'] })
const MAC = '52:54:00:12:34:56'
const root = mkdtempSync(join(tmpdir(), 'anvil-firstboot-'))
after(() => { rmSync(root, { recursive: true, force: true }) })

let espTemplate = ''
before(() => {
  if (skip !== undefined) return
  // The ESP as src/image/build.ts makes it: FAT32, one sector per cluster, directories, then grubenv first.
  espTemplate = join(root, 'esp.img')
  const env = join(root, 'grubenv')
  writeFileSync(env, encodeGrubenv(INITIAL_ENV))
  writeFileSync(join(root, 'grub.cfg'), grubCfg())
  execFileSync('mkfs.vfat', ['-C', '--invariant', '-F', '32', '-s', '1', '-S', '512', '-n', 'ANVIL-EFI', espTemplate, String(64 * 1024)], { stdio: 'ignore' })
  execFileSync('mmd', ['-i', espTemplate, '::/EFI', '::/EFI/BOOT', '::/grub'])
  execFileSync('mcopy', ['-m', '-i', espTemplate, env, '::/grub/grubenv'])
  execFileSync('mcopy', ['-m', '-i', espTemplate, join(root, 'grub.cfg'), '::/grub/grub.cfg'])
})

let n = 0
/** A machine of files: sysfs with vda2 (EFI) and vda5 (ANVIL-STATE), /dev, /proc, /etc/anvil, /run, one NIC. */
function machine (): { dir: string, state: string, esp: string, roots: FirstBootDeps['roots'] } {
  const dir = join(root, `m${n++}`)
  const sys = join(dir, 'sys')
  const dev = join(dir, 'dev')
  for (const [name, partName, size] of [['vda2', 'EFI', 64 << 20], ['vda5', 'ANVIL-STATE', 16 << 20]] as const) {
    mkdirSync(join(sys, 'class/block', name), { recursive: true })
    writeFileSync(join(sys, 'class/block', name, 'uevent'), `MAJOR=254\nMINOR=2\nDEVNAME=${name}\nDEVTYPE=partition\nPARTN=2\nPARTNAME=${partName}\n`)
    writeFileSync(join(sys, 'class/block', name, 'size'), `${size / 512}\n`)
  }
  mkdirSync(join(sys, 'class/block/vda'), { recursive: true })
  writeFileSync(join(sys, 'class/block/vda/uevent'), 'MAJOR=254\nMINOR=0\nDEVNAME=vda\nDEVTYPE=disk\n')
  mkdirSync(join(sys, 'class/net/ens3'), { recursive: true })
  writeFileSync(join(sys, 'class/net/ens3/address'), `${MAC}\n`)
  mkdirSync(dev)
  writeFileSync(join(dev, 'vda2'), readFileSync(espTemplate))
  writeFileSync(join(dev, 'vda5'), '')
  truncateSync(join(dev, 'vda5'), 16 << 20)
  const proc = join(dir, 'proc')
  mkdirSync(join(proc, 'sys/kernel/random'), { recursive: true })
  writeFileSync(join(proc, 'cmdline'), 'anvil.slot=A anvil.try=1 console=ttyS0,115200 panic=-1 quiet\n')
  writeFileSync(join(proc, 'sys/kernel/random/boot_id'), '8f0c1f6e-3d0b-4d2a-9c4b-2b1f0e6a7d55\n')
  writeFileSync(join(proc, 'sys/kernel/hostname'), 'anvil-node')
  mkdirSync(join(dir, 'etc/anvil/keys'), { recursive: true })
  mkdirSync(join(dir, 'run'))
  return { dir, state: join(dev, 'vda5'), esp: join(dev, 'vda2'), roots: { sys, dev, proc, etcAnvil: join(dir, 'etc/anvil'), run: join(dir, 'run') } }
}

/** The server side: inventory, a machine installing, a token, the gRPC listener. */
async function server () {
  const inv = makeInventory()
  inv.clock.t = Date.now()
  const prov = makeProvisioning(inv)
  const certDir = join(root, `cert${n++}`)
  const cert = await ensureServerCertificate(certDir, { ip: '127.0.0.1' })
  const grpc = createProvisioningService({ listen: '127.0.0.1:0', gateway: prov.agents, nodeReports: makeNodeReports(inv, prov), tls: cert, log: createLogger('error', new Writable({ write (_c, _e, cb) { cb() } })) })
  await grpc.start(new AbortController().signal)
  after(async () => { await grpc.stop() })
  const m = await inv.machines.enroll({ mac: MAC })
  setMachineState(inv.db, m.id)
  const token = issueNodeToken(inv.db, m.id, { now: inv.clock.now() })
  return { inv, id: m.id, token, target: { host: '127.0.0.1', port: grpc.address().port, fingerprint: cert.fingerprint } }
}

type Run = { outcome: FirstBootOutcome, lines: string[], argv: string[][], reports: number }

async function boot (m: ReturnType<typeof machine>, extra: Partial<FirstBootDeps> = {}): Promise<Run> {
  const lines: string[] = []
  const argv: string[][] = []
  let reports = 0
  const outcome = await runFirstBoot({
    roots: m.roots,
    console: (l) => { lines.push(l) },
    exec: async (a) => { argv.push([...a]) },
    now: () => Date.now(),
    reportIn: async (target, token, report) => { reports++; return await reportIn(target, token, report, { protoFile: join(import.meta.dirname, '../../src/proto/provisioning.proto'), log: (l) => { lines.push(l) }, budgetMs: 5_000 }) },
    addresses: () => ['10.77.0.50/24'],
    ...extra
  })
  return { outcome, lines, argv, reports }
}

function stateOf (file: string): ReturnType<typeof pickState> {
  const buf = readFileSync(file)
  return pickState([buf.subarray(COPY_OFFSETS[0], COPY_READ_BYTES), buf.subarray(COPY_OFFSETS[1], COPY_OFFSETS[1] + COPY_READ_BYTES)])
}

const configKey = generateSecretKey()
const yaml = machineConfigYaml({ mac: MAC, address: '10.77.0.50/24', gateway: '10.77.0.1', nameserver: '10.77.0.1' })
const stateFor = (s: Awaited<ReturnType<typeof server>>, over: Partial<InstalledStateOptions> = {}): ReturnType<typeof installedState> =>
  installedState({ machineId: s.id, configKey, yaml, server: s.target, token: s.token, ...over })

test('grubenv is found through the ESP\'s FAT where mshowfat says it is', { skip }, () => {
  const buf = readFileSync(espTemplate)
  const at = locateGrubenv((o, l) => buf.subarray(o, o + l))
  const run = /<(\d+)/.exec(execFileSync('mshowfat', ['-i', espTemplate, '::/grub/grubenv'], { encoding: 'utf8' }))
  const dataStart = (buf.readUInt16LE(14) + buf[16]! * buf.readUInt32LE(36)) * 512
  assert.equal(at.offset, dataStart + (Number(run?.[1]) - 2) * 512)
  assert.equal(at.size, 1024)
  assert.deepEqual(decodeGrubenv(buf.subarray(at.offset, at.offset + 1024)), { ...INITIAL_ENV })
})

test('first boot: config verified, network applied by argv, identity made, reported in, STATE rewritten without the token, slot A committed', { skip }, async () => {
  const s = await server()
  const m = machine()
  writeStatePartition(m.state, 0, stateFor(s))
  const r = await boot(m)
  assert.equal(r.outcome, 'reported', r.lines.join('\n'))
  assert.ok(r.lines.includes(`anvil-node: reported in as ${s.id} (slot A, config generation 1)`), r.lines.join('\n'))
  assert.ok(r.lines.some(l => /config generation 1 verified with the config key in STATE \(this image has none baked in\)/.test(l)))
  assert.ok(!r.lines.some(l => l.includes(s.token)), 'the token is never printed')
  assert.deepEqual(r.argv, [
    ['ip', 'link', 'set', 'dev', 'ens3', 'up'],
    ['ip', '-4', 'addr', 'add', '10.77.0.50/24', 'dev', 'ens3'],
    ['ip', '-4', 'route', 'add', 'default', 'via', '10.77.0.1', 'dev', 'ens3']
  ])
  assert.equal(readFileSync(join(m.roots.run, 'resolv.conf'), 'utf8'), 'nameserver 10.77.0.1\n')
  assert.equal(readFileSync(join(m.roots.proc, 'sys/kernel/hostname'), 'utf8'), 'node-1')

  assert.equal((await s.inv.machines.get(s.id)).state, MachineState.provisioned)
  const st = stateOf(m.state)
  assert.equal(st.seq, 3n, 'identity, then the report: two writes')
  assert.equal(st.payload.credential, undefined, 'the token is gone from STATE')
  assert.equal(st.payload.reported?.configGeneration, 1)
  const node = s.inv.db.select().from(machineNodes).where(eq(machineNodes.machineId, s.id)).get()
  assert.equal(node?.publicKey, st.payload.identity?.publicKeySpki, 'the server holds the node\'s public key')
  assert.equal(node?.bootId, '8f0c1f6e-3d0b-4d2a-9c4b-2b1f0e6a7d55')
  // Read back by mtools, an independent FAT reader: only A_OK changed.
  assert.deepEqual(decodeGrubenv(execFileSync('mtype', ['-i', m.esp, '::/grub/grubenv'])), { ...INITIAL_ENV, A_OK: '1' })

  // A reboot: no token left, nothing sent, the slot stays committed.
  const again = await boot(m)
  assert.equal(again.outcome, 'reported')
  assert.equal(again.reports, 0)
  assert.ok(again.lines.includes('anvil-node: slot A was committed already'))
  assert.equal(stateOf(m.state).seq, 3n, 'nothing written')
})

test('STATE\'s config is booted after its signature\'s expiry: the expiry bounds delivery, not how long a node runs it', { skip }, async () => {
  const s = await server()
  const m = machine()
  // Signed with a day's validity, booted two days later (the signature's clock is long past).
  writeStatePartition(m.state, 0, stateFor(s, { expiresAt: new Date(Date.now() - 24 * 3600 * 1000) }))
  const r = await boot(m)
  assert.equal(r.outcome, 'reported', r.lines.join('\n'))
  assert.ok(!r.lines.some(l => /ERR_CONFIG_EXPIRED/.test(l)), r.lines.join('\n'))
  assert.equal(r.argv.length, 3, 'the network applied')
})

test('the config is refused (other machine, replayed, tampered, unknown key): no network, no report, STATE as it was', { skip }, async () => {
  const s = await server()
  const other = generateSecretKey()
  const cases: Array<[string, ReturnType<typeof installedState>, RegExp]> = [
    ['other machine', stateFor(s, { signedFor: 'another-machine' }), /config refused: ERR_CONFIG_WRONG_MACHINE /],
    ['replayed', { ...stateFor(s, { generation: 1 }), reported: { at: 1, configGeneration: 2 } }, /config refused: ERR_CONFIG_REPLAYED /],
    ['tampered', { ...stateFor(s), config: { ...stateFor(s).config, yaml: yaml.replace('node-1', 'node-2') } }, /config refused: ERR_SIGNATURE_INVALID /],
    ['another key', { ...stateFor(s, { configKey: other }), trust: stateFor(s).trust }, /config refused: ERR_SIGNATURE_/]
  ]
  for (const [name, payload, line] of cases) {
    const m = machine()
    writeStatePartition(m.state, 0, payload)
    const r = await boot(m)
    assert.equal(r.outcome, 'refused', name)
    assert.ok(r.lines.some(l => line.test(l)), `${name}: ${r.lines.join('\n')}`)
    assert.deepEqual([r.argv, r.reports], [[], 0], `${name}: no network, no report`)
    assert.equal(stateOf(m.state).seq, 1n)
  }
  assert.equal((await s.inv.machines.get(s.id)).state, MachineState.installing)
})

test('a key baked into the image wins over STATE\'s: a config signed with STATE\'s key alone is refused', { skip }, async () => {
  const s = await server()
  const m = machine()
  writeFileSync(join(m.roots.etcAnvil, 'keys/config.pub'), encodePublicKey(generateSecretKey().publicKey))
  writeStatePartition(m.state, 0, stateFor(s))
  const r = await boot(m)
  assert.equal(r.outcome, 'refused')
  assert.ok(r.lines.some(l => /config refused: ERR_SIGNATURE_/.test(l)), r.lines.join('\n'))

  const ok = machine()
  writeFileSync(join(ok.roots.etcAnvil, 'keys/config.pub'), encodePublicKey(configKey.publicKey))
  writeStatePartition(ok.state, 0, stateFor(s))
  const r2 = await boot(ok)
  assert.equal(r2.outcome, 'reported', r2.lines.join('\n'))
  assert.ok(r2.lines.some(l => /verified with the config key baked into this image/.test(l)))
})

test('no valid STATE: said on the console, nothing else', { skip }, async () => {
  const m = machine()
  const r = await boot(m)
  assert.equal(r.outcome, 'no-state')
  assert.match(r.lines.join('\n'), /no valid STATE on .*copy 0: empty \(zeroes\)/)
  assert.deepEqual([r.argv, r.reports], [[], 0])
})

test('a pinned fingerprint that is not the server\'s: refused without retrying, the token never sent, nothing committed', { skip }, async () => {
  const s = await server()
  const m = machine()
  writeStatePartition(m.state, 0, stateFor(s, { server: { ...s.target, fingerprint: 'ab'.repeat(32) } }))
  const r = await boot(m)
  assert.equal(r.outcome, 'failed')
  assert.ok(r.lines.some(l => /failed: ERR_TLS_PIN_MISMATCH/.test(l)), r.lines.join('\n'))
  assert.equal((await s.inv.machines.get(s.id)).state, MachineState.installing)
  assert.ok(stateOf(m.state).payload.credential !== undefined, 'the token stays for the next boot')
  assert.deepEqual(decodeGrubenv(execFileSync('mtype', ['-i', m.esp, '::/grub/grubenv'])), { ...INITIAL_ENV })
})
