import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertOnlyMalformed, assertPrefixesRejected, exchangesFor, loadCapture, printed, type Exchange } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { IpmiCompletionError } from '../errors.ts'
import {
  decodeGetLanConfig, decodeLanIpAddress, decodeLanIpAddressSource, decodeLanMacAddress, encodeGetLanConfig, GetLanConfig, LanParameter
} from './get-lan-config.ts'

const lanPrint = loadCapture('lan-print')
const all = exchangesFor(lanPrint, GetLanConfig.netFn, GetLanConfig.cmd)
/** `ipmitool lan print 1` asks each parameter once: channel 1, set 0, block 0. */
function forParameter (parameter: number): Exchange {
  const found = all.filter((e) => e.request.data[1] === parameter)
  assert.equal(found.length, 1, `parameter ${parameter}`)
  return found[0] as Exchange
}

test('Get LAN Configuration Parameters: IP, source and MAC requests are the bytes ipmitool sent', () => {
  for (const p of [LanParameter.ipAddress, LanParameter.ipAddressSource, LanParameter.macAddress, LanParameter.subnetMask, LanParameter.defaultGateway]) {
    assert.deepEqual(encodeGetLanConfig(1, p), forParameter(p).request)
  }
  assert.equal(encodeGetLanConfig(0x0e, 3).data.toString('hex'), '0e030000')
})

test("Get LAN Configuration Parameters: ipmi_sim's answers decode to what `lan print 1` printed", () => {
  assert.equal(decodeLanIpAddress(forParameter(LanParameter.ipAddress).response.data), printed(lanPrint, 'IP Address  '))
  assert.equal(decodeLanIpAddress(forParameter(LanParameter.ipAddress).response.data), '10.77.0.21')
  assert.equal(decodeLanMacAddress(forParameter(LanParameter.macAddress).response.data), printed(lanPrint, 'MAC Address'))
  assert.equal(decodeLanMacAddress(forParameter(LanParameter.macAddress).response.data), '52:54:00:aa:bb:21')
  assert.equal(printed(lanPrint, 'IP Address Source'), 'Static Address')
  assert.equal(decodeLanIpAddressSource(forParameter(LanParameter.ipAddressSource).response.data), 'static')
  // Subnet mask and gateway are IPv4 like parameter 3.
  assert.equal(decodeLanIpAddress(forParameter(LanParameter.subnetMask).response.data), printed(lanPrint, 'Subnet Mask'))
  assert.equal(decodeLanIpAddress(forParameter(LanParameter.defaultGateway).response.data), printed(lanPrint, 'Default Gateway IP'))
  assert.deepEqual(decodeGetLanConfig(forParameter(LanParameter.macAddress).response.data), { revision: 0x11, data: Buffer.from('525400aabb21', 'hex') })
})

test('Get LAN Configuration Parameters: IP address sources and the 0x80 name', () => {
  const names = [0, 1, 2, 3, 4, 5, 0x0f].map((s) => decodeLanIpAddressSource(Buffer.of(0x11, 0xf0 | s)))
  assert.deepEqual(names, ['unspecified', 'static', 'dhcp', 'bios', 'other', 'reserved', 'reserved'])
  // ipmi_sim has no parameter 10 (BMC-generated ARP control): it answers 0x80, which this command names.
  assert.equal(forParameter(10).response.cc, 0x80)
  assert.match(new IpmiCompletionError(0x80, GetLanConfig.name, GetLanConfig.completionCodes).message, /parameter not supported \(0x80\)$/)
})

test('Get LAN Configuration Parameters: truncated and random input only MalformedPacketError', () => {
  const ip = forParameter(LanParameter.ipAddress).response.data
  const mac = forParameter(LanParameter.macAddress).response.data
  const src = forParameter(LanParameter.ipAddressSource).response.data
  assertPrefixesRejected(decodeLanIpAddress, ip, ip.length)
  assertPrefixesRejected(decodeLanMacAddress, mac, mac.length)
  assertPrefixesRejected(decodeLanIpAddressSource, src, src.length)
  assertPrefixesRejected(decodeGetLanConfig, mac, 1)
  for (const [decode, sample, seed] of [[decodeLanIpAddress, ip, 1], [decodeLanMacAddress, mac, 2], [decodeLanIpAddressSource, src, 3], [decodeGetLanConfig, mac, 4]] as const) {
    assertOnlyMalformed(decode, sample, 0x2302 + seed)
  }
})
