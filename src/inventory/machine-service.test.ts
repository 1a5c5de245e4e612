import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import { SqliteDiscoveryStore } from '../db/discovery-store.ts'
import { TokenBucket } from '../lib/rate-limit.ts'
import { MachineService } from './machine-service.ts'
import type { HardwareReport } from '../provisioning/agent-gateway.ts'

function hardwareWithNics (macs: readonly string[]): HardwareReport {
  return { system: null, baseboard: null, bios: null, chassis: null, cpu: null, memory: null, disks: [], pci: [], bmc: null, kernel: '6.1', nics: macs.map((mac, i) => ({ name: `eth${i}`, mac, driver: 'virtio_net', speedMbps: 0, link: true, pciAddress: '' })) }
}

const UUID_A = '8c1f0a5e-77a0-4a0b-9d41-000000000001'

test('a first boot creates a discovered machine identified by its SMBIOS UUID', async () => {
  const { machines } = makeInventory()
  const r = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A.toUpperCase(), serial: 'LAB0001', manufacturer: 'Anvil Lab', product: 'VM', platform: 'pcbios', buildarch: 'i386', ip: '10.77.0.101' })
  assert.equal(r.created, true)
  assert.equal(r.machine.uuid, UUID_A)
  assert.equal(r.machine.uuidStatus, 'valid')
  assert.equal(r.machine.state, 'discovered')
  assert.deepEqual(r.machine.macs, ['52:54:00:77:00:11'])
  assert.equal(r.machine.firmware, 'pcbios')
  const events = await machines.events(r.machine.id)
  assert.equal(events.at(-1)?.type, 'machine.discovered')
  assert.match(events.at(-1)?.message ?? '', /SMBIOS UUID/)
})

test('a reboot never duplicates the machine, and facts are updated', async () => {
  const { machines, clock } = makeInventory()
  const first = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'LAB0001', ip: '10.77.0.101' })
  clock.advance(60_000)
  const again = await machines.registerBoot({ mac: '52-54-00-77-00-11', uuid: UUID_A, serial: 'LAB0001', ip: '10.77.0.150', platform: 'efi' })
  assert.equal(again.created, false)
  assert.equal(again.machine.id, first.machine.id)
  assert.equal(again.machine.ip, '10.77.0.150')
  assert.equal(again.machine.firmware, 'efi')
  assert.equal((await machines.list()).length, 1)
})

test('the same board booting from a second NIC its agent reported is recognised by UUID and gains the MAC', async () => {
  const inv = makeInventory()
  const { machines } = inv
  const a = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'LAB0001' })
  await new SqliteDiscoveryStore(inv.db).putHardware(a.machine.id, hardwareWithNics(['52:54:00:77:00:11', '52:54:00:77:00:12']), inv.clock.now())
  const b = await machines.registerBoot({ mac: '52:54:00:77:00:12', uuid: UUID_A, serial: 'LAB0001' })
  assert.equal(b.machine.id, a.machine.id)
  assert.deepEqual([...b.machine.macs].sort(), ['52:54:00:77:00:11', '52:54:00:77:00:12'])
})

test('a known UUID from a NIC the machine never reported does not join it: both are flagged duplicate', async () => {
  const inv = makeInventory()
  const { machines } = inv
  const victim = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'LAB0001' })
  await new SqliteDiscoveryStore(inv.db).putHardware(victim.machine.id, hardwareWithNics(['52:54:00:77:00:11']), inv.clock.now())
  // An impostor sends the victim's UUID (and even its serial) from a MAC of its own.
  const impostor = await machines.registerBoot({ mac: '02:00:00:66:66:66', uuid: UUID_A, serial: 'LAB0001' })
  assert.notEqual(impostor.machine.id, victim.machine.id)
  assert.deepEqual(impostor.machine.macs, ['02:00:00:66:66:66'])
  assert.deepEqual((await machines.get(victim.machine.id)).macs, ['52:54:00:77:00:11'], 'the victim gains no MAC')
  assert.equal(impostor.machine.uuidStatus, 'duplicate')
  assert.equal((await machines.get(victim.machine.id)).uuidStatus, 'duplicate')
  assert.ok((await machines.events(victim.machine.id)).some(e => e.type === 'machine.identity'))
})

test('a UUID seen on different hardware is flagged on both machines and MACs identify them', async () => {
  const { machines } = makeInventory()
  const a = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'SERIAL-A' })
  const b = await machines.registerBoot({ mac: '52:54:00:77:00:21', uuid: UUID_A, serial: 'SERIAL-B' })
  assert.notEqual(b.machine.id, a.machine.id)
  assert.equal(b.machine.uuidStatus, 'duplicate')
  assert.equal(b.machine.uuid, null)
  assert.equal((await machines.get(a.machine.id)).uuidStatus, 'duplicate')
  // Each reboots: still two machines, told apart by MAC.
  const a2 = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'SERIAL-A' })
  const b2 = await machines.registerBoot({ mac: '52:54:00:77:00:21', uuid: UUID_A, serial: 'SERIAL-B' })
  assert.equal(a2.machine.id, a.machine.id)
  assert.equal(b2.machine.id, b.machine.id)
  assert.equal((await machines.list()).length, 2)
  const timeline = await machines.events(a.machine.id)
  assert.ok(timeline.some(e => e.type === 'machine.identity'))
})

test('all-zero UUIDs fall back to the MAC, and two such machines stay apart', async () => {
  const { machines } = makeInventory()
  const zero = '00000000-0000-0000-0000-000000000000'
  const a = await machines.registerBoot({ mac: '52:54:00:00:00:01', uuid: zero })
  const b = await machines.registerBoot({ mac: '52:54:00:00:00:02', uuid: zero })
  assert.notEqual(a.machine.id, b.machine.id)
  assert.equal(a.machine.uuidStatus, 'invalid')
  assert.equal(a.machine.reportedUuid, zero)
})

test('events recorded by MAC or IP before the machine exists join its timeline', async () => {
  const { machines, timeline } = makeInventory()
  timeline.noteAddress('52:54:00:77:00:11', '10.77.0.101')
  timeline.record({ source: 'dhcp', type: 'dhcp.offer', mac: '52:54:00:77:00:11', message: 'offered snponly.efi' })
  timeline.record({ source: 'tftp', type: 'tftp.transfer', ip: '10.77.0.101', message: 'sent snponly.efi' })
  timeline.record({ source: 'dhcp', type: 'dhcp.offer', mac: '52:54:00:99:99:99', message: 'someone else' })
  const r = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A })
  const types = (await machines.events(r.machine.id)).map(e => e.type)
  assert.deepEqual(types, ['dhcp.offer', 'tftp.transfer', 'machine.discovered'])
  // After the machine is known, an event by IP alone finds it through the machine's address too.
  timeline.record({ source: 'tftp', type: 'tftp.transfer', ip: '10.77.0.101', message: 'again' })
  assert.equal((await machines.events(r.machine.id)).at(-1)?.message, 'again')
})

test('lookup by MAC, UUID or serial, and a clear error otherwise', async () => {
  const { machines } = makeInventory()
  const r = await machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: UUID_A, serial: 'LAB0001' })
  assert.equal((await machines.get('52:54:00:77:00:11')).id, r.machine.id)
  assert.equal((await machines.get(UUID_A.toUpperCase())).id, r.machine.id)
  assert.equal((await machines.get('LAB0001')).id, r.machine.id)
  await assert.rejects(machines.get('m-nope'), { code: 'ERR_MACHINE_NOT_FOUND' })
  await assert.rejects(machines.registerBoot({ mac: 'zz' }), { code: 'ERR_INVALID_MAC' })
})

test('an enrolled machine is matched at its first boot by MAC, never duplicated, and becomes discovered', async () => {
  const inv = makeInventory()
  const { machines } = inv
  const { lifecycle } = makeProvisioning(inv)
  const enrolled = await machines.enroll({ mac: '52-54-00-77-00-21', serial: 'LAB0021' })
  assert.equal(enrolled.state, 'enrolled')
  assert.equal(enrolled.uuidStatus, 'missing')
  const r = await machines.registerBoot({ mac: '52:54:00:77:00:21', uuid: UUID_A, serial: 'LAB0021', platform: 'pcbios' })
  assert.equal(r.created, false)
  assert.equal(r.machine.id, enrolled.id)
  assert.equal(r.machine.state, 'enrolled', 'registration records facts; the state moves through the lifecycle')
  assert.equal((await lifecycle.apply(enrolled.id, { type: 'boot' })).machine.state, 'discovered')
  assert.equal(r.machine.uuid, UUID_A)
  assert.equal((await machines.list()).length, 1)
  const types = (await machines.events(enrolled.id)).map(e => e.type)
  assert.deepEqual(types, ['machine.enrolled', 'machine.discovered', 'machine.state'])
})

test('an enrolled machine is matched by its SMBIOS UUID when it boots from a NIC nobody told us about', async () => {
  const { machines } = makeInventory()
  const enrolled = await machines.enroll({ mac: '52:54:00:77:00:22', uuid: UUID_A.toUpperCase() })
  assert.equal(enrolled.uuid, UUID_A)
  const r = await machines.registerBoot({ mac: '52:54:00:77:00:99', uuid: UUID_A })
  assert.equal(r.machine.id, enrolled.id)
  assert.deepEqual([...r.machine.macs].sort(), ['52:54:00:77:00:22', '52:54:00:77:00:99'])
  assert.equal((await machines.list()).length, 1)
})

test('enrolment refuses a known MAC or UUID, a bad MAC, and a placeholder UUID, with stable codes', async () => {
  const { machines } = makeInventory()
  const first = await machines.registerBoot({ mac: '52:54:00:77:00:23', uuid: UUID_A })
  await assert.rejects(machines.enroll({ mac: '52:54:00:77:00:23' }), (err: { code: string, details: { id: string } }) => err.code === 'ERR_MACHINE_EXISTS' && err.details.id === first.machine.id)
  await assert.rejects(machines.enroll({ mac: '52:54:00:77:00:24', uuid: UUID_A }), { code: 'ERR_MACHINE_EXISTS' })
  await assert.rejects(machines.enroll({ mac: 'nope' }), { code: 'ERR_INVALID_MAC' })
  await assert.rejects(machines.enroll({ mac: '52:54:00:77:00:25', uuid: '00000000-0000-0000-0000-000000000000' }), { code: 'ERR_INVALID_UUID' })
  assert.equal((await machines.list()).length, 1)
})

test('unknown MACs beyond the new-machine limit are refused with ERR_RATE_LIMITED and one event; known machines still boot', async () => {
  const inv = makeInventory()
  const machines = new MachineService({ store: inv.store, timeline: inv.timeline, clock: inv.clock, newMachines: new TokenBucket(2) })
  await machines.registerBoot({ mac: '52:54:00:00:01:01' })
  await machines.registerBoot({ mac: '52:54:00:00:01:02' })
  for (let i = 3; i < 50; i++) {
    await assert.rejects(machines.registerBoot({ mac: `52:54:00:00:01:${i.toString(16).padStart(2, '0')}` }), { code: 'ERR_RATE_LIMITED' })
  }
  assert.equal((await machines.list()).length, 2)
  assert.equal(machines.rateLimited, 47)
  await machines.registerBoot({ mac: '52:54:00:00:01:01' })
  await inv.timeline.flush()
  const limited = inv.db.$client.prepare("SELECT count(*) AS n FROM events WHERE type = 'machine.rate-limited'").get() as { n: number }
  assert.equal(limited.n, 1, 'one event for the flood, not one per refusal')
  inv.clock.advance(60_000)
  await machines.registerBoot({ mac: '52:54:00:00:01:ff' })
  assert.equal((await machines.list()).length, 3, 'the limit refills with time')
})
