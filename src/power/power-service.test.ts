import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { SqliteBmcStore } from '../db/bmc-store.ts'
import { SecretBox } from '../lib/secret-box.ts'
import { configSchema } from '../config/schema.ts'
import { BmcError, BmcErrorCode } from './errors.ts'
import { BmcRegistry } from './bmc-registry.ts'
import { PowerService } from './power-service.ts'
import { ScriptedBmc } from '../../test/helpers/scripted-bmc.ts'

async function setup (overrides: Record<string, unknown> = {}) {
  const inv = makeInventory()
  const config = configSchema.parse({ power: { powerOnStagger: '2s', readBackTimeout: '5s', ...overrides } }).power
  const registry = new BmcRegistry({ machines: inv.machines, store: new SqliteBmcStore(inv.db), secrets: new SecretBox(randomBytes(32)), events: inv.timeline, clock: inv.clock })
  const bmc = new ScriptedBmc()
  const slept: number[] = []
  const power = new PowerService({
    registry,
    client: bmc,
    events: inv.timeline,
    clock: inv.clock,
    config,
    pollIntervalMs: 250,
    sleep: async (ms) => { slept.push(ms); inv.clock.advance(ms) }
  })
  const m = await inv.machines.enroll({ mac: '52:54:00:00:00:01', serial: 'S1' })
  await registry.set(m.id, { address: '10.0.0.1', username: 'admin', password: 'pw-1' })
  const types = async (): Promise<string[]> => (await inv.machines.events(m.id)).map(e => e.type)
  return { inv, registry, bmc, power, slept, m, types }
}

test('power on waits for the read-back, records it, and staggers the next power-on', async () => {
  const { bmc, power, m, slept, types, inv } = await setup()
  bmc.lagPolls = 3
  const r = await power.act(m.id, 'on')
  assert.equal(r.state, 'on')
  assert.deepEqual(bmc.calls, ['10.0.0.1:on', '10.0.0.1:status', '10.0.0.1:status', '10.0.0.1:status', '10.0.0.1:status'])
  assert.deepEqual(slept, [250, 250, 250])
  assert.ok((await types()).includes('power.action'))
  assert.deepEqual([...bmc.seenPasswords], ['pw-1'], 'the sealed password opens to what was set')
  // A second power-on right away waits out the stagger (2 s after the first began).
  slept.length = 0
  bmc.lagPolls = 0
  await power.act(m.id, 'on')
  assert.equal(slept[0], 2000 - 750)
  const events = await inv.machines.events(m.id)
  assert.ok(!JSON.stringify(events).includes('pw-1'), 'no password in the timeline')
})

test('a chassis that never reaches the state gives ERR_BMC_READBACK after the deadline, in the timeline', async () => {
  const { bmc, power, m, types } = await setup()
  bmc.lagPolls = 1_000_000
  await assert.rejects(power.act(m.id, 'on'), (err: BmcError) => err.code === BmcErrorCode.readBack && /still reads back off after 5 s/.test(err.message))
  assert.ok((await types()).includes('power.error'))
})

test('transient failures are retried with backoff; wrong credentials are not', async () => {
  const { bmc, power, m, slept } = await setup()
  bmc.failNext = [new BmcError(BmcErrorCode.unreachable, 'no answer'), new BmcError(BmcErrorCode.unreachable, 'no answer')]
  assert.deepEqual(await power.status(m.id), { machineId: m.id, state: 'off' })
  assert.deepEqual(slept, [250, 500])
  bmc.failNext = [new BmcError(BmcErrorCode.unreachable, 'no answer'), new BmcError(BmcErrorCode.unreachable, 'no answer'), new BmcError(BmcErrorCode.unreachable, 'no answer')]
  await assert.rejects(power.status(m.id), { code: BmcErrorCode.unreachable })
  bmc.failNext = [new BmcError(BmcErrorCode.auth, 'wrong password')]
  const before = bmc.calls.length
  await assert.rejects(power.status(m.id), { code: BmcErrorCode.auth })
  assert.equal(bmc.calls.length, before + 1, 'no retry of an auth failure')
})

test('boot device reads back; flags a BMC vouches for must match', async () => {
  const { bmc, power, m, types } = await setup()
  const r = await power.setBootDevice(m.id, { device: 'pxe', persistent: true, efi: true })
  assert.deepEqual(r, { device: 'pxe', persistent: true, efi: true, valid: true })
  assert.ok((await types()).includes('power.boot-device'))
  bmc.ignoreBootFlags = true
  await assert.rejects(power.setBootDevice(m.id, { device: 'disk', persistent: true, efi: false }),
    (err: BmcError) => err.code === BmcErrorCode.readBack && /reads back next boot only/.test(err.message))
})

test('machines without a BMC, and status of all machines with per-machine errors', async () => {
  const { inv, bmc, power, registry } = await setup()
  const bare = await inv.machines.enroll({ mac: '52:54:00:00:00:02' })
  await assert.rejects(power.status(bare.id), { code: 'ERR_NO_BMC' })
  await assert.rejects(registry.remove(bare.id), { code: 'ERR_NO_BMC' })
  const other = await inv.machines.enroll({ mac: '52:54:00:00:00:03' })
  await registry.set(other.id, { address: 'bmc-3.example', port: 6230, username: 'root', password: 'x', cipherSuite: 17 })
  bmc.failNext = [new BmcError(BmcErrorCode.auth, 'wrong password')]
  const lines = await power.statusAll()
  assert.equal(lines.length, 2)
  assert.equal(lines.filter(l => l.state === 'off').length, 1)
  assert.equal(lines.filter(l => l.error?.code === BmcErrorCode.auth).length, 1)
})

test('BMC input is validated and the view never carries the password', async () => {
  const { registry, m } = await setup()
  await assert.rejects(registry.set(m.id, { address: 'not an address!', username: 'a'.repeat(17), password: 'p'.repeat(21), port: 70000 }),
    (err: { code: string, details: { problems: string[] } }) => err.code === 'ERR_INVALID_BMC' && err.details.problems.length === 4)
  const v = await registry.view(m.id)
  assert.deepEqual(Object.keys(v ?? {}).sort(), ['address', 'cipherSuite', 'port', 'updatedAt', 'username'])
})
