// The signed install (issue 10): power-on to `provisioned` for one BIOS VM, one UEFI VM and three
// VMs at once, and the install's write rate against `wget | zstd -dc | dd oflag=direct` of the same
// image in a VM with the same QEMU settings. Runs the lab (namespace anvbi-<random>, Anvil
// authoritative, VMs behind ipmi_sim BMCs, the real boot environment, the node image built and
// signed with the lab's own keys) with the helpers of test/e2e/install-flow.test.ts.
//
// Each VM is made ready first (enrolled with its BMC, accepted, fast-wiped: Anvil powers it on),
// then powered off; the clock starts at `POST /api/v1/machines/:id/provision`, so the figure is
// what an operator waits for: Anvil powers the machine on through its BMC, it PXE boots into the
// discovery environment, the agent installs, the machine reboots into its disk and the node
// reports in. Disks are sparse 2 GiB files on /dev/shm, so the host's storage is not measured.
import { spawn } from 'node:child_process'
import { createHash } from 'node:crypto'
import { closeSync, copyFileSync, createReadStream, existsSync, openSync, rmSync, symlinkSync, truncateSync, unlinkSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { Teardown, listNamespaces, testNamespaceName } from '../lab/netns.ts'
import { waitFor } from '../lab/proc.ts'
import { OVMF, vmFiles, vmIdentity, type Firmware, type VmIdentity } from '../lab/qemu.ts'
import { startLab, type Lab } from '../lab/start-lab.ts'
import { enrollBmc } from '../lab/enroll.ts'
import type { LabBmc } from '../lab/bmc.ts'
import { STANDIN_NET, buildBootenv, type BuiltBootenv } from '../test/helpers/lab-discovery-bootenv.ts'
import { DiscoveryApi, waitForTask } from '../test/helpers/lab-discovery.ts'
import type { LabDisk } from '../test/helpers/lab-discovery-disks.ts'
import { api, buildLabImage, cli, copyKeys, labMachineConfig, removeLabImage, type LabImage } from '../test/helpers/lab-install.ts'
import { OutOfTime, checkTime, dir, fmt, median, table, type BenchContext, type Section } from './context.ts'
import { CTL_PORT, DD_VM, readJson, startDdVm, writeStep } from './discovery-wipe.ts'
import { tail } from '../test/helpers/lab-boot.ts'
import type { DdHello, DdResult } from './discovery-dd-agent.ts'
import { run, which } from './proc.ts'

export type InstallSection = Section & { readonly id: 'install' }

const MiB = 1 << 20
const GiB = 1 << 30
const Group = { bios: 'bios', uefi: 'uefi', three: 'three' } as const
type Group = typeof Group[keyof typeof Group]

/** One VM's install, in seconds from the provision request. */
type InstallSample = {
  readonly group: Group
  readonly vm: string
  readonly firmware: Firmware
  readonly provisioned: number
  /** The agent's session opened (the machine was powered on, PXE booted, the environment started). */
  readonly agent: number | undefined
  readonly written: number | undefined
  readonly reported: number | undefined
  /** The install's write rate, MiB/s: bytes written / (fetch + decompress + verify + write) time. */
  readonly writeRate: number | undefined
}

let active: { teardown: Teardown, lab: Lab | undefined } | undefined

/** Stops whatever an install run left running; bench/run.ts calls it on Ctrl-C too. */
export async function stopInstall (): Promise<void> {
  const a = active
  active = undefined
  if (a === undefined) return
  const failures = await a.teardown.run()
  if (a.lab !== undefined) await a.lab.stop().catch((err: unknown) => { failures.push((err as Error).message) })
  if (failures.length > 0) process.stderr.write(`bench install: teardown left work undone: ${failures.join('; ')}\n`)
}

export function labMissing (repo: string): string | undefined {
  const files = ['/bin/busybox', '/dev/net/tun', OVMF.code, OVMF.vars, join(repo, 'node_modules/.bin/esbuild'), '/usr/lib/grub/i386-pc/boot.img']
  const absent = [...['qemu-system-x86_64', 'dnsmasq', 'zstd', 'cpio', 'ipmi_sim', 'grub-mkimage', 'mksquashfs', 'mkfs.vfat'].filter(p => which(p) === undefined), ...files.filter(f => !existsSync(f))]
  return absent.length === 0 ? undefined : `missing ${absent.join(', ')} (as root: bash lab/setup.sh)`
}

/** The VM's disk as a sparse 2 GiB file on /dev/shm (its MBR kept), linked from where its BMC's QEMU opens it. */
export function diskOnShm (lab: Lab, vm: VmIdentity, scratch: string): void {
  const file = vmFiles(lab.runDir, vm).disk
  const shm = join(scratch, `${vm.name}.disk.raw`)
  copyFileSync(file, shm)
  truncateSync(shm, 2 * GiB)
  unlinkSync(file)
  symlinkSync(shm, file)
}

/** Enrol, accept, fast wipe (Anvil powers it on), then power off: the machine is ready and off. */
export async function readyAndOff (lab: Lab, bmc: LabBmc): Promise<string> {
  const discovery = new DiscoveryApi(lab)
  const { id } = await enrollBmc(lab.api, bmc)
  await discovery.accept(id)
  const wipe = await api(lab, 'POST', `/api/v1/machines/${id}/wipe`, { method: 'fast' })
  if (wipe.status !== 202) throw new Error(`wipe of ${bmc.vm.name}: HTTP ${wipe.status} ${JSON.stringify(wipe.body)}`)
  const done = await waitForTask(discovery, id, String(wipe.body.id), 300_000)
  if (done.state !== 'done') throw new Error(`wipe of ${bmc.vm.name}: ${done.error ?? done.state}`)
  await lab.api.powerAction(id, 'off')
  return id
}

/** Provisions each machine at once and waits for every one to be provisioned; one sample each. */
async function provisionGroup (lab: Lab, group: Group, machines: ReadonlyArray<{ bmc: LabBmc, id: string }>): Promise<InstallSample[]> {
  const discovery = new DiscoveryApi(lab)
  const started = new Map<string, number>()
  await Promise.all(machines.map(async ({ bmc, id }) => {
    started.set(id, Date.now())
    const r = await api(lab, 'POST', `/api/v1/machines/${id}/provision`, { image: 'anvil-node', config: labMachineConfig(`node-${bmc.vm.name}`, bmc.vm.mac, `${bmc.vm.serial}D`) })
    if (r.status !== 202) throw new Error(`provision ${bmc.vm.name}: HTTP ${r.status} ${JSON.stringify(r.body)}`)
  }))
  return await Promise.all(machines.map(async ({ bmc, id }) => {
    const t0 = started.get(id) ?? Date.now()
    const state = await waitFor(`${bmc.vm.name} provisioned`, 600_000, async () => {
      const m = await discovery.machine(id)
      return m.state === 'provisioned' || m.state === 'error' ? m.state : undefined
    }, { intervalMs: 500 })
    const provisionedAt = Date.now()
    if (state !== 'provisioned') throw new Error(`${bmc.vm.name} ended ${state}: ${(await discovery.machine(id)).stateReason ?? ''}`)
    const events = (await lab.api.events(id)).filter(e => Date.parse(e.at) >= t0)
    const at = (type: string): number | undefined => {
      const e = events.find(x => x.type === type)
      return e === undefined ? undefined : (Date.parse(e.at) - t0) / 1000
    }
    const op = (await api(lab, 'GET', `/api/v1/operations?machine=${encodeURIComponent(id)}&kind=install&limit=1`)).body?.operations?.[0]
    const result = op?.result as { bytesWritten?: number, writeMs?: number } | undefined
    const writeRate = result?.bytesWritten !== undefined && result.writeMs !== undefined && result.writeMs > 0 ? result.bytesWritten / MiB / (result.writeMs / 1000) : undefined
    await lab.api.powerAction(id, 'off')
    return { group, vm: bmc.vm.name, firmware: bmc.vm.firmware, provisioned: (provisionedAt - t0) / 1000, agent: at('agent.connected'), written: at('install.written'), reported: at('node.reported'), writeRate }
  }))
}

/** The SHA-256 of what `argv` writes to stdout (hex), or of a file's first `bytes` bytes. */
async function hashOf (source: { argv: readonly string[] } | { file: string, bytes: number }): Promise<{ sha256: string, bytes: number }> {
  const h = createHash('sha256')
  let bytes = 0
  if ('file' in source) {
    for await (const chunk of createReadStream(source.file, { start: 0, end: source.bytes - 1, highWaterMark: 4 * MiB })) {
      h.update(chunk as Buffer)
      bytes += (chunk as Buffer).length
    }
    return { sha256: h.digest('hex'), bytes }
  }
  const [cmd, ...args] = source.argv
  const child = spawn(cmd as string, args, { stdio: ['ignore', 'pipe', 'inherit'] })
  const exited = new Promise<number | null>((resolve, reject) => { child.once('error', reject); child.once('close', resolve) })
  for await (const chunk of child.stdout) {
    h.update(chunk as Buffer)
    bytes += (chunk as Buffer).length
  }
  const code = await exited
  if (code !== 0) throw new Error(`${source.argv.join(' ')} exited ${String(code)}`)
  return { sha256: h.digest('hex'), bytes }
}

/** Overwrites the first `bytes` of the disk file with 0xa5, so a round that writes less (or nothing) fails the check. */
function patternFill (file: string, bytes: number): void {
  const fd = openSync(file, 'r+')
  try {
    const chunk = Buffer.alloc(4 * MiB, 0xa5)
    for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, Math.min(chunk.length, bytes - off), off)
  } finally {
    closeSync(fd)
  }
}

/** What the dd rounds measured, and how each was checked from the host. */
type DdOutcome = { readonly rates: number[], readonly checks: string[] }

/**
 * `rounds` runs of wget | zstd -dc | dd bs=4M oflag=direct of the image in the dd VM; MiB/s each.
 * Before each round the image's extent of the disk file is filled with a pattern; after it, the
 * host hashes that extent and compares it with `zstd -dc` of the artifact (hashed once, here).
 * A round whose result does not match fails the run: its rate would not be a write of the image.
 */
async function ddRates (o: { ns: string, dir: string, scratch: string, env: BuiltBootenv, image: LabImage, rounds: number, teardown: Teardown, log: (m: string) => void }): Promise<DdOutcome> {
  const size = o.image.manifest.artifact.size
  const disk: LabDisk = { id: 'd1', file: join(o.scratch, 'dd-install.raw'), bus: 'virtio', serial: 'BENCHI-D', bytes: 2 * GiB }
  writeFileSync(disk.file, '')
  truncateSync(disk.file, disk.bytes)
  const expected = await hashOf({ argv: ['zstd', '-q', '-dc', o.image.artifactFile] })
  if (expected.bytes !== size) throw new Error(`zstd -dc of the artifact gives ${expected.bytes} bytes, the manifest says ${size}`)
  const checks = [`the artifact decompressed on the host (\`zstd -dc\`): ${size} bytes, sha256 ${expected.sha256.slice(0, 16)}…${expected.sha256 === o.image.manifest.artifact.sha256 ? ' (the manifest\'s artifact.sha256)' : ' (**not** the manifest\'s artifact.sha256)'}`]
  const serial = join(o.dir, `${DD_VM.name}.serial.log`)
  const dd = await startDdVm(o.ns, o.dir, o.env, disk, o.teardown, o.image.artifactFile)
  // A VM that powered off (its agent exited) answers no more: say so with its last words, not after a timeout.
  const vmGone = (): string | undefined => dd.qemu.alive() ? undefined : `its QEMU exited; serial log ${serial}:\n${tail(serial, 1500)}\ncontroller log: ${tail(join(o.dir, 'controller.log'), 600)}`
  const hello = await waitFor('the dd agent', 240_000, () => readJson<DdHello>(join(dd.ctl, 'hello.json')), { intervalMs: 200, giveUp: vmGone })
  if (hello.bytes !== disk.bytes) throw new Error(`the dd VM sees ${hello.disk} as ${hello.bytes} bytes, not ${disk.bytes}`)
  const rates: number[] = []
  for (let r = 0; r < o.rounds; r++) {
    patternFill(disk.file, size)
    writeStep(dd.ctl, r, { runs: [{ bs: '4M', count: Math.ceil(size / (4 * MiB)), source: `http://${STANDIN_NET.serverAddress}:${CTL_PORT}/artifact` }] })
    const results = await waitFor(`dd round ${r + 1}`, 900_000, () => readJson<DdResult[]>(join(dd.ctl, `result-${r}.json`)), { intervalMs: 200, giveUp: vmGone })
    const res = results[0]
    if (res === undefined || res.code !== 0) throw new Error(`wget | zstd | dd exited ${String(res?.code)}: ${res?.stderr ?? ''}`)
    const got = await hashOf({ file: disk.file, bytes: size })
    const same = got.bytes === size && got.sha256 === expected.sha256
    checks.push(`round ${r + 1}: the disk file's first ${size} bytes read from the host: sha256 ${got.sha256.slice(0, 16)}… ${same ? '= the decompressed image' : '**differs from the decompressed image**'}; dd said "${res.stderr.replace(/^dd: /, '').replace(/\s+/g, ' ')}"`)
    if (!same) throw new Error(`dd round ${r + 1}: the disk does not hold the image (sha256 ${got.sha256}, expected ${expected.sha256})`)
    rates.push(size / MiB / (res.wallMs / 1000))
    o.log(`install dd round ${r + 1}: ${rates.at(-1)?.toFixed(1) ?? '–'} MiB/s (${(res.wallMs / 1000).toFixed(1)} s), disk checked`)
  }
  writeStep(dd.ctl, o.rounds, { done: true })
  await waitFor('the dd VM to power off', 30_000, () => dd.qemu.alive() ? undefined : true, { intervalMs: 200 }).catch(() => undefined)
  return { rates, checks }
}

/**
 * `npm run bench -- install --dd-only`: builds the dd boot environment and the lab's node image,
 * runs only the dd rounds (no lab, no install rounds) and reports their rates and checks. The
 * section says it is partial; bench/run.ts never writes it into docs/benchmarks.md.
 */
async function benchDdOnly (ctx: BenchContext): Promise<InstallSection> {
  const ddRounds = ctx.rounds ?? (ctx.quick ? 1 : 3)
  const home = join(ctx.runDir, 'install-dd')
  rmSync(home, { recursive: true, force: true })
  dir(home)
  const scratch = dir(join(ctx.scratch, 'install-dd'))
  const started = Date.now()
  active = { teardown: new Teardown(), lab: undefined }
  let image: LabImage | undefined
  let outcome: DdOutcome = { rates: [], checks: [] }
  const notes: string[] = []
  try {
    // One after the other: the first build in a fresh checkout unpacks the kernel package into
    // boot-assets/.cache, and a build started beside it (build-image.sh needs it too) would unpack it over it.
    const benchEnv = await buildBootenv({ out: join(home, 'bootenv-dd'), agentEntry: join(ctx.repo, 'bench/discovery-dd-agent.ts') })
    const built = await buildLabImage()
    image = built
    ctx.log(`install --dd-only: dd boot environment ${benchEnv.seconds.toFixed(1)} s, node image ${built.seconds.toFixed(1)} s; logs in ${join(home, 'dd')}`)
    checkTime(ctx)
    outcome = await ddRates({ ns: `${testNamespaceName('anvbi')}-dd`, dir: dir(join(home, 'dd')), scratch, env: benchEnv, image: built, rounds: ddRounds, teardown: active.teardown, log: ctx.log })
  } catch (err) {
    notes.push(`dd rounds: ${(err as Error).message}`)
  } finally {
    await stopInstall()
    rmSync(scratch, { recursive: true, force: true })
    if (image !== undefined) removeLabImage(image)
  }
  const qemu = (await run(['qemu-system-x86_64', '--version'], { timeoutMs: 5000 })).stdout.split('\n')[0]?.replace('QEMU emulator version ', '') ?? '?'
  const out = [
    `**Partial result (\`--dd-only\`): the dd comparison alone, no install rounds; not written to docs/benchmarks.md.** QEMU ${qemu} (TCG, \`-m 512 -smp 1\`, virtio-blk, \`cache=writethrough\`, the disk a sparse 2 GiB file on /dev/shm); image ${imageLine(image)}; the run took ${((Date.now() - started) / 60_000).toFixed(1)} minutes.`,
    '',
    `busybox \`wget -q -O - URL | zstd -dc | dd of=/dev/vda bs=4M iflag=fullblock oflag=direct\` in the dd VM (\`bench/discovery-dd-agent.ts\`), the artifact served by the bench controller in the VM's namespace; the image's size / the pipeline's wall time, ${ddRounds} round(s), MiB/s, median (min–max).`,
    '',
    table(['writer', 'MiB/s', 'rounds'], [['wget \\| zstd -dc \\| dd bs=4M oflag=direct', spread(outcome.rates), outcome.rates.map(x => fmt(x)).join(', ') || '–']]),
    '',
    'Checks:',
    ...outcome.checks.map(c => `- ${c}`)
  ]
  if (notes.length > 0) out.push('', 'Failures:', ...notes.map(n => `- ${n}`))
  return { id: 'install', markdown: out.join('\n') }
}

function imageLine (image: LabImage | undefined): string {
  return image === undefined ? '?' : `${image.manifest.name} ${image.manifest.version}, ${(image.manifest.artifact.size / MiB).toFixed(0)} MiB raw, ${(image.manifest.artifact.compressedSize / MiB).toFixed(1)} MiB zstd`
}

export async function benchInstall (ctx: BenchContext): Promise<InstallSection> {
  const why = labMissing(ctx.repo)
  if (why !== undefined) return { id: 'install', markdown: `Not run: ${why}.` }
  if (ctx.ddOnly) return await benchDdOnly(ctx)
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 2)
  const ddRounds = ctx.rounds ?? (ctx.quick ? 1 : 3)
  const home = join(ctx.runDir, 'install')
  rmSync(home, { recursive: true, force: true })
  dir(home)
  const scratch = dir(join(ctx.scratch, 'install'))
  const stale = (await listNamespaces()).filter(n => n.startsWith('anvbi-'))
  if (stale.length > 0) ctx.log(`install: namespaces left by an earlier run (remove them with ip netns del): ${stale.join(', ')}`)
  const ns = testNamespaceName('anvbi')
  const samples: InstallSample[] = []
  const notes: string[] = []
  let dd: DdOutcome = { rates: [], checks: [] }
  let stopped: string | undefined
  const started = Date.now()
  active = { teardown: new Teardown(), lab: undefined }
  let image: LabImage | undefined
  try {
    // The real environment first, alone: the first build in a fresh checkout unpacks the kernel
    // package into boot-assets/.cache, and builds started beside it would unpack it over each other.
    const env = await buildBootenv()
    const [benchEnv, built] = await Promise.all([buildBootenv({ out: join(home, 'bootenv-dd'), agentEntry: join(ctx.repo, 'bench/discovery-dd-agent.ts') }), buildLabImage()])
    image = built
    ctx.log(`install: boot environments ${env.seconds.toFixed(1)} s, node image ${built.seconds.toFixed(1)} s`)
    const lab = await startLab({ ns, runDir: join(home, 'lab'), dhcpMode: 'authoritative', logLevel: 'info', beforeAnvil: async () => { copyKeys(built, join(home, 'lab', 'var')) } })
    active.lab = lab
    await cli(lab, ['images', 'import', built.manifestFile])
    try {
      let index = 1
      for (let r = 0; r < rounds; r++) {
        for (const group of Object.values(Group)) {
          checkTime(ctx)
          const firmwares: Firmware[] = group === 'three' ? ['bios', 'uefi', 'bios'] : [group]
          const vms = firmwares.map(f => vmIdentity(index++, f))
          const bmcs = await Promise.all(vms.map(async vm => await lab.startBmc(vm)))
          for (const vm of vms) diskOnShm(lab, vm, scratch)
          const machines = await Promise.all(bmcs.map(async bmc => ({ bmc, id: await readyAndOff(lab, bmc) })))
          const got = await provisionGroup(lab, group, machines)
          samples.push(...got)
          ctx.log(`install round ${r + 1} ${group}: ${got.map(s => `${s.vm} ${s.firmware} ${s.provisioned.toFixed(1)} s (write ${fmt(s.writeRate, 0)} MiB/s)`).join(', ')}`)
          for (const vm of vms) rmSync(join(scratch, `${vm.name}.disk.raw`), { force: true })
        }
      }
    } catch (err) {
      if (err instanceof OutOfTime) stopped = err.message
      else notes.push(`install rounds: ${(err as Error).message.split('\n')[0] ?? ''}`)
    }
    try {
      checkTime(ctx)
      dd = await ddRates({ ns: `${ns}-dd`, dir: dir(join(home, 'dd')), scratch, env: benchEnv, image: built, rounds: ddRounds, teardown: active.teardown, log: ctx.log })
    } catch (err) {
      if (err instanceof OutOfTime) stopped = err.message
      else notes.push(`dd rounds: ${(err as Error).message.split('\n')[0] ?? ''}`)
    }
  } finally {
    await stopInstall()
    rmSync(scratch, { recursive: true, force: true })
    if (image !== undefined) removeLabImage(image)
  }
  const qemu = (await run(['qemu-system-x86_64', '--version'], { timeoutMs: 5000 })).stdout.split('\n')[0]?.replace('QEMU emulator version ', '') ?? '?'
  return { id: 'install', markdown: render({ samples, dd: dd.rates, ddChecks: dd.checks, notes, stopped, qemu, image, rounds, ddRounds, minutes: (Date.now() - started) / 60_000 }) }
}

function spread (xs: ReadonlyArray<number | undefined>, digits = 1): string {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x))
  if (v.length === 0) return '–'
  return `${fmt(median(v), digits)} (${fmt(Math.min(...v), digits)}–${fmt(Math.max(...v), digits)})`
}

function render (i: { samples: readonly InstallSample[], dd: readonly number[], ddChecks: readonly string[], notes: readonly string[], stopped: string | undefined, qemu: string, image: LabImage | undefined, rounds: number, ddRounds: number, minutes: number }): string {
  const rows: Array<{ label: string, pick: (s: InstallSample) => boolean }> = [
    { label: 'BIOS VM alone', pick: s => s.group === 'bios' },
    { label: 'UEFI VM alone', pick: s => s.group === 'uefi' },
    { label: 'three at once (BIOS, UEFI, BIOS): each', pick: s => s.group === 'three' }
  ]
  const three = i.samples.filter(s => s.group === 'three')
  const alone = i.samples.filter(s => s.group !== 'three').map(s => s.writeRate)
  const ddMedian = median([...i.dd])
  const anvilMedian = median(alone.filter((x): x is number => x !== undefined))
  const out = [
    `Lab: QEMU ${i.qemu} (TCG, \`-m 512 -smp 1\`), VMs behind ipmi_sim BMCs, Anvil authoritative DHCP; image ${imageLine(i.image)}; the whole run took ${i.minutes.toFixed(1)} minutes.`,
    '',
    `**Power-on to provisioned**, ${i.rounds} round(s), every VM a new machine made ready (enrolled with its BMC, accepted, fast-wiped) and powered off first; seconds from \`POST /api/v1/machines/:id/provision\` to the machine's state \`provisioned\`, median (min–max). Breakdown from the timeline: the agent's session opened (Anvil powered the VM on through its BMC, it PXE booted into the discovery environment), the image written (\`install.written\`), the node's report (\`node.reported\`). Targets: one VM within 90 s, three at once within 120 s.`,
    '',
    table(['VMs', 'samples', 'provisioned (s)', 'agent connected (s)', 'image written (s)', 'node reported (s)', 'install write rate (MiB/s)'], rows.map(({ label, pick }) => {
      const s = i.samples.filter(pick)
      return [label, String(s.length), spread(s.map(x => x.provisioned)), spread(s.map(x => x.agent)), spread(s.map(x => x.written)), spread(s.map(x => x.reported)), spread(s.map(x => x.writeRate), 0)]
    })),
    ''
  ]
  if (three.length > 0) out.push(`Three at once: the last of the three provisioned after ${fmt(Math.max(...three.map(s => s.provisioned)))} s (per round: ${[...Array(i.rounds).keys()].map(r => fmt(Math.max(...three.slice(3 * r, 3 * r + 3).map(s => s.provisioned)))).join(', ')}).`, '')
  out.push(
    `**Write rate**: the install (bytes written / its write time: fetch, zstd, the chunk checks and the writes, from the operation's result) on the VMs installed alone, against busybox \`wget -O - URL | zstd -dc | dd of=/dev/vda bs=4M iflag=fullblock oflag=direct\` of the same artifact in a VM with the same QEMU settings (\`bench/discovery-dd-agent.ts\`; the artifact served from the same namespace), ${i.ddRounds} round(s), MiB/s, median (min–max). Target: at least 0.8× dd.`,
    '',
    table(['writer', 'MiB/s', 'Anvil / this'], [
      ['Anvil install (VMs alone)', spread(alone, 0), '1.00×'],
      ['wget \\| zstd -dc \\| dd bs=4M oflag=direct', spread([...i.dd], 0), Number.isFinite(ddMedian) && Number.isFinite(anvilMedian) && ddMedian > 0 ? `${(anvilMedian / ddMedian).toFixed(2)}×` : '–']
    ])
  )
  if (i.ddChecks.length > 0) out.push('', 'Checks of the dd rounds:', ...i.ddChecks.map(c => `- ${c}`))
  if (i.notes.length > 0) out.push('', 'Failures:', ...i.notes.map(n => `- ${n}`))
  if (i.stopped !== undefined) out.push('', `Stopped early: ${i.stopped}`)
  return out.join('\n')
}
