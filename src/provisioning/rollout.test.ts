import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { machinesEnded, newPlan, stepRollout, type PlanAction, type RolloutPlan } from './rollout.ts'

const pending = (...ids: string[]) => ids.map(machineId => ({ machineId, state: 'pending' as const }))
const starts = (actions: readonly PlanAction[]): string[] => actions.flatMap(a => a.type === 'upgrade' ? [a.machineId] : [])
const finish = (actions: readonly PlanAction[]) => actions.find(a => a.type === 'finish')
const states = (p: RolloutPlan): Record<string, string> => Object.fromEntries(p.machines.map(m => [m.machineId, m.state]))

describe('rollout plan', () => {
  test('max-parallel: two at a time, in order; each success starts the next; done when all succeeded', () => {
    let { plan, actions } = stepRollout(newPlan(pending('a', 'b', 'c', 'd', 'e'), 2), { type: 'begin' })
    assert.deepEqual(starts(actions), ['a', 'b'])
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'b', outcome: 'succeeded' }))
    assert.deepEqual(starts(actions), ['c'])
    assert.equal(plan.machines.filter(m => m.state === 'running').length, 2)
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'a', outcome: 'succeeded' }))
    assert.deepEqual(starts(actions), ['d'])
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'c', outcome: 'succeeded' }))
    assert.deepEqual(starts(actions), ['e'])
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'd', outcome: 'succeeded' }))
    assert.deepEqual(actions, [])
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'e', outcome: 'succeeded' }))
    assert.deepEqual(finish(actions), { type: 'finish', state: 'done', failedMachine: null, notStarted: [] })
    assert.equal(plan.finished, true)
    assert.equal(machinesEnded(plan.machines), 5)
  })

  test('never more than max-parallel running, whatever the order results come in', () => {
    let { plan } = stepRollout(newPlan(pending('a', 'b', 'c', 'd', 'e', 'f', 'g'), 3), { type: 'begin' })
    for (const id of ['c', 'a', 'd', 'b', 'f', 'e', 'g']) {
      assert.ok(plan.machines.filter(m => m.state === 'running').length <= 3)
      ;({ plan } = stepRollout(plan, { type: 'ended', machineId: id, outcome: 'succeeded' }))
    }
    assert.equal(plan.finished, true)
  })

  test('stop at the first failure: the running one finishes, nothing new starts, failed names the first', () => {
    let { plan, actions } = stepRollout(newPlan(pending('a', 'b', 'c', 'd'), 2), { type: 'begin' })
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'a', outcome: 'rolled_back' }))
    assert.deepEqual(actions, [], 'b still runs: no start, no finish yet')
    assert.equal(plan.stoppedBy, 'a')
    ;({ plan, actions } = stepRollout(plan, { type: 'ended', machineId: 'b', outcome: 'failed' }))
    assert.deepEqual(finish(actions), { type: 'finish', state: 'failed', failedMachine: 'a', notStarted: ['c', 'd'] })
    assert.deepEqual(starts(actions), [])
    assert.deepEqual(states(plan), { a: 'rolled_back', b: 'failed', c: 'not_started', d: 'not_started' })
    assert.deepEqual(stepRollout(plan, { type: 'ended', machineId: 'b', outcome: 'succeeded' }).actions, [], 'a finished plan takes no more events')
  })

  test('a running machine that succeeds after the failure stays succeeded', () => {
    let { plan } = stepRollout(newPlan(pending('a', 'b', 'c'), 2), { type: 'begin' })
    ;({ plan } = stepRollout(plan, { type: 'ended', machineId: 'b', outcome: 'failed' }))
    const { plan: end, actions } = stepRollout(plan, { type: 'ended', machineId: 'a', outcome: 'succeeded' })
    assert.deepEqual(states(end), { a: 'succeeded', b: 'failed', c: 'not_started' })
    assert.equal(finish(actions)?.state, 'failed')
  })

  test('empty selection and all-skipped: finished at once, done, nothing started', () => {
    const empty = stepRollout(newPlan([], 2), { type: 'begin' })
    assert.deepEqual(empty.actions, [{ type: 'finish', state: 'done', failedMachine: null, notStarted: [] }])
    const skipped = stepRollout(newPlan([{ machineId: 'a', state: 'skipped' }, ...pending('b')], 1), { type: 'begin' })
    assert.deepEqual(starts(skipped.actions), ['b'])
  })

  test('a result for a machine that is not running is ignored; max-parallel must be positive', () => {
    const { plan } = stepRollout(newPlan(pending('a', 'b'), 1), { type: 'begin' })
    assert.deepEqual(stepRollout(plan, { type: 'ended', machineId: 'b', outcome: 'failed' }), { plan, actions: [] })
    assert.throws(() => newPlan(pending('a'), 0), RangeError)
  })
})
