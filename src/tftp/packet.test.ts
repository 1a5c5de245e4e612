import { test } from 'node:test'
import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import { MalformedPacketError } from '../lib/errors.ts'
import { decodePacket, encodeError, encodePacket, ErrorCode, Opcode, writeDataHeader, type TftpPacket } from './packet.ts'
import { prng } from '../lib/prng.ts'

const fixture = (name: string): Buffer => readFileSync(new URL(`../../test/fixtures/tftp/${name}`, import.meta.url))

const FIXTURES = [
  'rrq-curl-blksize1468.bin', 'rrq-curl-default.bin', 'rrq-atftp-windowsize16.bin', 'rrq-tftp-hpa.bin',
  'oack-tftpd-hpa.bin', 'oack-tftpd-hpa-no-windowsize.bin', 'ack-curl-block0.bin', 'ack-curl-block3.bin',
  'data-tftpd-hpa-blksize1468.bin', 'data-tftpd-hpa-final-short.bin', 'data-tftpd-hpa-final-empty.bin',
  'error-tftpd-hpa-not-found.bin'
]

test('curl RRQ with blksize 1468: filename, mode and options in order', () => {
  const p = decodePacket(fixture('rrq-curl-blksize1468.bin'))
  assert.deepEqual(p, {
    op: Opcode.RRQ,
    filename: 'small.bin',
    mode: 'octet',
    options: [{ name: 'tsize', value: '0' }, { name: 'blksize', value: '1468' }, { name: 'timeout', value: '6' }]
  })
})

test('atftp RRQ asks for windowsize 16', () => {
  const p = decodePacket(fixture('rrq-atftp-windowsize16.bin'))
  assert.equal(p.op, Opcode.RRQ)
  assert.deepEqual(p.op === Opcode.RRQ && p.options, [
    { name: 'tsize', value: '0' }, { name: 'blksize', value: '1468' }, { name: 'windowsize', value: '16' }
  ])
})

test('tftp-hpa RRQ carries no options', () => {
  assert.deepEqual(decodePacket(fixture('rrq-tftp-hpa.bin')), { op: Opcode.RRQ, filename: 'small.bin', mode: 'octet', options: [] })
})

test('tftpd-hpa OACK, DATA, ERROR and curl ACKs decode to what was on the wire', () => {
  assert.deepEqual(decodePacket(fixture('oack-tftpd-hpa.bin')), {
    op: Opcode.OACK,
    options: [{ name: 'tsize', value: '3000' }, { name: 'blksize', value: '1468' }, { name: 'timeout', value: '6' }]
  })
  assert.deepEqual(decodePacket(fixture('ack-curl-block0.bin')), { op: Opcode.ACK, block: 0 })
  assert.deepEqual(decodePacket(fixture('ack-curl-block3.bin')), { op: Opcode.ACK, block: 3 })
  const data = decodePacket(fixture('data-tftpd-hpa-blksize1468.bin'))
  assert.ok(data.op === Opcode.DATA && data.block === 1 && data.data.length === 1468)
  const tail = decodePacket(fixture('data-tftpd-hpa-final-short.bin'))
  assert.ok(tail.op === Opcode.DATA && tail.block === 3 && tail.data.length === 3000 - 2 * 1468)
  const empty = decodePacket(fixture('data-tftpd-hpa-final-empty.bin'))
  assert.ok(empty.op === Opcode.DATA && empty.block === 3 && empty.data.length === 0)
  assert.deepEqual(decodePacket(fixture('error-tftpd-hpa-not-found.bin')), { op: Opcode.ERROR, code: 1, message: 'File not found' })
})

test('every fixture re-encodes byte for byte', () => {
  for (const name of FIXTURES) {
    const bytes = fixture(name)
    assert.deepEqual(encodePacket(decodePacket(bytes)), bytes, name)
  }
})

test('our own encodings round-trip, including the in-place DATA header', () => {
  const packets: TftpPacket[] = [
    { op: Opcode.WRQ, filename: 'a/b c.efi', mode: 'netascii', options: [] },
    { op: Opcode.ACK, block: 65535 },
    { op: Opcode.OACK, options: [{ name: 'windowsize', value: '16' }] },
    { op: Opcode.DATA, block: 0, data: Buffer.from('after rollover') }
  ]
  for (const p of packets) assert.deepEqual(decodePacket(encodePacket(p)), p)
  assert.deepEqual(decodePacket(encodeError(ErrorCode.ACCESS_VIOLATION, 'Access violation')), { op: Opcode.ERROR, code: 2, message: 'Access violation' })
  const buf = Buffer.alloc(6, 0xaa)
  writeDataHeader(buf, 0, 65536 + 258) // the wire carries the block number mod 2^16
  assert.deepEqual(decodePacket(buf), { op: Opcode.DATA, block: 258, data: Buffer.from([0xaa, 0xaa]) })
})

// A prefix may only decode when the protocol itself frames by datagram length: a DATA of any length
// ≥ 4, or a request/OACK cut exactly after a complete option pair. Then it must be that shorter message.
function isAllowedPrefix (full: TftpPacket, prefix: Buffer, decoded: TftpPacket): boolean {
  if (decoded.op !== full.op) return false
  if (!encodePacket(decoded).equals(prefix)) return false
  switch (decoded.op) {
    case Opcode.DATA: return full.op === Opcode.DATA && full.data.subarray(0, decoded.data.length).equals(decoded.data)
    case Opcode.RRQ:
    case Opcode.WRQ: return (full.op === Opcode.RRQ || full.op === Opcode.WRQ) && decoded.filename === full.filename &&
      decoded.mode === full.mode && decoded.options.every((o, i) => full.options[i]?.name === o.name && full.options[i]?.value === o.value)
    case Opcode.OACK: return full.op === Opcode.OACK && decoded.options.length < full.options.length
    case Opcode.ACK:
    case Opcode.ERROR: return false
  }
}

test('every truncated prefix of every fixture is rejected with MalformedPacketError, or is the shorter message it frames', () => {
  for (const name of FIXTURES) {
    const bytes = fixture(name)
    const full = decodePacket(bytes)
    let accepted = 0
    for (let n = 0; n < bytes.length; n++) {
      const prefix = bytes.subarray(0, n)
      let decoded: TftpPacket
      try {
        decoded = decodePacket(prefix)
      } catch (err) {
        assert.ok(err instanceof MalformedPacketError, `${name}[0..${n}) threw ${String(err)}`)
        assert.ok(err.offset >= 0 && err.offset <= n, `${name}[0..${n}) offset ${err.offset}`)
        continue
      }
      assert.ok(isAllowedPrefix(full, prefix, decoded), `${name}[0..${n}) decoded to ${JSON.stringify(decoded)}`)
      accepted++
    }
    // Exactly the framings the protocol allows: DATA cut anywhere after its header, a request after
    // each complete option pair (including none), an OACK after each pair but the last.
    const expected = full.op === Opcode.DATA
      ? bytes.length - 4
      : full.op === Opcode.RRQ || full.op === Opcode.WRQ ? full.options.length : full.op === Opcode.OACK ? full.options.length - 1 : 0
    assert.equal(accepted, expected, `${name}: prefixes that decoded`)
  }
})

test('malformed datagrams name what is wrong', () => {
  const cases: Array<[string, RegExp]> = [
    ['0001', /unterminated filename/],
    ['000100', /empty filename/],
    ['0001610000', /empty mode/],
    ['000161006f6374657400626c6b73697a6500', /unterminated value of option blksize/],
    ['00016100000000', /empty mode/],
    ['000161006f637465740000', /empty option name/],
    ['0001ff006f6374657400', /filename is not valid text/],
    ['000400010000', /trailing bytes after ACK/],
    ['0006', /OACK without options/],
    ['0007', /unknown opcode 7/],
    ['0000', /unknown opcode 0/],
    ['00050001', /unterminated error message/],
    ['0005000161006200', /trailing bytes after ERROR/]
  ]
  for (const [hex, re] of cases) {
    assert.throws(() => decodePacket(Buffer.from(hex, 'hex')), (err: unknown) => err instanceof MalformedPacketError && re.test(err.message), hex)
  }
})

function decodesOrMalformed (buf: Buffer, label: string): void {
  try {
    const p = decodePacket(buf)
    // Whatever decodes must encode back to the same bytes: no silent normalisation.
    assert.ok(encodePacket(p).equals(buf), `${label}: ${buf.toString('hex')} did not round-trip`)
  } catch (err) {
    if (!(err instanceof MalformedPacketError)) assert.fail(`${label}: ${buf.toString('hex')} threw ${String(err)}`)
  }
}

test('random datagrams never throw anything but MalformedPacketError', () => {
  const rand = prng(0x7f7f)
  const alphabet = [0, 0, 0, 0x61, 0x62, 0x30, 0x31, 0xff, 0xc3, 0xa9]
  for (let i = 0; i < 20_000; i++) {
    const len = Math.floor(rand() * 40)
    const buf = Buffer.alloc(len)
    for (let j = 0; j < len; j++) buf[j] = j < 2 || rand() < 0.3 ? Math.floor(rand() * 256) : alphabet[Math.floor(rand() * alphabet.length)]!
    if (len >= 2 && rand() < 0.8) buf[0] = 0
    if (len >= 2 && rand() < 0.8) buf[1] = 1 + Math.floor(rand() * 6)
    decodesOrMalformed(buf, `random #${i}`)
  }
})

test('mutated fixtures never throw anything but MalformedPacketError', () => {
  const rand = prng(0x1350)
  for (const name of FIXTURES) {
    const base = fixture(name).subarray(0, 96)
    for (let i = 0; i < 1000; i++) {
      const buf = Buffer.from(base)
      const edits = 1 + Math.floor(rand() * 3)
      for (let e = 0; e < edits && buf.length > 0; e++) {
        const at = Math.floor(rand() * buf.length)
        buf[at] = rand() < 0.4 ? 0 : Math.floor(rand() * 256)
      }
      decodesOrMalformed(buf.subarray(0, rand() < 0.3 ? Math.floor(rand() * buf.length) : buf.length), `${name} mutation #${i}`)
    }
  }
})
