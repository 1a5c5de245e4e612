import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { MalformedPacketError } from '../lib/errors.ts'
import { prng } from '../lib/prng.ts'
import { decodeEntryPoint, decodeSmbios, decodeStructures } from './smbios.ts'

// Tables captured from QEMU 7.2 VMs with the identities in test/fixtures/agent/capture.sh.
const fixture = (vm: string, file: string): Buffer =>
  readFileSync(new URL(`../../test/fixtures/agent/${vm}/sys/firmware/dmi/tables/${file}`, import.meta.url))
const vm1 = { ep: fixture('vm1', 'smbios_entry_point'), table: fixture('vm1', 'DMI') }
const vm2 = { ep: fixture('vm2', 'smbios_entry_point'), table: fixture('vm2', 'DMI') }

test('vm1 (SMBIOS 2.8, 32-bit entry point): every identity QEMU was given', () => {
  const info = decodeSmbios(vm1.ep, vm1.table)
  assert.equal(info.version, '2.8')
  assert.deepEqual(info.bios, { vendor: 'Anvil BIOS Co', version: '1.2.3', date: '03/14/2026' })
  assert.deepEqual(info.system, {
    manufacturer: 'Anvil Labs',
    product: 'Anvil Test Server',
    version: 'v1',
    serial: 'SYS-0001',
    uuid: '4c4c4544-0031-3210-8052-b4c04f4d3232',
    sku: 'SKU-42',
    family: 'Anvil Family'
  })
  assert.deepEqual(info.baseboard, { manufacturer: 'Anvil Boards', product: 'AB-1', version: 'rev2', serial: 'MB-0001', assetTag: 'ASSET-MB' })
  assert.deepEqual(info.chassis, { manufacturer: 'Anvil Chassis', type: 'Other', version: 'c1', serial: 'CH-0001', assetTag: 'ASSET-CH' })
  assert.equal(info.processors.length, 2) // -smp 4,sockets=2,cores=2
  assert.deepEqual(info.processors.map((p) => [p.socket, p.manufacturer, p.version, p.populated, p.cores]),
    [['CPU 0', 'Anvil CPU', 'Anvil vCPU', true, 2], ['CPU 1', 'Anvil CPU', 'Anvil vCPU', true, 2]])
  assert.deepEqual(info.memoryDevices, [{
    locator: 'DIMM 0', bank: '', sizeBytes: 512 * 1024 * 1024, speedMts: 3200, type: 'RAM', manufacturer: 'Anvil Memory', serial: 'DIMM-0001', partNumber: 'AM-512'
  }])
  // -device isa-ipmi-kcs: QEMU's type 38 names KCS at I/O port 0xCA2.
  assert.deepEqual(info.ipmi, { interfaceType: 'KCS', specVersion: '2.0', baseAddress: 0xca2n, addressSpace: 'io' })
})

test('vm1 UUID matches what Linux shows in /sys/class/dmi/id/product_uuid', () => {
  const linux = readFileSync(new URL('../../test/fixtures/agent/vm1/sys/class/dmi/id/product_uuid', import.meta.url), 'latin1').trim()
  assert.equal(decodeSmbios(vm1.ep, vm1.table).system?.uuid, linux)
})

test('vm2 (SMBIOS 3.0, 64-bit entry point on q35)', () => {
  const info = decodeSmbios(vm2.ep, vm2.table)
  assert.equal(info.version, '3.0')
  assert.equal(info.system?.uuid, '00112233-4455-6677-8899-aabbccddeeff')
  assert.equal(info.system?.serial, 'SYS-0002')
  assert.equal(info.system?.product, 'Anvil Q35')
  assert.equal(info.processors.length, 1) // sockets=1
  assert.equal(info.memoryDevices.reduce((s, d) => s + d.sizeBytes, 0), 768 * 1024 * 1024)
  assert.equal(info.ipmi, undefined)
})

test('UUID before SMBIOS 2.6 keeps the wire byte order (DSP0134 §7.2.1)', () => {
  const ep = Buffer.from(vm1.ep)
  ep[0x07] = 5 // minor 2.5; fix both checksums
  ep[0x04] = (ep[0x04] as number) + 3
  const info = decodeSmbios(ep, vm1.table)
  assert.equal(info.system?.uuid, '44454c4c-3100-1032-8052-b4c04f4d3232')
})

test('the 3.x structure table ends at type 127; trailing bytes are ignored', () => {
  const entry = decodeEntryPoint(vm2.ep)
  const structures = decodeStructures(Buffer.concat([vm2.table, Buffer.alloc(16, 0xaa)]), { ...entry, tableLength: vm2.table.length + 16 })
  assert.equal(structures.at(-1)?.type, 127)
})

test('every truncated prefix of either file is rejected with MalformedPacketError', () => {
  for (const vm of [vm1, vm2]) {
    for (let n = 0; n < vm.ep.length; n++) {
      assert.throws(() => decodeSmbios(vm.ep.subarray(0, n), vm.table), MalformedPacketError, `entry point prefix ${n}`)
    }
    const entry = decodeEntryPoint(vm.ep)
    const endOfTable = endOffset(vm.table, entry)
    for (let n = 0; n < endOfTable; n++) {
      assert.throws(() => decodeSmbios(vm.ep, vm.table.subarray(0, n)), MalformedPacketError, `table prefix ${n}`)
    }
  }
})

test('bad checksums and anchors are MalformedPacketError', () => {
  const ep = Buffer.from(vm1.ep)
  ep[0x04] = (ep[0x04] as number) ^ 1
  assert.throws(() => decodeEntryPoint(ep), MalformedPacketError)
  assert.throws(() => decodeEntryPoint(Buffer.from('_XX_ and more bytes than needed for an entry point')), MalformedPacketError)
})

test('fuzz: random and mutated tables throw nothing but MalformedPacketError', () => {
  const seed = 0x5b10
  const rand = prng(seed)
  const byte = (): number => Math.floor(rand() * 256)
  for (let i = 0; i < 3000; i++) {
    const vm = i % 2 === 0 ? vm1 : vm2
    const table = Buffer.from(vm.table)
    const flips = 1 + Math.floor(rand() * 8)
    for (let k = 0; k < flips; k++) table[Math.floor(rand() * table.length)] = byte()
    const cut = i % 3 === 0 ? Math.floor(rand() * table.length) : table.length
    const junk = Buffer.from(Array.from({ length: Math.floor(rand() * 64) }, byte))
    for (const input of [table.subarray(0, cut), junk]) {
      try {
        decodeSmbios(vm.ep, input)
      } catch (err) {
        assert.ok(err instanceof MalformedPacketError, `seed ${seed} iteration ${i}: ${String(err)}`)
      }
    }
  }
})

/** The byte after the type 127 structure (the 2.x table length is exact, so the whole file). */
function endOffset (table: Buffer, entry: ReturnType<typeof decodeEntryPoint>): number {
  if (entry.structureCount !== undefined) return entry.tableLength
  const structures = decodeStructures(table, entry)
  const last = structures.at(-1)
  assert.ok(last !== undefined)
  return last.formatted.byteOffset - table.byteOffset + last.formatted.length + 2
}
