// Lab tier: Anvil starts (authoritative DHCP, dhcp.interface br0, no server.address) while br0 has
// no IPv4 address and no carrier (its only port is a tap nobody has opened). It must start
// anyway, say once that it waits for br0, and serve as soon as br0 has an address and carrier:
// the address is added after Anvil is up, and carrier comes with the VMs, which are started
// afterwards. A BIOS VM (iPXE ROM → HTTP script) and a UEFI VM (OVMF PXE → snponly.efi over TFTP
// from next-server → HTTP script) must both get a lease and boot: the server id, next-server
// and script URL they were given are br0's address, which Anvil did not know when it started.
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { describe, test } from 'node:test'
import { LAB_NET } from '../../lab/netns.ts'
import { run } from '../../lab/proc.ts'
import { vmIdentity, type VmIdentity } from '../../lab/qemu.ts'
import { expectedEventTypes, waitForBoot } from '../helpers/lab-boot.ts'
import { labSkipReason, startTestLab } from '../helpers/lab-env.ts'

const skip = labSkipReason()
if (skip !== undefined) console.log(`# skipping the lab late-address test: ${skip}`)

const BOOT_TIMEOUT_MS = 120_000

type LogLine = { level: number, msg: string, listening?: Record<string, string>, failed?: string[], interface?: string, local?: string, serverId?: string }

function logLines (file: string): LogLine[] {
  return readFileSync(file, 'utf8').split('\n').flatMap(l => {
    try { return [JSON.parse(l) as LogLine] } catch { return [] }
  })
}

describe('lab: DHCP on a bridge that has no address or carrier when Anvil starts', { skip }, () => {
  test('Anvil starts, waits for br0, then leases to VMs started afterwards and boots them (authoritative)', { timeout: 240_000 }, async (t) => {
    const ipNs = async (ns: string, ...args: string[]): Promise<string> => await run(['ip', '-n', ns, ...args])
    const testLab = await startTestLab('authoritative', 'debug', {
      // No server.address: the address machines are given is br0's, whenever it has one.
      anvilConfig: { server: {} },
      beforeAnvil: async (ns) => {
        await ipNs(ns, '-4', 'addr', 'flush', 'dev', LAB_NET.bridge)
        // A port without carrier takes the bridge's carrier away until a VM opens its tap.
        await ipNs(ns, 'tuntap', 'add', 'dev', 'tapidle', 'mode', 'tap')
        await ipNs(ns, 'link', 'set', 'tapidle', 'master', LAB_NET.bridge, 'up')
      }
    })
    let passed = false
    t.after(async () => await testLab.cleanup(!passed))
    const { lab } = testLab
    const logFile = lab.anvil.daemon.logFile

    const ready = logLines(logFile).find(l => l.msg === 'anvil ready')
    assert.ok(ready?.listening?.dhcp !== undefined, `DHCP is listening: ${JSON.stringify(ready)}`)
    assert.deepEqual(ready?.failed, [])
    const waiting = logLines(logFile).filter(l => l.level === 40 && l.msg.includes('has no IPv4 address yet'))
    assert.equal(waiting.length, 1, 'one warning at start')
    assert.match(waiting[0]?.msg ?? '', /interface br0 has no IPv4 address yet.*will serve as soon as br0 has an address/)
    assert.equal(await ipNs(lab.ns, '-br', 'link', 'show', LAB_NET.bridge).then(s => s.includes('NO-CARRIER')), true, 'br0 has no carrier yet')

    // The operator configures br0 after Anvil is up (the broadcast route goes with the address).
    await ipNs(lab.ns, 'addr', 'add', `${LAB_NET.serverAddress}/${LAB_NET.prefixLength}`, 'dev', LAB_NET.bridge)
    await ipNs(lab.ns, 'route', 'replace', '255.255.255.255/32', 'dev', LAB_NET.bridge)

    const vms: VmIdentity[] = [vmIdentity(1, 'bios'), vmIdentity(2, 'uefi')]
    const results = await Promise.allSettled(vms.map(async (vm) => {
      await lab.startVm(vm)
      try {
        const { machine, events } = await waitForBoot(lab, vm, expectedEventTypes(vm, 'authoritative'), BOOT_TIMEOUT_MS)
        assert.deepEqual(machine.macs, [vm.mac], `${vm.name}: MACs`)
        assert.match(String(machine.ip), /^10\.77\.0\.1\d\d$/, `${vm.name}: leased an address from the pool`)
        const ack = events.find(e => e.type === 'dhcp.ack')
        assert.equal(ack?.source, 'dhcp', `${vm.name}: Anvil acknowledged the lease`)
        if (vm.firmware === 'uefi') {
          const tftp = events.find(e => e.type === 'tftp.transfer')
          assert.match(JSON.stringify(tftp?.data), /snponly\.efi/, `${vm.name}: fetched the first stage from next-server`)
        }
      } finally {
        await lab.stopVm(vm.name)
      }
    }))
    const failures = results.flatMap(r => r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : [])
    if (failures.length > 0) assert.fail(failures.join('\n\n'))

    const serving = logLines(logFile).find(l => l.msg === 'dhcp: interface br0 now has 10.77.0.1: serving')
    assert.equal(serving?.serverId, LAB_NET.serverAddress, 'the server id is br0\'s address')
    assert.equal(logLines(logFile).filter(l => l.msg.includes('has no IPv4 address yet')).length, 1, 'still one warning')
    assert.ok(lab.anvil.daemon.alive(), 'anvil is still running')
    passed = true
  })
})
