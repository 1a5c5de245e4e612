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
import { RecordingSink, clientDatagram, pxeOptions } from './testing.ts'
import { prng } from '../lib/prng.ts'

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
