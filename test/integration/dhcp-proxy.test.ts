// Proxy DHCP in namespaces: a PXE DISCOVER (captured from OVMF) gets an OFFER without an address
// and with the boot file; a plain client (busybox udhcpc, and a non-PXE DISCOVER) gets nothing;
// a REQUEST on 4011 gets its ACK. Root only; namespaces anvdh-p-*.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodeDhcpPacket } from '../../src/dhcp/packet.ts'
import { DhcpOption, MessageType, getServerId, getVendorClass } from '../../src/dhcp/options.ts'
import { clientDatagram, fixture, pxeOptions } from '../../src/dhcp/testing.ts'
import { NetnsPair, ServerProcess, missingPrerequisite } from '../../src/dhcp/testing-netns.ts'

const skip = missingPrerequisite(['busybox'])
if (skip !== undefined) console.log(`# skipping dhcp-proxy: ${skip}`)

test('proxy mode answers PXE clients only, on 67 (OFFER) and 4011 (ACK)', { skip }, async () => {
  const pair = new NetnsPair('anvdh-p', '10.216.0.1/24', '10.216.0.2/24')
  const server = new ServerProcess(pair, {
    serverAddress: '10.216.0.1',
    dhcp: { mode: 'proxy', listen: '0.0.0.0:67', proxyListen: '0.0.0.0:4011' }
  })
  try {
    await server.waitFor(/^READY/)
    // A real non-PXE client: udhcpc gives up without a lease (-n), after its 2 DISCOVERs.
    const udhcpc = pair.run(pair.client, 'busybox', ['udhcpc', '-n', '-q', '-f', '-t', '2', '-T', '1', '-i', pair.clientIf, '-s', '/bin/true'], 20_000)
    assert.notEqual(udhcpc.status, 0, `udhcpc got a lease from a proxy:\n${udhcpc.stdout}${udhcpc.stderr}`)

    const ovmf = fixture('ovmf-1-discover.bin')
    const ovmfXid = ovmf.readUInt32BE(4)
    const plain = clientDatagram({ type: MessageType.Discover, mac: '52:54:00:d6:00:01', xid: 1, options: [[DhcpOption.VendorClass, 'udhcp 1.35.0']] })
    const request = clientDatagram({ type: MessageType.Request, mac: '52:54:00:d6:00:02', xid: 3, ciaddr: '10.216.0.2', options: pxeOptions(0) })
    // Sent in this order on one socket: an answer to xid 1 would arrive before the one to the OFFER.
    const peer = pair.run(pair.client, process.execPath, ['--import', 'tsx', 'src/dhcp/testing-peer.ts', JSON.stringify({
      bind: 68,
      send: [
        { hex: plain.toString('hex'), address: '255.255.255.255', port: 67 },
        { hex: ovmf.toString('hex'), address: '255.255.255.255', port: 67 },
        { hex: request.toString('hex'), address: '10.216.0.1', port: 4011 }
      ],
      expect: [ovmfXid, 3],
      timeoutMs: 15_000
    })], 30_000)
    assert.equal(peer.status, 0, peer.stderr)
    const replies = peer.stdout.trim().split('\n').map(l => JSON.parse(l.slice(6)) as { xid: number, from: string, port: number, hex: string })
    assert.deepEqual(replies.map(r => r.xid).sort(), [3, ovmfXid].sort(), 'no reply to the non-PXE DISCOVER')

    const offer = decodeDhcpPacket(Buffer.from(replies.find(r => r.xid === ovmfXid)?.hex ?? '', 'hex'))
    assert.equal(offer.options.get(DhcpOption.MessageType)?.[0], MessageType.Offer)
    assert.equal(offer.yiaddr, '0.0.0.0')
    assert.equal(offer.siaddr, '10.216.0.1')
    assert.equal(offer.file, 'snponly.efi')
    assert.equal(getVendorClass(offer.options), 'PXEClient')
    assert.equal(getServerId(offer.options), '10.216.0.1')
    assert.deepEqual(offer.options.get(DhcpOption.VendorSpecific), Buffer.from([6, 1, 8, 255]))

    const ackReply = replies.find(r => r.xid === 3)
    assert.equal(ackReply?.from, '10.216.0.1')
    assert.equal(ackReply?.port, 4011)
    const ack = decodeDhcpPacket(Buffer.from(ackReply?.hex ?? '', 'hex'))
    assert.equal(ack.options.get(DhcpOption.MessageType)?.[0], MessageType.Ack)
    assert.equal(ack.file, 'undionly.kpxe')
    assert.equal(ack.yiaddr, '0.0.0.0')

    // The timeline: the OFFER to the OVMF client (with its SMBIOS UUID) and the ACK; nothing for udhcpc.
    await server.waitFor(/^EVENT .*"dhcp\.ack"/)
    await server.waitFor(/^NOTE /)
    const events = server.events()
    assert.deepEqual(events.map(e => e.type), ['dhcp.offer', 'dhcp.ack'])
    assert.equal(events[0]?.mac, '52:54:00:d4:00:11')
    assert.equal((events[0]?.data as Record<string, unknown>).uuid, '11223344-5566-7788-99aa-bbccddeeff00')
    assert.match(String(events[1]?.message), /acknowledged undionly.kpxe to 52:54:00:d6:00:02: client arch 0 is x86 BIOS, proxy mode/)
    assert.ok(server.lines.includes('NOTE {"mac":"52:54:00:d6:00:02","ip":"10.216.0.2"}'))
  } finally {
    await server.stop().catch(() => undefined)
    pair.close()
  }
})
