// The server dies mid-wipe and the wipe carries on (the lab, real pieces only): a BIOS VM PXE
// boots from a real `anvil serve` into the discovery environment (boot-assets/bootenv, built with
// the real agent), is accepted and given a zero wipe of its 1 GiB pattern-filled data disk, whose
// writes QEMU throttles so the wipe lasts about 30 s. A fifth of the way in, the server is killed
// with SIGKILL (no shutdown: no stream is closed, no timeline flushed beyond what was written),
// then started again on the same data directory and ports. The agent, which kept wiping, reconnects
// with its session credential; the same session's wipe completes, its erase report lands, the
// machine ends `ready`, and the VM never rebooted: the same QEMU process (started with -no-reboot,
// so a reboot would have ended it) and one boot of the environment on its console. From the host, every byte
// of the data disk is zero. Namespace anvres-<random>.
import assert from 'node:assert/strict'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { REPO_ROOT, startAnvil } from '../../lab/anvil.ts'
import { Teardown, listNamespaces, testNamespaceName } from '../../lab/netns.ts'
import { settlesWithin, waitFor } from '../../lab/proc.ts'
import { OVMF, vmIdentity } from '../../lab/qemu.ts'
import { startLab, type Lab } from '../../lab/start-lab.ts'
import type { TaskJson } from '../../src/http/api-types.ts'
import { DiscoveryApi, startDiscoveryVm, waitForHardware, waitForTask } from '../helpers/lab-discovery.ts'
import { buildBootenv } from '../helpers/lab-discovery-bootenv.ts'
import type { LabDisk } from '../helpers/lab-discovery-disks.ts'
import { tail } from '../helpers/lab-boot.ts'
import { skipReason } from '../helpers/requirements.ts'

const skip = skipReason('the agent resume lab test', {
  root: true,
  programs: ['ip', 'qemu-system-x86_64', 'dnsmasq', 'apt-get', 'dpkg-deb', 'depmod', 'modprobe', 'strip', 'cpio', 'zstd'],
  files: ['/bin/busybox', '/dev/net/tun', OVMF.code, OVMF.vars, join(REPO_ROOT, 'node_modules/.bin/esbuild'),
    join(REPO_ROOT, 'src/agent/main.ts'), join(REPO_ROOT, 'boot-assets/undionly.kpxe')]
})

const MiB = 1 << 20
const DISK_BYTES = 1024 * MiB
/** QEMU's write throttle on the data disk: 1 GiB takes ~32 s, long enough to kill and restart the server inside it. */
const WRITE_BPS = 32 * MiB
const vm = vmIdentity(1, 'bios')
const ns = testNamespaceName('anvres')
const teardown = new Teardown()
let runDir = ''
let lab: Lab | undefined
let failed = false

before(async () => {
  if (skip !== undefined) return
  runDir = mkdtempSync(join(tmpdir(), `${ns}-`))
  const env = await buildBootenv()
  console.log(`# boot environment ready in ${env.seconds.toFixed(1)} s: ${env.output.trim().split('\n').at(-1) ?? ''}`)
  lab = await startLab({ ns, runDir, dhcpMode: 'authoritative', logLevel: 'debug' })
})

after(async () => {
  if (skip !== undefined) return
  // The VM and the restarted server first (our teardown), then the lab and its namespace.
  const failures = await teardown.run()
  if (lab !== undefined) await lab.stop()
  const left = [...(lab === undefined ? [] : await lab.leftovers()), ...(await listNamespaces()).filter(n => n === ns || n.startsWith(`${ns}-`))]
  if (failed || process.env.ANVLAB_KEEP === '1') console.log(`# run directory kept: ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
  assert.deepEqual([...failures, ...left], [], 'teardown left work undone')
})

/** Fills the file with 0xa5 (fast: the same 16 MiB buffer over and over). */
async function fillDisk (file: string, bytes: number): Promise<void> {
  const handle = await open(file, 'w')
  try {
    const chunk = Buffer.alloc(16 * MiB, 0xa5)
    for (let off = 0; off < bytes; off += chunk.length) await handle.write(chunk, 0, Math.min(chunk.length, bytes - off), off)
  } finally {
    await handle.close()
  }
}

/** The offsets (MiB) of the file that are not all zero. */
async function nonZeroMiB (file: string, bytes: number): Promise<number[]> {
  const handle = await open(file, 'r')
  const out: number[] = []
  try {
    const buf = Buffer.alloc(16 * MiB)
    const zero = Buffer.alloc(MiB)
    for (let off = 0; off < bytes; off += buf.length) {
      const { bytesRead } = await handle.read(buf, 0, buf.length, off)
      for (let m = 0; m * MiB < bytesRead; m++) if (!buf.subarray(m * MiB, (m + 1) * MiB).equals(zero)) out.push((off / MiB) + m)
    }
  } finally {
    await handle.close()
  }
  return out
}

/** True while the PID runs and is not a zombie. */
function running (pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

test('agent resume: kill -9 of the server mid-wipe, restart on the same data dir and ports; the same wipe completes without the VM rebooting', { skip, timeout: 600_000 }, async () => {
  try {
    await run()
  } catch (err) {
    failed = true
    throw err
  }
})

async function run (): Promise<void> {
  if (lab === undefined) throw new Error('no lab')
  const started = Date.now()
  const s = (ms: number): string => (ms / 1000).toFixed(1)
  const api = new DiscoveryApi(lab)
  const disk: LabDisk = { id: 'd1', file: join(runDir, 'vm1.d1.raw'), bus: 'virtio', serial: `${vm.serial}-V`, bytes: DISK_BYTES, writeBytesPerSecond: WRITE_BPS }
  await fillDisk(disk.file, disk.bytes)
  const qemu = await startDiscoveryVm(lab, vm, [disk], teardown)
  const { machine } = await waitForHardware(lab, api, qemu)
  const id = machine.id
  const bootedAt = Date.now()
  await api.accept(id)
  const wipe = await api.wipe(id, { method: 'zeroes', disks: ['vda'] })

  // A fifth of the way in, the wipe is running in the agent's first session.
  const before = await waitFor('the wipe to pass 20%', 120_000, async () => {
    const t = (await api.tasks(id)).find(x => x.id === wipe.id)
    const p = t?.progress.find(x => x.disk === 'vda' && x.phase === 'wipe')
    if (t?.state !== 'running' || p === undefined) return undefined
    return p.bytesDone >= 0.2 * p.bytesTotal ? { task: t, bytesDone: p.bytesDone } : undefined
  }, { intervalMs: 250, giveUp: () => qemu.daemon.alive() ? undefined : 'QEMU exited' })
  assert.ok(before.bytesDone < 0.8 * DISK_BYTES, `still early enough to matter: ${before.bytesDone}`)
  const sessionId = before.task.sessionId
  assert.ok(sessionId !== null)

  // kill -9: the process is gone at once; nothing of it closes a stream or says goodbye.
  const anvil = lab.anvil.daemon
  anvil.child.kill('SIGKILL')
  assert.ok(await settlesWithin(anvil.exited, 10_000), 'anvil died')
  const killedAt = Date.now()
  const restarted = await startAnvil(ns, { runDir, dhcpMode: 'authoritative', apiAddress: lab.hostLink.nsAddress, logLevel: 'debug' }, teardown)
  const restartedAt = Date.now()
  assert.equal(restarted.endpoint, lab.api.endpoint, 'the same API address')

  const done: TaskJson = await waitForTask(api, id, wipe.id, 240_000)
    .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n--- console ---\n${tail(qemu.serialLog, 3000)}\n--- anvil log ---\n${tail(restarted.daemon.logFile, 3000)}`) })
  const doneAt = Date.now()
  assert.equal(done.state, 'done', `wipe: ${done.error ?? ''}`)
  assert.equal(done.sessionId, sessionId, 'finished by the session it was handed to')
  assert.equal((await api.machine(id)).state, 'ready')
  const reports = await api.eraseReports(id)
  assert.deepEqual(reports.map(r => `${r.disk} ${r.serial ?? ''} ${r.method} ${r.bytesWritten} ${r.verified}`), [`vda ${disk.serial} zeroes ${DISK_BYTES} true`])

  // The VM never rebooted: the same QEMU (-no-reboot would have ended it), one boot.
  assert.ok(qemu.daemon.alive() && running(qemu.daemon.pid), `QEMU (pid ${qemu.daemon.pid}) still runs`)
  const consoleText = readFileSync(qemu.serialLog, 'latin1')
  // The kernel runs with `quiet`: init's first line marks each boot of the environment.
  assert.equal(consoleText.match(/anvil-init: \[[\d.]+\] Anvil boot environment/g)?.length, 1, 'one boot of the environment on the console')
  assert.match(consoleText, /anvil-agent: reconnected: machine \S+, session \S+/)
  assert.doesNotMatch(consoleText, /token refused|session refused|giving up/)

  const events = await lab.api.events(id)
  const types = events.map(e => e.type)
  assert.equal(types.filter(t => t === 'agent.connected').length, 1, `one session: ${types.join(', ')}`)
  assert.ok(types.includes('agent.reconnected'), types.join(', '))
  assert.ok(!types.includes('task.requeued'), 'the wipe never went back to the queue')
  assert.equal(types.filter(t => t === 'wipe.started').length, 1, 'handed out once')
  const states = events.filter(e => e.type === 'machine.state').map(e => `${String(e.data?.from)}→${String(e.data?.to)}`)
  assert.deepEqual(states, ['discovered→accepted', 'accepted→wiping', 'wiping→ready'])

  // From the host: every byte of the data disk is zero.
  assert.deepEqual(await nonZeroMiB(disk.file, disk.bytes), [], 'the whole disk is zero')
  const reconnected = events.find(e => e.type === 'agent.reconnected')
  console.log(`# agent resume: hardware after ${s(bootedAt - started)} s; killed at ${Math.round(100 * before.bytesDone / DISK_BYTES)}% of the wipe; ` +
    `server back ${s(restartedAt - killedAt)} s later, agent reconnected ${reconnected === undefined ? '?' : s(Date.parse(reconnected.at) - killedAt)} s after the kill; ` +
    `wipe done ${s(doneAt - killedAt)} s after it; whole test ${s(Date.now() - started)} s`)
}
