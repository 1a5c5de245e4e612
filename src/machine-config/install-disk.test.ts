import { test } from 'node:test'
import assert from 'node:assert/strict'
import { isCodedError } from '../lib/errors.ts'
import { installDiskSchema, matchInstallDisk, type DiskFacts } from './install-disk.ts'

/** Disks as the agent reports them (src/agent/inventory/disks.ts). */
const disk = (d: Partial<DiskFacts> & { name: string }): DiskFacts => ({ sizeBytes: 0, model: '', serial: '', wwn: '', transport: '', rotational: false, readOnly: false, ...d })
const DISKS = [
  disk({ name: 'vda', sizeBytes: 10 * 1024 ** 3, serial: 'boot-vda', transport: 'virtio' }),
  disk({ name: 'nvme0n1', sizeBytes: 1000204886016, model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNX0R111111', wwn: 'eui.002538b111111111', transport: 'nvme' }),
  disk({ name: 'nvme1n1', sizeBytes: 1000204886016, model: 'Samsung SSD 980 PRO 1TB', serial: 'S5GXNX0R222222', wwn: 'eui.002538b222222222', transport: 'nvme' }),
  disk({ name: 'sda', sizeBytes: 4000787030016, model: 'ST4000NM0035-1V4107', serial: 'ZC1ABCDE', wwn: 'naa.5000c500a1b2c3d4', transport: 'sata', rotational: true }),
  disk({ name: 'sr0', sizeBytes: 1073741824, model: 'Virtual CDROM', serial: 'AAAABBBBCCCC1', transport: 'usb', readOnly: true })
]

const pick = (selector: unknown, disks: readonly DiskFacts[] = DISKS): string => matchInstallDisk(installDiskSchema.parse(selector), disks).name

test('one disk by serial, by wwn (however it was copied), by size range, by model glob and more', () => {
  assert.equal(pick({ serial: 'S5GXNX0R222222' }), 'nvme1n1')
  assert.equal(pick({ wwn: 'naa.5000c500a1b2c3d4' }), 'sda')
  assert.equal(pick({ wwn: '0x5000C500A1B2C3D4' }), 'sda', 'as in /dev/disk/by-id/wwn-0x…')
  assert.equal(pick({ wwn: 'eui.002538B111111111' }), 'nvme0n1')
  assert.equal(pick({ minSize: '2TB' }), 'sda')
  assert.equal(pick({ minSize: '900GB', maxSize: '1.1TB', serial: 'S5GXNX0R111111' }), 'nvme0n1')
  assert.equal(pick({ maxSize: '100GiB' }), 'vda', 'the read-only sr0 is never a candidate')
  assert.equal(pick({ model: 'ST4000*' }), 'sda')
  assert.equal(pick({ model: 'Samsung*', serial: 'S5GXNX0R111111' }), 'nvme0n1')
  assert.equal(pick({ transport: 'virtio' }), 'vda')
  assert.equal(pick({ rotational: true }), 'sda')
  assert.equal(pick({ minSize: 10737418240, maxSize: 10737418240 }), 'vda', 'bounds are inclusive')
})

test('several matching disks: ERR_INSTALL_DISK_AMBIGUOUS names each with its serial and size', () => {
  assert.throws(() => pick({ model: 'Samsung SSD 980*' }), (err: unknown) => {
    assert.ok(isCodedError(err))
    assert.equal(err.code, 'ERR_INSTALL_DISK_AMBIGUOUS')
    assert.equal(err.message, '2 disks match install.disk (model "Samsung SSD 980*"): nvme0n1 (serial S5GXNX0R111111, 931.5 GiB, nvme, model "Samsung SSD 980 PRO 1TB"); nvme1n1 (serial S5GXNX0R222222, 931.5 GiB, nvme, model "Samsung SSD 980 PRO 1TB"); add serial or wwn to pick one')
    assert.deepEqual((err.details?.candidates as { serial: string }[]).map(c => c.serial), ['S5GXNX0R111111', 'S5GXNX0R222222'])
    return true
  })
})

test('no matching disk: ERR_INSTALL_DISK_NONE lists what the machine has', () => {
  assert.throws(() => pick({ serial: 'NOPE' }), (err: unknown) => {
    assert.ok(isCodedError(err))
    assert.equal(err.code, 'ERR_INSTALL_DISK_NONE')
    assert.ok(err.message.startsWith('no disk matches install.disk (serial NOPE); the machine has 5: vda (serial boot-vda, 10.0 GiB, virtio); nvme0n1 (serial S5GXNX0R111111, 931.5 GiB'), err.message)
    assert.ok(err.message.includes('sr0 (serial AAAABBBBCCCC1, 1.0 GiB, usb, model "Virtual CDROM", read-only)'))
    return true
  })
  assert.throws(() => pick({ serial: 'AAAABBBBCCCC1' }), { code: 'ERR_INSTALL_DISK_NONE' }, 'a read-only disk is never picked')
  assert.throws(() => pick({ minSize: '8TB' }), { code: 'ERR_INSTALL_DISK_NONE', message: /^no disk matches install\.disk \(minSize 8TB\)/ })
  assert.throws(() => pick({ transport: 'nvme' }, []), { code: 'ERR_INSTALL_DISK_NONE', message: 'no disk matches install.disk (transport nvme); the machine reported no disks' })
})

test('a disk without a WWN never matches a wwn selector, and the message lists at most 16 disks', () => {
  assert.throws(() => pick({ wwn: 'naa.5000c500a1b2c3d4' }, [disk({ name: 'vda', serial: 'x' })]), { code: 'ERR_INSTALL_DISK_NONE' })
  const many = Array.from({ length: 20 }, (_, i) => disk({ name: `sd${i}`, serial: `S${i}`, sizeBytes: 1e12 }))
  assert.throws(() => pick({ minSize: '1TB' }, many), { code: 'ERR_INSTALL_DISK_AMBIGUOUS', message: /^20 disks match .*sd15 \(serial S15, 931\.3 GiB\); and 4 more; add serial or wwn to pick one$/ })
})
