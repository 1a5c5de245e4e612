// The node image boots from a disk, straight from what boot-assets/build-image.sh made: the
// .raw.zst decompressed into a raw file grown to 2 GiB (sparse), attached as a virtio disk to a
// QEMU VM with no NIC, under SeaBIOS (i440fx) and under OVMF (q35), TCG. GRUB picks the slot from
// the counters in grubenv (src/image/grub.ts grubCfg), the kernel and initramfs come from that
// slot, the root is the read-only squashfs, and Node prints `anvil-node: booted slot X version V`
// before the init powers off. After each VM the host reads grubenv back from the disk file at the
// manifest's offset: GRUB's save_env must have spent exactly the tries the design says.
//
// Cases: slot A on both firmwares; slot A's counter exhausted (BIOS) and slot A unloadable (UEFI),
// both with a committed slot B (a copy of A); no slot left, GRUB hands back to the firmware (both).
// Every phase's time is printed (firmware, GRUB, initramfs, root, Node, power-off).
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { closeSync, copyFileSync, mkdtempSync, openSync, readFileSync, readSync, rmSync, truncateSync, writeSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { settlesWithin, sleep, startDaemon, stopDaemon, type Daemon } from '../../lab/proc.ts'
import { OVMF } from '../../lab/qemu.ts'
import { decodeGrubenv, encodeGrubenv, type AbEnv } from '../../src/image/grub.ts'
import { decodeManifest, type ImageManifest } from '../../src/image/manifest.ts'
import { skipReason } from '../helpers/requirements.ts'

const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version
const IMAGES = join(REPO_ROOT, 'boot-assets/images')
const BASE = `anvil-node-${VERSION}`
/** 3× the slowest boot measured on 2 loaded cores (about 55 s), as for the other lab tests. */
const BOOT_TIMEOUT_MS = 180_000

const skip = skipReason('the node image boot lab test', {
  programs: ['qemu-system-x86_64', 'zstd', 'grub-mkimage', 'mkfs.vfat', 'mcopy', 'mshowfat', 'mksquashfs', 'cpio', 'strip', 'depmod', 'modprobe', 'apt-get', 'dpkg-deb', 'ipmitool'],
  files: ['/bin/busybox', OVMF.code, OVMF.vars, '/usr/lib/grub/i386-pc/boot.img', '/usr/lib/grub/x86_64-efi/linux.mod', join(REPO_ROOT, 'node_modules/tsx/package.json')]
})

type Firmware = 'bios' | 'uefi'

/** Console lines whose first appearance marks a phase of the boot. */
const MARKS: ReadonlyArray<readonly [string, RegExp]> = [
  ['firmware hands over', /Booting from Hard Disk|BdsDxe: starting Boot\d+ "UEFI Misc Device"/],
  ['GRUB reads grubenv', /anvil-grub: order=/],
  ['GRUB loads a slot', /anvil-grub: slot [AB] try=/],
  ['GRUB loaded it', /anvil-grub: slot [AB] loaded: booting/],
  ['initramfs /init', /anvil-initramfs: .*slot initramfs/],
  ['root mounted', /anvil-initramfs: .*root mounted/],
  ['root modules loaded', /anvil-init: .*loaded \d+ modules/],
  ['Node prints', /anvil-node: booted slot/],
  ['power off', /reboot: Power down/]
]

let runDir = ''
let baseRaw = ''
let manifest: ImageManifest | undefined
let failed = false

async function run (file: string, args: readonly string[], timeoutMs: number): Promise<string> {
  return await new Promise((resolve, reject) => {
    execFile(file, args, { cwd: REPO_ROOT, timeout: timeoutMs, maxBuffer: 16 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`${file} ${args.join(' ')}: ${stderr.trim() || err.message}`))
      else resolve(stdout + stderr)
    })
  })
}

before(async () => {
  if (skip !== undefined) return
  runDir = mkdtempSync(join(tmpdir(), 'anvil-image-boot-'))
  const started = performance.now()
  const out = await run('bash', ['boot-assets/build-image.sh'], 900_000) // idempotent: seconds when up to date
  console.log(`# image build (${((performance.now() - started) / 1000).toFixed(1)} s): ${out.trim().split('\n').at(-1) ?? ''}`)
  manifest = decodeManifest(readFileSync(join(IMAGES, `${BASE}.manifest.json`)))
  baseRaw = join(runDir, 'base.raw')
  await run('zstd', ['-q', '-d', '-f', join(IMAGES, `${BASE}.raw.zst`), '-o', baseRaw], 120_000)
})

after(() => {
  if (runDir === '') return
  if (failed || process.env.ANVLAB_KEEP === '1') console.log(`# run directory kept: ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
})

function part (name: string): { offset: number, size: number } {
  const p = manifest?.layout.partitions.find(x => x.name === name)
  assert.ok(p !== undefined, `no partition ${name}`)
  return { offset: p.firstLba * 512, size: (p.lastLba - p.firstLba + 1) * 512 }
}

function readEnv (disk: string): Record<string, string> {
  assert.ok(manifest !== undefined)
  const fd = openSync(disk, 'r')
  const block = Buffer.alloc(manifest.grubenv.size)
  readSync(fd, block, 0, block.length, manifest.grubenv.offset)
  closeSync(fd)
  return decodeGrubenv(block)
}

type DiskSetup = { readonly env?: AbEnv, readonly slotBFromA?: boolean, readonly breakSlotA?: boolean }

/**
 * A copy of the image grown to 2 GiB (sparse, as a bigger disk would be), changed the way an
 * upgrade or a fault would: grubenv rewritten in place (the one-sector write the node will make),
 * slot A's bytes copied into slot B, slot A's first MiB (its FAT boot sector and FATs) zeroed.
 */
async function prepareDisk (name: string, setup: DiskSetup = {}): Promise<string> {
  assert.ok(manifest !== undefined)
  const disk = join(runDir, `${name}.raw`)
  await run('cp', ['--sparse=always', baseRaw, disk], 60_000)
  truncateSync(disk, 2048 * 1024 * 1024)
  const fd = openSync(disk, 'r+')
  try {
    if (setup.slotBFromA === true) {
      const a = part('ANVIL-A')
      const b = part('ANVIL-B')
      const buf = Buffer.alloc(4 << 20)
      const zero = Buffer.alloc(buf.length)
      for (let at = 0; at < a.size; at += buf.length) {
        readSync(fd, buf, 0, buf.length, a.offset + at)
        if (!buf.equals(zero)) writeSync(fd, buf, 0, buf.length, b.offset + at)
      }
    }
    if (setup.breakSlotA === true) writeSync(fd, Buffer.alloc(1 << 20), 0, 1 << 20, part('ANVIL-A').offset)
    if (setup.env !== undefined) writeSync(fd, encodeGrubenv(setup.env), 0, 1024, manifest.grubenv.offset)
  } finally {
    closeSync(fd)
  }
  return disk
}

type Boot = { readonly console: string, readonly marks: Map<string, number>, readonly seconds: number, readonly exited: boolean }

function cleanConsole (file: string): string {
  let text = ''
  try { text = readFileSync(file, 'latin1') } catch { return '' }
  // eslint-disable-next-line no-control-regex
  return text.replace(/\x1b\[[0-9;?=]*[A-Za-z]/g, '').replace(/\r/g, '')
}

/**
 * Boots `disk` under `firmware` with no NIC and waits, bounded, until QEMU exits by itself (the
 * init powers off; -no-reboot turns a panic or a reboot into an exit too) or, with `until`, until
 * that console line appears (then the VM is stopped by its PID). Polls the console every 100 ms to
 * time the phases.
 */
async function boot (name: string, firmware: Firmware, disk: string, until?: RegExp): Promise<Boot> {
  const log = join(runDir, `${name}.serial.log`)
  const argv = ['qemu-system-x86_64', '-name', `anvil-image-${name}`, '-m', '512', '-smp', '1', '-nographic',
    '-serial', `file:${log}`, '-monitor', 'none', '-no-reboot']
  if (firmware === 'bios') {
    argv.push('-machine', 'pc,accel=tcg', '-nic', 'none')
  } else {
    const vars = join(runDir, `${name}.OVMF_VARS.fd`)
    copyFileSync(OVMF.vars, vars)
    argv.push('-machine', 'q35,accel=tcg', '-nodefaults',
      '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`)
  }
  argv.push('-drive', `file=${disk},format=raw,if=none,id=d0`, '-device', 'virtio-blk-pci,drive=d0')
  const started = performance.now()
  const vm: Daemon = startDaemon({ name, argv, logFile: join(runDir, `${name}.qemu.log`) })
  const marks = new Map<string, number>()
  let exited = false
  try {
    for (;;) {
      exited = await settlesWithin(vm.exited, 100)
      const text = cleanConsole(log)
      const t = (performance.now() - started) / 1000
      for (const [mark, re] of MARKS) if (!marks.has(mark) && re.test(text)) marks.set(mark, t)
      if (exited || (until?.test(text) ?? false)) break
      if (performance.now() - started > BOOT_TIMEOUT_MS) throw new Error(`${name}: no end after ${BOOT_TIMEOUT_MS} ms; console:\n${text.slice(-2000)}`)
      await sleep(0)
    }
  } finally {
    await stopDaemon(vm)
  }
  const seconds = (performance.now() - started) / 1000
  const timeline = [...marks].map(([m, t]) => `${m} ${t.toFixed(1)}`).join(', ')
  console.log(`# ${name} (${firmware}): ${seconds.toFixed(1)} s${exited ? ', QEMU exited' : ''}: ${timeline}`)
  return { console: cleanConsole(log), marks, seconds, exited }
}

/** Runs a test body; a failure keeps the run directory (consoles, disks) for a look. */
async function keptOnFailure (body: () => Promise<void>): Promise<void> {
  try {
    await body()
  } catch (err) {
    failed = true
    throw err
  }
}

/** Asserts the lines appear in this order in the console. */
function assertInOrder (text: string, lines: readonly string[]): void {
  let from = 0
  for (const line of lines) {
    const at = text.indexOf(line, from)
    assert.ok(at >= 0, `expected "${line}" after byte ${from} of the console:\n${text.slice(-3000)}`)
    from = at + line.length
  }
}

test('slot A of the image boots from disk under SeaBIOS and under OVMF; GRUB spends one of its three tries', { skip, timeout: 2 * BOOT_TIMEOUT_MS }, async () => await keptOnFailure(async () => {
  const bios = await prepareDisk('a-bios')
  const uefi = await prepareDisk('a-uefi')
  const [b, u] = await Promise.all([boot('a-bios', 'bios', bios), boot('a-uefi', 'uefi', uefi)])
  for (const [r, disk] of [[b, bios], [u, uefi]] as const) {
    assert.ok(r.exited, 'the init powered the VM off')
    assertInOrder(r.console, ['anvil-grub: order=A B A_OK=0 A_LEFT=3 B_OK=0 B_LEFT=0 disk=hd0', 'anvil-grub: slot A try=1 left=2',
      'anvil-initramfs:', 'root mounted read-only', `anvil-node: booted slot A version ${VERSION}`, 'anvil-node: try=1', 'Power down'])
    assert.match(r.console, /root "\/dev\/loop\d+ \/ squashfs ro,/)
    assert.deepEqual(readEnv(disk), { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '2', B_OK: '0', B_LEFT: '0' }, 'save_env wrote the spent try')
  }
}))

test('slot B boots when slot A has no tries left (SeaBIOS) or does not load (OVMF); a committed slot is not counted', { skip, timeout: 2 * BOOT_TIMEOUT_MS }, async () => await keptOnFailure(async () => {
  const exhausted = await prepareDisk('b-bios', { slotBFromA: true, env: { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '0', B_OK: '1', B_LEFT: '0' } })
  const broken = await prepareDisk('b-uefi', { slotBFromA: true, breakSlotA: true, env: { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '3', B_OK: '1', B_LEFT: '0' } })
  const [b, u] = await Promise.all([boot('b-bios', 'bios', exhausted), boot('b-uefi', 'uefi', broken)])
  assert.ok(b.exited && u.exited)
  assertInOrder(b.console, ['anvil-grub: slot A: not committed, no tries left', 'anvil-grub: slot B try=0', `anvil-node: booted slot B version ${VERSION}`, 'anvil-node: try=0'])
  assert.deepEqual(readEnv(exhausted), { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '0', B_OK: '1', B_LEFT: '0' }, 'nothing spent')
  assertInOrder(u.console, ['anvil-grub: slot A try=1 left=2', 'anvil-grub: slot A failed to load', 'anvil-grub: slot B try=0', `anvil-node: booted slot B version ${VERSION}`])
  assert.deepEqual(readEnv(broken), { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '2', B_OK: '1', B_LEFT: '0' }, 'the failed try on A stays spent')
}))

test('with no slot left GRUB hands the machine back to the firmware, which goes on to its next boot device', { skip, timeout: 2 * BOOT_TIMEOUT_MS }, async () => await keptOnFailure(async () => {
  const env: AbEnv = { ANVIL_ORDER: 'A B', A_OK: '0', A_LEFT: '0', B_OK: '0', B_LEFT: '0' }
  const bios = await prepareDisk('none-bios', { env })
  const uefi = await prepareDisk('none-uefi', { env })
  // SeaBIOS tries the next device (no floppy, no CD here: "No bootable device"); OVMF's boot
  // manager starts its next boot option (no NIC here: its setup UI). With a NIC, both would PXE.
  const [b, u] = await Promise.all([
    boot('none-bios', 'bios', bios, /anvil-grub: no bootable slot[^]*(No bootable device|Booting from DVD)/),
    boot('none-uefi', 'uefi', uefi, /anvil-grub: no bootable slot[^]*BdsDxe: (loading|starting) Boot\d+ "UiApp"/)
  ])
  for (const r of [b, u]) {
    assert.ok(!r.console.includes('anvil-node:'), 'no slot booted')
    assertInOrder(r.console, ['anvil-grub: slot A: not committed, no tries left', 'anvil-grub: slot B: not committed, no tries left', 'anvil-grub: no bootable slot: back to the firmware'])
  }
  assert.deepEqual(readEnv(bios), { ...env })
  assert.deepEqual(readEnv(uefi), { ...env })
}))
