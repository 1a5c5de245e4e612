import assert from 'node:assert/strict'
import { test } from 'node:test'
import { assertMalformed, assertOnlyMalformed, assertPrefixesRejected, exchangeFor, exchangesFor, loadCapture, printed } from '../../../test/fixtures/ipmi/commands/fixtures.ts'
import { IpmiCompletionError } from '../errors.ts'
import {
  decodeBootFlags, decodeGetBootFlags, decodeGetBootOption, encodeClearBootInfoAck, encodeGetBootOption, encodeSetBootFlags,
  encodeSetInProgress, GetSystemBootOptions, SetSystemBootOptions, type BootFlagsRequest
} from './system-boot-options.ts'

// `ipmitool chassis bootdev DEVICE [options=...]` and the flags Anvil would ask for the same thing.
const bootdevs: readonly [string, BootFlagsRequest, string][] = [
  ['bootdev-pxe', { device: 'pxe', persistent: false, efi: false }, '058004000000'],
  ['bootdev-pxe-efi', { device: 'pxe', persistent: false, efi: true }, '05a004000000'],
  ['bootdev-pxe-persistent-efi', { device: 'pxe', persistent: true, efi: true }, '05e004000000'],
  ['bootdev-disk', { device: 'disk', persistent: false, efi: false }, '058008000000'],
  ['bootdev-disk-persistent', { device: 'disk', persistent: true, efi: false }, '05c008000000'],
  ['bootdev-none', { device: 'none', persistent: false, efi: false }, '058000000000']
]

for (const [name, flags, hex] of bootdevs) {
  test(`Set System Boot Options (${name}): ipmitool's three requests, byte for byte`, () => {
    const sets = exchangesFor(loadCapture(name), SetSystemBootOptions.netFn, SetSystemBootOptions.cmd)
    assert.deepEqual(sets.map((e) => e.request), [encodeSetInProgress('inProgress'), encodeClearBootInfoAck(), encodeSetBootFlags(flags)])
    assert.equal(encodeSetBootFlags(flags).data.toString('hex'), hex)
    // ipmi_sim refuses "set in progress" (0xCC), so ipmitool sends neither commit-write nor set-complete.
    assert.deepEqual(sets.map((e) => e.response.cc), [0xcc, 0, 0])
    // What ipmitool's own request means, read back through our decoder.
    assert.deepEqual(pick(decodeBootFlags(encodeSetBootFlags(flags).data.subarray(1))), { ...flags, valid: true })
  })
}

const pick = ({ device, persistent, efi, valid }: ReturnType<typeof decodeBootFlags>): object => ({ device, persistent, efi, valid })

for (const [name, device, selectorText] of [['bootparam-get-5-pxe', 'pxe', 'Force PXE'], ['bootparam-get-5-none', 'none', 'No override']] as const) {
  test(`Get System Boot Options parameter 5 (${name}) decodes as ipmitool printed it`, () => {
    const capture = loadCapture(name)
    const captured = exchangeFor(capture, GetSystemBootOptions.netFn, GetSystemBootOptions.cmd)
    assert.deepEqual(encodeGetBootOption(5), captured.request)
    const header = decodeGetBootOption(captured.response.data)
    assert.equal(String(header.version), printed(capture, 'Boot parameter version'))
    assert.equal(header.invalid, false) // "Boot parameter 5 is valid/unlocked"
    assert.equal(header.data.toString('hex'), printed(capture, 'Boot parameter data'))
    const flags = decodeGetBootFlags(captured.response.data)
    assert.equal(flags.device, device)
    assert.equal(printed(capture, '- Boot Device Selector'), selectorText)
    // ipmi_sim keeps only the device selector: valid, persistent and EFI always read back as 0.
    assert.deepEqual(pick(flags), { device, persistent: false, efi: false, valid: false })
    assert.ok(capture.output.some((l) => l.trim() === '- Boot Flag Invalid'))
    assert.equal(flags.rest, '000000')
  })
}

test('Get System Boot Options: an unsupported parameter, and the 0x80 name the spec gives it', () => {
  const captured = exchangeFor(loadCapture('bootparam-get-unsupported'), GetSystemBootOptions.netFn, GetSystemBootOptions.cmd)
  assert.deepEqual(encodeGetBootOption(96), captured.request)
  assert.equal(captured.response.cc, 0xcc) // ipmi_sim says "invalid data field", where the spec allows 0x80
  const err = new IpmiCompletionError(0x80, GetSystemBootOptions.name, GetSystemBootOptions.completionCodes)
  assert.equal(err.message, 'Get System Boot Options: the BMC answered parameter not supported (0x80)')
  assert.match(new IpmiCompletionError(0x81, SetSystemBootOptions.name, SetSystemBootOptions.completionCodes).message, /'set in progress'.*\(0x81\)/)
})

test('Boot flags: every field of data 1 and 2, named and reserved selectors', () => {
  // data 2 = 0xeb: CMOS clear, lock keyboard, selector 0xA (reserved), screen blank, lock reset.
  assert.deepEqual(decodeBootFlags(Buffer.from('e0eba10203', 'hex')), {
    valid: true,
    persistent: true,
    efi: true,
    device: 'reserved',
    selector: 0xa,
    cmosClear: true,
    lockKeyboard: true,
    screenBlank: true,
    lockResetButtons: true,
    rest: 'a10203'
  })
  for (const [sel, device] of [[0x3, 'disk-safe-mode'], [0x5, 'cdrom'], [0x6, 'bios-setup'], [0xb, 'remote-disk'], [0xf, 'floppy']] as const) {
    assert.equal(decodeBootFlags(Buffer.of(0x80, sel << 2, 0, 0, 0)).device, device)
    assert.equal(encodeSetBootFlags({ device, persistent: false, efi: false }).data[2], sel << 2)
  }
})

test('Set in progress: complete, in progress and commit write are 0, 1 and 2 (parameter 0)', () => {
  assert.equal(encodeSetInProgress('complete').data.toString('hex'), '0000')
  assert.equal(encodeSetInProgress('inProgress').data.toString('hex'), '0001')
  assert.equal(encodeSetInProgress('commitWrite').data.toString('hex'), '0002')
})

test('Get System Boot Options: truncated, wrong-parameter and random input only MalformedPacketError', () => {
  const data = Buffer.from('01050004000000', 'hex')
  assertPrefixesRejected(decodeGetBootFlags, data, data.length)
  assertPrefixesRejected(decodeGetBootOption, data, 2)
  assertMalformed(decodeGetBootFlags, Buffer.from('01040004000000', 'hex'), 'parameter 4 where 5 was asked')
  assertPrefixesRejected(decodeBootFlags, data.subarray(2), 5)
  assertOnlyMalformed(decodeGetBootFlags, data, 0x2813)
  assertOnlyMalformed(decodeGetBootOption, data, 0x2814)
})
