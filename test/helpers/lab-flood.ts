import { readdirSync, readFileSync, existsSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { prng } from '../../src/lib/prng.ts'

/** One datagram of the flood: where it goes and what it holds. */
export type FloodDatagram = { readonly port: number, readonly broadcast: boolean, readonly payload: Buffer }

/**
 * A BOOTREQUEST as QEMU's iPXE ROM sends it (RFC 2131 §2 fixed header, magic cookie, then options:
 * 53 message type, 57 max size, 93 client arch, 94 UNDI, 97 client GUID, 60 "PXEClient:...",
 * 77 user class "iPXE", 55 parameter list). Used when no captured DHCP fixture is in the tree.
 */
export function pxeBootRequest (messageType: 1 | 3, arch: number, ciaddr = '0.0.0.0'): Buffer {
  const header = Buffer.alloc(236)
  header[0] = 1 // op BOOTREQUEST
  header[1] = 1 // htype Ethernet
  header[2] = 6 // hlen
  header.writeUInt32BE(0x1234abcd, 4) // xid
  header.writeUInt16BE(0x8000, 10) // flags: broadcast
  Buffer.from(ciaddr.split('.').map(Number)).copy(header, 12) // ciaddr (the 4011 REQUEST has one)
  Buffer.from([0x52, 0x54, 0x00, 0x77, 0x00, 0x99]).copy(header, 28) // chaddr
  const vendorClass = Buffer.from(`PXEClient:Arch:${String(arch).padStart(5, '0')}:UNDI:002001`)
  // Option 97 (RFC 4578 §2.3): type 0, then the 16-byte machine UUID.
  const guid = Buffer.concat([Buffer.from([0]), Buffer.from('a4e1ab00007740008000000000000099', 'hex')])
  const options = Buffer.concat([
    Buffer.from([99, 130, 83, 99]), // magic cookie, RFC 2131 §3
    Buffer.from([53, 1, messageType]),
    Buffer.from([57, 2, 0x05, 0xc0]),
    Buffer.from([93, 2, arch >> 8, arch & 0xff]),
    Buffer.from([94, 3, 1, 2, 1]),
    Buffer.from([97, guid.length]), guid,
    Buffer.from([60, vendorClass.length]), vendorClass,
    Buffer.from([77, 4]), Buffer.from('iPXE'),
    Buffer.from([55, 8, 1, 3, 6, 12, 15, 43, 66, 67]),
    Buffer.from([255])
  ])
  return Buffer.concat([header, options])
}

/** Real datagrams captured from peers (test/fixtures/<dir>/*.bin), when the tree has them. */
function fixtures (dir: string, prefix: string): Buffer[] {
  const path = join(REPO_ROOT, 'test/fixtures', dir)
  if (!existsSync(path)) return []
  return readdirSync(path).filter(f => f.endsWith('.bin') && f.startsWith(prefix)).sort().map(f => readFileSync(join(path, f)))
}

/** The well-formed datagrams the flood truncates and mutates, per target port. */
export function floodTemplates (): Map<number, Buffer[]> {
  const dhcp = [...fixtures('dhcp', ''), pxeBootRequest(1, 0), pxeBootRequest(1, 7), pxeBootRequest(3, 7)]
  const tftp = fixtures('tftp', 'rrq-')
  if (tftp.length === 0) tftp.push(Buffer.from('\x00\x01snponly.efi\x00octet\x00blksize\x001468\x00tsize\x000\x00', 'latin1'))
  return new Map([[67, dhcp], [4011, dhcp], [69, tftp]])
}

function mutate (template: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(template)
  const edits = 1 + Math.floor(rnd() * 8)
  for (let i = 0; i < edits; i++) {
    const at = Math.floor(rnd() * out.length)
    switch (Math.floor(rnd() * 4)) {
      case 0: out[at] = Math.floor(rnd() * 256); break // random byte (lengths, codes, opcodes)
      case 1: out[at] = (out[at] ?? 0) ^ (1 << Math.floor(rnd() * 8)); break // one bit
      case 2: out[at] = 0xff; break // maximal length field / END option in the wrong place
      default: out[at] = 0; break // NUL where a string or length was
    }
  }
  // Sometimes cut the mutated packet too, so length fields point past the end.
  return rnd() < 0.3 ? out.subarray(0, Math.floor(rnd() * out.length)) : out
}

/**
 * A bounded, reproducible flood: for each port, every truncated prefix of every template, then
 * mutated templates and random bytes (0–1400 long) until the port's share of `total` is reached.
 * DHCP datagrams to port 67 alternate between broadcast and unicast, as clients send them.
 */
export function buildFlood (seed: number, total: number): FloodDatagram[] {
  const rnd = prng(seed)
  const out: FloodDatagram[] = []
  const templates = floodTemplates()
  const share = Math.floor(total / templates.size)
  for (const [port, list] of templates) {
    const mine: Buffer[] = []
    for (const t of list) for (let n = 0; n < t.length && mine.length < share / 3; n++) mine.push(t.subarray(0, n))
    while (mine.length < share) {
      const t = list[Math.floor(rnd() * list.length)] ?? Buffer.alloc(0)
      if (rnd() < 0.7) {
        mine.push(mutate(t, rnd))
      } else {
        const b = Buffer.alloc(Math.floor(rnd() * 1400))
        for (let i = 0; i < b.length; i++) b[i] = Math.floor(rnd() * 256)
        mine.push(b)
      }
    }
    mine.forEach((payload, i) => out.push({ port, broadcast: port === 67 && i % 2 === 0, payload }))
  }
  // Interleave the ports (Fisher–Yates) so all three listeners are busy at once.
  for (let i = out.length - 1; i > 0; i--) {
    const j = Math.floor(rnd() * (i + 1))
    const a = out[i]
    const b = out[j]
    if (a !== undefined && b !== undefined) { out[i] = b; out[j] = a }
  }
  return out
}

/** Serialises datagrams for the sender process: [u16 port][u8 broadcast][u16 length][payload]... */
export function encodeFlood (datagrams: readonly FloodDatagram[]): Buffer {
  return Buffer.concat(datagrams.flatMap(d => {
    const h = Buffer.alloc(5)
    h.writeUInt16BE(d.port, 0)
    h[2] = d.broadcast ? 1 : 0
    h.writeUInt16BE(d.payload.length, 3)
    return [h, d.payload]
  }))
}

/** Inverse of encodeFlood. */
export function decodeFlood (file: Buffer): FloodDatagram[] {
  const out: FloodDatagram[] = []
  for (let at = 0; at + 5 <= file.length;) {
    const len = file.readUInt16BE(at + 3)
    out.push({ port: file.readUInt16BE(at), broadcast: file[at + 2] === 1, payload: file.subarray(at + 5, at + 5 + len) })
    at += 5 + len
  }
  return out
}
