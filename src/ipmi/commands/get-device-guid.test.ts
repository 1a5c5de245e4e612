import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertOnlyMalformed, assertPrefixesRejected, exchangeFor, loadCapture } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { decodeGetDeviceGuid, decodeGuid, encodeGetDeviceGuid, GetDeviceGuid } from './get-device-guid.ts'

const raw = loadCapture('device-guid')
const captured = exchangeFor(raw, GetDeviceGuid.netFn, GetDeviceGuid.cmd)

test('Get Device GUID request is the bytes `ipmitool raw 0x06 0x08` sent; ipmi_sim answers 0xC1', () => {
  assert.deepEqual(encodeGetDeviceGuid(), captured.request)
  assert.equal(captured.response.cc, 0xc1)
})

test('Get Device GUID: LS byte first per the spec, SMBIOS reading beside it', () => {
  // An RFC 4122 value 00112233-4455-6677-8899-aabbccddeeff sent LS byte first.
  const wire = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex')
  assert.deepEqual(decodeGetDeviceGuid(wire), {
    guid: '00112233-4455-6677-8899-aabbccddeeff',
    smbios: 'ccddeeff-aabb-8899-7766-554433221100',
    hex: 'ffeeddccbbaa99887766554433221100'
  })
  // SMBIOS order: the first three fields little-endian, the last eight bytes as they come.
  assert.equal(decodeGuid(Buffer.from('33221100554477668899aabbccddeeff', 'hex')).smbios, '00112233-4455-6677-8899-aabbccddeeff')
})

test('Get Device GUID: every truncated prefix rejected, random input only MalformedPacketError', () => {
  const wire = Buffer.from('ffeeddccbbaa99887766554433221100', 'hex')
  assertPrefixesRejected(decodeGetDeviceGuid, wire, 16)
  assertOnlyMalformed(decodeGetDeviceGuid, wire, 0x0801)
})
