import { test } from 'node:test'
import assert from 'node:assert/strict'
import { progressLine } from './discovery.ts'
import { hardwareFields } from './hardware.ts'

test('progress bars are proportional and say bytes, rate and phase', () => {
  const at = '2026-11-22T00:00:00.000Z'
  assert.equal(progressLine({ disk: 'vda', phase: 'wipe', bytesDone: 32 * 2 ** 20, bytesTotal: 64 * 2 ** 20, rateBytesPerSecond: 12 * 2 ** 20, at }, 10),
    'vda        [#####.....]  50%  32 MiB / 64 MiB  12 MiB/s  wipe')
  assert.match(progressLine({ disk: 'nvme0n1', phase: 'verify', bytesDone: 5, bytesTotal: 5, rateBytesPerSecond: 0, at }, 4), /\[####\] 100%/)
  assert.match(progressLine({ disk: 'sda', phase: 'wipe', bytesDone: 0, bytesTotal: 0, rateBytesPerSecond: 0, at }, 4), /\[####\] 100%/, 'an empty disk is done')
})

test('the hardware summary has a line per disk and NIC', () => {
  const fields = hardwareFields({
    machineId: 'm-1',
    reportedAt: '2026-11-22T00:00:00.000Z',
    hardware: {
      system: { uuid: '', serial: 'S', manufacturer: 'Anvil Lab', product: 'VM', sku: '', family: '', version: '' },
      baseboard: null,
      bios: { vendor: 'SeaBIOS', version: '1.16', date: '04/01/2014' },
      chassis: null,
      cpu: { model: 'QEMU Virtual CPU', sockets: 1, cores: 2, threads: 2 },
      memory: { totalBytes: 512 * 2 ** 20, dimms: [{ locator: 'DIMM 0', sizeBytes: 512 * 2 ** 20, speedMts: 0, type: 'RAM', manufacturer: '', serial: '' }] },
      disks: [{ name: 'vda', sizeBytes: 2 ** 30, model: '', serial: 'DISK1', wwn: '', rotational: false, removable: false, transport: 'virtio', byId: [], partitionTable: 'gpt', signatures: ['ext4 on vda1'], readOnly: false, logicalBlockSize: 512, discard: true }],
      nics: [{ name: 'eth0', mac: '52:54:00:77:00:11', driver: 'virtio_net', speedMbps: 0, link: true, pciAddress: '0000:00:03.0' }],
      pci: [],
      bmc: null,
      kernel: '6.1.0'
    }
  })
  const byKey = new Map(fields)
  assert.equal(byKey.get('cpu'), 'QEMU Virtual CPU (1 socket, 2 cores, 2 threads)')
  assert.equal(byKey.get('memory'), '512 MiB (DIMM 0 512 MiB RAM)')
  assert.equal(byKey.get('disk vda'), '1 GiB, virtio, serial DISK1, ssd, gpt partitions, signatures: ext4 on vda1')
  assert.equal(byKey.get('nic eth0'), '52:54:00:77:00:11, virtio_net, link up, 0000:00:03.0')
  assert.equal(byKey.get('bios'), 'SeaBIOS 1.16 04/01/2014')
})
