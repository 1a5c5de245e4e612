// The whole operator flow with real pieces, for one BIOS VM behind a simulated BMC (ipmi_sim whose
// chassis program runs the VM's QEMU: lab/bmc.ts), Anvil's authoritative DHCP and the real boot
// environment (boot-assets/bootenv, built by build-bootenv.sh with the agent):
//   enrol by MAC + BMC (powered off, `enrolled`) → accept → wipe {method: fast} → 202, and then,
//   without the test touching power, Anvil sets boot device PXE and powers the VM on through its
//   BMC (task.boot), the VM PXE boots into the discovery environment, the same record gets its
//   hardware report, the agent runs the wipe, the machine ends `ready` with erase reports; from the
//   host, each disk's signature areas (first and last MiB) are zero and the pattern elsewhere is
//   intact; power off through the API ends QEMU. Namespace anvflow-<random>.
import assert from 'node:assert/strict'
import { appendFileSync, readFileSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import type { ApiEvent } from '../../lab/api.ts'
import type { LabBmc } from '../../lab/bmc.ts'
import { enrollBmc } from '../../lab/enroll.ts'
import { vmFiles, vmIdentity } from '../../lab/qemu.ts'
import type { Lab } from '../../lab/start-lab.ts'
import type { TaskJson } from '../../src/http/api-types.ts'
import { DiscoveryApi, waitForTask } from '../helpers/lab-discovery.ts'
import { buildBootenv } from '../helpers/lab-discovery-bootenv.ts'
import { classifySectors, diskArgv, ranges, writePatternDisk, type LabDisk } from '../helpers/lab-discovery-disks.ts'
import { startTestLab } from '../helpers/lab-env.ts'
import { bmcDiagnostics, labPowerSkipReason, waitForTimeline } from '../helpers/lab-power.ts'
import { skipReason } from '../helpers/requirements.ts'

const skip = labPowerSkipReason() ?? skipReason('the rack flow lab test', {
  root: true,
  // What build-bootenv.sh needs (see test/e2e/discovery.test.ts).
  programs: ['apt-get', 'dpkg-deb', 'depmod', 'modprobe', 'strip', 'cpio', 'zstd'],
  files: ['/bin/busybox', join(REPO_ROOT, 'node_modules/.bin/esbuild'), join(REPO_ROOT, 'src/agent/main.ts')]
})
if (skip !== undefined) console.log(`# skipping the rack flow test: ${skip}`)

const MiB = 1 << 20
/** PXE to the agent's hardware report under TCG: 16–23 s measured (LAB-NOTES); generous for a loaded CI. */
const REPORT_TIMEOUT_MS = 150_000
const WIPE_TIMEOUT_MS = 90_000

/** True while the PID runs and is not a zombie (an exited QEMU nobody reaped counts as gone). */
function running (pid: number): boolean {
  try {
    return !/^\S+ \(.*\) [ZX] /.test(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  } catch {
    return false
  }
}

/** POST through the admin API, answering the status too (DiscoveryApi hides it; the 202 is asserted here). */
async function post (lab: Lab, path: string, json: unknown): Promise<{ status: number, body: unknown }> {
  const token = readFileSync(lab.anvil.tokenFile, 'utf8').trim()
  const res = await fetch(`${lab.api.endpoint}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(json),
    signal: AbortSignal.timeout(30_000)
  })
  const text = await res.text()
  return { status: res.status, body: text === '' ? undefined : JSON.parse(text) as unknown }
}

/**
 * A pattern-filled data disk for the BMC's VM. The chassis program reads qemu.args at every
 * power-on, so lines appended now are on QEMU's command line when Anvil powers the VM on.
 */
async function addDataDisk (bmc: LabBmc, runDir: string): Promise<LabDisk> {
  const disk: LabDisk = { id: 'data1', file: join(runDir, `${bmc.vm.name}.data.raw`), bus: 'virtio', serial: `${bmc.vm.serial}-P`, bytes: 32 * MiB }
  await writePatternDisk(disk.file, disk.serial, disk.bytes)
  appendFileSync(join(bmc.dir, 'qemu.args'), diskArgv([disk]).join('\n') + '\n')
  return disk
}

/** The 512-byte sector at `lba` of a disk file, from the host. */
async function sector (file: string, lba: number): Promise<Buffer> {
  const handle = await open(file, 'r')
  try {
    const buf = Buffer.alloc(512)
    await handle.read(buf, 0, 512, lba * 512)
    return buf
  } finally {
    await handle.close()
  }
}

/** Fast wipe from the host: exactly the first and the last MiB zero; the pattern (if any) everywhere else. */
async function checkFastWiped (file: string, tag: string, bytes: number, patterned: boolean): Promise<void> {
  const map = await classifySectors(file, tag, bytes)
  const sectors = bytes / 512
  const edge = MiB / 512
  if (!patterned) {
    // The lab's boot disk: an MBR then sparse zeros, so a wipe of its signature areas leaves no byte set.
    assert.equal(map.zero.length, sectors, `${tag}: every sector zero (other: ${ranges(map.other)})`)
    return
  }
  const expected = [...Array.from({ length: edge }, (_, i) => i), ...Array.from({ length: edge }, (_, i) => sectors - edge + i)]
  assert.deepEqual(map.other, [], `${tag}: sectors neither zero nor pattern: ${ranges(map.other)}`)
  assert.equal(ranges(map.zero), ranges(expected), `${tag}: zeroed sectors`)
  assert.equal(map.pattern, sectors - 2 * edge, `${tag}: pattern intact between the signature areas`)
}

/** The index of the first event of `type` (matching `pred`) in the timeline, or -1. */
function indexOf (events: readonly ApiEvent[], type: string, pred: (e: ApiEvent) => boolean = () => true): number {
  return events.findIndex(e => e.type === type && pred(e))
}

test('rack flow: enrol with a BMC, accept, wipe → Anvil powers the VM on through its BMC, PXE into discovery, hardware, fast wipe verified from the host, ready, power off', { skip, timeout: 420_000 }, async (t) => {
  const s = (ms: number): string => (ms / 1000).toFixed(1)
  const env = await buildBootenv()
  console.log(`# boot environment ready in ${env.seconds.toFixed(1)} s`)
  const started = Date.now()
  const vm = vmIdentity(1, 'bios')
  const testLab = await startTestLab('authoritative', 'debug', { bmcs: [vm], prefix: 'anvflow' })
  let passed = false
  t.after(async () => {
    const from = Date.now()
    await testLab.cleanup(!passed)
    console.log(`# rack flow: teardown ${s(Date.now() - from)} s`)
  })
  const { lab, runDir } = testLab
  const bmc = lab.bmcs.get(vm.name)
  assert.ok(bmc !== undefined)
  const api = new DiscoveryApi(lab)
  const labUp = Date.now()

  // 1. The VM: its BMC's boot disk (an MBR that would print a message) and a pattern-filled data disk.
  const bootDisk = vmFiles(runDir, vm).disk
  const bootDiskBytes = 16 * MiB
  assert.equal((await sector(bootDisk, 0)).readUInt16LE(510), 0xaa55, 'the boot disk starts with a boot sector')
  const data = await addDataDisk(bmc, runDir)

  // 2. Enrolled through the API by MAC with its BMC, before it ever booted: off and `enrolled`.
  const enrolled = await enrollBmc(lab.api, bmc)
  const id = enrolled.id
  assert.equal(enrolled.state, 'enrolled')
  assert.equal((await lab.api.power(id)).state, 'off', 'the BMC reads power off')
  assert.equal((await bmc.chassis()).power, 'off', 'no QEMU runs')

  // 3. Accept (allowed from enrolled), then the wipe: queued, answered 202.
  assert.equal((await api.accept(id)).state, 'accepted')
  const wipeAt = Date.now()
  const wipe = await post(lab, `/api/v1/machines/${id}/wipe`, { method: 'fast' })
  assert.equal(wipe.status, 202, `POST wipe: ${JSON.stringify(wipe.body)}`)
  const task = wipe.body as TaskJson
  assert.equal(task.kind, 'wipe')
  assert.equal(task.machineId, id)

  // 4. Nobody but Anvil touched power: its BMC holds PXE and runs the VM now.
  const chassis = await bmc.chassis()
  assert.equal(chassis.boot, 'pxe', `Anvil set boot device PXE\n${bmcDiagnostics(lab, bmc)}`)
  assert.ok(chassis.qemuPid !== undefined && running(chassis.qemuPid), `Anvil powered the VM on through its BMC\n${bmcDiagnostics(lab, bmc)}`)
  const qemuPid = chassis.qemuPid
  const early = await lab.api.events(id)
  assert.match(early.find(e => e.type === 'task.boot')?.message ?? '', /boot device set to PXE and powered on through its BMC/, `task.boot: ${early.map(e => e.type).join(', ')}`)
  assert.deepEqual(early.filter(e => e.type === 'power.action').map(e => e.data?.action), ['on'], 'one power action so far: on')
  assert.equal(early.find(e => e.type === 'power.boot-device')?.data?.device, 'pxe', 'the boot device step is in the timeline')

  // The VM PXE boots into the discovery environment; the enrolled record gets the hardware report.
  await waitForTimeline(lab, bmc, id, ['agent.connected', 'agent.hardware'], REPORT_TIMEOUT_MS)
  const reportedAt = Date.now()
  const machines = (await lab.api.machines()).filter(m => m.macs.includes(vm.mac))
  assert.deepEqual(machines.map(m => m.id), [id], 'one machine for the MAC, the enrolled one, not a duplicate')
  assert.equal((await lab.api.machines()).length, 1, 'no other machine appeared')
  const hw = (await api.hardware(id)).hardware
  assert.equal(hw.system?.uuid, vm.uuid)
  assert.equal(hw.system?.serial, vm.serial)
  assert.deepEqual(hw.nics.map(n => n.mac), [vm.mac])
  assert.deepEqual(hw.disks.map(d => `${d.serial}=${d.sizeBytes}`).sort(), [`${vm.serial}D=${bootDiskBytes}`, `${data.serial}=${data.bytes}`].sort(), JSON.stringify(hw.disks))

  // The agent takes the wipe; the machine ends ready with an erase report per disk.
  const done = await waitForTask(api, id, task.id, WIPE_TIMEOUT_MS)
    .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${bmcDiagnostics(lab, bmc)}`) })
  const wipedAt = Date.now()
  assert.equal(done.state, 'done', `wipe: ${done.error ?? ''}`)
  assert.equal((await api.machine(id)).state, 'ready')
  const reports = await api.eraseReports(id)
  assert.deepEqual(reports.map(r => `${r.serial ?? ''} ${r.method} ${r.verified} ${r.refused ?? ''}`).sort(),
    [`${vm.serial}D fast true `, `${data.serial} fast true `].sort(), JSON.stringify(reports))
  await checkFastWiped(data.file, data.serial, data.bytes, true)
  await checkFastWiped(bootDisk, `${vm.serial}D`, bootDiskBytes, false)

  // 5. Power off through the API: QEMU exits.
  assert.equal((await lab.api.powerAction(id, 'off')).state, 'off', 'power off reads back off')
  assert.equal(running(qemuPid), false, `QEMU (pid ${qemuPid}) has exited`)
  assert.equal((await bmc.chassis()).power, 'off')

  // The timeline, in order: boot device, power on, task.boot, the agent, the wipe, power off.
  const events = await lab.api.events(id)
  const types = events.map(e => e.type).join(', ')
  const order = [
    indexOf(events, 'power.boot-device'), indexOf(events, 'power.action', e => e.data?.action === 'on'), indexOf(events, 'task.boot'),
    indexOf(events, 'agent.connected'), indexOf(events, 'agent.hardware'), indexOf(events, 'wipe.done'), indexOf(events, 'power.action', e => e.data?.action === 'off')
  ]
  assert.ok(order.every((n, i) => n >= 0 && (i === 0 || n > (order[i - 1] ?? -1))), `timeline order ${order.join(' ')}: ${types}`)
  assert.deepEqual(events.filter(e => e.type === 'power.action').map(e => e.data?.action), ['on', 'off'], 'power steps: Anvil\'s on, the operator\'s off')
  const states = events.filter(e => e.type === 'machine.state').map(e => `${String(e.data?.from)}→${String(e.data?.to)}`)
  assert.deepEqual(states, ['enrolled→accepted', 'accepted→wiping', 'wiping→ready'], `state changes: ${types}`)
  assert.ok(lab.anvil.daemon.alive(), 'anvil is still running')
  console.log(`# rack flow: lab up ${s(labUp - started)} s; wipe request to hardware report ${s(reportedAt - wipeAt)} s; ` +
    `to wipe done ${s(wipedAt - wipeAt)} s; whole flow ${s(Date.now() - started)} s`)
  passed = true
})
