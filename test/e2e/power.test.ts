// Lab tier: power through Anvil's API. VMs behind simulated BMCs (ipmi_sim whose chassis program
// runs the VM's QEMU: lab/bmc.ts) are enrolled by MAC with their BMCs before they ever boot; then,
// only through the admin API, concurrently:
//  - BIOS: boot device pxe + power on → the VM PXE boots into the same machine record; boot device
//    disk reads back, and a reset and a fresh power-on both boot the disk (its MBR prints
//    DISK_BOOT_MESSAGE); power off ends the QEMU process; the timeline holds every step.
//  - UEFI: boot device pxe + power on → OVMF PXE boots (snponly.efi over TFTP); power cycle → a new
//    QEMU boots again; soft off ends it.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { DhcpMode } from '../../lab/anvil.ts'
import type { LabBmc } from '../../lab/bmc.ts'
import { enrollBmc } from '../../lab/enroll.ts'
import { DISK_BOOT_MESSAGE, vmIdentity } from '../../lab/qemu.ts'
import { waitFor } from '../../lab/proc.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { expectedEventTypes } from '../helpers/lab-boot.ts'
import { startTestLab } from '../helpers/lab-env.ts'
import { bmcDiagnostics, consoleOffset, labPowerSkipReason, waitForConsole, waitForTimeline } from '../helpers/lab-power.ts'

const skip = labPowerSkipReason()
if (skip !== undefined) console.log(`# skipping the lab power test: ${skip}`)

/** PXE to the iPXE script under TCG takes 10–25 s here; the disk's message about 2 s after power-on. */
const BOOT_TIMEOUT_MS = 120_000
const DISK_TIMEOUT_MS = 30_000

/** True while the PID runs and is not a zombie (an exited QEMU nobody reaped counts as gone). */
function running (pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    return !/^\S+ \(.*\) [ZX] /.test(stat)
  } catch {
    return false
  }
}

async function checkOff (lab: Lab, bmc: LabBmc, id: string, step: string): Promise<void> {
  const pid = (await bmc.chassis()).qemuPid
  assert.ok(pid !== undefined, `${step}: the VM runs before power off`)
  assert.equal((await lab.api.powerAction(id, 'off')).state, 'off', `${step}: power off reads back off`)
  assert.equal(running(pid), false, `${step}: QEMU (pid ${pid}) has exited`)
  assert.equal((await lab.api.power(id)).state, 'off', `${step}: power status off`)
}

/** Enrols the VM's BMC through the API and checks the view: by MAC, the BMC without its password, powered off. */
async function enroll (lab: Lab, bmc: LabBmc): Promise<string> {
  const enrolled = await enrollBmc(lab.api, bmc)
  assert.deepEqual(enrolled.macs, [bmc.vm.mac])
  assert.deepEqual({ ...enrolled.bmc, updatedAt: undefined }, { address: bmc.address, port: 623, user: 'admin', cipherSuite: 3, updatedAt: undefined })
  assert.doesNotMatch(JSON.stringify(enrolled), new RegExp(bmc.password), 'no password in the machine view')
  assert.equal((await lab.api.power(enrolled.id)).state, 'off', `${bmc.vm.name} starts powered off`)
  assert.equal((await bmc.chassis()).power, 'off')
  return enrolled.id
}

/** bootdev pxe + power on through the API, then the PXE boot in the enrolled record's timeline. */
async function pxeBoot (lab: Lab, bmc: LabBmc, id: string, mode: DhcpMode): Promise<number> {
  const { vm } = bmc
  const pxe = await lab.api.setBootDevice(id, 'pxe')
  assert.equal(pxe.device, 'pxe', `${vm.name}: boot device pxe reads back`)
  assert.equal((await bmc.chassis()).boot, 'pxe', `${vm.name}: the chassis holds pxe`)
  assert.equal((await lab.api.powerAction(id, 'on')).state, 'on', `${vm.name}: power on reads back on`)
  const pid = (await bmc.chassis()).qemuPid
  assert.ok(pid !== undefined && running(pid), `${vm.name}: the BMC started QEMU\n${bmcDiagnostics(lab, bmc)}`)
  await waitForTimeline(lab, bmc, id, expectedEventTypes(vm, mode), BOOT_TIMEOUT_MS)
  const same = (await lab.api.machines()).filter(m => m.macs.includes(vm.mac))
  assert.deepEqual(same.map(m => m.id), [id], `${vm.name}: one machine for the MAC, the enrolled one, not a duplicate`)
  assert.equal(same[0]?.uuid, vm.uuid, `${vm.name}: the PXE boot filled in the SMBIOS UUID`)
  assert.equal(same[0]?.serial, vm.serial, `${vm.name}: the PXE boot filled in the SMBIOS serial`)
  assert.equal(same[0]?.firmware, vm.firmware === 'uefi' ? 'efi' : 'pcbios', `${vm.name}: firmware`)
  assert.equal((await lab.api.power(id)).state, 'on', `${vm.name}: power status on`)
  return pid
}

/** BIOS: PXE, then bootdev disk read back and honoured by a reset and by a power-on; off ends QEMU. */
async function biosFlow (lab: Lab, bmc: LabBmc, id: string, mode: DhcpMode): Promise<void> {
  const pxePid = await pxeBoot(lab, bmc, id, mode)
  const disk = await lab.api.setBootDevice(id, 'disk')
  assert.equal(disk.device, 'disk', 'boot device disk reads back')
  assert.equal((await lab.api.bootDevice(id)).device, 'disk', 'GET boot-device reads disk')
  assert.equal((await bmc.chassis()).boot, 'default', 'the chassis holds default (ipmi_sim\'s name for disk)')
  // A hard reset keeps QEMU and sends boot_set c + system_reset over its monitor.
  let offset = consoleOffset(bmc.serialLog)
  assert.equal((await lab.api.powerAction(id, 'reset')).state, 'on', 'reset reads back on')
  await waitForConsole(lab, bmc, DISK_BOOT_MESSAGE, offset, DISK_TIMEOUT_MS)
  assert.equal((await bmc.chassis()).qemuPid, pxePid, 'a reset keeps the same QEMU process')
  await checkOff(lab, bmc, id, 'after the reset')
  // A fresh power-on with the disk still chosen starts QEMU with -boot order=c.
  offset = consoleOffset(bmc.serialLog)
  assert.equal((await lab.api.powerAction(id, 'on')).state, 'on', 'second power on reads back on')
  await waitForConsole(lab, bmc, DISK_BOOT_MESSAGE, offset, DISK_TIMEOUT_MS)
  await checkOff(lab, bmc, id, 'after the disk boot')
  const events = await lab.api.events(id)
  const steps = events.filter(e => e.type === 'power.action').map(e => e.data?.action)
  assert.deepEqual(steps, ['on', 'reset', 'off', 'on', 'off'], `power steps in the timeline: ${events.map(e => e.type).join(', ')}`)
  const devices = events.filter(e => e.type === 'power.boot-device').map(e => e.data?.device)
  assert.deepEqual(devices, ['pxe', 'disk'], 'boot-device steps in the timeline')
  assert.ok(events.some(e => e.type === 'bmc.set'), 'the BMC enrolment is in the timeline')
}

/** UEFI: PXE through OVMF; a power cycle starts a new QEMU that boots again; soft off ends it. */
async function uefiFlow (lab: Lab, bmc: LabBmc, id: string, mode: DhcpMode): Promise<void> {
  const firstPid = await pxeBoot(lab, bmc, id, mode)
  const scripts = (await lab.api.events(id)).filter(e => e.type === 'http.script').length
  assert.equal((await lab.api.powerAction(id, 'cycle')).state, 'on', 'cycle reads back on')
  const cycled = (await bmc.chassis()).qemuPid
  assert.ok(cycled !== undefined && cycled !== firstPid && !running(firstPid), 'a cycle replaces the QEMU process')
  await waitFor('a second iPXE script after the cycle', BOOT_TIMEOUT_MS, async () =>
    (await lab.api.events(id)).filter(e => e.type === 'http.script').length > scripts ? true : undefined, { intervalMs: 1_000 })
    .catch((err: unknown) => { throw new Error(`${(err as Error).message}\n${bmcDiagnostics(lab, bmc)}`) })
  assert.equal((await lab.api.powerAction(id, 'soft')).state, 'off', 'soft off reads back off')
  assert.equal(running(cycled), false, 'soft off ended QEMU')
  const steps = (await lab.api.events(id)).filter(e => e.type === 'power.action').map(e => e.data?.action)
  assert.deepEqual(steps, ['on', 'cycle', 'soft'], 'power steps in the timeline')
}

test('through Anvil: BMC-enrolled VMs PXE boot into their records; bootdev disk reads back and boots the disk; reset, cycle, off and soft act on QEMU', { skip, timeout: 300_000 }, async (t) => {
  const mode = 'authoritative'
  const vms = [vmIdentity(1, 'bios'), vmIdentity(2, 'uefi')] as const
  const testLab = await startTestLab(mode, 'debug', { bmcs: vms, prefix: 'anvbmc' })
  let passed = false
  t.after(async () => await testLab.cleanup(!passed))
  const { lab } = testLab
  const [bios, uefi] = vms.map(vm => lab.bmcs.get(vm.name))
  assert.ok(bios !== undefined && uefi !== undefined)
  const biosId = await enroll(lab, bios)
  const uefiId = await enroll(lab, uefi)
  // Both at once; allSettled so that both have finished before the lab is torn down.
  const results = await Promise.allSettled([biosFlow(lab, bios, biosId, mode), uefiFlow(lab, uefi, uefiId, mode)])
  const failures = results.flatMap(r => r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [])
  if (failures.length > 0) assert.fail(failures.join('\n\n'))
  const all = await lab.api.powerAll()
  assert.deepEqual(all.machines.map(m => [m.machineId, m.state]).sort(), [[biosId, 'off'], [uefiId, 'off']].sort(), 'GET /api/v1/power lists both, off')
  assert.ok(lab.anvil.daemon.alive(), 'anvil is still running')
  passed = true
})
