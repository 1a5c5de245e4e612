import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConfig } from '../config/load.ts'
import { DhcpHandler, type HandleResult, type Incoming } from './handler.ts'
import { LeaseEngine } from './lease-engine.ts'
import { GroupCommitter, MemoryLeaseStore } from './lease-store.ts'
import { decodeDhcpPacket, type DhcpMessage } from './packet.ts'
import { DhcpOption, MessageType, getServerId } from './options.ts'
import { parseSubnets } from './subnets.ts'
import { FIXTURE_NAMES, RecordingSink, clientDatagram, fixture, pxeOptions } from './testing.ts'
import { prng } from '../lib/prng.ts'
import { planBoot, type BootPlan } from '../provisioning/boot-planner.ts'

const BOOT = { biosBootFile: 'undionly.kpxe', efiX64BootFile: 'snponly.efi', efiArm64BootFile: 'arm64/snponly.efi', httpBaseUrl: 'http://10.77.0.1:8080' }
const FROM = { address: '0.0.0.0', port: 68 }

function proxy (sink = new RecordingSink(), assets: string[] = []): DhcpHandler {
  return new DhcpHandler({ mode: 'proxy', serverId: '10.77.0.1', clientPort: 68, serverPort: 67, boot: BOOT, assetExists: async (n) => assets.includes(n), events: sink })
}

function authoritative (sink = new RecordingSink()): { handler: DhcpHandler, store: MemoryLeaseStore } {
  const subnets = parseSubnets(parseConfig({ dhcp: { mode: 'authoritative', subnets: [{ subnet: '10.77.0.0/24', range: '10.77.0.100-10.77.0.199', router: '10.77.0.1' }] } }).dhcp.subnets)
  const store = new MemoryLeaseStore()
  const committer = new GroupCommitter(store, fn => { setImmediate(fn) })
  const engine = new LeaseEngine({ subnets, serverId: '10.77.0.1', localAddress: '10.77.0.1', clock: Date })
  const handler = new DhcpHandler({
    mode: 'authoritative', serverId: '10.77.0.1', clientPort: 68, serverPort: 67, boot: BOOT, assetExists: async () => false, events: sink, engine, commit: async (l) => { await committer.commit(l) }
  })
  return { handler, store }
}

function replied (r: HandleResult): DhcpMessage {
  assert.equal(r.outcome, 'replied', r.outcome === 'ignored' || r.outcome === 'silent' ? r.reason : r.outcome)
  assert.ok(r.outcome === 'replied')
  return decodeDhcpPacket(r.reply)
}

test('proxy: the captured OVMF DISCOVER gets an OFFER of snponly.efi, broadcast, and a timeline event', async () => {
  const sink = new RecordingSink()
  const r = await proxy(sink).handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false })
  const m = replied(r)
  assert.ok(r.outcome === 'replied')
  assert.deepEqual(r.to, { address: '255.255.255.255', port: 68, broadcast: true })
  assert.equal(m.file, 'snponly.efi')
  assert.equal(m.yiaddr, '0.0.0.0')
  assert.equal(sink.events.length, 1)
  const e = sink.events[0]
  assert.equal(e?.type, 'dhcp.offer')
  assert.equal(e?.mac, '52:54:00:d4:00:11')
  assert.equal(e?.message, 'offered snponly.efi to 52:54:00:d4:00:11: client arch 7 is UEFI x86-64, proxy mode')
  assert.equal(e?.data?.uuid, '11223344-5566-7788-99aa-bbccddeeff00')
  assert.equal(e?.data?.arch, 7)
  assert.equal(e?.data?.vendorClass, 'PXEClient:Arch:00007:UNDI:003000')
})

test('proxy: the captured iPXE DISCOVER gets the script URL', async () => {
  const m = replied(await proxy().handle({ data: fixture('ipxe-bios-1-discover.bin'), from: FROM, proxyPort: false }))
  assert.equal(m.file, 'http://10.77.0.1:8080/boot.ipxe')
})

test('proxy: udhcpc and dhclient get nothing and leave no event', async () => {
  const sink = new RecordingSink()
  const h = proxy(sink)
  for (const name of ['udhcpc-1-discover.bin', 'dhclient-1-discover.bin', 'udhcpc-3-request.bin']) {
    const r = await h.handle({ data: fixture(name), from: FROM, proxyPort: false })
    assert.equal(r.outcome, 'ignored', name)
  }
  assert.equal(sink.events.length, 0)
})

test('proxy: REQUEST on 4011 gets an ACK back to the sender, and the address is noted', async () => {
  const sink = new RecordingSink()
  const data = clientDatagram({ type: MessageType.Request, mac: '52:54:00:00:00:07', ciaddr: '10.77.0.42', options: pxeOptions(7) })
  const r = await proxy(sink).handle({ data, from: { address: '10.77.0.42', port: 68 }, proxyPort: true })
  const m = replied(r)
  assert.ok(r.outcome === 'replied')
  assert.deepEqual(r.to, { address: '10.77.0.42', port: 68, broadcast: false })
  assert.equal(m.options.get(DhcpOption.MessageType)?.[0], MessageType.Ack)
  assert.equal(m.file, 'snponly.efi')
  assert.deepEqual(sink.addresses, [['52:54:00:00:00:07', '10.77.0.42']])
  assert.equal(sink.events[0]?.type, 'dhcp.ack')
  // A DISCOVER on 4011 is not what that port is for.
  assert.equal((await proxy().handle({ data: clientDatagram({ type: 1, mac: '52:54:00:00:00:07', options: pxeOptions(7) }), from: FROM, proxyPort: true })).outcome, 'ignored')
})

test('proxy: a PXE client\'s REQUEST to the site server on 67 teaches us its address, answers nothing', async () => {
  const sink = new RecordingSink()
  const requested = Buffer.from([10, 77, 0, 123])
  const site = Buffer.from([10, 77, 0, 2])
  const data = clientDatagram({ type: MessageType.Request, mac: '52:54:00:00:00:08', options: [...pxeOptions(7), [DhcpOption.RequestedAddress, requested], [DhcpOption.ServerId, site]] })
  const r = await proxy(sink).handle({ data, from: FROM, proxyPort: false })
  assert.equal(r.outcome, 'ignored')
  assert.deepEqual(sink.addresses, [['52:54:00:00:00:08', '10.77.0.123']])
  assert.equal(sink.events[0]?.type, 'dhcp.observed')
  assert.match(sink.events[0]?.message ?? '', /10\.77\.0\.123 from the site DHCP server 10\.77\.0\.2/)
  // A plain client's REQUEST is none of our business: nothing learned, nothing recorded.
  const plain = new RecordingSink()
  await proxy(plain).handle({ data: clientDatagram({ type: MessageType.Request, mac: '52:54:00:00:00:09', options: [[DhcpOption.RequestedAddress, requested]] }), from: FROM, proxyPort: false })
  assert.deepEqual([plain.addresses, plain.events], [[], []])
})

test('proxy: arm64 without its asset is ignored with a reason in the timeline; with it, offered', async () => {
  const sink = new RecordingSink()
  const data = clientDatagram({ type: 1, mac: '52:54:00:00:00:08', options: pxeOptions(11) })
  assert.equal((await proxy(sink).handle({ data, from: FROM, proxyPort: false })).outcome, 'ignored')
  assert.equal(sink.events[0]?.type, 'dhcp.ignored')
  assert.match(sink.events[0]?.message ?? '', /arm64\/snponly\.efi is not among the boot assets/)
  assert.equal(replied(await proxy(sink, ['arm64/snponly.efi']).handle({ data, from: FROM, proxyPort: false })).file, 'arm64/snponly.efi')
})

test('authoritative: udhcpc DORA from the captured datagrams; the lease is durable before the ACK; no events', async () => {
  const sink = new RecordingSink()
  const { handler, store } = authoritative(sink)
  const offer = replied(await handler.handle({ data: fixture('udhcpc-1-discover.bin'), from: FROM, proxyPort: false }))
  assert.equal(offer.yiaddr, '10.77.0.100')
  assert.equal(store.rows.size, 0, 'an offer is not stored')
  // The captured REQUEST names dnsmasq's server id and address: we stay silent.
  assert.equal((await handler.handle({ data: fixture('udhcpc-3-request.bin'), from: FROM, proxyPort: false })).outcome, 'silent')
  const req = clientDatagram({ type: MessageType.Request, mac: '52:54:00:d4:00:02', options: [[DhcpOption.ServerId, Buffer.from([10, 77, 0, 1])], [DhcpOption.RequestedAddress, Buffer.from([10, 77, 0, 100])], [DhcpOption.ClientId, Buffer.from('01525400d40002', 'hex')]] })
  const ack = replied(await handler.handle({ data: req, from: FROM, proxyPort: false }))
  assert.equal(ack.options.get(DhcpOption.MessageType)?.[0], MessageType.Ack)
  assert.equal(getServerId(ack.options), '10.77.0.1')
  assert.equal([...store.rows.values()][0]?.state, 'bound')
  assert.equal(sink.events.length, 0)
  assert.deepEqual(sink.addresses, [])
})

test('authoritative: a PXE client gets an address and the boot file, with events and its address noted', async () => {
  const sink = new RecordingSink()
  const { handler } = authoritative(sink)
  const offer = replied(await handler.handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false }))
  assert.equal(offer.file, 'snponly.efi')
  assert.notEqual(offer.yiaddr, '0.0.0.0')
  const req = clientDatagram({ type: MessageType.Request, mac: '52:54:00:d4:00:11', options: [...pxeOptions(7), [DhcpOption.ServerId, Buffer.from([10, 77, 0, 1])], [DhcpOption.RequestedAddress, Buffer.from(offer.yiaddr.split('.').map(Number))]] })
  const ack = replied(await handler.handle({ data: req, from: FROM, proxyPort: false }))
  assert.equal(ack.yiaddr, offer.yiaddr)
  assert.deepEqual(sink.events.map(e => e.type), ['dhcp.offer', 'dhcp.ack'])
  assert.match(sink.events[1]?.message ?? '', /acknowledged snponly.efi and 10\.77\.0\.\d+ to 52:54:00:d4:00:11: client arch 7 is UEFI x86-64; selected our offer, authoritative mode/)
  assert.deepEqual(sink.addresses, [['52:54:00:d4:00:11', offer.yiaddr]])
})

test('random and mutated datagrams through both handlers never reject', async () => {
  const rnd = prng(42)
  const handlers = [proxy(), authoritative().handler]
  const counts: Record<string, number> = {}
  for (let i = 0; i < 2000; i++) {
    const b = Buffer.from(fixture(FIXTURE_NAMES[i % FIXTURE_NAMES.length] as string))
    for (let f = 0; f < 1 + Math.floor(rnd() * 4); f++) b[Math.floor(rnd() * b.length)] = Math.floor(rnd() * 256)
    const incoming: Incoming = { data: rnd() < 0.1 ? b.subarray(0, Math.floor(rnd() * b.length)) : b, from: FROM, proxyPort: rnd() < 0.3 }
    for (const h of handlers) {
      const r = await h.handle(incoming)
      counts[r.outcome] = (counts[r.outcome] ?? 0) + 1
    }
  }
  assert.ok((counts.malformed ?? 0) > 0 && (counts.replied ?? 0) > 0, JSON.stringify(counts))
})

test('the boot planner decides: a machine whose plan is its local disk is offered no boot file, in both modes', async () => {
  const sink = new RecordingSink()
  const plans = new Map<string, BootPlan>([['52:54:00:d4:00:11', planBoot({ state: 'provisioned' }, { bootenv: true, recheckSeconds: 30 })]])
  const plan = async (mac: string): Promise<BootPlan | undefined> => plans.get(mac)
  const p = new DhcpHandler({ mode: 'proxy', serverId: '10.77.0.1', clientPort: 68, serverPort: 67, boot: BOOT, assetExists: async () => false, events: sink, plan })
  const r = await p.handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false })
  assert.equal(r.outcome, 'ignored')
  assert.match(sink.events.at(-1)?.message ?? '', /provisioned: booting from its local disk: no boot file offered/)
  plans.set('52:54:00:d4:00:11', planBoot({ state: 'discovered' }, { bootenv: true, recheckSeconds: 30 }))
  assert.equal(replied(await p.handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false })).file, 'snponly.efi')
  plans.delete('52:54:00:d4:00:11')
  assert.equal(replied(await p.handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false })).file, 'snponly.efi', 'an unknown machine boots to be discovered')

  plans.set('52:54:00:d4:00:11', planBoot({ state: 'maintenance' }, { bootenv: true, recheckSeconds: 30 }))
  const subnets = parseSubnets(parseConfig({ dhcp: { mode: 'authoritative', subnets: [{ subnet: '10.77.0.0/24', range: '10.77.0.100-10.77.0.199', router: '10.77.0.1' }] } }).dhcp.subnets)
  const store = new MemoryLeaseStore()
  const committer = new GroupCommitter(store, fn => { setImmediate(fn) })
  const engine = new LeaseEngine({ subnets, serverId: '10.77.0.1', localAddress: '10.77.0.1', clock: Date })
  const a = new DhcpHandler({ mode: 'authoritative', serverId: '10.77.0.1', clientPort: 68, serverPort: 67, boot: BOOT, assetExists: async () => false, events: sink, engine, commit: async (l) => { await committer.commit(l) }, plan })
  const offer = replied(await a.handle({ data: fixture('ovmf-1-discover.bin'), from: FROM, proxyPort: false }))
  assert.notEqual(offer.yiaddr, '0.0.0.0', 'it still gets its address')
  assert.equal(offer.file, '', 'but no boot file')
})
