import { test } from 'node:test'
import assert from 'node:assert/strict'
import { MachineState } from '../inventory/machine.ts'
import { BootMessage, needsFacts, planBoot } from './boot-planner.ts'

const caps = { bootenv: true, recheckSeconds: 30 }

test('an installing machine boots the environment until its image is written, then its local disk', () => {
  assert.deepEqual(planBoot({ state: 'installing' }, caps), { kind: 'install', message: BootMessage.install })
  assert.deepEqual(planBoot({ state: 'installing' }, caps, { installWritten: false }), { kind: 'install', message: BootMessage.install })
  assert.deepEqual(planBoot({ state: 'installing' }, caps, { installWritten: true }), { kind: 'local-disk', message: BootMessage.installed })
  assert.deepEqual(planBoot({ state: 'installing' }, { ...caps, bootenv: false }, { installWritten: true }), { kind: 'local-disk', message: BootMessage.installed }, 'a written image needs no environment')
})

test('the fact changes nothing for other states; only installing machines need it', () => {
  for (const state of Object.values(MachineState)) {
    assert.equal(needsFacts({ state }), state === 'installing', state)
    if (state === 'installing') continue
    assert.deepEqual(planBoot({ state }, caps, { installWritten: true }), planBoot({ state }, caps), state)
  }
  assert.equal(planBoot({ state: 'provisioned' }, caps).kind, 'local-disk')
  assert.equal(needsFacts(undefined), false)
})
