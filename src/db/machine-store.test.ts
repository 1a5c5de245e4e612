import { test } from 'node:test'
import assert from 'node:assert/strict'
import { makeInventory } from '../../test/helpers/inventory.ts'

test('retention: old events go, unattached ones sooner, and each machine keeps only its newest', async () => {
  const inv = makeInventory()
  const { machine: a } = await inv.machines.registerBoot({ mac: '52:54:00:00:02:01' })
  const { machine: b } = await inv.machines.registerBoot({ mac: '52:54:00:00:02:02' })
  const day = 24 * 3_600_000
  const t0 = inv.clock.now()
  const ev = (machineId: string | null, at: number, message: string) => ({ machineId, mac: null, ip: null, at, source: 'api', type: 'machine.state', message, data: null })
  await inv.store.appendEvents([
    ev(a.id, t0 - 100 * day, 'ancient'),
    ...Array.from({ length: 150 }, (_, i) => ev(a.id, t0 + i, `a${i}`)),
    ev(b.id, t0, 'b'),
    ev(null, t0 - 8 * day, 'stray old'),
    ev(null, t0 - 1 * day, 'stray new')
  ])
  const before = (await inv.store.listEvents(a.id)).length
  const n = await inv.store.pruneEvents({ before: t0 - 90 * day, unattachedBefore: t0 - 7 * day, perMachine: 100 })
  const left = await inv.store.listEvents(a.id)
  assert.equal(left.length, 100)
  assert.equal(left.at(-1)?.message, 'a149', 'the newest are kept')
  assert.ok(!left.some(e => e.message === 'ancient'))
  assert.equal(n, before - 100 + 1, 'the stray old event went too')
  assert.equal((await inv.store.listEvents(b.id)).some(e => e.message === 'b'), true)
  const strays = inv.db.$client.prepare('SELECT message FROM events WHERE machine_id IS NULL').all() as Array<{ message: string }>
  assert.deepEqual(strays.map(s => s.message), ['stray new'])
})
