import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BufferReader } from './buffer-reader.ts'
import { BufferWriter } from './buffer-writer.ts'
import { MalformedPacketError } from './errors.ts'

test('writer and reader agree on every field width', () => {
  const b = new BufferWriter(2).u8(0xab).u16(0x1234).u32(0xdeadbeef).u16le(0x5678).u32le(0x01020304).bytes(Buffer.from('hi')).zeros(2).toBuffer()
  const r = new BufferReader(b)
  assert.equal(r.u8(), 0xab)
  assert.equal(r.u16(), 0x1234)
  assert.equal(r.u32(), 0xdeadbeef)
  assert.equal(r.u16le(), 0x5678)
  assert.equal(r.u32le(), 0x01020304)
  assert.equal(r.bytes(2).toString(), 'hi')
  assert.deepEqual([...r.rest()], [0, 0])
  assert.equal(r.remaining, 0)
})

test('reading past the end throws MalformedPacketError with the offset, never RangeError', () => {
  const r = new BufferReader(Buffer.from([1, 2, 3]))
  r.u16()
  assert.throws(() => r.u16('length'), (err: unknown) => err instanceof MalformedPacketError && err.offset === 2 && /length/.test(err.message))
  assert.throws(() => r.bytes(5), MalformedPacketError)
  assert.throws(() => r.bytes(-1), MalformedPacketError)
})
