import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertOnlyMalformed, assertPrefixesRejected, exchangeFor, loadCapture, printed } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { decodeGetChassisStatus, encodeGetChassisStatus, GetChassisStatus } from './get-chassis-status.ts'

const captures = ['chassis-status-off', 'chassis-status-on', 'power-status'].map(loadCapture)
const yes = (b: boolean, t: string, f: string): string => b ? t : f

for (const capture of captures) {
  const captured = exchangeFor(capture, GetChassisStatus.netFn, GetChassisStatus.cmd)

  test(`Get Chassis Status (${capture.name}): the request ipmitool sent, decoded as ipmitool read it`, () => {
    assert.deepEqual(encodeGetChassisStatus(), captured.request)
    const s = decodeGetChassisStatus(captured.response.data)
    if (capture.name === 'power-status') {
      assert.deepEqual(capture.output, [`Chassis Power is ${yes(s.powerOn, 'on', 'off')}`])
      return
    }
    assert.equal(yes(s.powerOn, 'on', 'off'), printed(capture, 'System Power'))
    assert.equal(yes(s.powerOverload, 'true', 'false'), printed(capture, 'Power Overload'))
    assert.equal(yes(s.powerInterlock, 'active', 'inactive'), printed(capture, 'Power Interlock'))
    assert.equal(yes(s.mainPowerFault, 'true', 'false'), printed(capture, 'Main Power Fault'))
    assert.equal(yes(s.powerControlFault, 'true', 'false'), printed(capture, 'Power Control Fault'))
    assert.equal(s.restorePolicy, printed(capture, 'Power Restore Policy'))
    assert.equal(yes(s.misc.intrusion, 'active', 'inactive'), printed(capture, 'Chassis Intrusion'))
    assert.equal(yes(s.misc.frontPanelLockout, 'active', 'inactive'), printed(capture, 'Front-Panel Lockout'))
    assert.equal(yes(s.misc.driveFault, 'true', 'false'), printed(capture, 'Drive Fault'))
    assert.equal(yes(s.misc.fanFault, 'true', 'false'), printed(capture, 'Cooling/Fan Fault'))
    assert.equal(s.frontPanel, undefined) // ipmi_sim sends the three mandatory bytes only
  })
}

test('Get Chassis Status: power off then on as captured around `chassis power on`', () => {
  const [off, on] = captures.slice(0, 2).map((c) => decodeGetChassisStatus(exchangeFor(c, 0x00, 0x01).response.data))
  assert.equal(off?.powerOn, false)
  assert.equal(on?.powerOn, true)
})

test('Get Chassis Status: every bit of the four bytes', () => {
  assert.deepEqual(decodeGetChassisStatus(Buffer.from('5e1f6fa5', 'hex')), {
    powerOn: false,
    powerOverload: true,
    powerInterlock: true,
    mainPowerFault: true,
    powerControlFault: true,
    restorePolicy: 'always-on',
    lastEvent: { acFailed: true, overload: true, interlock: true, fault: true, command: true },
    misc: { intrusion: true, frontPanelLockout: true, driveFault: true, fanFault: true, identify: 'indefinite' },
    frontPanel: {
      powerDisabled: true,
      resetDisabled: false,
      diagDisabled: true,
      sleepDisabled: false,
      powerDisableAllowed: false,
      resetDisableAllowed: true,
      diagDisableAllowed: false,
      sleepDisableAllowed: true
    }
  })
  const s = decodeGetChassisStatus(Buffer.from('212010', 'hex'))
  assert.equal(s.powerOn, true)
  assert.equal(s.restorePolicy, 'previous')
  assert.equal(s.misc.identify, 'unsupported') // b5:4 set but b6 (state supported) clear
  assert.equal(decodeGetChassisStatus(Buffer.from('600050', 'hex')).restorePolicy, 'unknown')
  assert.equal(decodeGetChassisStatus(Buffer.from('600050', 'hex')).misc.identify, 'timed')
})

test('Get Chassis Status: every truncated prefix rejected, random input only MalformedPacketError', () => {
  const data = Buffer.from('5e1f6fa5', 'hex')
  assertPrefixesRejected(decodeGetChassisStatus, data, 3)
  assertOnlyMalformed(decodeGetChassisStatus, data, 0x2801)
})
