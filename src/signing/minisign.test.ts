import { test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import { decodePublicKey, decodeSecretKey, decodeSignature, encodePublicKey, encodePublicKeyString, encodeSecretKey, encodeSignature, generateSecretKey, keyIdOf, MAX_SIGNATURE_FILE_BYTES, sign, verify, verifyWithAny, type Signature } from './minisign.ts'

const key = generateSecretKey()
const message = Buffer.from('{"schema":"anvil.dev/image/v1","name":"anvil-node","version":"1.3.0"}\n')
const signed = sign(message, key, 'anvil image anvil-node 1.3.0')

const CODES = new Set(['ERR_SIGNATURE_MALFORMED', 'ERR_SIGNATURE_INVALID', 'ERR_SIGNATURE_KEY_MISMATCH', 'ERR_SIGNATURE_COMMENT_INVALID'])

/** The code a verification ends with, or 'ok'; anything but a CodedError fails the test. */
function outcome (bytes: Uint8Array, sig: string | Uint8Array): string {
  try {
    verify(bytes, sig, key.publicKey)
    return 'ok'
  } catch (err) {
    assert.ok(err instanceof CodedError, `not a CodedError: ${String(err)}`)
    return err.code
  }
}

/** Re-encodes a decoded signature with one field changed (encodeSignature's comment checks skipped). */
function withField (sig: Signature, change: Partial<Signature>): string {
  const s = { ...sig, ...change }
  const alg = s.algorithm === 'prehashed' ? 'ED' : 'Ed'
  return [`untrusted comment: ${s.untrustedComment}`, Buffer.concat([Buffer.from(alg), s.keyNum, s.signature]).toString('base64'),
    `trusted comment: ${s.trustedComment}`, s.globalSignature.toString('base64')].join('\n') + '\n'
}

const flipBit = (b: Buffer, byte: number, bit: number): Buffer => {
  const c = Buffer.from(b)
  c[byte] = (c[byte] as number) ^ (1 << bit)
  return c
}

test('sign and verify round-trip, prehashed (default) and legacy', () => {
  for (const legacy of [false, true]) {
    const text = sign(message, key, 'a trusted\tcomment é', { legacy })
    const v = verify(message, text, key.publicKey)
    assert.deepEqual(v, { trustedComment: 'a trusted\tcomment é', keyId: key.keyId, algorithm: legacy ? 'legacy' : 'prehashed' })
    assert.equal(encodeSignature(decodeSignature(text)), text, 'decode then encode gives the same file')
    assert.deepEqual(verify(message, Buffer.from(text), key.publicKey), v, 'bytes as well as text')
  }
  assert.equal(Buffer.from(signed.split('\n')[1] ?? '', 'base64').subarray(0, 10).toString('latin1'), 'ED' + key.keyNum.toString('latin1'), 'prehashed: "ED" + key id')
  assert.equal(signed.split('\n').length, 5, 'four lines, each ending in LF')
})

test('the empty file and a large one sign and verify', () => {
  for (const bytes of [Buffer.alloc(0), randomBytes(3 * 1024 * 1024 + 7)]) {
    assert.equal(verify(bytes, sign(bytes, key, 'x'), key.publicKey).trustedComment, 'x')
  }
})

test('a file written with CR LF line ends verifies (minisign reads them too)', () => {
  assert.equal(outcome(message, signed.replaceAll('\n', '\r\n')), 'ok')
})

test('public keys: file and bare RW… string, key id as minisign prints it', () => {
  const text = encodePublicKey(key.publicKey)
  const bare = encodePublicKeyString(key.publicKey)
  assert.match(bare, /^RW[A-Za-z0-9+/]{54}$/)
  assert.equal(text, `untrusted comment: minisign public key ${key.keyId}\n${bare}\n`)
  for (const form of [text, bare, ` ${bare}\n`, Buffer.from(text), text.slice(0, -1)]) {
    const pk = decodePublicKey(form)
    assert.equal(pk.keyId, key.keyId)
    assert.ok(pk.raw.equals(key.publicKey.raw))
  }
  assert.equal(keyIdOf(Buffer.from('eac3fb3b6f48ae4b', 'hex')), '4BAE486F3BFBC3EA', 'little-endian u64, upper-case hex')
})

test('secret keys round-trip and sign the same (Ed25519 is deterministic)', () => {
  const text = encodeSecretKey(key)
  const back = decodeSecretKey(text)
  assert.equal(back.keyId, key.keyId)
  assert.equal(sign(message, back, 'c'), sign(message, key, 'c'))
  assert.match(text, /^untrusted comment: .*\nRWQAAEIy/, '"Ed", kdf 00 00, "B2"')
})

test('a secret key: checksum zero (minisign -W) or right; wrong checksum or halves refused', () => {
  const lines = encodeSecretKey(key).split('\n')
  const bytes = Buffer.from(lines[1] ?? '', 'base64')
  const rewrite = (b: Buffer): string => `${lines[0] ?? ''}\n${b.toString('base64')}\n`
  const zeroChk = Buffer.from(bytes)
  zeroChk.fill(0, 126)
  assert.equal(decodeSecretKey(rewrite(zeroChk)).keyId, key.keyId)
  assert.throws(() => decodeSecretKey(rewrite(flipBit(bytes, 130, 0))), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /checksum/ })
  const halves = Buffer.from(zeroChk)
  halves[100] = (halves[100] as number) ^ 1 // inside the public half of sk
  assert.throws(() => decodeSecretKey(rewrite(halves)), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /public half/ })
  assert.throws(() => decodeSecretKey(rewrite(flipBit(bytes, 5, 0))), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /checksum function/ })
  assert.throws(() => decodeSecretKey(rewrite(flipBit(bytes, 3, 0))), { code: 'ERR_SIGNING_KEY_MALFORMED', message: /key derivation/ })
})

// Made once with `printf 'pw\npw\n' | minisign -G -p enc.pub -s enc.key` (minisign 0.11): a
// throwaway password-protected key. scrypt at minisign's "sensitive" limits takes 6 s and 1 GiB,
// too heavy to make per test run.
const ENCRYPTED_KEY = 'untrusted comment: minisign encrypted secret key\n' +
  'RWRTY0IyXiluMCLM2RG3vgVY+XkuGJfQ1sSUTrODMC7KQBnxzIQAAAACAAAAAAAAAEAAAAAAZcutg8dUVzHoZ312/zzmAviu377iRPqtr7fRlBUaiXfZHRo0xUxYAwNJr5bVG+4COhM71HzLHxyvfoIAKNPCRvkwQyxyIJEAWo/AedtLUpYFO0tbV0CmPTG3yaoEkpeZ/+X3+J+Huw8=\n'

test('an encrypted minisign secret key is refused with what to do', () => {
  assert.throws(() => decodeSecretKey(ENCRYPTED_KEY), (err: CodedError) => {
    assert.equal(err.code, 'ERR_SIGNING_KEY_ENCRYPTED')
    assert.match(err.message, /minisign -C -W/)
    return true
  })
})

test('every truncated prefix of a signature file is ERR_SIGNATURE_MALFORMED, never a RangeError', () => {
  for (const file of [signed, signed.replaceAll('\n', '\r\n'), sign(message, key, 'é', { legacy: true })]) {
    const bytes = Buffer.from(file)
    for (let n = 0; n < bytes.length; n++) {
      assert.throws(() => decodeSignature(bytes.subarray(0, n)), { code: 'ERR_SIGNATURE_MALFORMED' }, `prefix of ${n} bytes`)
      assert.equal(outcome(message, bytes.subarray(0, n)), 'ERR_SIGNATURE_MALFORMED')
    }
  }
})

test('every truncated prefix of a key file is ERR_SIGNING_KEY_MALFORMED (the final LF is optional)', () => {
  for (const [file, decode] of [[encodePublicKey(key.publicKey), decodePublicKey], [encodeSecretKey(key), decodeSecretKey]] as const) {
    for (let n = 0; n < file.length - 1; n++) {
      assert.throws(() => decode(file.slice(0, n)), { code: 'ERR_SIGNING_KEY_MALFORMED' }, `prefix of ${n} characters`)
    }
  }
})

test('a flipped bit in each field gives that field\'s error', () => {
  const sig = decodeSignature(signed)
  // "ED" and "Ed" differ in one bit: that flip makes a legacy signature of a prehashed one.
  for (let bit = 0; bit < 16; bit++) {
    const alg = flipBit(Buffer.from('ED'), bit >> 3, bit & 7).toString('latin1')
    const text = signed.split('\n').map((l, i) => i === 1 ? Buffer.concat([Buffer.from(alg, 'latin1'), Buffer.from(l, 'base64').subarray(2)]).toString('base64') : l).join('\n')
    assert.equal(outcome(message, text), alg === 'Ed' ? 'ERR_SIGNATURE_INVALID' : 'ERR_SIGNATURE_MALFORMED', `algorithm ${JSON.stringify(alg)}`)
  }
  for (let bit = 0; bit < 64; bit++) assert.equal(outcome(message, withField(sig, { keyNum: flipBit(sig.keyNum, bit >> 3, bit & 7) })), 'ERR_SIGNATURE_KEY_MISMATCH')
  for (let bit = 0; bit < 512; bit += 7) assert.equal(outcome(message, withField(sig, { signature: flipBit(sig.signature, bit >> 3, bit & 7) })), 'ERR_SIGNATURE_INVALID')
  for (let bit = 0; bit < 512; bit += 7) assert.equal(outcome(message, withField(sig, { globalSignature: flipBit(sig.globalSignature, bit >> 3, bit & 7) })), 'ERR_SIGNATURE_COMMENT_INVALID')
  const comment = Buffer.from(sig.trustedComment)
  for (let byte = 0; byte < comment.length; byte++) {
    const edited = flipBit(comment, byte, 0).toString('latin1')
    assert.equal(outcome(message, withField(sig, { trustedComment: edited })), 'ERR_SIGNATURE_COMMENT_INVALID', `trusted comment ${JSON.stringify(edited)}`)
  }
  assert.equal(outcome(message, withField(sig, { untrustedComment: 'anything at all' })), 'ok', 'the untrusted comment is not signed')
  for (let bit = 0; bit < message.length * 8; bit += 5) assert.equal(outcome(flipBit(message, bit >> 3, bit & 7), signed), 'ERR_SIGNATURE_INVALID')
})

test('any bit flipped anywhere in the file: a signing error, or ok only in the untrusted comment\'s text', () => {
  const bytes = Buffer.from(signed)
  const freeText = { from: 'untrusted comment: '.length, to: signed.indexOf('\n') }
  for (let bit = 0; bit < bytes.length * 8; bit++) {
    const byte = bit >> 3
    const result = outcome(message, flipBit(bytes, byte, bit & 7))
    if (result === 'ok') assert.ok(byte >= freeText.from && byte < freeText.to, `a flip at byte ${byte} verified`)
    else assert.ok(CODES.has(result), result)
  }
})

test('garbage, non-canonical base64, control characters and oversized files are malformed', () => {
  const lines = signed.split('\n')
  const cases: Array<string | Uint8Array> = [
    '', '\n', 'x', randomBytes(300), Buffer.from([0xff, 0xfe, 0x00]), '\ufeff' + signed, 'untrusted comment: \ud800\n' + lines.slice(1).join('\n'),
    signed + 'extra\n', signed + '\n', signed.slice(0, -1) + '\r',
    lines.map((l, i) => i === 2 ? 'trusted comment: bell\x07' : l).join('\n'),
    lines.map((l, i) => i === 2 ? 'trusted comment: a\rb' : l).join('\n'),
    lines.map((l, i) => i === 2 ? 'Trusted comment: x' : l).join('\n'),
    lines.map((l, i) => i === 0 ? 'comment: x' : l).join('\n'),
    lines.map((l, i) => i === 1 ? l.slice(0, -2) + 'x=' : l).join('\n'), // pad bits set
    lines.map((l, i) => i === 1 ? Buffer.concat([Buffer.from('EE'), Buffer.from(l, 'base64').subarray(2)]).toString('base64') : l).join('\n'),
    lines.map((l, i) => i === 3 ? l + 'AAAA' : l).join('\n')
  ]
  for (const c of cases) assert.equal(outcome(message, c), 'ERR_SIGNATURE_MALFORMED', JSON.stringify(typeof c === 'string' ? c.slice(0, 40) : 'bytes'))
  const pad = (n: number): string => lines.map((l, i) => i === 0 ? `untrusted comment: ${'x'.repeat(n)}` : l).join('\n')
  const fits = pad(MAX_SIGNATURE_FILE_BYTES - Buffer.byteLength(pad(0)))
  assert.equal(Buffer.byteLength(fits), MAX_SIGNATURE_FILE_BYTES)
  assert.equal(outcome(message, fits), 'ok', 'exactly at the limit')
  assert.equal(outcome(message, fits.replace('x', 'xx')), 'ERR_SIGNATURE_MALFORMED', 'one byte over')
})

test('comments that cannot be written are refused when signing', () => {
  for (const bad of ['two\nlines', 'cr\r', 'esc\x1b[2J', 'x'.repeat(1025)]) {
    assert.throws(() => sign(message, key, bad), { code: 'ERR_INVALID_ARG_VALUE' })
  }
  assert.throws(() => sign(message, key, 'ok', { untrustedComment: 'a\nb' }), { code: 'ERR_INVALID_ARG_VALUE' })
})

test('verify names both key ids on a mismatch; verifyWithAny picks the signing key among the trusted', () => {
  const other = generateSecretKey()
  assert.throws(() => verify(message, signed, other.publicKey), (err: CodedError) => {
    assert.equal(err.code, 'ERR_SIGNATURE_KEY_MISMATCH')
    assert.deepEqual(err.details, { signatureKeyId: key.keyId, keyId: other.keyId })
    return true
  })
  const v = verifyWithAny(message, signed, [other.publicKey, key.publicKey])
  assert.equal(v.publicKey, key.publicKey)
  assert.throws(() => verifyWithAny(message, signed, [other.publicKey]), { code: 'ERR_SIGNATURE_KEY_MISMATCH' })
  assert.throws(() => verifyWithAny(message, signed, []), { code: 'ERR_SIGNATURE_KEY_MISMATCH', message: /trusted: none/ })
  // Same key id, other key: the id is a label, the signature still decides.
  const impostor = { ...other.publicKey, keyNum: key.keyNum }
  assert.throws(() => verify(message, signed, impostor), { code: 'ERR_SIGNATURE_INVALID' })
})
