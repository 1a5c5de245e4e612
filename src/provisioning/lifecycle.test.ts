import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MachineState } from '../inventory/machine.ts'
import { LIFECYCLE_EVENT_TYPES, TASK_STATES, statesAllowing, step, type LifecycleEvent, type LifecycleEventType } from './lifecycle.ts'

const S = MachineState
const ALL = Object.values(S)

/** One event of each type, with the fields it needs. */
const EVENTS: Readonly<Record<LifecycleEventType, LifecycleEvent>> = {
  boot: { type: 'boot' },
  accept: { type: 'accept' },
  autoAccept: { type: 'autoAccept', rule: 1 },
  reject: { type: 'reject' },
  wipe: { type: 'wipe', taskId: 't-1', description: 'fast wipe' },
  wipeSucceeded: { type: 'wipeSucceeded', taskId: 't-1', summary: 'vda 1 MiB' },
  wipeFailed: { type: 'wipeFailed', taskId: 't-1', error: 'disk busy' },
  taskCancelled: { type: 'taskCancelled', taskId: 't-1' },
  provision: { type: 'provision', taskId: 't-2', description: 'install' },
  installFailed: { type: 'installFailed', taskId: 't-2', error: 'bad signature' },
  nodeReported: { type: 'nodeReported' },
  reset: { type: 'reset', taskId: 't-3', description: 'reset' },
  resetSucceeded: { type: 'resetSucceeded', taskId: 't-3', summary: 'wiped' },
  resetFailed: { type: 'resetFailed', taskId: 't-3', error: 'disk gone' },
  maintenanceOn: { type: 'maintenanceOn' },
  maintenanceOff: { type: 'maintenanceOff' }
}

/**
 * The table, written out independently of lifecycle.ts: for each event, the states it moves from
 * and where to. Any pair not here must be refused.
 */
const EXPECTED: Readonly<Record<LifecycleEventType, Partial<Record<MachineState, MachineState>>>> = {
  boot: { enrolled: 'discovered' },
  accept: { enrolled: 'accepted', discovered: 'accepted', rejected: 'accepted', error: 'accepted' },
  autoAccept: { discovered: 'accepted' },
  reject: { enrolled: 'rejected', discovered: 'rejected', accepted: 'rejected', wiping: 'rejected', ready: 'rejected', error: 'rejected' },
  wipe: { accepted: 'wiping', ready: 'wiping' },
  wipeSucceeded: { wiping: 'ready' },
  wipeFailed: { wiping: 'error' },
  taskCancelled: { wiping: 'accepted', installing: 'ready', resetting: 'error' },
  provision: { ready: 'installing' },
  installFailed: { installing: 'error' },
  nodeReported: { installing: 'provisioned' },
  reset: { provisioned: 'resetting', error: 'resetting' },
  resetSucceeded: { resetting: 'ready' },
  resetFailed: { resetting: 'error' },
  maintenanceOn: Object.fromEntries(ALL.filter(s => s !== 'maintenance').map(s => [s, 'maintenance'])),
  maintenanceOff: { maintenance: 'error' } // with no held state; held states are tested below
}

test('every (state, event) pair moves as the table says or is refused with ERR_INVALID_STATE', () => {
  assert.deepEqual([...LIFECYCLE_EVENT_TYPES].sort(), Object.keys(EVENTS).sort(), 'every event type is exercised')
  let moved = 0
  let refused = 0
  for (const type of LIFECYCLE_EVENT_TYPES) {
    for (const state of ALL) {
      const want = EXPECTED[type][state]
      const machine = { state, heldState: null }
      if (want === undefined) {
        assert.throws(() => step(machine, EVENTS[type], { machineId: 'm-1' }), (err: { code?: string, details?: { allowed?: unknown } }) => {
          assert.equal(err.code, 'ERR_INVALID_STATE', `${type} in ${state}`)
          assert.deepEqual(err.details?.allowed, statesAllowing(type))
          return true
        })
        refused++
      } else {
        const r = step(machine, EVENTS[type])
        assert.equal(r.state, want, `${type} in ${state}`)
        assert.ok(r.reason.length > 0)
        moved++
      }
    }
  }
  assert.equal(moved + refused, LIFECYCLE_EVENT_TYPES.length * ALL.length)
})

test('every state can be entered, and every state can be left', () => {
  const entered = new Set<MachineState>([S.enrolled, S.discovered]) // created as these
  const left = new Set<MachineState>()
  for (const type of LIFECYCLE_EVENT_TYPES) {
    for (const [from, to] of Object.entries(EXPECTED[type]) as Array<[MachineState, MachineState]>) {
      entered.add(to)
      if (to !== from) left.add(from)
    }
  }
  assert.deepEqual([...entered].sort(), [...ALL].sort())
  assert.deepEqual([...left].sort(), [...ALL].sort())
})

test('work is queued with its task and booted for; leaving work cancels its tasks', () => {
  const wipe = step({ state: S.accepted, heldState: null }, EVENTS.wipe)
  assert.deepEqual(wipe.actions, [{ kind: 'queueTask', taskId: 't-1', task: 'wipe' }, { kind: 'bootForTask', taskId: 't-1' }])
  assert.deepEqual(step({ state: S.wiping, heldState: null }, EVENTS.reject).actions, [{ kind: 'cancelTasks' }])
  assert.deepEqual(step({ state: S.wiping, heldState: null }, EVENTS.taskCancelled).actions, [{ kind: 'cancelTasks' }])
  assert.deepEqual(step({ state: S.wiping, heldState: null }, EVENTS.maintenanceOn).actions, [{ kind: 'cancelTasks' }])
  assert.deepEqual(step({ state: S.wiping, heldState: null }, EVENTS.wipeSucceeded).actions, [])
})

test('maintenance remembers the state it came from and returns to it, or to where its cancelled work began', () => {
  for (const from of ALL.filter(s => s !== S.maintenance)) {
    const on = step({ state: from, heldState: null }, EVENTS.maintenanceOn)
    assert.equal(on.heldState, from)
    const off = step({ state: S.maintenance, heldState: on.heldState }, EVENTS.maintenanceOff)
    const expected = from === S.wiping ? S.accepted : from === S.installing ? S.ready : from === S.resetting ? S.error : from
    assert.equal(off.state, expected, `maintenance from ${from}`)
    assert.equal(off.heldState, null)
  }
})

test('a machine in maintenance is handed no task; a wipe only while wiping or resetting', () => {
  for (const states of Object.values(TASK_STATES)) assert.ok(!states.includes(S.maintenance))
  assert.deepEqual([...TASK_STATES.wipe].sort(), [S.resetting, S.wiping])
  for (const s of [S.rejected, S.provisioned, S.enrolled]) {
    for (const states of Object.values(TASK_STATES)) assert.ok(!states.includes(s), `${s} runs no agent`)
  }
})
