import assert from 'node:assert/strict'
import { test } from 'node:test'
import { exchangeFor, loadCapture } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { ChassisControl, encodeChassisControl, type ChassisAction } from './chassis-control.ts'

// `ipmitool chassis power X` for every action, and the control byte the spec gives it (§28.3).
const cases: readonly [ChassisAction, string, number][] = [
  ['on', 'power-on', 1],
  ['off', 'power-off', 0],
  ['cycle', 'power-cycle', 2],
  ['reset', 'power-reset', 3],
  ['diag', 'power-diag', 4],
  ['soft', 'power-soft', 5]
]

for (const [action, name, byte] of cases) {
  test(`Chassis Control ${action}: byte ${byte}, the request \`ipmitool chassis power\` sent`, () => {
    const captured = exchangeFor(loadCapture(name), ChassisControl.netFn, ChassisControl.cmd)
    assert.deepEqual(encodeChassisControl(action), captured.request)
    assert.deepEqual(encodeChassisControl(action).data, Buffer.of(byte))
    // ipmi_sim implements every action but the diagnostic interrupt (0xCC "invalid data field").
    assert.equal(captured.response.cc, action === 'diag' ? 0xcc : 0)
    assert.equal(captured.response.data.length, 0)
  })
}
