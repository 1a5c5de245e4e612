import { test } from 'node:test'
import assert from 'node:assert/strict'
import { fileURLToPath } from 'node:url'
import { collectHardware } from './collect.ts'
import { byIdNames, transportOf } from './disks.ts'
import { pciAddressOf } from './nics.ts'
import { parseCpuinfo } from './cpu.ts'

// Trees captured from QEMU VMs by test/fixtures/agent/capture.sh; the values asserted are the
// ones that script gave QEMU.
const root = (vm: string): string => fileURLToPath(new URL(`../../../test/fixtures/agent/${vm}`, import.meta.url))
const MIB = 1024 * 1024

test('vm1: system identity, CPU topology, memory, BMC and kernel', async () => {
  const hw = await collectHardware(root('vm1'))
  assert.equal(hw.system?.uuid, '4c4c4544-0031-3210-8052-b4c04f4d3232')
  assert.equal(hw.system?.serial, 'SYS-0001')
  assert.equal(hw.baseboard?.serial, 'MB-0001')
  assert.deepEqual(hw.bios, { vendor: 'Anvil BIOS Co', version: '1.2.3', date: '03/14/2026' })
  assert.deepEqual(hw.chassis, { manufacturer: 'Anvil Chassis', type: 'Other', serial: 'CH-0001', assetTag: 'ASSET-CH' })
  assert.deepEqual(hw.cpu, { model: 'QEMU Virtual CPU version 2.5+', sockets: 2, cores: 4, threads: 4 }) // -smp 4,sockets=2,cores=2
  const total = Number(hw.memory?.totalBytes)
  assert.ok(total > 400 * MIB && total <= 512 * MIB, `MemTotal ${total}`) // -m 512 minus what the kernel reserves
  assert.deepEqual(hw.memory?.dimms, [{ locator: 'DIMM 0', sizeBytes: 512 * MIB, speedMts: 3200, type: 'RAM', manufacturer: 'Anvil Memory', serial: 'DIMM-0001' }])
  assert.deepEqual(hw.bmc, { ip: '', mac: '', ipSource: '' }) // /dev/ipmi0 from isa-ipmi-kcs
  assert.equal(hw.kernel, '6.1.0-56-amd64')
})

test('vm1: disks with serials, sizes, transports, by-id names, tables and signatures', async () => {
  const hw = await collectHardware(root('vm1'))
  assert.deepEqual(hw.disks?.map((d) => [d.name, d.serial, d.sizeBytes, d.transport, d.model]), [
    ['nvme0n1', 'NVME456', 32 * MIB, 'nvme', 'QEMU NVMe Ctrl'],
    ['vda', 'DISK123', 64 * MIB, 'virtio', '']
  ])
  const [nvme, vda] = hw.disks ?? []
  assert.deepEqual(vda?.byId, ['virtio-DISK123'])
  assert.equal(vda?.partitionTable, 'gpt')
  assert.deepEqual(vda?.signatures, ['ext4 on vda1', 'swap on vda2'])
  assert.equal(nvme?.partitionTable, 'dos')
  assert.deepEqual(nvme?.signatures, ['ext4 on nvme0n1p1'])
  assert.equal(nvme?.byId?.[0], 'nvme-QEMU_NVMe_Ctrl_NVME456')
  assert.match(nvme?.wwn ?? '', /^nvme\.1b36-/)
  assert.equal(nvme?.rotational, false)
  assert.equal(vda?.discard, true)
  assert.equal(vda?.logicalBlockSize, 512)
})

test('vm1: NICs with MACs, drivers, link, speed and PCI addresses; loopback skipped', async () => {
  const hw = await collectHardware(root('vm1'))
  assert.deepEqual(hw.nics, [
    { name: 'eth0', mac: '52:54:00:a1:00:01', driver: 'virtio_net', speedMbps: 0, link: true, pciAddress: '0000:00:04.0' },
    { name: 'eth1', mac: '52:54:00:a1:00:02', driver: 'e1000', speedMbps: 1000, link: true, pciAddress: '0000:00:05.0' }
  ])
  const nvme = hw.pci?.find((p) => p.address === '0000:00:03.0')
  assert.deepEqual(nvme, { address: '0000:00:03.0', vendorId: 0x1b36, deviceId: 0x0010, classCode: 0x010802, driver: 'nvme' })
  assert.equal(hw.pci?.length, 8)
})

test('vm2 (q35): SATA disk serial from VPD page 80h, read-only virtio disk, no BMC', async () => {
  const hw = await collectHardware(root('vm2'))
  assert.equal(hw.system?.uuid, '00112233-4455-6677-8899-aabbccddeeff')
  assert.deepEqual(hw.disks?.map((d) => [d.name, d.serial, d.sizeBytes, d.transport, d.readOnly]), [
    ['sda', 'SATA789', 48 * MIB, 'sata', false],
    ['vda', 'RODISK', 16 * MIB, 'virtio', true]
  ])
  assert.deepEqual(hw.disks?.[0]?.byId, ['ata-ANVIL-SATA-DISK_SATA789'])
  assert.equal(hw.disks?.[0]?.wwn, '') // t10.ATA... is not a world-wide name
  // -smp 4,sockets=1,cores=2,threads=2, but QEMU's TCG qemu64 (an AMD family) does not pass SMT on
  // ("doesn't support hyperthreading", even with +topoext): the guest kernel sees 4 cores, 4 threads.
  assert.deepEqual(hw.cpu, { model: hw.cpu?.model, sockets: 1, cores: 4, threads: 4 })
  assert.deepEqual(hw.nics?.map((n) => n.mac), ['52:54:00:a2:00:01'])
  assert.equal(hw.bmc, undefined)
})

test('an empty root reports an empty machine instead of failing', async () => {
  const hw = await collectHardware('/nonexistent-anvil-root')
  assert.deepEqual(hw.disks, [])
  assert.equal(hw.system, undefined)
  assert.deepEqual(hw.cpu, { model: '', sockets: 0, cores: 0, threads: 0 })
})

test('transport from the sysfs device path', () => {
  assert.equal(transportOf('/sys/devices/pci0000:00/0000:00:02.0/virtio0/block/vda'), 'virtio')
  assert.equal(transportOf('/sys/devices/pci0000:00/0000:00:03.0/nvme/nvme0/nvme0n1'), 'nvme')
  assert.equal(transportOf('/sys/devices/pci0000:00/0000:00:1f.2/ata1/host0/target0:0:0/0:0:0:0/block/sda'), 'sata')
  assert.equal(transportOf('/sys/devices/pci0000:00/0000:00:14.0/usb2/2-1/2-1:1.0/host6/target6:0:0/6:0:0:0/block/sdb'), 'usb')
  assert.equal(transportOf('/sys/devices/pci0000:00/0000:03:00.0/host0/port-0:0/end_device-0:0/target0:0:0/0:0:0:0/block/sda'), 'sas')
})

test('by-id names as udev spells them', () => {
  assert.deepEqual(byIdNames('virtio', '', 'SN 42', ''), ['virtio-SN_42'])
  assert.deepEqual(byIdNames('sata', 'Samsung SSD 870', 'S5XX', 'naa.5002538e40a1b2c3'), ['ata-Samsung_SSD_870_S5XX', 'wwn-0x5002538e40a1b2c3'])
  assert.deepEqual(byIdNames('virtio', '', '', ''), [])
})

test('PCI address of virtio and plain NICs; cpuinfo blocks', () => {
  assert.equal(pciAddressOf('/sys/devices/pci0000:00/0000:00:1c.0/0000:01:00.0/virtio3'), '0000:01:00.0')
  assert.equal(pciAddressOf('/sys/devices/platform/foo'), '')
  assert.equal(parseCpuinfo('processor\t: 0\nmodel name\t: X\n\nprocessor\t: 1\nmodel name\t: X\n').length, 2)
})
