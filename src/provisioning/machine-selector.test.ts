import { test } from 'node:test'
import assert from 'node:assert/strict'
import type { Machine } from '../inventory/machine.ts'
import { machineMatches, parseMachineSelector } from './machine-selector.ts'
import { dialAddress } from './rollout-service.ts'

const machine: Machine = {
  ...{ id: 'm-1', uuid: null, reportedUuid: null, uuidStatus: 'missing', serial: 'SN-42', manufacturer: 'Dell Inc.', product: 'R650', firmware: 'efi', arch: 'x86_64', ip: '10.77.0.21' },
  ...{ macs: ['52:54:00:aa:00:01', '52:54:00:bb:00:02'], state: 'provisioned', stateReason: null, heldState: null, createdAt: 0, updatedAt: 0, lastSeenAt: 0 }
}

test('selector: state and uuidStatus become the list filter; other keys are whole-string globs on the machine', () => {
  const s = parseMachineSelector(' state=provisioned , serial=SN-* ,mac=52:54:00:BB:*')
  assert.deepEqual(s.filter, { state: 'provisioned' })
  assert.deepEqual(s.fields, [['serial', 'SN-*'], ['mac', '52:54:00:bb:*']])
  assert.equal(machineMatches(s, machine), true)
  assert.equal(machineMatches(parseMachineSelector('manufacturer=Dell'), machine), false, 'whole string, not a substring')
  assert.equal(machineMatches(parseMachineSelector('manufacturer=Dell*,arch=x86_64'), machine), true)
  assert.equal(machineMatches(parseMachineSelector('product=*'), { ...machine, product: null }), false, 'a missing field matches nothing')
  assert.deepEqual(parseMachineSelector('uuidStatus=missing').filter, { uuidStatus: 'missing' })
})

test('selector: every malformed one is ERR_VALIDATION saying what is wrong', () => {
  const bad: Array<[string, RegExp]> = [
    ['', /empty one would select every machine/],
    ['state', /"state" is not key=value/],
    ['state=', /is not key=value/],
    ['state=exploded', /state "exploded" is not one of enrolled, /],
    ['uuidStatus=odd', /uuidStatus "odd" is not one of/],
    ['colour=blue', /unknown selector key "colour": one of state, uuidStatus, id, /],
    ['serial=a,serial=b', /"serial" given twice/],
    ['x'.repeat(513), /at most 512 characters/]
  ]
  for (const [text, message] of bad) assert.throws(() => parseMachineSelector(text), { code: 'ERR_VALIDATION', message }, text)
})

test('the address dialled: the first reported one that is not IPv6 link-local, IPv6 in brackets', () => {
  assert.equal(dialAddress(['fe80::1/64', '10.77.0.21/24']), '10.77.0.21')
  assert.equal(dialAddress(['fe80::1/64', '2001:db8::5/64']), '[2001:db8::5]')
  assert.equal(dialAddress(['fe80::1/64', 'garbage']), undefined)
  assert.equal(dialAddress([]), undefined)
})
