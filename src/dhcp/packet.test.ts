import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MalformedPacketError } from '../lib/errors.ts'
import { BootOp, clientMac, decodeDhcpPacket, encodeDhcpPacket, HEADER_LENGTH, MAX_DHCP_DATAGRAM } from './packet.ts'
import {
  DhcpOption, MAX_OPTION_INSTANCES, MessageType, getClientArches, getClientId, getClientNdi, getClientUuid, getHostname, getMaxMessageSize,
  getMessageType, getParameterList, getRequestedAddress, getServerId, getUserClasses, getVendorClass
} from './options.ts'
import { FIXTURE_NAMES, fixture } from './testing.ts'
import { prng } from '../lib/prng.ts'

/** Bytes up to and including the End option of the options field: what carries meaning. */
function significantLength (buf: Buffer): number {
  let i = HEADER_LENGTH
  while (buf[i] !== 255) i += buf[i] === 0 ? 1 : 2 + (buf[i + 1] as number)
  return i + 1
}

// A DHCPDISCOVER built by hand, one field per line (RFC 2131 §2, figure 1).
const ANNOTATED = Buffer.concat([
  Buffer.from([0x01, 0x01, 0x06, 0x00]), // op BOOTREQUEST, htype Ethernet, hlen 6, hops 0
  Buffer.from([0xde, 0xad, 0xbe, 0xef]), // xid
  Buffer.from([0x00, 0x03, 0x80, 0x00]), // secs 3, flags: broadcast bit
  Buffer.from([0, 0, 0, 0]), // ciaddr
  Buffer.from([0, 0, 0, 0]), // yiaddr
  Buffer.from([0, 0, 0, 0]), // siaddr
  Buffer.from([10, 1, 2, 3]), // giaddr 10.1.2.3: relayed
  Buffer.from('525400aabbcc' + '00'.repeat(10), 'hex'), // chaddr: 6 bytes of MAC, 10 of padding
  Buffer.alloc(64), // sname
  Buffer.alloc(128), // file
  Buffer.from([99, 130, 83, 99]), // magic cookie
  Buffer.from([53, 1, 1]), // DHCPDISCOVER
  Buffer.from([0]), // a Pad
  Buffer.from([93, 2, 0, 7]), // client arch 7 (RFC 4578)
  Buffer.from([60, 9, ...Buffer.from('PXEClient')]),
  Buffer.from([82, 6, 1, 4, 0x41, 0x42, 0x43, 0x44]), // relay agent info: circuit id "ABCD"
  Buffer.from([255]) // End
])

test('annotated DISCOVER decodes field by field', () => {
  const m = decodeDhcpPacket(ANNOTATED)
  assert.equal(m.op, BootOp.Request)
  assert.equal(m.xid, 0xdeadbeef)
  assert.equal(m.secs, 3)
  assert.equal(m.flags, 0x8000)
  assert.equal(m.giaddr, '10.1.2.3')
  assert.equal(clientMac(m), '52:54:00:aa:bb:cc')
  assert.equal(getMessageType(m.options), MessageType.Discover)
  assert.deepEqual(getClientArches(m.options), [7])
  assert.equal(getVendorClass(m.options), 'PXEClient')
  assert.deepEqual([...m.options.keys()], [53, 93, 60, 82])
  assert.deepEqual(m.options.get(82), Buffer.from([1, 4, 0x41, 0x42, 0x43, 0x44]))
})

test('encode of the annotated DISCOVER gives the same bytes, padded to 300', () => {
  const out = encodeDhcpPacket(decodeDhcpPacket(ANNOTATED))
  assert.equal(out.length, 300)
  // The only difference: we drop the Pad and pad the tail instead.
  const withoutPad = Buffer.concat([ANNOTATED.subarray(0, 243), ANNOTATED.subarray(244)])
  assert.deepEqual(out.subarray(0, withoutPad.length), withoutPad)
  assert.ok(out.subarray(withoutPad.length).every(b => b === 0))
})

test('captured datagrams: decode, encode, decode gives the same message', () => {
  for (const name of FIXTURE_NAMES) {
    const first = decodeDhcpPacket(fixture(name))
    const again = decodeDhcpPacket(encodeDhcpPacket(first))
    assert.deepEqual(again, first, name)
  }
})

test('captured udhcpc DISCOVER and REQUEST carry what udhcpc sends', () => {
  const d = decodeDhcpPacket(fixture('udhcpc-1-discover.bin'))
  assert.equal(clientMac(d), '52:54:00:d4:00:02')
  assert.equal(getMessageType(d.options), MessageType.Discover)
  assert.equal(getHostname(d.options), 'anvdh-udhcpc')
  assert.equal(getVendorClass(d.options), 'udhcp 1.35.0')
  assert.equal(getClientId(d.options), '01525400d40002')
  assert.equal(getMaxMessageSize(d.options), 576)
  assert.deepEqual(getParameterList(d.options), [1, 3, 6, 12, 15, 28, 42])
  const r = decodeDhcpPacket(fixture('udhcpc-3-request.bin'))
  assert.equal(getMessageType(r.options), MessageType.Request)
  assert.equal(getRequestedAddress(r.options), '10.213.0.119')
  assert.equal(getServerId(r.options), '10.213.0.1')
  assert.equal(r.xid, d.xid)
})

test('captured iPXE and OVMF DISCOVERs: arch, NDI, user class and the SMBIOS UUID', () => {
  const ipxe = decodeDhcpPacket(fixture('ipxe-bios-1-discover.bin'))
  assert.deepEqual(getClientArches(ipxe.options), [0])
  assert.deepEqual(getUserClasses(ipxe.options), ['iPXE'])
  assert.ok(ipxe.options.has(DhcpOption.IpxeEncapsulated))
  assert.deepEqual(getClientNdi(ipxe.options), { type: 1, major: 2, minor: 1 })
  assert.equal(getClientUuid(ipxe.options), '11223344-5566-7788-99aa-bbccddeeff00')
  const ovmf = decodeDhcpPacket(fixture('ovmf-1-discover.bin'))
  assert.deepEqual(getClientArches(ovmf.options), [7])
  assert.equal(getVendorClass(ovmf.options), 'PXEClient:Arch:00007:UNDI:003000')
  assert.equal(ovmf.flags, 0x8000)
  assert.equal(getClientUuid(ovmf.options), '11223344-5566-7788-99aa-bbccddeeff00')
  const relay = decodeDhcpPacket(fixture('perfdhcp-1-discover.bin'))
  assert.equal(relay.giaddr, '10.213.0.2')
  const offer = decodeDhcpPacket(fixture('udhcpc-2-offer.bin'))
  assert.equal(offer.op, BootOp.Reply)
  assert.equal(offer.yiaddr, '10.213.0.119')
})

test('every truncated prefix of every fixture is rejected with MalformedPacketError', () => {
  for (const name of [...FIXTURE_NAMES, 'annotated']) {
    const buf = name === 'annotated' ? ANNOTATED : fixture(name)
    const end = significantLength(buf)
    for (let n = 0; n < end; n++) {
      assert.throws(() => decodeDhcpPacket(buf.subarray(0, n)), MalformedPacketError, `${name} cut at ${n}`)
    }
    // Past End only padding is cut, and the message is whole.
    for (let n = end; n <= buf.length; n++) decodeDhcpPacket(buf.subarray(0, n))
  }
})

test('RFC 3396: repeated instances are concatenated, long values split again on encode', () => {
  const long = Buffer.alloc(600, 0x61)
  const parts = [long.subarray(0, 255), long.subarray(255, 510), long.subarray(510)]
  const buf = Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([53, 1, 1]), ...parts.map(p => Buffer.concat([Buffer.from([77, p.length]), p])), Buffer.from([255])])
  const m = decodeDhcpPacket(buf)
  assert.deepEqual(m.options.get(77), long)
  const out = encodeDhcpPacket(m)
  assert.deepEqual(out.subarray(0, buf.length), buf)
  assert.deepEqual(decodeDhcpPacket(out), m)
})

/** The annotated header, DHCPDISCOVER, then `count` instances of option 77 carrying one byte each (i & 0xff). */
function repeats (count: number, opts: { pads?: boolean } = {}): Buffer {
  const tlvs = Buffer.alloc(count * (opts.pads === true ? 4 : 3))
  let at = 0
  for (let i = 0; i < count; i++) {
    tlvs[at++] = 77
    tlvs[at++] = 1
    tlvs[at++] = i & 0xff
    if (opts.pads === true) tlvs[at++] = 0 // Pad: not an instance
  }
  return Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([53, 1, 1]), tlvs, Buffer.from([255])])
}

test('a 65 KB flood of one-byte option instances is refused by its size, before any option is read', () => {
  const flood = repeats(21_000)
  assert.ok(flood.length > 63_000)
  assert.throws(() => decodeDhcpPacket(flood), (e: unknown) => e instanceof MalformedPacketError && e.offset === MAX_DHCP_DATAGRAM && /exceeds 8972/.test(e.message))
  // One jumbo frame's worth is still a datagram: padding past End is accepted up to the limit.
  const big = Buffer.concat([ANNOTATED, Buffer.alloc(MAX_DHCP_DATAGRAM - ANNOTATED.length)])
  assert.equal(decodeDhcpPacket(big).xid, 0xdeadbeef)
  assert.throws(() => decodeDhcpPacket(Buffer.concat([big, Buffer.alloc(1)])), MalformedPacketError)
})

test('more than MAX_OPTION_INSTANCES instances are refused where the first one too many starts', () => {
  assert.equal(MAX_OPTION_INSTANCES, 1024)
  // 53 is the first instance, so 1023 of option 77 reach the cap exactly; Pads are not counted.
  assert.equal(decodeDhcpPacket(repeats(MAX_OPTION_INSTANCES - 1, { pads: true })).options.get(77)?.length, MAX_OPTION_INSTANCES - 1)
  const over = repeats(MAX_OPTION_INSTANCES)
  assert.ok(over.length < MAX_DHCP_DATAGRAM, 'refused by the count, not the size')
  const firstTooMany = HEADER_LENGTH + 3 + (MAX_OPTION_INSTANCES - 1) * 3
  assert.throws(() => decodeDhcpPacket(over), (e: unknown) => e instanceof MalformedPacketError && e.offset === firstTooMany && /more than 1024 option instances/.test(e.message))
  // The count spans the areas: the options field at the cap, then one more in the overloaded file field.
  const spans = Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([53, 1, 1, 52, 1, 1]), repeats(MAX_OPTION_INSTANCES - 2).subarray(243)])
  Buffer.from([12, 1, 0x61, 255]).copy(spans, 108)
  assert.throws(() => decodeDhcpPacket(spans), (e: unknown) => e instanceof MalformedPacketError && e.offset === 108)
})

test('RFC 3396 §7: 1000 repeats are joined in order with one copy per option, across options, file and sname', (t) => {
  const concat = t.mock.method(Buffer, 'concat')
  const base = repeats(1000)
  concat.mock.resetCalls()
  const m = decodeDhcpPacket(base)
  const joins = concat.mock.callCount()
  const want = Buffer.from(Array.from({ length: 1000 }, (_, i) => i & 0xff))
  assert.deepEqual(m.options.get(77), want)
  assert.deepEqual([...m.options.keys()], [53, 77])
  assert.ok(joins <= m.options.size, `${joins} concatenations for ${m.options.size} options`)
  // Overload 3: the value goes on in the file field, then in sname (RFC 3396 §7's order).
  const over = Buffer.concat([base.subarray(0, 243), Buffer.from([52, 1, 3]), base.subarray(243)])
  Buffer.from([77, 2, 0xf1, 0xf2, 255]).copy(over, 108)
  Buffer.from([77, 1, 0xf3, 255]).copy(over, 44)
  const wantAll = Buffer.concat([want, Buffer.from([0xf1, 0xf2, 0xf3])])
  concat.mock.resetCalls()
  const o = decodeDhcpPacket(over)
  const calls = concat.mock.callCount()
  assert.deepEqual(o.options.get(77), wantAll)
  assert.ok(!o.options.has(52))
  assert.ok(calls <= o.options.size + 1, `${calls} concatenations`) // + 1: overload (52) is joined first, on its own
})

test('option overload (52) reads options from file then sname (RFC 2132 §9.3, RFC 3396 §7)', () => {
  const buf = Buffer.from(ANNOTATED)
  // Replace the options with: 53, overload=3, End; put option 12 in file and 15 in sname.
  const opts = Buffer.from([53, 1, 3, 52, 1, 3, 255])
  const b = Buffer.concat([buf.subarray(0, 240), opts])
  Buffer.from([12, 4, ...Buffer.from('node'), 255]).copy(b, 108)
  Buffer.from([15, 3, ...Buffer.from('lab'), 255]).copy(b, 44)
  const m = decodeDhcpPacket(b)
  assert.equal(getHostname(m.options), 'node')
  assert.equal(m.options.get(15)?.toString(), 'lab')
  assert.equal(m.file, '')
  assert.equal(m.sname, '')
  assert.ok(!m.options.has(52))
  assert.deepEqual(decodeDhcpPacket(encodeDhcpPacket(m)), m)
  // An overloaded file field without End is malformed.
  const noEnd = Buffer.from(b)
  noEnd.fill(12, 108, 236)
  assert.throws(() => decodeDhcpPacket(noEnd), MalformedPacketError)
  const badMode = Buffer.concat([buf.subarray(0, 240), Buffer.from([52, 1, 4, 255])])
  assert.throws(() => decodeDhcpPacket(badMode), /overload/)
})

test('structural errors: op, hlen, cookie, fixed-length options', () => {
  const bad = (patch: (b: Buffer) => void): Buffer => { const b = Buffer.from(ANNOTATED); patch(b); return b }
  assert.throws(() => decodeDhcpPacket(bad(b => { b[0] = 3 })), MalformedPacketError)
  assert.throws(() => decodeDhcpPacket(bad(b => { b[2] = 17 })), MalformedPacketError)
  assert.throws(() => decodeDhcpPacket(bad(b => { b[236] = 0 })), (e: unknown) => e instanceof MalformedPacketError && e.offset === 236)
  assert.throws(() => decodeDhcpPacket(Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([53, 2, 1, 1, 255])])), /option 53/)
  assert.throws(() => decodeDhcpPacket(Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([50, 3, 1, 2, 3, 255])])), /option 50/)
  assert.throws(() => decodeDhcpPacket(Buffer.concat([ANNOTATED.subarray(0, 240), Buffer.from([93, 3, 0, 0, 7, 255])])), /option 93/)
})

test('random datagrams (seeded) never throw anything but MalformedPacketError', () => {
  const rnd = prng(0xd4c9)
  let decoded = 0
  for (let i = 0; i < 3000; i++) {
    // Half start with a valid header so the option parser is reached.
    const len = Math.floor(rnd() * 600)
    const b = Buffer.alloc(len)
    for (let j = 0; j < len; j++) b[j] = Math.floor(rnd() * 256)
    if (i % 2 === 0) ANNOTATED.subarray(0, Math.min(240, len)).copy(b)
    try {
      encodeDhcpPacket(decodeDhcpPacket(b))
      decoded++
    } catch (err) {
      assert.ok(err instanceof MalformedPacketError, `random input ${i} threw ${String(err)}`)
    }
  }
  assert.ok(decoded < 3000)
})

test('mutated fixtures (seeded bit flips, cuts, splices) never throw anything but MalformedPacketError', () => {
  const rnd = prng(0x5eed)
  let ok = 0
  let malformed = 0
  for (let i = 0; i < 4000; i++) {
    const src = fixture(FIXTURE_NAMES[i % FIXTURE_NAMES.length] as string)
    let b = Buffer.from(src)
    const flips = 1 + Math.floor(rnd() * 6)
    for (let f = 0; f < flips; f++) {
      const at = HEADER_LENGTH - 20 + Math.floor(rnd() * (b.length - HEADER_LENGTH + 20))
      b[at] = Math.floor(rnd() * 256)
    }
    if (rnd() < 0.2) b = b.subarray(0, Math.floor(rnd() * b.length))
    if (rnd() < 0.1) b = Buffer.concat([b, src.subarray(HEADER_LENGTH)])
    try {
      const m = decodeDhcpPacket(b)
      assert.deepEqual(decodeDhcpPacket(encodeDhcpPacket(m)), m)
      ok++
    } catch (err) {
      assert.ok(err instanceof MalformedPacketError, `mutation ${i} threw ${String(err)}`)
      malformed++
    }
  }
  // Both paths were exercised.
  assert.ok(ok > 100 && malformed > 100, `ok ${ok}, malformed ${malformed}`)
})
