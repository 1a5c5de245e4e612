// Lab tier: power through Anvil's API. A VM behind a simulated BMC (ipmi_sim whose chassis program
// runs the VM's QEMU: lab/bmc.ts) is enrolled by MAC with its BMC before it ever boots; then, only
// through the admin API: boot device pxe + power on → the VM PXE boots into the same machine record;
// boot device disk reads back, and a reset and a fresh power-on both boot the disk (its MBR prints
// DISK_BOOT_MESSAGE); power off ends the QEMU process; the timeline holds every step.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { test } from 'node:test'
import type { LabBmc } from '../../lab/bmc.ts'
import { enrollBmc } from '../../lab/enroll.ts'
import { DISK_BOOT_MESSAGE, vmIdentity } from '../../lab/qemu.ts'
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

test('through Anvil: bootdev pxe + power on PXE boots the enrolled VM; bootdev disk reads back and boots the disk; power off ends QEMU', { skip, timeout: 300_000 }, async (t) => {
  const vm = vmIdentity(1, 'bios')
  const mode = 'authoritative'
  const testLab = await startTestLab(mode, 'debug', { bmcs: [vm], prefix: 'anvbmc' })
  let passed = false
  t.after(async () => await testLab.cleanup(!passed))
  const { lab } = testLab
  const bmc = lab.bmcs.get(vm.name)
  assert.ok(bmc !== undefined)
  const diag = (): string => bmcDiagnostics(lab, bmc)

  // Enrolment before the first boot: by MAC, with the BMC; the password is never answered back.
  const enrolled = await enrollBmc(lab.api, bmc)
  assert.deepEqual(enrolled.macs, [vm.mac])
  assert.deepEqual({ ...enrolled.bmc, updatedAt: undefined }, { address: bmc.address, port: 623, user: 'admin', cipherSuite: 3, updatedAt: undefined })
  assert.doesNotMatch(JSON.stringify(enrolled), new RegExp(bmc.password), 'no password in the machine view')
  const id = enrolled.id
  assert.equal((await lab.api.power(id)).state, 'off', 'the VM starts powered off')
  assert.equal((await bmc.chassis()).power, 'off')

  // bootdev pxe + power on → the VM PXE boots into the same record.
  const pxe = await lab.api.setBootDevice(id, 'pxe')
  assert.equal(pxe.device, 'pxe', 'boot device pxe reads back')
  assert.equal((await bmc.chassis()).boot, 'pxe', 'the chassis holds pxe')
  assert.equal((await lab.api.powerAction(id, 'on')).state, 'on', 'power on reads back on')
  const pxePid = (await bmc.chassis()).qemuPid
  assert.ok(pxePid !== undefined && running(pxePid), `the BMC started QEMU\n${diag()}`)
  await waitForTimeline(lab, bmc, id, expectedEventTypes(vm, mode), BOOT_TIMEOUT_MS)
  const same = (await lab.api.machines()).filter(m => m.macs.includes(vm.mac))
  assert.deepEqual(same.map(m => m.id), [id], 'one machine for the MAC: the enrolled one, not a duplicate')
  assert.equal(same[0]?.uuid, vm.uuid, 'the PXE boot filled in the SMBIOS UUID')
  assert.equal(same[0]?.serial, vm.serial, 'the PXE boot filled in the SMBIOS serial')
  assert.equal((await lab.api.power(id)).state, 'on', 'power status on')
  const all = await lab.api.powerAll()
  assert.deepEqual(all.machines.map(m => [m.machineId, m.state]), [[id, 'on']], 'GET /api/v1/power')

  // bootdev disk reads back; a hard reset (same QEMU, boot_set over its monitor) boots the disk.
  const disk = await lab.api.setBootDevice(id, 'disk')
  assert.equal(disk.device, 'disk', 'boot device disk reads back')
  assert.equal((await lab.api.bootDevice(id)).device, 'disk', 'GET boot-device reads disk')
  assert.equal((await bmc.chassis()).boot, 'default', 'the chassis holds default (ipmi_sim\'s name for disk)')
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

  // The timeline holds the BMC, the boot-device and every power step, in order.
  const events = await lab.api.events(id)
  const steps = events.filter(e => e.type === 'power.action').map(e => e.data?.action)
  assert.deepEqual(steps, ['on', 'reset', 'off', 'on', 'off'], `power steps in the timeline: ${events.map(e => e.type).join(', ')}`)
  const devices = events.filter(e => e.type === 'power.boot-device').map(e => e.data?.device)
  assert.deepEqual(devices, ['pxe', 'disk'], 'boot-device steps in the timeline')
  assert.ok(events.some(e => e.type === 'bmc.set'), 'the BMC enrolment is in the timeline')
  assert.ok(lab.anvil.daemon.alive(), 'anvil is still running')
  passed = true
})
