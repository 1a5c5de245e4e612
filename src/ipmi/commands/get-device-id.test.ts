import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertMalformed, assertOnlyMalformed, assertPrefixesRejected, exchangeFor, loadCapture, printed } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { decodeGetDeviceId, encodeGetDeviceId, GetDeviceId } from './get-device-id.ts'

const mcInfo = loadCapture('mc-info')
// ipmitool sends Get Device ID twice per run (once for itself at connect, once for `mc info`).
const captured = exchangeFor(mcInfo, GetDeviceId.netFn, GetDeviceId.cmd, true)

test('Get Device ID request is the bytes ipmitool sent for `mc info`', () => {
  assert.deepEqual(encodeGetDeviceId(), captured.request)
})

test("Get Device ID decodes ipmi_sim's answer to what ipmitool printed", () => {
  const id = decodeGetDeviceId(captured.response.data)
  assert.equal(String(id.deviceId), printed(mcInfo, 'Device ID'))
  assert.equal(String(id.deviceRevision), printed(mcInfo, 'Device Revision'))
  assert.equal(id.firmware, printed(mcInfo, 'Firmware Revision'))
  assert.equal(id.ipmiVersion, printed(mcInfo, 'IPMI Version'))
  assert.equal(String(id.manufacturerId), printed(mcInfo, 'Manufacturer ID'))
  assert.equal(`${id.productId} (0x${id.productId.toString(16).padStart(4, '0')})`, printed(mcInfo, 'Product ID'))
  assert.equal(id.available ? 'yes' : 'no', printed(mcInfo, 'Device Available'))
  assert.equal(id.providesDeviceSdrs ? 'yes' : 'no', printed(mcInfo, 'Provides Device SDRs'))
  // The lan.conf of the capture: mc_add 0x20 0 no-device-sdrs 0x23 9 8 0x9f 0x1291 0xf02.
  assert.deepEqual({ ...id, auxFirmware: id.auxFirmware?.toString('hex') }, {
    deviceId: 0,
    deviceRevision: 3,
    providesDeviceSdrs: false,
    available: true,
    firmwareMajor: 9,
    firmwareMinor: 8,
    firmware: '9.08',
    ipmiVersion: '2.0',
    support: { chassis: true, bridge: false, ipmbEventGenerator: false, ipmbEventReceiver: true, fruInventory: true, sel: true, sdrRepository: true, sensor: true },
    manufacturerId: 4753,
    productId: 0x0f02,
    auxFirmware: '00000000'
  })
})

test('Get Device ID: bit fields, IPMI 1.5, a 20-bit manufacturer ID and no aux revision', () => {
  //                       id  rev  fwMaj fwMin ver  supp manufacturer  product
  const id = decodeGetDeviceId(Buffer.from('20' + '81' + '85' + '12' + '51' + '40' + 'a2b3f4' + '3412', 'hex'))
  assert.equal(id.deviceId, 0x20)
  assert.equal(id.providesDeviceSdrs, true)
  assert.equal(id.deviceRevision, 1)
  assert.equal(id.available, false)
  assert.equal(id.firmware, '5.12')
  assert.equal(id.ipmiVersion, '1.5')
  assert.equal(id.support.bridge, true)
  assert.equal(id.support.chassis, false)
  assert.equal(id.manufacturerId, 0x04b3a2) // b7:4 of the third byte are reserved
  assert.equal(id.productId, 0x1234)
  assert.equal('auxFirmware' in id, false)
})

test('Get Device ID: every truncated prefix and a partial aux revision are rejected', () => {
  const data = captured.response.data
  assertPrefixesRejected(decodeGetDeviceId, data, 11)
  for (const n of [12, 13, 14]) assertMalformed(decodeGetDeviceId, data.subarray(0, n), `${n} bytes`)
  assert.equal(decodeGetDeviceId(data.subarray(0, 11)).auxFirmware, undefined)
})

test('Get Device ID: random and mutated input only ever throws MalformedPacketError', () => {
  assertOnlyMalformed(decodeGetDeviceId, captured.response.data, 0x1d01)
})
