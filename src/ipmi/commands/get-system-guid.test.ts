import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertOnlyMalformed, assertPrefixesRejected, exchangeFor, loadCapture, printed } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { decodeGetSystemGuid, encodeGetSystemGuid, GetSystemGuid } from './get-system-guid.ts'

const mcGuid = loadCapture('mc-guid')
const captured = exchangeFor(mcGuid, GetSystemGuid.netFn, GetSystemGuid.cmd)

test('Get System GUID request is the bytes ipmitool sent for `mc guid`', () => {
  assert.deepEqual(encodeGetSystemGuid(), captured.request)
})

test('Get System GUID decodes the lan.conf guid to the text ipmitool printed', () => {
  // lan.conf: guid a123456789abcdef0011223344556677, sent as those 16 bytes in that order.
  assert.equal(captured.response.data.toString('hex'), 'a123456789abcdef0011223344556677')
  const guid = decodeGetSystemGuid(captured.response.data)
  assert.equal(printed(mcGuid, 'GUID Encoding'), 'IPMI')
  assert.equal(guid.guid, printed(mcGuid, 'System GUID'))
  assert.deepEqual(guid, {
    guid: '77665544-3322-1100-efcd-ab89674523a1',
    smbios: '674523a1-ab89-efcd-0011-223344556677',
    hex: 'a123456789abcdef0011223344556677'
  })
})

test('Get System GUID: every truncated prefix rejected, random input only MalformedPacketError', () => {
  assertPrefixesRejected(decodeGetSystemGuid, captured.response.data, 16)
  assertOnlyMalformed(decodeGetSystemGuid, captured.response.data, 0x3701)
})
