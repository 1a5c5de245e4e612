import { test } from 'node:test'
import assert from 'node:assert/strict'
import { CodedError } from '../lib/errors.ts'
import type { HardwareReport } from './agent-gateway.ts'
import { REPORT_LIMITS, checkHardwareReport, sanitizeHardwareReport, sanitizeText } from './report-limits.ts'

/** A big real server: 100 disks, 200 PCI functions, 64 DIMMs, 8 NICs, every string filled. */
function bigServer (): HardwareReport {
  const hex = (n: number, w: number): string => n.toString(16).padStart(w, '0')
  return {
    system: { uuid: '4c4c4544-0042-3510-8052-b4c04f4d4e32', serial: 'CZJ2140ABC', manufacturer: 'HPE', product: 'ProLiant DL380 Gen10 Plus', sku: 'P05172-B21', family: 'ProLiant', version: 'U46 v2.60' },
    baseboard: { manufacturer: 'HPE', product: 'ProLiant DL380 Gen10 Plus', serial: 'PWARU0ARHDF1A3', version: '' },
    bios: { vendor: 'HPE', version: 'U46', date: '03/07/2024' },
    chassis: { manufacturer: 'HPE', type: 'Rack Mount Chassis', serial: 'CZJ2140ABC', assetTag: '' },
    cpu: { model: 'Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz', sockets: 2, cores: 64, threads: 128 },
    memory: {
      totalBytes: 64 * 64 * 2 ** 30,
      dimms: Array.from({ length: 64 }, (_, i) => ({ locator: `PROC ${1 + (i >> 5)} DIMM ${1 + (i & 31)}`, sizeBytes: 64 * 2 ** 30, speedMts: 3200, type: 'DDR4', manufacturer: 'Hynix', serial: `8${hex(i, 7)}` }))
    },
    disks: Array.from({ length: 100 }, (_, i) => ({
      name: `sd${String.fromCharCode(97 + (i % 26))}${i >= 26 ? String.fromCharCode(97 + (i / 26 | 0)) : ''}`,
      sizeBytes: 16e12,
      model: 'ST16000NM004J',
      serial: `ZL2${hex(i, 5)}0000C${hex(i, 4)}`,
      wwn: `naa.5000c500${hex(i, 8)}`,
      rotational: true,
      removable: false,
      transport: 'sas',
      byId: [`scsi-35000c500${hex(i, 8)}`, `wwn-0x5000c500${hex(i, 8)}`, `scsi-SSEAGATE_ST16000NM004J_ZL2${hex(i, 5)}`],
      partitionTable: 'gpt',
      signatures: Array.from({ length: 12 }, (_, p) => `linux_raid_member on sd${i}${p + 1}`),
      readOnly: false,
      logicalBlockSize: 4096,
      discard: false
    })),
    nics: Array.from({ length: 8 }, (_, i) => ({ name: `ens${i}f0np0`, mac: `b8:59:9f:00:00:${hex(i, 2)}`, driver: 'mlx5_core', speedMbps: 100000, link: i < 2, pciAddress: `0000:${hex(0x17 + i, 2)}:00.0` })),
    pci: Array.from({ length: 200 }, (_, i) => ({ address: `0000:${hex(i, 2)}:00.${i % 8}`, vendorId: 0x8086, deviceId: 0x09a2, classCode: 0x060400, driver: 'pcieport' })),
    bmc: { ip: '10.1.2.3', mac: 'b8:59:9f:00:00:ff', ipSource: 'dhcp' },
    kernel: '6.1.0-21-amd64'
  }
}

function refuses (report: unknown, path: string, limit: number, message: RegExp): void {
  assert.throws(() => checkHardwareReport(report), (e: unknown) => {
    assert.ok(e instanceof CodedError)
    assert.equal(e.code, 'ERR_REPORT_TOO_LARGE')
    assert.deepEqual(e.details, { path, limit })
    assert.match(e.message, message)
    return true
  })
}

test('a big real server passes, with room to spare', () => {
  const r = bigServer()
  checkHardwareReport(r)
  assert.ok(Buffer.byteLength(JSON.stringify(r)) < REPORT_LIMITS.jsonBytes / 4)
  checkHardwareReport({}) // an agent that found nothing
  checkHardwareReport(null)
})

test('identity strings are capped at 256 characters, naming the field path', () => {
  const r = bigServer()
  assert.ok(r.system !== null)
  r.system.serial = 'S'.repeat(256)
  checkHardwareReport(r)
  r.system.serial = 'S'.repeat(257)
  refuses(r, 'system.serial', 256, /system\.serial is 257 characters; the limit is 256/)
  const d = bigServer()
  ;(d.disks[41] as { serial: string }).serial = 'x'.repeat(300)
  refuses(d, 'disks[41].serial', 256, /disks\[41\]\.serial/)
  const k = bigServer()
  k.kernel = 'k'.repeat(257)
  refuses(k, 'kernel', 256, /kernel is 257/)
})

test('other strings, known or not, are capped at 4096', () => {
  const r = bigServer()
  ;(r.disks[3] as { byId: string[] }).byId[1] = 'b'.repeat(4096)
  checkHardwareReport(r)
  ;(r.disks[3] as { byId: string[] }).byId[1] = 'b'.repeat(4097)
  refuses(r, 'disks[3].byId[1]', 4096, /disks\[3\]\.byId\[1\] is 4097 characters; the limit is 4096/)
  refuses({ ...bigServer(), future: { note: 'n'.repeat(5000) } }, 'future.note', 4096, /future\.note/)
})

test('lists are capped by their place in the report', () => {
  const many = <T>(n: number, item: T): T[] => Array.from({ length: n }, () => item)
  const r = bigServer()
  refuses({ ...r, pci: many(2049, r.pci[0]) }, 'pci', 2048, /pci has 2049 entries; the limit is 2048/)
  checkHardwareReport({ ...r, pci: many(2048, r.pci[0]) })
  refuses({ ...r, disks: many(1025, r.disks[0]) }, 'disks', 1024, /disks has 1025/)
  refuses({ ...r, nics: many(1025, r.nics[0]) }, 'nics', 1024, /nics has 1025/)
  refuses({ ...r, memory: { totalBytes: 1, dimms: many(1025, r.memory?.dimms[0]) } }, 'memory.dimms', 1024, /memory\.dimms has 1025/)
  const disk = r.disks[0] as HardwareReport['disks'][number]
  refuses({ ...r, disks: [{ ...disk, byId: many(65, 'scsi-x') }] }, 'disks[0].byId', 64, /disks\[0\]\.byId has 65/)
  checkHardwareReport({ ...r, disks: [{ ...disk, signatures: many(4096, 'ext4 on sda1') }] })
  refuses({ ...r, disks: [{ ...disk, signatures: many(4097, 'ext4 on sda1') }] }, 'disks[0].signatures', 4096, /signatures has 4097/)
  refuses({ ...r, extra: many(1025, 1) }, 'extra', 1024, /extra has 1025/)
})

test('objects: at most 256 fields and 8 levels; odd keys are quoted and escaped in the path', () => {
  const wide = Object.fromEntries(Array.from({ length: 257 }, (_, i) => [`f${i}`, i]))
  refuses({ system: wide }, 'system', 256, /system has 257 fields/)
  refuses(wide, '', 256, /\(the report\) has 257 fields/)
  let deep: unknown = 'leaf'
  for (let i = 0; i < 8; i++) deep = { n: deep }
  checkHardwareReport(deep)
  refuses({ n: deep }, 'n.n.n.n.n.n.n.n', 8, /nested deeper than 8 levels/)
  assert.throws(() => checkHardwareReport({ '\x1b]0;evil\x07': 'v'.repeat(5000) }), (e: unknown) => {
    assert.ok(e instanceof CodedError)
    assert.equal((e.details as { path: string }).path, '["\\\\x1b]0;evil\\\\x07"]')
    assert.doesNotMatch(e.message, /\p{Cc}/u)
    return true
  })
})

test('the whole report is capped at 1 MiB of JSON even when every field is within its cap', () => {
  const r = bigServer()
  const disk = r.disks[0] as HardwareReport['disks'][number]
  // 400 disks x 8 signatures x 400 characters: each cap respected, 1.3 MB in all.
  const fat = { ...r, disks: Array.from({ length: 400 }, () => ({ ...disk, signatures: Array.from({ length: 8 }, () => 's'.repeat(400)) })) }
  assert.throws(() => checkHardwareReport(fat), (e: unknown) => {
    assert.ok(e instanceof CodedError)
    assert.equal(e.code, 'ERR_REPORT_TOO_LARGE')
    assert.deepEqual(e.details, { path: '', limit: 1024 * 1024 })
    assert.match(e.message, /hardware report is \d+ bytes as JSON; the limit is 1048576/)
    return true
  })
  // Multi-byte characters count as the bytes the store keeps.
  assert.throws(() => checkHardwareReport({ notes: Array.from({ length: 1000 }, () => 'é'.repeat(600)) }), /bytes as JSON/)
  checkHardwareReport({ notes: Array.from({ length: 1000 }, () => 'e'.repeat(600)) })
})

test('sanitizeText removes C0, DEL and C1 controls, turns line and tab controls into spaces, keeps printable Unicode', () => {
  assert.equal(sanitizeText('\x1b]0;evil\x07LAB0001'), ']0;evilLAB0001')
  assert.equal(sanitizeText('\x1b[2J\x1b[31mred\x1b[0m'), '[2J[31mred[0m')
  assert.equal(sanitizeText('a\u009b31mb\u009d0;t\u009c'), 'a31mb0;t', 'C1: CSI, OSC, ST')
  assert.equal(sanitizeText('nul\0del\x7fbs\b'), 'nuldelbs')
  assert.equal(sanitizeText('Dell\nInc.\r\tX\u0085Y'), 'Dell Inc.  X Y')
  const printable = 'Fujitsu Technology Solutions GmbH — 製品 ñ € \u00a0 \u00ff 🙂 \\ "quoted"'
  assert.equal(sanitizeText(printable), printable)
  assert.equal(sanitizeText(''), '')
})

test('sanitizeHardwareReport strips control characters from every string, deep, and leaves the rest', () => {
  const r = sanitizeHardwareReport({ system: { serial: '\x1b]0;x\x07LAB', n: 3 }, disks: [{ model: 'QEMU\x9b2J' }], ok: true, none: null })
  assert.deepEqual(r, { system: { serial: ']0;xLAB', n: 3 }, disks: [{ model: 'QEMU2J' }], ok: true, none: null })
})
