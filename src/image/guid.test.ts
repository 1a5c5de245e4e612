import { test } from 'node:test'
import assert from 'node:assert/strict'
import { guidFromBytes, guidToBytes, isGuid, uuidV5 } from './guid.ts'

test('GPT stores the first three GUID fields little-endian (UEFI 2.10 Appendix A)', () => {
  // The EFI System Partition type as it appears on disk (e.g. `xxd` of any ESP entry).
  const bytes = Buffer.from('28732ac11ff8d211ba4b00a0c93ec93b', 'hex')
  assert.deepEqual(guidToBytes('C12A7328-F81F-11D2-BA4B-00A0C93EC93B'), bytes)
  assert.deepEqual(guidToBytes('c12a7328-f81f-11d2-ba4b-00a0c93ec93b'), bytes)
  assert.equal(guidFromBytes(Buffer.concat([Buffer.from([0xff]), bytes]), 1), 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B')
})

test('GUID text round-trips through the on-disk form', () => {
  for (const g of ['00000000-0000-0000-0000-000000000000', '00112233-4455-6677-8899-AABBCCDDEEFF', 'FFFFFFFF-FFFF-FFFF-FFFF-FFFFFFFFFFFF']) {
    assert.equal(guidFromBytes(guidToBytes(g)), g)
  }
  assert.equal(isGuid('00112233-4455-6677-8899-AABBCCDDEEF'), false)
  assert.throws(() => guidToBytes('not-a-guid'), /not a GUID/)
})

test('uuidV5 matches RFC 9562 Appendix A.4 (DNS namespace, www.example.com)', () => {
  assert.equal(uuidV5('6ba7b810-9dad-11d1-80b4-00c04fd430c8', 'www.example.com'), '2ED6657D-E927-568B-95E1-2665A8AEA6A2')
})
