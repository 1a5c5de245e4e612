import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { isCodedError } from '../../src/lib/errors.ts'
import { RolloutService } from '../../src/provisioning/rollout-service.ts'
import { makeRolloutRig, BOOT_BASE, type RolloutRig } from '../helpers/rollout-rig.ts'

// The rollout runner against real node APIs: one double per machine on its own 127.0.0.N with
// real mutual TLS (server certificates from Anvil's node CA, Anvil an admin client of it), the
// real inventory and rollout rows in SQLite, the real image catalogue.

/** The most machines between their start and their end at any point of the shared log. */
function peakParallel (log: readonly string[]): number {
  let now = 0
  let peak = 0
  for (const l of log) {
    now += l.startsWith('start ') ? 1 : -1
    peak = Math.max(peak, now)
  }
  return peak
}

async function rejects (p: Promise<unknown>, code: string, message?: RegExp): Promise<void> {
  await assert.rejects(p, (err: unknown) => {
    assert.ok(isCodedError(err), String(err))
    assert.equal(err.code, code, err.message)
    if (message !== undefined) assert.match(err.message, message)
    return true
  })
}

async function run (rig: RolloutRig, body: Parameters<RolloutService['start']>[0]) {
  const record = await rig.rollouts.start(body)
  await rig.rollouts.settled(record.rollout.id)
  return await rig.operations.get(record.rollout.id)
}

describe('rollout runner', () => {
  test('three nodes, two at a time: in order, never more than two, each sent the exact signed release, all succeed', async () => {
    const rig = await makeRolloutRig(['succeeds', 'succeeds', 'succeeds'])
    try {
      const op = await run(rig, { selector: 'state=provisioned', image: 'anvil-node:0.2.0', maxParallel: 2, healthTimeoutS: 120 })
      assert.equal(op.kind, 'rollout')
      assert.equal(op.state, 'done', op.error ?? '')
      assert.equal(op.percent, 100)
      assert.equal(op.machineId, null)
      assert.deepEqual(rig.log.slice(0, 2).sort(), ['start 127.0.0.2', 'start 127.0.0.3'], 'the first two in machine order start first')
      assert.equal(peakParallel(rig.log), 2)
      assert.equal(rig.log.filter(l => l.startsWith('start ')).length, 3)
      for (const d of rig.doubles) {
        assert.equal(d.requests.length, 1, 'one Upgrade per node, never re-sent')
        const r = d.requests[0]
        assert.ok(r?.manifest.equals(rig.manifest), 'the manifest\'s exact bytes')
        assert.equal(r?.manifestSignature, rig.signature)
        assert.equal(r?.imageUrl, `${BOOT_BASE}/images/anvil-node/0.2.0`)
        assert.deepEqual([r?.imageName, r?.imageVersion, r?.healthTimeoutS, r?.force], ['anvil-node', '0.2.0', 120, false])
        assert.ok(d.calls.every(c => c.o === 'admin' && c.cn === 'anvil-rollout'), 'Anvil calls as an admin client of its node CA')
        assert.deepEqual(d.calls.map(c => c.method).at(-1), 'Version', 'the version is read back after the commit')
      }
      assert.deepEqual(op.result, {
        state: 'done',
        errorCode: null,
        machines: rig.ids.map((machineId, i) => ({ machineId, from: '0.1.0', to: '0.2.0', nodeOperationId: `op-127.0.0.${i + 2}-1`, outcome: 'succeeded', error: null }))
      })
      assert.deepEqual(op.rollout?.machines.map(m => m.address), rig.doubles.map(d => `${d.host}:${d.port}`), 'the first dialable address, not the link-local one')
      await rig.inv.timeline.flush()
      const types = (await rig.inv.machines.events(rig.ids[1] as string)).map(e => e.type)
      assert.deepEqual(types.filter(t => t.startsWith('rollout.')), ['rollout.started', 'rollout.machine', 'rollout.done'])
      assert.deepEqual(rig.errors, [])
    } finally {
      await rig.close()
    }
  })

  test('stop at the first failure, one at a time: the rolled-back machine is named with its node operation; the rest never contacted', async () => {
    const rig = await makeRolloutRig(['succeeds', 'rolls-back', 'succeeds', 'succeeds'])
    try {
      const op = await run(rig, { selector: 'state=provisioned', image: 'anvil-node', maxParallel: 1 })
      assert.equal(op.state, 'failed')
      assert.equal(op.rollout?.errorCode, 'ERR_ROLLOUT_FAILED')
      assert.match(op.error ?? '', /^machine m-rollout-1 \(node operation op-127\.0\.0\.3-1\) rolled_back: the new slot was not healthy within 300 s: apid did not start; 2 machines not started$/)
      assert.deepEqual(op.rollout?.machines.map(m => m.state), ['succeeded', 'rolled_back', 'not_started', 'not_started'])
      assert.deepEqual(rig.doubles.map(d => d.calls.length > 0), [true, true, false, false])
      assert.equal(op.percent, 100)
      assert.equal(peakParallel(rig.log), 1)
    } finally {
      await rig.close()
    }
  })

  test('stop at the first failure, two at a time: the machine already upgrading finishes, no new one starts', async () => {
    let rolloutId = ''
    // m-1 is rebooting when m-0 rolls back; it comes back only once the rollout is stopping.
    const rig: RolloutRig = await makeRolloutRig(['rolls-back', 'reboots', 'succeeds'], {
      sleepHook: async () => {
        const d = rig?.doubles[1]
        if (d?.down() !== true || rolloutId === '') return
        if ((await rig?.store.get(rolloutId))?.rollout.phase === 'stopping') await d.comeBack()
      }
    })
    try {
      const record = await rig.rollouts.start({ selector: 'serial=SN-*', image: 'anvil-node:0.2.0', maxParallel: 2 })
      rolloutId = record.rollout.id
      await rig.rollouts.settled(rolloutId)
      const op = await rig.operations.get(rolloutId)
      assert.equal(op.state, 'failed')
      assert.deepEqual(op.rollout?.machines.map(m => m.state), ['rolled_back', 'succeeded', 'not_started'])
      assert.match(op.error ?? '', /^machine m-rollout-0 \(node operation op-127\.0\.0\.2-1\) rolled_back: .*; 1 machine not started$/)
      assert.equal(rig.doubles[2]?.calls.length, 0)
    } finally {
      await rig.close()
    }
  })

  test('a node unreachable across its reboot: retried with backoff on the same operation, which then succeeds', async () => {
    let downSleeps = 0
    const rig: RolloutRig = await makeRolloutRig(['reboots', 'succeeds'], {
      sleepHook: async () => {
        const d = rig?.doubles[0]
        if (d?.down() === true && ++downSleeps >= 4) await d.comeBack()
      }
    })
    try {
      const op = await run(rig, { selector: 'state=provisioned', image: 'anvil-node:0.2.0' })
      assert.equal(op.state, 'done', op.error ?? '')
      assert.ok(rig.sleeps.includes(14), `backed off while the node was away (sleeps ${rig.sleeps.join(',')})`)
      assert.equal(rig.doubles[0]?.requests.length, 1, 'the Upgrade is not sent again after the reboot')
      const gets = rig.doubles[0]?.calls.filter(c => c.method === 'GetOperation').length ?? 0
      assert.equal(gets, 7, 'one poll per phase after fetch, on both sides of the reboot')
    } finally {
      await rig.close()
    }
  })

  test('a node that never comes back: failed past the health timeout plus the margin, the rollout says where', async () => {
    const rig: RolloutRig = await makeRolloutRig(['vanishes', 'succeeds'], {
      follow: { unreachableMarginMs: 60_000 },
      sleepHook: () => { if (rig?.doubles[0]?.down() === true) rig.inv.clock.advance(20_000) }
    })
    try {
      const op = await run(rig, { selector: 'state=provisioned', image: 'anvil-node:0.2.0', healthTimeoutS: 30 })
      assert.equal(op.state, 'failed')
      const m0 = op.rollout?.machines[0]
      assert.equal(m0?.state, 'failed')
      assert.equal(m0?.errorCode, 'ERR_NODE_UNREACHABLE')
      assert.match(m0?.error ?? '', /^the node has not answered for \d+ s \(node operation op-127\.0\.0\.2-1 was (select|reboot)\)/, "the reboot phase's own answer may be lost with the connection")
      assert.match(op.error ?? '', /^machine m-rollout-0 \(node operation op-127\.0\.0\.2-1\) failed: ERR_NODE_UNREACHABLE the node has not answered/)
      assert.equal(op.rollout?.machines[1]?.state, 'not_started')
    } finally {
      await rig.close()
    }
  })

  test('a node that refuses (busy) fails its machine with the node\'s code; a machine already on the version is skipped', async () => {
    const rig = await makeRolloutRig(['busy', 'succeeds'])
    try {
      rig.inv.db.$client.prepare("UPDATE machine_nodes SET image_version = '0.2.0' WHERE machine_id = 'm-rollout-1'").run()
      const op = await run(rig, { selector: 'state=provisioned', image: 'anvil-node:0.2.0', maxParallel: 2 })
      assert.deepEqual(op.rollout?.machines.map(m => [m.state, m.errorCode]), [['failed', 'ERR_NODE_BUSY'], ['skipped', null]])
      assert.match(op.error ?? '', /^machine m-rollout-0 failed: ERR_NODE_BUSY an upgrade is already running/)
      assert.equal(rig.doubles[1]?.calls.length, 0)
    } finally {
      await rig.close()
    }
  })

  test('refused up front with a precise error and nothing recorded: no match, image not ready or unknown, bad selector, a machine not provisioned, one in a running rollout', async () => {
    let release: (() => void) | undefined
    const held = new Promise<void>((resolve) => { release = resolve })
    const rig: RolloutRig = await makeRolloutRig(['reboots', 'succeeds'], { sleepHook: async () => { if (rig?.doubles[0]?.down() === true) { await held; await rig.doubles[0]?.comeBack() } } })
    try {
      await rejects(rig.rollouts.start({ selector: 'serial=NOPE-*', image: 'anvil-node:0.2.0' }), 'ERR_MACHINE_NOT_FOUND', /no machine matches the selector "serial=NOPE-\*": nothing started/)
      await rejects(rig.rollouts.start({ selector: 'state=provisioned', image: 'anvil-node:0.3.0' }), 'ERR_IMAGE_NOT_READY')
      await rejects(rig.rollouts.start({ selector: 'state=provisioned', image: 'other:1.0' }), 'ERR_IMAGE_NOT_FOUND')
      await rejects(rig.rollouts.start({ selector: 'colour=blue', image: 'anvil-node:0.2.0' }), 'ERR_VALIDATION', /unknown selector key "colour"/)
      await rejects(rig.rollouts.start({ selector: 'state=provisioned', image: 'anvil-node:0.2.0', maxParallel: 0 }), 'ERR_VALIDATION', /maxParallel/)
      assert.deepEqual(await rig.operations.list(), [])
      const ready = await rig.inv.machines.registerBoot({ mac: '52:54:00:aa:01:01', serial: 'SN-9' })
      await rejects(rig.rollouts.start({ selector: 'serial=SN-*', image: 'anvil-node:0.2.0' }), 'ERR_INVALID_STATE', new RegExp(`also matches ${ready.machine.id} \\(discovered\\)`))
      const first = await rig.rollouts.start({ selector: 'id=m-rollout-0', image: 'anvil-node:0.2.0' })
      await rejects(rig.rollouts.start({ selector: 'state=provisioned', image: 'anvil-node:0.2.0' }), 'ERR_NODE_BUSY', new RegExp(`m-rollout-0 \\(rollout ${first.rollout.id}\\)`))
      release?.()
      await rig.rollouts.settled(first.rollout.id)
      assert.deepEqual((await rig.operations.list()).map(o => [o.id, o.state]), [[first.rollout.id, 'done']])
    } finally {
      release?.()
      await rig.close()
    }
  })

  test('a restart mid-rollout: ended failed, not resumed, naming the machine being upgraded and its node operation', async () => {
    let rebooting: (() => void) | undefined
    const down = new Promise<void>((resolve) => { rebooting = resolve })
    const rig: RolloutRig = await makeRolloutRig(['reboots', 'succeeds'], { sleepHook: () => { if (rig?.doubles[0]?.down() === true) rebooting?.() } })
    try {
      const record = await rig.rollouts.start({ selector: 'state=provisioned', image: 'anvil-node:0.2.0' })
      await down
      await rig.rollouts.stop() // the server going down: the row stays running
      assert.equal((await rig.store.get(record.rollout.id))?.rollout.state, 'running')
      const next = new RolloutService({ store: rig.store, machines: rig.inv.machines, node: async () => undefined, release: async () => { throw new Error('not used') }, connector: { connect: () => { throw new Error('not used') } }, events: rig.inv.timeline, clock: rig.inv.clock, onError: () => {} })
      assert.equal(await next.recover(), 1)
      const op = await rig.operations.get(record.rollout.id)
      assert.equal(op.state, 'failed')
      assert.match(op.error ?? '', /^Anvil restarted during the rollout; it was not resumed: check m-rollout-0 \(node operation op-127\.0\.0\.2-1\)/)
      assert.deepEqual(op.rollout?.machines.map(m => m.state), ['interrupted', 'not_started'])
      assert.equal(rig.doubles[1]?.calls.length, 0)
      assert.equal(await next.recover(), 0, 'nothing left the second time')
    } finally {
      await rig.close()
    }
  })
})
