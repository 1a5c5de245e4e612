// Test support for the DHCP tests (unit and integration); not used by the server.
import { readFileSync } from 'node:fs'
import type { NetworkInterfaceInfo } from 'node:os'
import { fileURLToPath } from 'node:url'
import { BootOp, encodeDhcpPacket, type DhcpMessage } from './packet.ts'
import { DhcpOption } from './options.ts'
import { parseMac } from '../lib/mac.ts'
import type { BootEvent, BootEventSink } from '../inventory/events.ts'

const FIXTURES = fileURLToPath(new URL('../../test/fixtures/dhcp/', import.meta.url))

/** A captured datagram from test/fixtures/dhcp (see its README). */
export function fixture (name: string): Buffer {
  return readFileSync(FIXTURES + name)
}

/** Every captured fixture file name. */
export const FIXTURE_NAMES = [
  'dhclient-1-discover.bin', 'dhclient-2-offer.bin', 'dhclient-3-request.bin', 'dhclient-4-ack.bin',
  'ipxe-bios-1-discover.bin', 'ipxe-bios-2-offer.bin', 'ipxe-bios-3-request.bin', 'ipxe-bios-4-ack.bin',
  'ovmf-1-discover.bin', 'ovmf-2-offer.bin', 'perfdhcp-1-discover.bin', 'perfdhcp-2-offer.bin',
  'udhcpc-1-discover.bin', 'udhcpc-2-offer.bin', 'udhcpc-3-request.bin', 'udhcpc-4-ack.bin'
] as const

export type ClientMessageInit = {
  type: number
  mac: string
  xid?: number
  ciaddr?: string
  giaddr?: string
  flags?: number
  options?: Array<[number, Buffer | string]>
}

/** A client message built with our encoder, as a test peer would send it. */
export function clientMessage (init: ClientMessageInit): DhcpMessage {
  const chaddr = Buffer.alloc(16)
  parseMac(init.mac).copy(chaddr)
  const options = new Map<number, Buffer>([[DhcpOption.MessageType, Buffer.from([init.type])]])
  for (const [code, v] of init.options ?? []) options.set(code, typeof v === 'string' ? Buffer.from(v, 'latin1') : v)
  return {
    op: BootOp.Request,
    htype: 1,
    hlen: 6,
    hops: 0,
    xid: init.xid ?? 0x1234abcd,
    secs: 0,
    flags: init.flags ?? 0,
    ciaddr: init.ciaddr ?? '0.0.0.0',
    yiaddr: '0.0.0.0',
    siaddr: '0.0.0.0',
    giaddr: init.giaddr ?? '0.0.0.0',
    chaddr,
    sname: '',
    file: '',
    options
  }
}

/** Encoded form of clientMessage(). */
export function clientDatagram (init: ClientMessageInit): Buffer {
  return encodeDhcpPacket(clientMessage(init))
}

/** Options a UEFI x86-64 PXE ROM sends (as in ovmf-1-discover.bin). */
export function pxeOptions (arch: number, vendor = `PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:003000`): Array<[number, Buffer | string]> {
  const a = Buffer.alloc(2)
  a.writeUInt16BE(arch)
  return [[DhcpOption.ClientArch, a], [DhcpOption.VendorClass, vendor], [DhcpOption.ClientMachineId, Buffer.from('00443322116655887799aabbccddeeff00', 'hex')]]
}

/** A BootEventSink that keeps what it is given. */
export class RecordingSink implements BootEventSink {
  readonly events: BootEvent[] = []
  readonly addresses: Array<[string, string]> = []
  record (event: BootEvent): void { this.events.push(event) }
  noteAddress (mac: string, ip: string): void { this.addresses.push([mac, ip]) }
}

/** A fake os.networkInterfaces() for interface-watch.ts: set(name, ...addresses), none to remove it. */
export function fakeInterfaces (): { lookup: () => NodeJS.Dict<NetworkInterfaceInfo[]>, set: (name: string, ...addresses: string[]) => void } {
  const table = new Map<string, NetworkInterfaceInfo[]>()
  const entry = (address: string): NetworkInterfaceInfo => address.includes(':')
    ? { address, netmask: 'ffff:ffff:ffff:ffff::', family: 'IPv6', mac: '52:54:00:00:00:01', internal: false, cidr: `${address}/64`, scopeid: 0 }
    : { address, netmask: '255.255.255.0', family: 'IPv4', mac: '52:54:00:00:00:01', internal: false, cidr: `${address}/24` }
  return {
    lookup: () => Object.fromEntries(table),
    set: (name, ...addresses) => {
      if (addresses.length === 0) table.delete(name)
      else table.set(name, addresses.map(entry))
    }
  }
}
