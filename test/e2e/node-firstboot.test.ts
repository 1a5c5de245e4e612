// The node's first boot from its disk, end to end: the image built by boot-assets/build-image.sh
// (into a directory of this test's, with a config key of this test's baked in), decompressed to a
// 2 GiB disk file, a STATE record written into its ANVIL-STATE partition with the codec (a machine
// config signed for machine X with that key, a node token issued into a real SQLite database), and
// booted under SeaBIOS and under OVMF (TCG) with a virtio NIC on a bridge in a network namespace
// this test makes. The provisioning gRPC server (TLS, the real NodeReportService) listens on the
// bridge's address inside the namespace. The node verifies the config, sets its static address,
// reports in over pinned TLS and commits slot A; then the host reads back: machine provisioned, a
// machine_nodes row with the node's key, STATE without the token, grubenv A_OK=1.
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { closeSync, copyFileSync, mkdirSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { eq } from 'drizzle-orm'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { addTap, chooseHostLink, createRackNetwork, inNamespace, LAB_NET, Teardown, testNamespaceName } from '../../lab/netns.ts'
import { settlesWithin, sleep, startDaemon, stopDaemon, waitFor, type Daemon } from '../../lab/proc.ts'
import { OVMF } from '../../lab/qemu.ts'
import { openDatabase, type Db } from '../../src/db/open.ts'
import { machineNodes } from '../../src/db/schema.ts'
import { SqliteMachineStore } from '../../src/db/machine-store.ts'
import { decodeGrubenv } from '../../src/image/grub.ts'
import { decodeManifest, type ImageManifest } from '../../src/image/manifest.ts'
import { MachineState } from '../../src/inventory/machine.ts'
import { MachineService } from '../../src/inventory/machine-service.ts'
import { systemClock } from '../../src/inventory/ports.ts'
import { Timeline } from '../../src/inventory/timeline.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, pickState } from '../../src/node-state/record.ts'
import { encodePublicKey, generateSecretKey } from '../../src/signing/minisign.ts'
import { issueNodeToken, setMachineState } from '../helpers/node-report.ts'
import { installedState, machineConfigYaml, writeStatePartition } from '../helpers/node-state.ts'
import { skipReason } from '../helpers/requirements.ts'

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version
const BASE = `anvil-node-${VERSION}`
/** Boot plus report under TCG on 2 loaded cores: the image-boot test's bound, with room for the report. */
const BOOT_TIMEOUT_MS = 240_000

const skip = skipReason('the node first-boot lab test', {
  root: true,
  programs: ['ip', 'qemu-system-x86_64', 'zstd', 'grub-mkimage', 'mkfs.vfat', 'mcopy', 'mshowfat', 'mksquashfs', 'cpio', 'strip', 'depmod', 'modprobe'],
  files: ['/dev/net/tun', '/bin/busybox', OVMF.code, OVMF.vars, '/usr/lib/grub/i386-pc/boot.img', '/usr/lib/grub/x86_64-efi/linux.mod', join(REPO_ROOT, 'node_modules/tsx/package.json')]
})

type Firmware = 'bios' | 'uefi'
type Vm = { readonly name: string, readonly firmware: Firmware, readonly mac: string, readonly address: string, readonly tap: string }
const VMS: readonly Vm[] = [
  { name: 'fb-bios', firmware: 'bios', mac: '52:54:00:77:0b:01', address: '10.77.0.61', tap: 'tapfb0' },
  { name: 'fb-uefi', firmware: 'uefi', mac: '52:54:00:77:0b:02', address: '10.77.0.62', tap: 'tapfb1' }
]

let runDir = ''
let failed = false
let manifest: ImageManifest | undefined
let baseRaw = ''
const teardown = new Teardown()
const ns = testNamespaceName('anvfb')
const configKey = generateSecretKey()

async function run (file: string, args: readonly string[], timeoutMs: number, env: NodeJS.ProcessEnv = process.env): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 << 20, env }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout + stderr)
    })
  })
}

before(async () => {
  if (skip !== undefined) return
  runDir = mkdtempSync(join(tmpdir(), 'anvil-node-firstboot-'))
  // The build bakes the public keys of ANVIL_DATA_DIR: give it this test's config key.
  const dataDir = join(runDir, 'data')
  mkdirSync(dataDir)
  writeFileSync(join(dataDir, 'config.pub'), encodePublicKey(configKey.publicKey))
  const out = join(runDir, 'images')
  const started = performance.now()
  const built = await run('bash', ['boot-assets/build-image.sh', '--out', out], 900_000, { ...process.env, ANVIL_DATA_DIR: dataDir })
  console.log(`# image build (${((performance.now() - started) / 1000).toFixed(1)} s): ${built.trim().split('\n').at(-1) ?? ''}`)
  assert.match(readFileSync(join(out, 'PROVENANCE'), 'utf8'), /^keys: baked into \/etc\/anvil\/keys from .* config\.pub [0-9a-f]{64}/m)
  manifest = decodeManifest(readFileSync(join(out, `${BASE}.manifest.json`)))
  baseRaw = join(runDir, 'base.raw')
  await run('zstd', ['-q', '-d', '-f', join(out, `${BASE}.raw.zst`), '-o', baseRaw], 120_000)

  const link = await chooseHostLink(ns)
  await createRackNetwork(ns, link, teardown)
  for (const vm of VMS) await addTap(ns, vm.tap, teardown)
})

after(async () => {
  const left = await teardown.run()
  if (left.length > 0) console.log(`# teardown left: ${left.join('; ')}`)
  if (runDir === '') return
  if (failed || process.env.ANVLAB_KEEP === '1') console.log(`# run directory kept: ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
})

function part (name: string): { offset: number, size: number } {
  const p = manifest?.layout.partitions.find(x => x.name === name)
  assert.ok(p !== undefined, `no partition ${name}`)
  return { offset: p.firstLba * 512, size: (p.lastLba - p.firstLba + 1) * 512 }
}

function readAt (file: string, offset: number, length: number): Buffer {
  const fd = openSync(file, 'r')
  try {
    const buf = Buffer.alloc(length)
    readSync(fd, buf, 0, length, offset)
    return buf
  } finally {
    closeSync(fd)
  }
}

function cleanConsole (file: string): string {
  let text = ''
  try { text = readFileSync(file, 'latin1') } catch { return '' }
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '')
}

/** The gRPC server in the namespace, on the bridge's address, over `dbFile`. */
async function startServer (dbFile: string): Promise<{ daemon: Daemon, port: number, fingerprint: string }> {
  let ready: { port: number, fingerprint: string } | undefined
  const daemon = startDaemon({
    name: 'node-report-server',
    argv: inNamespace(ns, [process.execPath, '--import', 'tsx', 'test/helpers/lab-node-report-server.ts', dbFile, join(runDir, 'cert'), LAB_NET.serverAddress]),
    logFile: join(runDir, 'server.log'),
    cwd: REPO_ROOT,
    onLine: (line) => { if (line.startsWith('{')) ready = JSON.parse(line) as { port: number, fingerprint: string } }
  })
  teardown.push('stop the server', async () => { await stopDaemon(daemon) })
  const r = await waitFor('the gRPC server to listen', 60_000, () => ready, { giveUp: () => daemon.alive() ? undefined : `it exited: ${readFileSync(join(runDir, 'server.log'), 'utf8').slice(-1500)}` })
  return { daemon, ...r }
}

/** Boots `disk` with a NIC on the namespace's bridge until the node reports in, QEMU exits, or the bound. */
async function boot (vm: Vm, disk: string): Promise<{ console: string, seconds: number }> {
  const log = join(runDir, `${vm.name}.serial.log`)
  const argv = ['qemu-system-x86_64', '-name', `anvil-${vm.name}`, '-m', '512', '-smp', '1', '-nographic', '-serial', `file:${log}`, '-monitor', 'none', '-no-reboot',
    '-netdev', `tap,id=net0,ifname=${vm.tap},script=no,downscript=no`]
  if (vm.firmware === 'bios') {
    argv.push('-machine', 'pc,accel=tcg')
  } else {
    const vars = join(runDir, `${vm.name}.OVMF_VARS.fd`)
    copyFileSync(OVMF.vars, vars)
    argv.push('-machine', 'q35,accel=tcg', '-nodefaults', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`)
  }
  // No NIC option ROM (romfile=): the firmware boots the disk, never PXE.
  argv.push('-device', `virtio-net-pci,netdev=net0,mac=${vm.mac},romfile=`, '-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-pci,drive=d0,bootindex=1')
  const started = performance.now()
  const qemu = startDaemon({ name: vm.name, argv: inNamespace(ns, argv), logFile: join(runDir, `${vm.name}.qemu.log`) })
  try {
    for (;;) {
      const exited = await settlesWithin(qemu.exited, 250)
      const text = cleanConsole(log)
      if (exited || /anvil-node: reported in as |anvil-init: .*machined exited/.test(text)) break
      if (performance.now() - started > BOOT_TIMEOUT_MS) throw new Error(`${vm.name}: no report after ${BOOT_TIMEOUT_MS} ms; console:\n${text.slice(-3000)}`)
      await sleep(0)
    }
  } finally {
    await stopDaemon(qemu)
  }
  const seconds = (performance.now() - started) / 1000
  console.log(`# ${vm.name} (${vm.firmware}): ${seconds.toFixed(1)} s to the report`)
  return { console: cleanConsole(log), seconds }
}

function serverDb (file: string): { db: Db, machines: MachineService, timeline: Timeline } {
  const db = openDatabase(file)
  const store = new SqliteMachineStore(db)
  const timeline = new Timeline({ store, clock: systemClock, onError: () => {} })
  return { db, machines: new MachineService({ store, timeline, clock: systemClock, reportedMacs: async () => [] }), timeline }
}

test('an installed node boots from its disk under SeaBIOS and OVMF, verifies its config with the baked key, reports in and commits slot A', { skip, timeout: 3 * BOOT_TIMEOUT_MS }, async () => {
  try {
    assert.ok(manifest !== undefined)
    const dbFile = join(runDir, 'anvil.db')
    const { db, machines } = serverDb(dbFile)
    const server = await startServer(dbFile)
    const prepared = await Promise.all(VMS.map(async (vm) => {
      const m = await machines.enroll({ mac: vm.mac })
      setMachineState(db, m.id, MachineState.installing)
      const token = issueNodeToken(db, m.id, { generation: 3 })
      const disk = join(runDir, `${vm.name}.raw`)
      await run('cp', ['--sparse=always', baseRaw, disk], 60_000)
      truncateSync(disk, 2048 * 1024 * 1024)
      const yaml = machineConfigYaml({ hostname: vm.name, mac: vm.mac, address: `${vm.address}/24` })
      const state = installedState({ machineId: m.id, configKey, yaml, generation: 3, token, server: { host: LAB_NET.serverAddress, port: server.port, fingerprint: server.fingerprint } })
      writeStatePartition(disk, part('ANVIL-STATE').offset, state)
      return { vm, id: m.id, token, disk }
    }))

    const boots = await Promise.all(prepared.map(async p => await boot(p.vm, p.disk)))
    for (const [i, p] of prepared.entries()) {
      const text = boots[i]?.console ?? ''
      const inOrder = [`anvil-node: booted slot A version ${VERSION}`, `anvil-node: STATE: machine ${p.id}`,
        'anvil-node: config generation 3 verified with the config key baked into this image', 'anvil-node: identity: a new Ed25519 key',
        `anvil-node: network: ${p.vm.name}: eth0 ${p.vm.address}/24`, `the server took the report: machine ${p.id} is provisioned`,
        'anvil-node: slot A committed in grubenv (A_OK=1)', `anvil-node: reported in as ${p.id} (slot A, config generation 3)`]
      let from = 0
      for (const line of inOrder) {
        const at = text.indexOf(line, from)
        assert.ok(at >= 0, `${p.vm.name}: expected "${line}" after byte ${from} of the console:\n${text.slice(-4000)}`)
        from = at + line.length
      }
      assert.ok(!text.includes(p.token), 'the token never reaches the console')

      // What the server holds.
      assert.equal((await machines.get(p.id)).state, MachineState.provisioned)
      const node = db.select().from(machineNodes).where(eq(machineNodes.machineId, p.id)).get()
      assert.ok(node !== undefined, `${p.vm.name}: a machine_nodes row`)
      assert.deepEqual([node.slot, node.configGeneration, node.hostname, JSON.parse(node.addresses)], ['A', 3, p.vm.name, [`${p.vm.address}/24`]])

      // What the disk holds: STATE with the node's key and no token, grubenv with slot A committed.
      const st = part('ANVIL-STATE')
      const state = pickState([readAt(p.disk, st.offset + COPY_OFFSETS[0], COPY_READ_BYTES), readAt(p.disk, st.offset + COPY_OFFSETS[1], COPY_READ_BYTES)])
      assert.equal(state.payload.credential, undefined)
      assert.equal(state.payload.reported?.configGeneration, 3)
      assert.equal(state.payload.identity?.publicKeySpki, node.publicKey)
      assert.deepEqual(decodeGrubenv(readAt(p.disk, manifest.grubenv.offset, manifest.grubenv.size)), { ANVIL_ORDER: 'A B', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '0' })
    }
    db.$client.close()
  } catch (err) {
    failed = true
    throw err
  }
})
