import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'

/**
 * Two server stacks, each with its own connection to one SQLite file, as two `anvil serve`
 * processes sharing a database would be: no in-process queue can serialise them, only the
 * compare-and-set in the store.
 */
function twoServers () {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-shared-'))
  const file = join(dir, 'anvil.db')
  const a = makeInventory(file)
  const b = makeInventory(file)
  return { a: { inv: a, ...makeProvisioning(a) }, b: { inv: b, ...makeProvisioning(b) }, close: () => { a.db.$client.close(); b.db.$client.close(); rmSync(dir, { recursive: true, force: true }) } }
}

test('a wipe racing a reject on another connection never leaves a pending wipe on a rejected machine', async () => {
  const { a, b, close } = twoServers()
  let lostRaces = 0
  try {
    for (let i = 0; i < 40; i++) {
      const { machine } = await a.inv.machines.registerBoot({ mac: `52:54:00:10:00:${i.toString(16).padStart(2, '0')}` })
      await a.discovery.accept(machine.id)
      const [wipe, reject] = await Promise.allSettled(i % 2 === 0
        ? [a.discovery.wipe(machine.id, { method: 'fast', disks: [] }), b.discovery.reject(machine.id)]
        : [b.discovery.wipe(machine.id, { method: 'fast', disks: [] }), a.discovery.reject(machine.id)])
      assert.equal(reject.status, 'fulfilled', 'reject is allowed from accepted and from wiping')
      const m = await b.inv.machines.get(machine.id)
      assert.equal(m.state, 'rejected')
      const pending = await a.store.tasks(machine.id, ['queued', 'running'])
      assert.deepEqual(pending, [], `no pending task on a rejected machine (wipe ${wipe.status})`)
      if (wipe.status === 'rejected') {
        const code = (wipe.reason as { code?: string }).code ?? ''
        // NOT_ACCEPTED: it saw the reject before it began; INVALID_STATE: it lost the compare-and-set.
        assert.ok(['ERR_NOT_ACCEPTED', 'ERR_INVALID_STATE'].includes(code), code)
        if (code === 'ERR_INVALID_STATE') lostRaces++
      }
    }
    assert.ok(lostRaces > 0, 'the interleaving really raced the two connections at the compare-and-set')
  } finally {
    close()
  }
})

test('two wipes and two accepts on two connections: exactly one of each wins, the loser gets a precise 409 code', async () => {
  const { a, b, close } = twoServers()
  try {
    for (let i = 0; i < 20; i++) {
      const { machine } = await a.inv.machines.registerBoot({ mac: `52:54:00:20:00:${i.toString(16).padStart(2, '0')}` })
      const accepts = await Promise.allSettled([a.discovery.accept(machine.id), b.discovery.accept(machine.id)])
      assert.equal(accepts.filter(r => r.status === 'fulfilled').length, 1)
      const lost = accepts.find(r => r.status === 'rejected')
      assert.equal((lost?.reason as { code?: string }).code, 'ERR_INVALID_STATE')
      const wipes = await Promise.allSettled([a.discovery.wipe(machine.id, { method: 'fast', disks: [] }), b.discovery.wipe(machine.id, { method: 'zeroes', disks: [] })])
      assert.equal(wipes.filter(r => r.status === 'fulfilled').length, 1)
      const loser = wipes.find(r => r.status === 'rejected')
      assert.ok(['ERR_INVALID_STATE', 'ERR_TASK_PENDING'].includes((loser?.reason as { code?: string }).code ?? ''))
      assert.equal((await b.store.tasks(machine.id)).length, 1, 'one task row, not two')
      // The states each timeline shows agree: one machine.state event per change, from either server.
      const changes = (await a.inv.machines.events(machine.id)).filter(e => e.type === 'machine.state').map(e => e.message.split(':')[0])
      assert.deepEqual(changes, ['discovered → accepted', 'accepted → wiping'])
    }
  } finally {
    close()
  }
})

test('a task is handed to one agent session only, whichever server it is connected to', async () => {
  const { a, b, close } = twoServers()
  try {
    const { machine } = await a.inv.machines.registerBoot({ mac: '52:54:00:30:00:01' })
    await a.discovery.accept(machine.id)
    await a.discovery.wipe(machine.id, { method: 'fast', disks: [] })
    const claims = await Promise.all([
      a.store.claimNextTask(machine.id, 's-a', 1, { wipe: ['wiping'], install: [], reboot: [], powerOff: [] }),
      b.store.claimNextTask(machine.id, 's-b', 1, { wipe: ['wiping'], install: [], reboot: [], powerOff: [] })
    ])
    assert.equal(claims.filter(c => c !== undefined).length, 1)
  } finally {
    close()
  }
})
