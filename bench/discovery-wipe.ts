// Zero-wipe rate: Anvil's `zeroes` wipe (POST /api/v1/machines/:id/wipe, the rate from the erase
// report's bytesWritten / durationMs) against busybox `dd if=/dev/zero of=DISK bs=4M oflag=direct`
// (and bs=16M, Anvil's write size) run by a bench-only agent (bench/discovery-dd-agent.ts) in a VM
// with the same QEMU settings and the same disk size. Both VMs stay up and the rounds alternate
// (Anvil first in even rounds, dd first in odd ones), so drift on the shared machine hits both.
// Disks are raw files on /dev/shm, pre-filled, so the host's storage is not what is measured.
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, readSync, renameSync, writeFileSync, writeSync } from 'node:fs'
import { join } from 'node:path'
import { inNamespace, type Teardown } from '../lab/netns.ts'
import { startDaemon, stopDaemon, waitFor, type Daemon } from '../lab/proc.ts'
import { vmIdentity } from '../lab/qemu.ts'
import type { Lab } from '../lab/start-lab.ts'
import { DiscoveryApi, startDiscoveryVm, waitForHardware, waitForTask } from '../test/helpers/lab-discovery.ts'
import { STANDIN_NET, startStandinNetwork, type BuiltBootenv } from '../test/helpers/lab-discovery-bootenv.ts'
import { diskArgv, type LabDisk } from '../test/helpers/lab-discovery-disks.ts'
import { tail } from '../test/helpers/lab-boot.ts'
import type { DdHello, DdResult, DdRun, DdStep } from './discovery-dd-agent.ts'

/** The lab VM whose disk Anvil wipes; discovery.autoAccept names its serial. */
export const WIPE_VM = vmIdentity(200, 'bios')
export const DD_VM = { name: 'ddvm', mac: '52:54:00:79:00:01', tap: 'tapdd', serial: 'BENCHDD', uuid: 'a4e1ab00-0079-4000-8000-000000000001' } as const
export const CTL_PORT = 8081

/** Per round: Anvil's rate and each dd variant's rate, in MiB/s. */
export type WipeSamples = {
  readonly bytes: number
  readonly anvil: number[]
  readonly dd: Record<string, number[]>
  readonly checks: string[]
  readonly notes: string[]
}

// The controller, in the dd VM's namespace: GET /go-K serves <dir>/go-K.json (404 until the bench
// writes it), POST /NAME stores the body as <dir>/NAME.json (renamed into place: never read half).
// With a fourth argument, GET /artifact streams that file (the install benchmark's image for dd),
// with its Content-Length, and logs how much of it went out.
const CONTROLLER = `
const { createServer } = require('node:http')
const { createReadStream, existsSync, readFileSync, renameSync, statSync, writeFileSync } = require('node:fs')
const [dir, host, port, artifact] = process.argv.slice(1)
createServer((req, res) => {
  const name = req.url.replace(/[^a-zA-Z0-9-]/g, '')
  if (req.method === 'GET' && name === 'artifact' && artifact) {
    const size = statSync(artifact).size
    const from = req.socket.remoteAddress
    console.log('artifact: sending ' + size + ' bytes to ' + from)
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': size })
    const file = createReadStream(artifact)
    file.on('error', err => { console.log('artifact: ' + err.message); res.destroy(err) })
    res.on('close', () => { console.log('artifact: ' + (res.writableFinished ? 'sent' : 'cut after') + ' ' + req.socket.bytesWritten + ' bytes to ' + from); file.destroy() })
    file.pipe(res)
    return
  }
  if (req.method === 'GET') {
    const file = dir + '/' + name + '.json'
    if (existsSync(file)) res.writeHead(200, { 'content-type': 'application/json' }).end(readFileSync(file))
    else res.writeHead(404).end()
    return
  }
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    writeFileSync(dir + '/' + name + '.tmp', Buffer.concat(chunks))
    renameSync(dir + '/' + name + '.tmp', dir + '/' + name + '.json')
    console.log('stored ' + name)
    res.writeHead(204).end()
  })
}).listen(Number(port), host, () => console.log('listening'))
`

/** Fills a raw disk file with 0xa5 (every page allocated, nothing zero), so a wipe must write it all. */
export function filledDisk (file: string, bytes: number): void {
  const fd = openSync(file, 'w')
  try {
    const chunk = Buffer.alloc(1 << 20, 0xa5)
    for (let off = 0; off < bytes; off += chunk.length) writeSync(fd, chunk, 0, chunk.length, off)
  } finally {
    closeSync(fd)
  }
}

/** True when every byte of the file is zero (checked from the host). */
function allZero (file: string, bytes: number): boolean {
  const fd = openSync(file, 'r')
  try {
    const chunk = Buffer.alloc(4 << 20)
    const zero = Buffer.alloc(chunk.length)
    for (let off = 0; off < bytes;) {
      const n = readSync(fd, chunk, 0, chunk.length, off)
      if (n <= 0) return false
      if (!chunk.subarray(0, n).equals(zero.subarray(0, n))) return false
      off += n
    }
    return true
  } finally {
    closeSync(fd)
  }
}

const mibps = (bytes: number, ms: number): number => ms > 0 ? bytes / (1 << 20) / (ms / 1000) : NaN

/** QEMU for the dd VM: the lab VM's settings (qemu.ts: pc, TCG, 512 MiB, 1 CPU) and disk argv, booted from -kernel/-initrd. */
function ddVmArgv (env: BuiltBootenv, dir: string, disk: LabDisk): string[] {
  const append = ['console=ttyS0', 'panic=-1', 'quiet', 'anvil.failwait=1', `BOOTIF=01-${DD_VM.mac.replaceAll(':', '-')}`,
    `anvil.bench.ctl=http://${STANDIN_NET.serverAddress}:${CTL_PORT}`, `anvil.bench.serial=${disk.serial}`]
  return [
    'qemu-system-x86_64', '-name', `anvbd-${DD_VM.name}`, '-machine', 'pc,accel=tcg', '-m', '512', '-smp', '1',
    '-nographic', '-serial', `file:${join(dir, `${DD_VM.name}.serial.log`)}`, '-monitor', 'none', '-no-reboot',
    '-smbios', `type=1,manufacturer=Anvil Lab,product=VM,serial=${DD_VM.serial},uuid=${DD_VM.uuid}`,
    '-kernel', env.vmlinuz, '-initrd', env.initrd, '-append', append.join(' '),
    '-netdev', `tap,id=net0,ifname=${DD_VM.tap},script=no,downscript=no`, '-device', `virtio-net-pci,netdev=net0,mac=${DD_VM.mac},romfile=`,
    ...diskArgv([disk])
  ]
}

/** The dd VM: its own namespace (dnsmasq from the stand-in network), the controller (serving `artifact` if given), QEMU. */
export async function startDdVm (ns: string, dir: string, env: BuiltBootenv, disk: LabDisk, teardown: Teardown, artifact?: string): Promise<{ qemu: Daemon, ctl: string }> {
  await startStandinNetwork(ns, dir, [DD_VM.tap], teardown)
  const ctl = join(dir, 'ctl')
  mkdirSync(ctl, { recursive: true })
  let listening = false
  const controller = startDaemon({
    name: 'bench-controller',
    argv: inNamespace(ns, [process.execPath, '-e', CONTROLLER, ctl, STANDIN_NET.serverAddress, String(CTL_PORT), ...(artifact === undefined ? [] : [artifact])]),
    logFile: join(dir, 'controller.log'),
    onLine: (line) => { if (line === 'listening') listening = true }
  })
  teardown.push('stop the bench controller', async () => await stopDaemon(controller))
  await waitFor('the bench controller', 10_000, () => listening ? true : undefined, { intervalMs: 100, giveUp: () => controller.alive() ? undefined : 'it exited' })
  const qemu = startDaemon({ name: DD_VM.name, argv: inNamespace(ns, ddVmArgv(env, dir, disk)), logFile: join(dir, `${DD_VM.name}.qemu.log`) })
  teardown.push(`stop ${DD_VM.name}`, async () => await stopDaemon(qemu))
  return { qemu, ctl }
}

export function readJson<T> (file: string): T | undefined {
  return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as T : undefined
}

export function writeStep (ctl: string, round: number, step: DdStep): void {
  writeFileSync(join(ctl, `go-${round}.tmp`), JSON.stringify(step))
  renameSync(join(ctl, `go-${round}.tmp`), join(ctl, `go-${round}.json`))
}

/**
 * Runs `rounds` zero-wipes with Anvil and with dd on `bytes`-sized disks (a multiple of 16 MiB)
 * under `scratch`; the dd VM lives in namespace `ddNs`. Both VMs are stopped before it returns.
 */
export async function benchWipe (o: { lab: Lab, teardown: Teardown, env: BuiltBootenv, ddNs: string, dir: string, scratch: string, bytes: number, rounds: number, log: (m: string) => void }): Promise<WipeSamples> {
  const { lab, teardown, bytes } = o
  const api = new DiscoveryApi(lab)
  const wipeDisk: LabDisk = { id: 'd1', file: join(o.scratch, 'anvil-wipe.raw'), bus: 'virtio', serial: 'BENCHW-A', bytes }
  const ddDisk: LabDisk = { id: 'd1', file: join(o.scratch, 'dd-wipe.raw'), bus: 'virtio', serial: 'BENCHW-D', bytes }
  filledDisk(wipeDisk.file, bytes)
  filledDisk(ddDisk.file, bytes)
  const runs: DdRun[] = [{ bs: '4M', count: bytes / (4 << 20) }, { bs: '16M', count: bytes / (16 << 20) }]
  const s: WipeSamples = { bytes, anvil: [], dd: Object.fromEntries(runs.map(r => [r.bs, []])), checks: [], notes: [] }

  const vm = await startDiscoveryVm(lab, WIPE_VM, [wipeDisk], teardown)
  const dd = await startDdVm(o.ddNs, o.dir, o.env, ddDisk, teardown)
  try {
    const { machine } = await waitForHardware(lab, api, vm, 240_000)
    const hello = await waitFor('the dd agent', 240_000, () => readJson<DdHello>(join(dd.ctl, 'hello.json')), {
      intervalMs: 200, giveUp: () => dd.qemu.alive() ? undefined : `its QEMU exited\n${tail(join(o.dir, `${DD_VM.name}.serial.log`), 2000)}`
    })
    if (hello.bytes !== bytes) throw new Error(`the dd VM sees ${hello.disk} as ${hello.bytes} bytes, not ${bytes}`)
    await waitFor(`${WIPE_VM.name} accepted by rule`, 30_000, async () => (await api.machine(machine.id)).state === 'accepted' ? true : undefined, { intervalMs: 200 })
    o.log(`discovery wipe: both VMs up (${WIPE_VM.name} ${machine.id}, dd VM disk ${hello.disk}); ${o.rounds} round(s) of ${bytes / (1 << 20)} MiB`)

    const anvilRound = async (r: number): Promise<void> => {
      const task = await api.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
      const done = await waitForTask(api, machine.id, task.id, 180_000)
      if (done.state !== 'done') throw new Error(`Anvil's zero wipe failed: ${done.error ?? '?'}`)
      const report = (await api.eraseReports(machine.id)).find(e => e.taskId === task.id)
      if (report === undefined || report.bytesWritten !== bytes || !report.verified) throw new Error(`erase report: ${JSON.stringify(report)}`)
      s.anvil.push(mibps(report.bytesWritten, report.durationMs))
      if (r === 0) s.checks.push(`Anvil: ${allZero(wipeDisk.file, bytes) ? 'every byte of the disk file zero after the first wipe (read from the host)' : '**the disk file is not all zero after the wipe**'}; erase reports verified`)
    }
    const ddRound = async (r: number): Promise<void> => {
      writeStep(dd.ctl, r, { runs })
      const results = await waitFor(`dd round ${r + 1}`, 180_000, () => readJson<DdResult[]>(join(dd.ctl, `result-${r}.json`)), { intervalMs: 200 })
      for (const res of results) {
        if (res.code !== 0) throw new Error(`dd bs=${res.bs} exited ${String(res.code)}: ${res.stderr}`)
        s.dd[res.bs]?.push(mibps(res.bs === '4M' ? res.count * (4 << 20) : res.count * (16 << 20), res.wallMs))
      }
      if (r === 0) {
        s.checks.push(`dd: ${allZero(ddDisk.file, bytes) ? 'every byte of the disk file zero after the first round (read from the host)' : '**the disk file is not all zero after dd**'}; busybox dd accepts \`oflag=direct\` (stderr: "${results[0]?.stderr.replace(/\s+/g, ' ') ?? ''}")`)
      }
    }
    for (let r = 0; r < o.rounds; r++) {
      if (r % 2 === 0) { await anvilRound(r); await ddRound(r) } else { await ddRound(r); await anvilRound(r) }
      o.log(`discovery wipe round ${r + 1}: anvil ${s.anvil.at(-1)?.toFixed(0) ?? '–'} MiB/s, dd 4M ${s.dd['4M']?.at(-1)?.toFixed(0) ?? '–'}, dd 16M ${s.dd['16M']?.at(-1)?.toFixed(0) ?? '–'} MiB/s`)
    }
    writeStep(dd.ctl, o.rounds, { done: true })
  } finally {
    await stopDaemon(vm.daemon)
    // Given { done: true } the agent exits 0 and init powers off; a VM still up after 30 s is stopped.
    await waitFor('the dd VM to power off', 30_000, () => dd.qemu.alive() ? undefined : true, { intervalMs: 200 }).catch(() => undefined)
    await stopDaemon(dd.qemu)
  }
  return s
}
