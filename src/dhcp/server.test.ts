import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { parseConfig } from '../config/load.ts'
import { BootAssets } from '../boot/assets.ts'
import { createLogger } from '../log/logger.ts'
import { createDhcpService, dhcpBootFileNames, type DhcpService } from './server.ts'
import { MemoryLeaseStore } from './lease-store.ts'
import { decodeDhcpPacket } from './packet.ts'
import { DhcpOption, MessageType } from './options.ts'
import { RecordingSink, clientDatagram, fakeInterfaces, pxeOptions } from './testing.ts'
import { InterfaceAddressWatch } from './interface-watch.ts'
import { prng } from '../lib/prng.ts'
import { Writable } from 'node:stream'
import { setTimeout as sleep } from 'node:timers/promises'

const log = createLogger('silent')

async function clientSocket (host = '127.0.0.1'): Promise<Socket> {
  const s = createSocket('udp4')
  s.bind(0, host)
  await once(s, 'listening')
  return s
}

async function exchange (s: Socket, data: Buffer, port: number, address = '127.0.0.1'): Promise<Buffer> {
  const reply = once(s, 'message') as Promise<[Buffer]>
  s.send(data, port, address)
  const timeout = new Promise<never>((_resolve, reject) => { setTimeout(() => { reject(new Error('no reply within 5 s')) }, 5000).unref() })
  return (await Promise.race([reply, timeout]))[0]
}

function service (dhcp: Record<string, unknown>, leaseStore: MemoryLeaseStore | undefined, events = new RecordingSink()): DhcpService {
  const config = parseConfig({ dhcp }).dhcp
  return createDhcpService({ config, serverAddress: '127.0.0.1', httpBaseUrl: 'http://127.0.0.1:8080', bootAssets: new BootAssets('.'), leaseStore, events, log })
}

test('proxy mode on loopback: port 0, a 4011 REQUEST gets its ACK, a malformed flood is counted and dropped', async () => {
  const svc = service({ mode: 'proxy', listen: '127.0.0.1:0', proxyListen: '127.0.0.1:0' }, undefined)
  await svc.start(new AbortController().signal)
  const client = await clientSocket()
  try {
    const { dhcp, proxy } = svc.addresses()
    assert.ok(dhcp.port > 0 && proxy !== undefined && proxy.port > 0)
    const rnd = prng(7)
    for (let i = 0; i < 500; i++) {
      const junk = Buffer.alloc(Math.floor(rnd() * 400))
      for (let j = 0; j < junk.length; j++) junk[j] = Math.floor(rnd() * 256)
      client.send(junk, i % 2 === 0 ? dhcp.port : proxy.port, '127.0.0.1')
    }
    const req = clientDatagram({ type: MessageType.Request, mac: '52:54:00:00:00:07', ciaddr: '127.0.0.1', options: pxeOptions(0) })
    const ack = decodeDhcpPacket(await exchange(client, req, proxy.port))
    assert.equal(ack.file, 'undionly.kpxe')
    assert.equal(ack.options.get(DhcpOption.MessageType)?.[0], MessageType.Ack)
    const st = svc.stats()
    assert.equal(st.received, 501)
    assert.equal(st.malformed, 500)
    assert.equal(st.replied, 1)
  } finally {
    client.close()
    await svc.stop()
  }
})

test('authoritative mode on loopback: a RENEWING request is committed, then ACKed unicast to ciaddr', async () => {
  const store = new MemoryLeaseStore()
  // Bound to any address: the ACK goes to ciaddr 127.0.0.100, not to 127.0.0.1.
  const client = await clientSocket('0.0.0.0')
  const subnets = [{ subnet: '127.0.0.0/24', range: '127.0.0.100-127.0.0.199', router: '127.0.0.1' }]
  const svc = service({ mode: 'authoritative', listen: '127.0.0.1:0', clientPort: client.address().port, subnets }, store)
  await svc.start(new AbortController().signal)
  try {
    assert.equal(svc.addresses().proxy, undefined)
    const req = clientDatagram({ type: MessageType.Request, mac: '52:54:00:00:00:09', ciaddr: '127.0.0.100' })
    const ack = decodeDhcpPacket(await exchange(client, req, svc.addresses().dhcp.port))
    assert.equal(ack.yiaddr, '127.0.0.100')
    assert.equal([...store.rows.values()][0]?.mac, '52:54:00:00:00:09')
    assert.equal(svc.stats().commitBatches, 1)
    const inform = decodeDhcpPacket(await exchange(client, clientDatagram({ type: MessageType.Inform, mac: '52:54:00:00:00:0a', ciaddr: '127.0.0.1' }), svc.addresses().dhcp.port))
    assert.equal(inform.yiaddr, '0.0.0.0')
    assert.ok(!inform.options.has(DhcpOption.LeaseTime))
  } finally {
    client.close()
    await svc.stop()
  }
})

test('authoritative mode without a lease store refuses to start; off mode binds nothing', async () => {
  const svc = service({ mode: 'authoritative', listen: '127.0.0.1:0', subnets: [{ subnet: '127.0.0.0/24', range: '127.0.0.100-127.0.0.199' }] }, undefined)
  await assert.rejects(svc.start(new AbortController().signal), { code: 'ERR_DHCP_NO_LEASE_STORE' })
  const off = service({ mode: 'off' }, undefined)
  await off.start(new AbortController().signal)
  assert.throws(() => off.addresses(), { code: 'ERR_NOT_LISTENING' })
  await off.stop()
})

test('a port already in use fails start with the config key to change', async () => {
  const busy = await clientSocket()
  const svc = service({ mode: 'proxy', listen: `127.0.0.1:${busy.address().port}`, proxyListen: '127.0.0.1:0' }, undefined)
  try {
    await assert.rejects(svc.start(new AbortController().signal), (err: Error & { code?: string }) => err.code === 'ERR_LISTEN' && /dhcp\.listen/.test(err.message))
  } finally {
    busy.close()
  }
})

test('dhcpBootFileNames lists what replies can advertise', () => {
  const names = dhcpBootFileNames(parseConfig({}).dhcp)
  assert.deepEqual(names.tftp, ['undionly.kpxe', 'snponly.efi'])
  assert.deepEqual(names.http, ['/boot.ipxe', '/assets/snponly.efi'])
  assert.deepEqual(names.optional, ['arm64/snponly.efi', '/assets/arm64/snponly.efi'])
})

/** A logger whose JSON lines the test can read. */
function recordingLog (): { log: ReturnType<typeof createLogger>, lines: () => Array<{ level: number, msg: string }> } {
  const out: string[] = []
  const stream = new Writable({ write (chunk: Buffer, _enc, done) { out.push(chunk.toString()); done() } })
  return { log: createLogger('info', stream), lines: () => out.join('').split('\n').filter(l => l !== '').map(l => JSON.parse(l) as { level: number, msg: string }) }
}

/** Resolves once `probe` is true (checked every 10 ms), or fails after 5 s. */
async function until (what: string, probe: () => boolean): Promise<void> {
  for (let i = 0; i < 500; i++) {
    if (probe()) return
    await sleep(10)
  }
  throw new Error(`timed out waiting for ${what}`)
}

/**
 * A DHCP service on loopback whose dhcp.interface ("anv-test0") exists only in a fake interface
 * table the test controls, wired as src/bin/server.ts wires it: the server address and the HTTP
 * base URL follow that interface's address, 127.0.0.1 until it has one.
 */
function followingService (dhcp: Record<string, unknown>, leaseStore: MemoryLeaseStore | undefined): { svc: DhcpService, ifs: ReturnType<typeof fakeInterfaces>, watch: InterfaceAddressWatch, lines: ReturnType<typeof recordingLog>['lines'] } {
  const ifs = fakeInterfaces()
  const watch = new InterfaceAddressWatch({ name: 'anv-test0', lookup: ifs.lookup })
  const { log, lines } = recordingLog()
  const address = (): string => watch.current() ?? '127.0.0.1'
  const config = parseConfig({ dhcp: { ...dhcp, interface: 'anv-test0' } }).dhcp
  const svc = createDhcpService({
    config,
    serverAddress: address,
    httpBaseUrl: () => `http://${address()}:8080`,
    bootAssets: new BootAssets('.'),
    leaseStore,
    events: new RecordingSink(),
    log,
    interfaceWatch: watch
  })
  return { svc, ifs, watch, lines }
}

test('proxy mode: an interface without an address at start is waited for (one warning), then served, and a new address is followed', async () => {
  const { svc, ifs, watch, lines } = followingService({ mode: 'proxy', listen: '127.0.0.1:0', proxyListen: '127.0.0.1:0' }, undefined)
  await svc.start(new AbortController().signal)
  const client = await clientSocket()
  const replies: Buffer[] = []
  client.on('message', (m) => { replies.push(m) })
  try {
    const warnings = lines().filter(l => l.level === 40)
    assert.equal(warnings.length, 1, JSON.stringify(lines()))
    assert.match(warnings[0]?.msg ?? '', /interface anv-test0 has no IPv4 address yet.*will serve as soon as anv-test0 has an address/)
    const proxyPort = svc.addresses().proxy?.port ?? 0
    // iPXE asking the boot server (port 4011): it gets the script URL, so the base URL shows too.
    const ipxe = (mac: string): Buffer => clientDatagram({ type: MessageType.Request, mac, ciaddr: '127.0.0.1', options: [...pxeOptions(7), [DhcpOption.UserClass, 'iPXE']] })

    client.send(ipxe('52:54:00:00:01:01'), proxyPort, '127.0.0.1')
    await until('the datagram counted', () => svc.stats().received === 1)
    assert.equal(svc.stats().ignored, 1)
    watch.poll()
    assert.equal(lines().filter(l => l.level === 40).length, 1, 'still one warning: polling without a change says nothing')

    ifs.set('anv-test0', '127.0.0.1')
    watch.poll()
    assert.ok(lines().some(l => l.level === 30 && /anv-test0 now has 127\.0\.0\.1: serving/.test(l.msg)))
    const first = decodeDhcpPacket(await exchange(client, ipxe('52:54:00:00:01:02'), proxyPort))
    assert.equal(first.options.get(DhcpOption.ServerId)?.join('.'), '127.0.0.1')
    assert.equal(first.siaddr, '127.0.0.1')
    assert.equal(first.file, 'http://127.0.0.1:8080/boot.ipxe')

    ifs.set('anv-test0', '127.0.0.2')
    watch.poll()
    const second = decodeDhcpPacket(await exchange(client, ipxe('52:54:00:00:01:03'), proxyPort))
    assert.equal(second.options.get(DhcpOption.ServerId)?.join('.'), '127.0.0.2', 'option 54 follows the address')
    assert.equal(second.siaddr, '127.0.0.2', 'next-server follows the address')
    assert.equal(second.file, 'http://127.0.0.2:8080/boot.ipxe', 'the script URL follows the address')

    ifs.set('anv-test0')
    watch.poll()
    assert.ok(lines().some(l => l.level === 40 && /anv-test0 lost its IPv4 address 127\.0\.0\.2/.test(l.msg)))
    const before = svc.stats()
    client.send(ipxe('52:54:00:00:01:04'), proxyPort, '127.0.0.1')
    await until('the datagram counted', () => svc.stats().received === before.received + 1)
    assert.equal(svc.stats().ignored, before.ignored + 1)
    assert.equal(replies.length, 2, 'answers only while the interface had an address')
  } finally {
    client.close()
    await svc.stop()
  }
})

test('authoritative mode: starts with no address, then serves; after an address change option 54 is the new one and leases are kept', async () => {
  const store = new MemoryLeaseStore()
  const client = await clientSocket('0.0.0.0')
  const subnets = [{ subnet: '127.0.0.0/24', range: '127.0.0.100-127.0.0.199', router: '127.0.0.1' }]
  const { svc, ifs, watch, lines } = followingService({ mode: 'authoritative', listen: '127.0.0.1:0', clientPort: client.address().port, subnets }, store)
  try {
    await svc.start(new AbortController().signal)
    assert.equal(lines().filter(l => l.level === 40 && l.msg.includes('anv-test0')).length, 1)
    const port = svc.addresses().dhcp.port
    const renew = (xid: number): Buffer => clientDatagram({ type: MessageType.Request, xid, mac: '52:54:00:00:02:01', ciaddr: '127.0.0.100' })
    client.send(renew(1), port, '127.0.0.1')
    await until('the datagram counted', () => svc.stats().received === 1)
    assert.equal(store.rows.size, 0, 'nothing leased before the interface has an address')

    ifs.set('anv-test0', '127.0.0.1')
    watch.poll()
    const ack = decodeDhcpPacket(await exchange(client, renew(2), port))
    assert.equal(ack.yiaddr, '127.0.0.100')
    assert.equal(ack.options.get(DhcpOption.ServerId)?.join('.'), '127.0.0.1')

    ifs.set('anv-test0', '127.0.0.2')
    watch.poll()
    const after = decodeDhcpPacket(await exchange(client, renew(3), port))
    assert.equal(after.yiaddr, '127.0.0.100', 'the lease survived the address change')
    assert.equal(after.options.get(DhcpOption.ServerId)?.join('.'), '127.0.0.2')
    // A client selecting the old server id is another server's now: no answer, its offer dropped.
    const stale = clientDatagram({ type: MessageType.Request, xid: 4, mac: '52:54:00:00:02:02', options: [[DhcpOption.ServerId, Buffer.from([127, 0, 0, 1])], [DhcpOption.RequestedAddress, Buffer.from([127, 0, 0, 101])]] })
    const silent = svc.stats().silent
    client.send(stale, port, '127.0.0.1')
    await until('the stale REQUEST handled', () => svc.stats().silent === silent + 1)
  } finally {
    client.close()
    await svc.stop()
  }
})
