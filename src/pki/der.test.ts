import assert from 'node:assert/strict'
import { test } from 'node:test'
import { bitString, boolean, namedBits, oid, sequence, smallInteger, time, tlv, unsignedInteger } from './der.ts'

const hex = (b: Buffer): string => b.toString('hex')

test('OIDs: first two arcs packed, large arcs in base-128 groups (X.690 §8.19)', () => {
  // ecdsa-with-SHA256, as RFC 5758 §3.2 and every ECDSA certificate carry it.
  assert.equal(hex(oid('1.2.840.10045.4.3.2')), '06082a8648ce3d040302')
  assert.equal(hex(oid('2.5.29.17')), '0603551d11')
  assert.equal(hex(oid('1.3.6.1.5.5.7.3.1')), '06082b06010505070301')
  assert.throws(() => oid('1'), /not an OID/)
  assert.throws(() => oid('1.2.x'), /not an OID/)
})

test('lengths: short form below 128, long form with the minimal number of octets (X.690 §8.1.3)', () => {
  assert.equal(hex(tlv(0x04, Buffer.alloc(127))).slice(0, 4), '047f')
  assert.equal(hex(tlv(0x04, Buffer.alloc(128))).slice(0, 6), '048180')
  assert.equal(hex(tlv(0x04, Buffer.alloc(300))).slice(0, 8), '0482012c')
  assert.equal(tlv(0x04, Buffer.alloc(70000)).length, 70000 + 5)
})

test('INTEGER: minimal, positive (a 0x00 pad when the top bit is set, §8.3)', () => {
  assert.equal(hex(smallInteger(0)), '020100')
  assert.equal(hex(smallInteger(2)), '020102')
  assert.equal(hex(smallInteger(128)), '02020080')
  assert.equal(hex(smallInteger(256)), '02020100')
  assert.equal(hex(unsignedInteger(Buffer.from('00007f', 'hex'))), '02017f')
  assert.equal(hex(unsignedInteger(Buffer.from('ff01', 'hex'))), '020300ff01')
})

test('BOOLEAN TRUE is 0xff, BIT STRING counts unused bits, SEQUENCE nests', () => {
  assert.equal(hex(boolean(true)), '0101ff')
  assert.equal(hex(boolean(false)), '010100')
  assert.equal(hex(bitString(Buffer.from([0x80]), 7)), '03020780')
  assert.equal(hex(sequence()), '3000')
  assert.equal(hex(sequence(boolean(true), smallInteger(1))), '30060101ff020101')
})

test('Time: UTCTime through 2049, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5)', () => {
  assert.equal(time(new Date('2049-12-31T23:59:59.999Z')).toString('latin1'), '\x17\x0d491231235959Z')
  assert.equal(time(new Date('2050-01-01T00:00:00Z')).toString('latin1'), '\x18\x0f20500101000000Z')
  assert.equal(time(new Date(0)).toString('latin1'), '\x17\x0d700101000000Z')
})

test('named bits: trailing zero bits dropped, unused bits counted (X.690 §11.2.2)', () => {
  // keyUsage digitalSignature (bit 0): as OpenSSL writes it, 03 02 07 80.
  assert.equal(hex(namedBits([0])), '03020780')
  // keyCertSign (5) | cRLSign (6): 03 02 01 06.
  assert.equal(hex(namedBits([5, 6])), '03020106')
  // decipherOnly (8) spills into a second octet with 7 unused bits.
  assert.equal(hex(namedBits([0, 8])), '0303078080')
  assert.equal(hex(namedBits([])), '030100')
  assert.throws(() => namedBits([-1]), /not a bit number/)
})
