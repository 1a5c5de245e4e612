import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConfig } from '../config/load.ts'
import { ipv4ToInt } from '../lib/ipv4.ts'
import { LeaseEngine, type ClientRef, type EngineResult, type RequestFacts } from './lease-engine.ts'
import { GroupCommitter, LeaseState, MemoryLeaseStore } from './lease-store.ts'
import { parseSubnets } from './subnets.ts'

const SUBNETS = parseSubnets(parseConfig({
  dhcp: {
    mode: 'authoritative',
    subnets: [
      { subnet: '10.77.0.0/24', range: '10.77.0.100-10.77.0.103', router: '10.77.0.1', leaseTime: '1h', reservations: [{ mac: '52:54:00:77:00:10', address: '10.77.0.50' }] },
      { subnet: '10.88.0.0/24', range: '10.88.0.10-10.88.0.20', leaseTime: '10m' }
    ]
  }
}).dhcp.subnets)

const HOUR = 3_600_000
const LOCAL: RequestFacts = { giaddr: '0.0.0.0', ciaddr: '0.0.0.0' }
const A: ClientRef = { mac: '52:54:00:00:00:0a' }
const B: ClientRef = { mac: '52:54:00:00:00:0b' }

function setup (): { engine: LeaseEngine, clock: { t: number, now: () => number } } {
  const clock = { t: 1_000_000, now () { return this.t } }
  return { engine: new LeaseEngine({ subnets: SUBNETS, serverId: '10.77.0.1', localAddress: '10.77.0.1', clock }), clock }
}

function address (r: EngineResult): string {
  assert.ok(r.kind === 'offer' || r.kind === 'ack', `expected offer/ack, got ${r.kind}: ${r.reason}`)
  return r.address
}

/** DISCOVER then REQUEST (selecting). */
function dora (engine: LeaseEngine, c: ClientRef, f: RequestFacts = LOCAL): string {
  const offered = address(engine.discover(c, f))
  return address(engine.request(c, { ...f, requested: offered, serverId: '10.77.0.1' }))
}

test('allocation: distinct clients get distinct pool addresses; the same client gets its address back', () => {
  const { engine } = setup()
  const a = dora(engine, A)
  const b = dora(engine, B)
  assert.notEqual(a, b)
  for (const ip of [a, b]) assert.ok(ipv4ToInt(ip) >= ipv4ToInt('10.77.0.100') && ipv4ToInt(ip) <= ipv4ToInt('10.77.0.103'))
  assert.equal(address(engine.discover(A, LOCAL)), a)
  assert.equal(engine.leases().find(l => l.mac === A.mac)?.state, LeaseState.Bound)
})

test('an offer holds its address for a while, then it can go to someone else', () => {
  const { engine, clock } = setup()
  const offered = address(engine.discover(A, LOCAL))
  const others = ['01', '02', '03'].map(n => address(engine.discover({ mac: `52:54:00:00:01:${n}` }, LOCAL)))
  assert.ok(!others.includes(offered))
  assert.equal(engine.discover({ mac: '52:54:00:00:01:04' }, LOCAL).kind, 'silent', 'pool of 4 is exhausted by held offers')
  clock.t += 60_000
  assert.equal(engine.discover({ mac: '52:54:00:00:01:04' }, LOCAL).kind, 'offer')
})

test('reservation: the reserved MAC gets its fixed address; nobody else gets it', () => {
  const { engine } = setup()
  assert.equal(dora(engine, { mac: '52:54:00:77:00:10' }), '10.77.0.50')
  const r = engine.request(A, { ...LOCAL, requested: '10.77.0.50' })
  assert.equal(r.kind, 'nak')
  // A reserved client asking for a pool address is told no, so it rediscovers its own.
  assert.equal(engine.request({ mac: '52:54:00:77:00:10' }, { ...LOCAL, requested: '10.77.0.100' }).kind, 'nak')
})

test('renew (ciaddr) extends the lease; rebinding through a relay too; a stranger is NAKed', () => {
  const { engine, clock } = setup()
  const a = dora(engine, A)
  const first = engine.leases().find(l => l.mac === A.mac)
  clock.t += HOUR / 2
  const renewed = engine.request(A, { giaddr: '0.0.0.0', ciaddr: a })
  assert.equal(address(renewed), a)
  assert.ok(renewed.kind === 'ack' && renewed.persist.length === 1)
  const after = engine.leases().find(l => l.mac === A.mac)
  assert.equal(after?.startsAt, first?.startsAt)
  assert.equal(after?.expiresAt, clock.t + HOUR)
  assert.equal(engine.request(B, { giaddr: '0.0.0.0', ciaddr: a }).kind, 'nak')
})

test('NAK on a wrong address: another subnet, someone else\'s lease, outside the pool', () => {
  const { engine } = setup()
  const a = dora(engine, A)
  const wrongNet = engine.request(B, { ...LOCAL, requested: '10.88.0.11' })
  assert.equal(wrongNet.kind, 'nak')
  assert.match(wrongNet.reason, /not on the client's network/)
  assert.equal(engine.request(B, { ...LOCAL, requested: a }).kind, 'nak')
  assert.equal(engine.request(B, { ...LOCAL, requested: '10.77.0.200' }).kind, 'nak')
  // SELECTING with our server id for an address we cannot give.
  assert.equal(engine.request(B, { ...LOCAL, requested: a, serverId: '10.77.0.1' }).kind, 'nak')
})

test('INIT-REBOOT: the address the client remembers is confirmed', () => {
  const { engine } = setup()
  const a = dora(engine, A)
  assert.equal(address(engine.request(A, { ...LOCAL, requested: a })), a)
})

test('another server chosen: silent, and our offer is dropped', () => {
  const { engine } = setup()
  const offered = address(engine.discover(A, LOCAL))
  const r = engine.request(A, { ...LOCAL, requested: offered, serverId: '10.77.0.99' })
  assert.equal(r.kind, 'silent')
  // With the offer gone, four other clients can take all four pool addresses, that one included.
  const taken = ['01', '02', '03', '04'].map(n => address(engine.discover({ mac: `52:54:00:00:04:${n}` }, LOCAL)))
  assert.ok(taken.includes(offered))
})

test('release frees the address; the same client still gets it back first', () => {
  const { engine } = setup()
  const a = dora(engine, A)
  const r = engine.release(A, { giaddr: '0.0.0.0', ciaddr: a })
  assert.equal(r.kind, 'silent')
  assert.ok(r.kind === 'silent' && r.persist[0]?.state === LeaseState.Released)
  const stranger = engine.release(B, { giaddr: '0.0.0.0', ciaddr: a })
  assert.ok(stranger.kind === 'silent' && stranger.persist.length === 0, 'only the holder releases')
  assert.equal(dora(engine, A), a)
})

test('decline quarantines the address; the client gets another; only the holder can decline', () => {
  const { engine, clock } = setup()
  const a = dora(engine, A)
  assert.equal(engine.decline(B, { ...LOCAL, requested: a }).kind, 'silent')
  assert.equal(engine.leases().find(l => l.address === ipv4ToInt(a))?.state, LeaseState.Bound)
  const r = engine.decline(A, { ...LOCAL, requested: a })
  assert.ok(r.kind === 'silent' && r.persist[0]?.state === LeaseState.Declined)
  const next = dora(engine, A)
  assert.notEqual(next, a)
  // Quarantine ends after 10 minutes: the address is in the pool again.
  for (const n of ['01', '02']) dora(engine, { mac: `52:54:00:00:02:${n}` })
  assert.equal(engine.discover({ mac: '52:54:00:00:02:03' }, LOCAL).kind, 'silent')
  clock.t += 600_001
  assert.equal(address(engine.discover({ mac: '52:54:00:00:02:03' }, LOCAL)), a)
})

test('expiry: a lease past its end is swept to expired and its address can be reused', () => {
  const { engine, clock } = setup()
  const a = dora(engine, A)
  for (const n of ['01', '02', '03']) dora(engine, { mac: `52:54:00:00:03:${n}` })
  assert.equal(engine.discover(B, LOCAL).kind, 'silent')
  clock.t += HOUR + 1
  const swept = engine.sweep()
  assert.equal(swept.length, 4)
  assert.ok(swept.every(l => l.state === LeaseState.Expired))
  assert.equal(engine.sweep().length, 0)
  // The first client gets its own expired address back; a newcomer gets one of the others.
  assert.equal(address(engine.discover(A, LOCAL)), a)
  assert.notEqual(address(engine.discover(B, LOCAL)), a)
})

test('relay: giaddr picks the subnet; inform answers for the subnet of ciaddr', () => {
  const { engine } = setup()
  const relayed = engine.discover(A, { giaddr: '10.88.0.1', ciaddr: '0.0.0.0' })
  assert.ok(relayed.kind === 'offer' && relayed.subnet.name === '10.88.0.0/24' && relayed.leaseTimeSec === 600)
  assert.equal(engine.discover(A, { giaddr: '10.99.0.1', ciaddr: '0.0.0.0' }).kind, 'silent')
  const inform = engine.inform(B, { giaddr: '0.0.0.0', ciaddr: '10.88.0.77' })
  assert.ok(inform.kind === 'inform' && inform.subnet.name === '10.88.0.0/24')
})

test('option 61 keys the lease: same MAC with another client id is another client', () => {
  const { engine } = setup()
  const a = dora(engine, { mac: A.mac, clientId: '01aa' })
  const b = dora(engine, { mac: A.mac, clientId: '01bb' })
  assert.notEqual(a, b)
})

test('restart: leases loaded from the store give the same address back', async () => {
  const store = new MemoryLeaseStore()
  const { engine } = setup()
  const a = dora(engine, A)
  await store.commit(engine.leases())
  const { engine: again } = setup()
  again.load(await store.loadAll())
  assert.equal(address(again.discover(A, LOCAL)), a)
  assert.equal(again.request(B, { ...LOCAL, requested: a }).kind, 'nak')
})

test('group commit: writes from one turn become one store transaction; ACKs wait for it', async () => {
  const store = new MemoryLeaseStore()
  const committer = new GroupCommitter(store, fn => { setImmediate(fn) })
  const { engine } = setup()
  const results = [A, B, { mac: '52:54:00:00:00:0c' }].map(c => {
    const offered = address(engine.discover(c, LOCAL))
    const r = engine.request(c, { ...LOCAL, requested: offered, serverId: '10.77.0.1' })
    assert.ok(r.kind === 'ack')
    return r
  })
  let durable = 0
  await Promise.all(results.map(async r => {
    assert.ok(r.kind === 'ack')
    await committer.commit(r.persist)
    // By the time the ACK may go, the row is in the store.
    assert.ok(store.rows.has(ipv4ToInt(r.address)))
    durable++
  }))
  assert.equal(durable, 3)
  assert.equal(store.commits, 1)
  assert.equal(committer.batches, 1)
  const failing = new GroupCommitter({ loadAll: async () => [], commit: async () => { throw new Error('disk full') } }, fn => { setImmediate(fn) })
  await assert.rejects(failing.commit(results[0]?.kind === 'ack' ? results[0].persist : []), /disk full/)
})
