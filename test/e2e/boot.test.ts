// Lab tier: real firmware boots from Anvil. A BIOS VM (QEMU's iPXE NIC ROM) and a UEFI VM (OVMF's
// native PXE → snponly.efi over TFTP → iPXE → HTTP) boot in a network namespace, first with Anvil
// as proxyDHCP beside a site DHCP server, then with Anvil authoritative; the admin API must show
// each machine with the VM's SMBIOS identity and MAC, and a timeline with every boot step.
import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import type { DhcpMode } from '../../lab/anvil.ts'
import { vmIdentity, type VmIdentity } from '../../lab/qemu.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { expectedEventTypes, waitForBoot } from '../helpers/lab-boot.ts'
import { labSkipReason, startTestLab } from '../helpers/lab-env.ts'

const skip = labSkipReason()
if (skip !== undefined) console.log(`# skipping the lab boot tests: ${skip}`)

/** Per VM under TCG on a loaded 2-core machine; measured boots take 10–25 s. */
const BOOT_TIMEOUT_MS = 120_000

async function bootAndCheck (lab: Lab, vm: VmIdentity, mode: DhcpMode): Promise<void> {
  await lab.startVm(vm)
  try {
    const { machine, events } = await waitForBoot(lab, vm, expectedEventTypes(vm, mode), BOOT_TIMEOUT_MS)
    const where = `${vm.name} (${vm.firmware}, ${mode})`
    assert.equal(machine.uuid, vm.uuid, `${where}: SMBIOS UUID`)
    assert.equal(machine.serial, vm.serial, `${where}: SMBIOS serial`)
    assert.equal(machine.manufacturer, vm.manufacturer, `${where}: manufacturer`)
    assert.equal(machine.product, vm.product, `${where}: product`)
    assert.deepEqual(machine.macs, [vm.mac], `${where}: MACs`)
    assert.equal(machine.firmware, vm.firmware === 'uefi' ? 'efi' : 'pcbios', `${where}: firmware`)
    // Both the site server (proxy mode) and Anvil (authoritative) lease from .100–.199.
    assert.match(String(machine.ip), /^10\.77\.0\.1\d\d$/, `${where}: IP`)
    for (const e of events) {
      assert.ok(e.message.length > 0, `${where}: event ${e.type} has no reason`)
    }
    const offer = events.find(e => e.type === 'dhcp.offer')
    assert.equal(offer?.source, 'dhcp', `${where}: dhcp.offer source`)
    const script = events.find(e => e.type === 'http.script')
    assert.equal(script?.source, 'http', `${where}: http.script source`)
    if (vm.firmware === 'uefi') {
      const tftp = events.find(e => e.type === 'tftp.transfer')
      assert.equal(tftp?.source, 'tftp', `${where}: tftp.transfer source`)
      assert.match(JSON.stringify(tftp?.data), /snponly\.efi/, `${where}: the TFTP transfer is the UEFI first stage`)
    }
  } finally {
    // Stop each VM as soon as its assertions are done: the next mode needs the CPU.
    await lab.stopVm(vm.name)
  }
}

describe('lab: PXE boot from Anvil', { skip }, () => {
  for (const mode of ['proxy', 'authoritative'] as const) {
    test(`a BIOS and a UEFI VM boot and are recorded (${mode} DHCP)`, { timeout: 240_000 }, async (t) => {
      const testLab = await startTestLab(mode)
      let passed = false
      t.after(async () => await testLab.cleanup(!passed))
      const vms = [vmIdentity(1, 'bios'), vmIdentity(2, 'uefi')]
      // One mode's VMs boot concurrently; allSettled so both VMs are stopped before we report.
      const results = await Promise.allSettled(vms.map(async vm => await bootAndCheck(testLab.lab, vm, mode)))
      const failures = results.flatMap(r => r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [])
      if (failures.length > 0) assert.fail(failures.join('\n\n'))
      assert.ok(testLab.lab.anvil.daemon.alive(), 'anvil is still running')
      passed = true
    })
  }
})
