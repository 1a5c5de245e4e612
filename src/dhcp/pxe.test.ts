import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeDhcpPacket } from './packet.ts'
import { DhcpOption } from './options.ts'
import { ClientKind, classifyClient, decideBoot, type BootChoices } from './pxe.ts'
import { clientMessage, fixture, pxeOptions } from './testing.ts'

const CHOICES: BootChoices = {
  biosBootFile: 'undionly.kpxe',
  efiX64BootFile: 'snponly.efi',
  efiArm64BootFile: 'arm64/snponly.efi',
  arm64Available: false,
  httpBaseUrl: 'http://10.77.0.1:8080'
}

function classify (options: Array<[number, Buffer | string]>): ReturnType<typeof classifyClient> {
  return classifyClient(clientMessage({ type: 1, mac: '52:54:00:00:00:01', options }).options)
}

test('captured clients are classified: udhcpc/dhclient none, OVMF PXE arch 7, QEMU ROM iPXE', () => {
  assert.equal(classifyClient(decodeDhcpPacket(fixture('udhcpc-1-discover.bin')).options).kind, ClientKind.None)
  assert.equal(classifyClient(decodeDhcpPacket(fixture('dhclient-1-discover.bin')).options).kind, ClientKind.None)
  const ovmf = classifyClient(decodeDhcpPacket(fixture('ovmf-1-discover.bin')).options)
  assert.equal(ovmf.kind, ClientKind.Pxe)
  assert.equal(ovmf.arch, 7)
  const ipxe = classifyClient(decodeDhcpPacket(fixture('ipxe-bios-1-discover.bin')).options)
  assert.equal(ipxe.kind, ClientKind.Ipxe)
  assert.equal(ipxe.uuid, '11223344-5566-7788-99aa-bbccddeeff00')
})

// One row per client shape: what it sends, and the file and vendor class it must get.
const TABLE: Array<{ name: string, options: Array<[number, Buffer | string]>, arm64?: boolean, kind: ClientKind, file?: string, vendor?: string }> = [
  { name: 'BIOS PXE (arch 0)', options: pxeOptions(0), kind: 'pxe', file: 'undionly.kpxe', vendor: 'PXEClient' },
  { name: 'UEFI IA32 (arch 6): nothing to boot', options: pxeOptions(6), kind: 'pxe' },
  { name: 'UEFI x64 (arch 7)', options: pxeOptions(7), kind: 'pxe', file: 'snponly.efi', vendor: 'PXEClient' },
  { name: 'UEFI x64 (arch 9)', options: pxeOptions(9), kind: 'pxe', file: 'snponly.efi', vendor: 'PXEClient' },
  { name: 'UEFI arm64 (arch 11) without the asset', options: pxeOptions(11), kind: 'pxe' },
  { name: 'UEFI arm64 (arch 11) with the asset', options: pxeOptions(11), arm64: true, kind: 'pxe', file: 'arm64/snponly.efi', vendor: 'PXEClient' },
  { name: 'UEFI x64 HTTP boot (arch 16)', options: pxeOptions(16, 'HTTPClient:Arch:00016:UNDI:003000'), kind: 'http', file: 'http://10.77.0.1:8080/assets/snponly.efi', vendor: 'HTTPClient' },
  { name: 'UEFI arm64 HTTP (arch 19) without the asset', options: pxeOptions(19, 'HTTPClient:Arch:00019'), kind: 'http' },
  { name: 'UEFI arm64 HTTP (arch 19) with the asset', options: pxeOptions(19, 'HTTPClient:Arch:00019'), arm64: true, kind: 'http', file: 'http://10.77.0.1:8080/assets/arm64/snponly.efi', vendor: 'HTTPClient' },
  { name: 'vendor class only, arch in it', options: [[DhcpOption.VendorClass, 'PXEClient:Arch:00007:UNDI:003016']], kind: 'pxe', file: 'snponly.efi', vendor: 'PXEClient' },
  { name: 'old ROM: PXEClient, no arch', options: [[DhcpOption.VendorClass, 'PXEClient']], kind: 'pxe', file: 'undionly.kpxe', vendor: 'PXEClient' },
  { name: 'iPXE by user class', options: [...pxeOptions(7), [DhcpOption.UserClass, 'iPXE']], kind: 'ipxe', file: 'http://10.77.0.1:8080/boot.ipxe', vendor: 'PXEClient' },
  { name: 'iPXE by option 175 only', options: [...pxeOptions(0), [DhcpOption.IpxeEncapsulated, Buffer.from([0xb1, 1, 1])]], kind: 'ipxe', file: 'http://10.77.0.1:8080/boot.ipxe', vendor: 'PXEClient' },
  { name: 'iPXE user class in RFC 3004 framing', options: [[DhcpOption.UserClass, Buffer.from([4, ...Buffer.from('iPXE')])]], kind: 'ipxe', file: 'http://10.77.0.1:8080/boot.ipxe', vendor: 'PXEClient' },
  { name: 'OS client with a vendor class', options: [[DhcpOption.VendorClass, 'MSFT 5.0']], kind: 'none' },
  { name: 'OS client with nothing', options: [], kind: 'none' }
]

test('boot decision table', () => {
  for (const row of TABLE) {
    const client = classify(row.options)
    assert.equal(client.kind, row.kind, row.name)
    const d = decideBoot(client, { ...CHOICES, arm64Available: row.arm64 === true })
    assert.ok(d.reason.length > 10, `${row.name}: a reason for the timeline`)
    if (row.file === undefined) {
      assert.equal(d.action, 'decline', row.name)
    } else {
      assert.equal(d.action, 'boot', row.name)
      assert.ok(d.action === 'boot')
      assert.equal(d.bootFile, row.file, row.name)
      assert.equal(d.vendorClass, row.vendor, row.name)
      assert.equal(d.tftp, !row.file.startsWith('http'), row.name)
    }
  }
})

test('reasons name the architecture and the missing asset', () => {
  const d = decideBoot(classify(pxeOptions(7)), CHOICES)
  assert.equal(d.reason, 'client arch 7 is UEFI x86-64')
  const arm = decideBoot(classify(pxeOptions(11)), CHOICES)
  assert.match(arm.reason, /arm64\/snponly\.efi is not among the boot assets/)
  const ipxe = decideBoot(classify([[DhcpOption.UserClass, 'iPXE']]), CHOICES)
  assert.match(ipxe.reason, /chainload loop/)
})
