import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BROADCAST_FLAG, decodeDhcpPacket } from './packet.ts'
import { DhcpOption, MessageType, getLeaseTime, getServerId, getVendorClass } from './options.ts'
import { buildReply, encodeReply, maxReplyLength, replyDestination, type ArrivalInfo } from './reply.ts'
import { clientMessage, fixture } from './testing.ts'

const ARRIVAL: ArrivalInfo = { from: { address: '0.0.0.0', port: 68 }, proxyPort: false, clientPort: 68, serverPort: 67 }
const NET = { subnetMask: '255.255.255.0', routers: ['10.77.0.1'], dns: ['10.77.0.1', '10.77.0.2'], domain: 'lab' }

test('proxy OFFER to the captured OVMF DISCOVER: no yiaddr, PXEClient, 43, 54, siaddr, file, 97 echoed', () => {
  const req = decodeDhcpPacket(fixture('ovmf-1-discover.bin'))
  const reply = buildReply(req, { type: MessageType.Offer, serverId: '10.77.0.1', boot: { bootFile: 'snponly.efi', vendorClass: 'PXEClient', nextServer: '10.77.0.1' } })
  const m = decodeDhcpPacket(encodeReply(reply, req))
  assert.equal(m.op, 2)
  assert.equal(m.xid, req.xid)
  assert.equal(m.flags, req.flags)
  assert.deepEqual(m.chaddr, req.chaddr)
  assert.equal(m.yiaddr, '0.0.0.0')
  assert.equal(m.siaddr, '10.77.0.1')
  assert.equal(m.file, 'snponly.efi')
  assert.equal(getVendorClass(m.options), 'PXEClient')
  assert.equal(getServerId(m.options), '10.77.0.1')
  assert.deepEqual(m.options.get(DhcpOption.VendorSpecific), Buffer.from([6, 1, 8, 255]))
  assert.deepEqual(m.options.get(DhcpOption.ClientMachineId), req.options.get(DhcpOption.ClientMachineId))
  assert.ok(!m.options.has(DhcpOption.LeaseTime))
  assert.equal(m.options.get(DhcpOption.MessageType)?.[0], MessageType.Offer)
})

test('authoritative ACK: yiaddr, mask, router, dns, domain, T1/T2, ciaddr copied', () => {
  const req = clientMessage({ type: MessageType.Request, mac: '52:54:00:00:00:01', ciaddr: '10.77.0.120' })
  const m = decodeDhcpPacket(encodeReply(buildReply(req, { type: MessageType.Ack, serverId: '10.77.0.1', lease: { ...NET, yiaddr: '10.77.0.120', leaseTimeSec: 3600 } }), req))
  assert.equal(m.yiaddr, '10.77.0.120')
  assert.equal(m.ciaddr, '10.77.0.120')
  assert.equal(getLeaseTime(m.options), 3600)
  assert.equal(m.options.get(DhcpOption.RenewalTime)?.readUInt32BE(0), 1800)
  assert.equal(m.options.get(DhcpOption.RebindingTime)?.readUInt32BE(0), 3150)
  assert.deepEqual([...(m.options.get(DhcpOption.SubnetMask) ?? [])], [255, 255, 255, 0])
  assert.deepEqual([...(m.options.get(DhcpOption.DomainServer) ?? [])], [10, 77, 0, 1, 10, 77, 0, 2])
  assert.equal(m.options.get(DhcpOption.DomainName)?.toString(), 'lab')
  assert.ok(!m.options.has(DhcpOption.VendorClass))
})

test('INFORM ACK has parameters but no yiaddr and no lease time (RFC 2131 §4.3.5)', () => {
  const req = clientMessage({ type: MessageType.Inform, mac: '52:54:00:00:00:01', ciaddr: '10.77.0.9' })
  const m = decodeDhcpPacket(encodeReply(buildReply(req, { type: MessageType.Ack, serverId: '10.77.0.1', inform: NET }), req))
  assert.equal(m.yiaddr, '0.0.0.0')
  assert.ok(!m.options.has(DhcpOption.LeaseTime))
  assert.ok(m.options.has(DhcpOption.SubnetMask))
})

test('NAK: message, no addresses; through a relay it sets the broadcast bit; option 82 echoed last', () => {
  const agent = Buffer.from([1, 3, 0x61, 0x62, 0x63])
  const req = clientMessage({ type: MessageType.Request, mac: '52:54:00:00:00:01', giaddr: '10.9.0.1', options: [[DhcpOption.RelayAgentInfo, agent], [DhcpOption.RequestedAddress, Buffer.from([10, 9, 0, 50])]] })
  const m = decodeDhcpPacket(encodeReply(buildReply(req, { type: MessageType.Nak, serverId: '10.77.0.1', message: 'wrong network' }), req))
  assert.equal(m.options.get(DhcpOption.MessageType)?.[0], MessageType.Nak)
  assert.equal(m.options.get(DhcpOption.Message)?.toString(), 'wrong network')
  assert.equal(m.yiaddr, '0.0.0.0')
  assert.equal(m.giaddr, '10.9.0.1')
  assert.equal(m.flags & BROADCAST_FLAG, BROADCAST_FLAG)
  assert.deepEqual(m.options.get(DhcpOption.RelayAgentInfo), agent)
  assert.equal([...m.options.keys()].at(-1), DhcpOption.RelayAgentInfo)
})

test('long HTTP boot URLs go to option 67 only', () => {
  const req = clientMessage({ type: MessageType.Discover, mac: '52:54:00:00:00:01' })
  const url = 'http://10.77.0.1:8080/assets/' + 'x'.repeat(120) + '.efi'
  const m = decodeDhcpPacket(encodeReply(buildReply(req, { type: MessageType.Offer, serverId: '10.77.0.1', boot: { bootFile: url, vendorClass: 'HTTPClient', nextServer: '10.77.0.1' } }), req))
  assert.equal(m.file, '')
  assert.equal(m.options.get(DhcpOption.BootfileName)?.toString(), url)
  assert.ok(!m.options.has(DhcpOption.VendorSpecific), 'option 43 is PXE only')
})

test('option 57: replies fit the client limit, dropping options it did not ask for', () => {
  const many = Array.from({ length: 100 }, (_, i) => `10.77.${i}.1`)
  const req = clientMessage({ type: MessageType.Discover, mac: '52:54:00:00:00:01', options: [[DhcpOption.MaxMessageSize, Buffer.from([0x02, 0x40])], [DhcpOption.ParameterList, Buffer.from([1, 3])]] })
  assert.equal(maxReplyLength(req), 548)
  const reply = buildReply(req, { type: MessageType.Offer, serverId: '10.77.0.1', lease: { ...NET, dns: many, yiaddr: '10.77.0.5', leaseTimeSec: 60 } })
  const out = encodeReply(reply, req)
  assert.ok(out.length <= 548, `${out.length}`)
  const m = decodeDhcpPacket(out)
  assert.ok(!m.options.has(DhcpOption.DomainServer))
  assert.ok(m.options.has(DhcpOption.Router) && m.options.has(DhcpOption.SubnetMask))
  // A client that allows 1500 gets everything.
  const big = clientMessage({ type: MessageType.Discover, mac: '52:54:00:00:00:01', options: [[DhcpOption.MaxMessageSize, Buffer.from([0x05, 0xdc])]] })
  assert.ok(decodeDhcpPacket(encodeReply(buildReply(big, { type: MessageType.Offer, serverId: '10.77.0.1', lease: { ...NET, dns: many, yiaddr: '10.77.0.5', leaseTimeSec: 60 } }), big)).options.has(DhcpOption.DomainServer))
})

test('destination per RFC 2131 §4.1', () => {
  const m = (init: { giaddr?: string, ciaddr?: string }): ReturnType<typeof clientMessage> => clientMessage({ type: 1, mac: '52:54:00:00:00:01', ...init })
  assert.deepEqual(replyDestination(m({ giaddr: '10.9.0.1' }), MessageType.Offer, ARRIVAL), { address: '10.9.0.1', port: 67, broadcast: false })
  assert.deepEqual(replyDestination(m({ giaddr: '10.9.0.1' }), MessageType.Nak, ARRIVAL), { address: '10.9.0.1', port: 67, broadcast: false })
  assert.deepEqual(replyDestination(m({ ciaddr: '10.77.0.5' }), MessageType.Ack, ARRIVAL), { address: '10.77.0.5', port: 68, broadcast: false })
  assert.deepEqual(replyDestination(m({ ciaddr: '10.77.0.5' }), MessageType.Nak, ARRIVAL), { address: '255.255.255.255', port: 68, broadcast: true })
  assert.deepEqual(replyDestination(m({}), MessageType.Offer, { ...ARRIVAL, clientPort: 1068 }), { address: '255.255.255.255', port: 1068, broadcast: true })
  assert.deepEqual(replyDestination(m({ ciaddr: '10.77.0.5' }), MessageType.Ack, { ...ARRIVAL, proxyPort: true, from: { address: '10.77.0.5', port: 4011 } }), { address: '10.77.0.5', port: 4011, broadcast: false })
})
