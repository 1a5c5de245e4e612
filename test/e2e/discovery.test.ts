// Discovery end to end (issue 4): two VMs PXE boot from Anvil into the boot environment
// (boot-assets/bootenv, built here by build-bootenv.sh with the real agent), the agent reports
// their hardware over gRPC, and the test drives the rest through the admin API only: a wipe before
// acceptance is refused and touches nothing; vm1 is accepted by an operator, vm2 by an auto-accept
// rule; vm1's two disks are fast-wiped (from the host: exactly the first and last MiB are zero, the
// pattern elsewhere intact) and vm2's disk zero-wiped (every byte zero); progress, erase reports and
// states follow. vm1: BIOS, a virtio and an NVMe disk; vm2: UEFI, one virtio disk. Namespace anvdsc-<random>.
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { Teardown, listNamespaces, testNamespaceName } from '../../lab/netns.ts'
import { OVMF, vmIdentity } from '../../lab/qemu.ts'
import { startLab, type Lab } from '../../lab/start-lab.ts'
import { ApiError, DiscoveryApi, startDiscoveryVm, waitForHardware, waitForTask, type DiscoveryVm } from '../helpers/lab-discovery.ts'
import { buildBootenv } from '../helpers/lab-discovery-bootenv.ts'
import { classifySectors, ranges, writePatternDisk, type LabDisk } from '../helpers/lab-discovery-disks.ts'
import { skipReason } from '../helpers/requirements.ts'

const skip = skipReason('the discovery lab test', {
  root: true,
  programs: ['ip', 'qemu-system-x86_64', 'dnsmasq', 'apt-get', 'dpkg-deb', 'depmod', 'modprobe', 'strip', 'cpio', 'zstd'],
  files: ['/bin/busybox', '/dev/net/tun', OVMF.code, OVMF.vars, join(REPO_ROOT, 'node_modules/.bin/esbuild'),
    join(REPO_ROOT, 'src/agent/main.ts'), join(REPO_ROOT, 'boot-assets/snponly.efi')]
})

const MiB = 1 << 20
const vm1 = vmIdentity(1, 'bios')
const vm2 = vmIdentity(2, 'uefi')
const ns = testNamespaceName('anvdsc')
const teardown = new Teardown()
let runDir = ''
let lab: Lab | undefined
let failed = false

function patternDisk (vm: string, id: string, bus: LabDisk['bus'], serial: string, bytes: number): LabDisk {
  return { id, file: join(runDir, `${vm}.${id}.raw`), bus, serial, bytes }
}

before(async () => {
  if (skip !== undefined) return
  runDir = mkdtempSync(join(tmpdir(), `${ns}-`))
  const env = await buildBootenv()
  console.log(`# boot environment ready in ${env.seconds.toFixed(1)} s: ${env.output.trim().split('\n').at(-1) ?? ''}`)
  lab = await startLab({
    ns,
    runDir,
    dhcpMode: 'authoritative',
    logLevel: 'debug',
    // vm2 is accepted by rule; vm1 waits for an operator.
    anvilConfig: { discovery: { autoAccept: [{ 'system.serial': vm2.serial }] } }
  })
})

after(async () => {
  if (skip !== undefined) return
  // The VMs and their taps first (our teardown), then the lab and its namespace.
  const failures = await teardown.run()
  if (lab !== undefined) await lab.stop()
  const left = [...(lab === undefined ? [] : await lab.leftovers()), ...(await listNamespaces()).filter(n => n === ns || n.startsWith(`${ns}-`))]
  if (failed || process.env.ANVLAB_KEEP === '1') console.log(`# run directory kept: ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
  assert.deepEqual([...failures, ...left], [], 'teardown left work undone')
})

test('discovery: hardware reported, wipe refused before acceptance, fast and zero wipes verified from the host', { skip, timeout: 480_000 }, async () => {
  try {
    await run()
  } catch (err) {
    failed = true
    throw err
  }
})

async function run (): Promise<void> {
  if (lab === undefined) throw new Error('no lab')
  const api = new DiscoveryApi(lab)
  const disks1 = [
    patternDisk('vm1', 'd1', 'virtio', `${vm1.serial}-V`, 64 * MiB),
    patternDisk('vm1', 'd2', 'nvme', `${vm1.serial}-N`, 64 * MiB)
  ]
  const disks2 = [patternDisk('vm2', 'd1', 'virtio', `${vm2.serial}-V`, 32 * MiB)]
  for (const d of [...disks1, ...disks2]) await writePatternDisk(d.file, d.serial, d.bytes)

  const vms: DiscoveryVm[] = [await startDiscoveryVm(lab, vm1, disks1, teardown), await startDiscoveryVm(lab, vm2, disks2, teardown)]
  const found = await Promise.all(vms.map(async vm => await waitForHardware(lab as Lab, api, vm)))
  const [m1, m2] = found.map(f => f.machine.id) as [string, string]

  for (const [i, vm] of vms.entries()) {
    const { hardware, machine } = found[i] as (typeof found)[number]
    const hw = hardware.hardware
    const reported = Date.parse(hardware.reportedAt)
    const events = await lab.api.events(machine.id)
    const at = (type: string): number => Date.parse(events.find(e => e.type === type)?.at ?? '')
    const s = (ms: number): string => (ms / 1000).toFixed(1)
    console.log(`# ${vm.identity.name} (${vm.identity.firmware}): power-on to hardware report ${s(reported - vm.startedAt)} s; ` +
      `first DHCP offer ${s(at('dhcp.offer') - vm.startedAt)} s, agent connected ${s(at('agent.connected') - vm.startedAt)} s`)
    assert.equal(hw.system?.uuid, vm.identity.uuid)
    assert.equal(hw.system?.serial, vm.identity.serial)
    assert.equal(hw.system?.manufacturer, vm.identity.manufacturer)
    // QEMU's -m 512 is one 512 MiB DIMM in SMBIOS; MemTotal is that less what the kernel keeps.
    assert.equal((hw.memory?.dimms ?? []).reduce((sum, d) => sum + Number(d.sizeBytes), 0), 512 * MiB)
    assert.ok(Number(hw.memory?.totalBytes) > 384 * MiB && Number(hw.memory?.totalBytes) <= 512 * MiB, `MemTotal ${hw.memory?.totalBytes}`)
    assert.deepEqual(hw.nics.map(n => n.mac), [vm.identity.mac])
    assert.deepEqual(hw.disks.map(d => `${d.serial}=${d.sizeBytes}`).sort(), vm.disks.map(d => `${d.serial}=${d.bytes}`).sort(), JSON.stringify(hw.disks))
    assert.ok(machine.macs.includes(vm.identity.mac))
  }

  // Acceptance gate: vm1 matches no rule and stays discovered; a wipe is refused and nothing is written.
  assert.equal((await api.machine(m1)).state, 'discovered')
  await assert.rejects(api.wipe(m1, { method: 'fast' }), (err: unknown) => err instanceof ApiError && err.status === 409 && err.code === 'ERR_NOT_ACCEPTED')
  assert.deepEqual(await api.tasks(m1), [])
  for (const d of disks1) {
    const map = await classifySectors(d.file, d.serial, d.bytes)
    assert.equal(map.pattern, d.bytes / 512, `${d.serial} untouched before acceptance`)
  }
  assert.equal((await api.machine(m2)).state, 'accepted', 'vm2 auto-accepted by discovery.autoAccept')
  assert.equal((await api.accept(m1)).state, 'accepted')

  const fast = await api.wipe(m1, { method: 'fast' })
  const zeroes = await api.wipe(m2, { method: 'zeroes', disks: ['vda'] })
  const [t1, t2] = await Promise.all([waitForTask(api, m1, fast.id), waitForTask(api, m2, zeroes.id)])
  assert.equal(t1.state, 'done', `fast wipe: ${t1.error ?? ''}`)
  assert.equal(t2.state, 'done', `zero wipe: ${t2.error ?? ''}`)
  assert.equal((await api.machine(m1)).state, 'ready')
  assert.equal((await api.machine(m2)).state, 'ready')

  // From the host: fast = exactly the first and the last MiB zero (GPT, MD, LVM and filesystem
  // signatures all live there on a disk without partitions), the pattern intact in between.
  for (const d of disks1) {
    const map = await classifySectors(d.file, d.serial, d.bytes)
    const sectors = d.bytes / 512
    const edge = MiB / 512
    const expected = [...Array.from({ length: edge }, (_, i) => i), ...Array.from({ length: edge }, (_, i) => sectors - edge + i)]
    assert.deepEqual(map.other, [], `${d.serial}: sectors neither zero nor pattern: ${ranges(map.other)}`)
    assert.equal(ranges(map.zero), ranges(expected), `${d.serial}: zeroed sectors`)
    assert.equal(map.pattern, sectors - 2 * edge)
  }
  for (const d of disks2) {
    const map = await classifySectors(d.file, d.serial, d.bytes)
    assert.equal(map.zero.length, d.bytes / 512, `${d.serial}: every byte zero (pattern left in ${map.pattern} sectors, other ${ranges(map.other)})`)
  }

  // Erase reports and the timeline.
  const reports1 = await api.eraseReports(m1)
  assert.deepEqual(reports1.map(r => `${r.serial ?? ''} ${r.method} ${r.verified} ${r.refused ?? ''}`).sort(),
    disks1.map(d => `${d.serial} fast true `).sort())
  const reports2 = await api.eraseReports(m2)
  assert.deepEqual(reports2.map(r => `${r.serial ?? ''} ${r.method} ${r.bytesWritten} ${r.verified}`), [`${disks2[0]?.serial ?? ''} zeroes ${32 * MiB} true`])
  for (const id of [m1, m2]) {
    const events = await lab.api.events(id)
    const types = events.map(e => e.type)
    for (const t of ['agent.hardware', 'wipe.progress', 'wipe.done']) assert.ok(types.includes(t), `${id} timeline has ${t}: ${types.join(', ')}`)
    // The lifecycle (PRODUCT.md): discovered → accepted → wiping → ready, nothing in between.
    const states = events.filter(e => e.type === 'machine.state').map(e => `${String(e.data?.from)}→${String(e.data?.to)}`)
    assert.deepEqual(states, ['discovered→accepted', 'accepted→wiping', 'wiping→ready'], `${id} state changes`)
  }
}
