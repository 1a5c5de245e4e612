// Interop with Debian's minisign (an independent implementation of the formats), both ways.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { decodePublicKey, decodeSecretKey, encodePublicKey, encodeSecretKey, generateSecretKey, sign, verify, type PublicKey, type SecretKey } from './minisign.ts'
import { minisign, minisignKeyPair, minisignSkip, tempDir } from './testing.ts'

const skip = minisignSkip ?? false
let dir = ''
let remove = (): void => {}
let theirs: { secretKey: SecretKey, publicKey: PublicKey, publicKeyFile: string, secretKeyFile: string }

const files: Record<string, Buffer> = {
  'empty.bin': Buffer.alloc(0),
  'manifest.json': Buffer.from('{"name":"anvil-node","version":"1.3.0"}\n'),
  'large.bin': randomBytes(2 * 1024 * 1024 + 3)
}

before(() => {
  if (minisignSkip !== undefined) return
  ;({ dir, remove } = tempDir())
  for (const [name, bytes] of Object.entries(files)) writeFileSync(join(dir, name), bytes)
  const pair = minisignKeyPair(dir)
  theirs = { ...pair, secretKey: decodeSecretKey(readFileSync(pair.secretKeyFile)), publicKey: decodePublicKey(readFileSync(pair.publicKeyFile)) }
})
after(() => { remove() })

/** Replaces the trusted comment line of a signature file (the global signature left as it was). */
const editComment = (sig: string, comment: string): string => sig.split('\n').map((l, i) => i === 2 ? `trusted comment: ${comment}` : l).join('\n')

test('keys made by minisign -G -W decode, with the key id minisign prints', { skip }, () => {
  const comment = readFileSync(theirs.publicKeyFile, 'utf8').split('\n')[0] ?? ''
  // minisign prints the id with printf's %lX, without the leading zeros our 16 digits keep.
  const printed = /^untrusted comment: minisign public key ([0-9A-F]{1,16})$/.exec(comment)?.[1]
  assert.ok(printed !== undefined, comment)
  assert.equal(BigInt(`0x${printed}`), BigInt(`0x${theirs.publicKey.keyId}`))
  assert.equal(theirs.secretKey.keyId, theirs.publicKey.keyId)
  assert.ok(theirs.secretKey.publicKey.raw.equals(theirs.publicKey.raw))
})

test('minisign signs (prehashed, and legacy -l); we verify, the trusted comment included', { skip }, () => {
  for (const name of Object.keys(files)) {
    for (const legacy of [false, true]) {
      const sigFile = `${name}.${legacy ? 'legacy' : 'hashed'}.minisig`
      const r = minisign(['-S', ...(legacy ? ['-l'] : []), '-s', 'minisign.key', '-m', name, '-x', sigFile, '-t', `anvil image ${name} 1.0`], dir)
      assert.equal(r.status, 0, r.stderr)
      const sig = readFileSync(join(dir, sigFile), 'utf8')
      const v = verify(files[name] as Buffer, sig, theirs.publicKey)
      assert.deepEqual(v, { trustedComment: `anvil image ${name} 1.0`, keyId: theirs.publicKey.keyId, algorithm: legacy ? 'legacy' : 'prehashed' })
      assert.throws(() => verify(files[name] as Buffer, editComment(sig, `anvil image ${name} 9.9`), theirs.publicKey), { code: 'ERR_SIGNATURE_COMMENT_INVALID' })
      assert.throws(() => verify(Buffer.concat([files[name] as Buffer, Buffer.from('x')]), sig, theirs.publicKey), { code: 'ERR_SIGNATURE_INVALID' })
    }
  }
})

test('we sign with minisign\'s key; minisign -V accepts, and refuses an edited trusted comment or file', { skip }, () => {
  for (const name of Object.keys(files)) {
    for (const legacy of [false, true]) {
      const sig = sign(files[name] as Buffer, theirs.secretKey, `ours ${name}\twith a tab`, { legacy })
      writeFileSync(join(dir, 'ours.minisig'), sig)
      const ok = minisign(['-V', '-p', 'minisign.pub', '-m', name, '-x', 'ours.minisig'], dir)
      assert.equal(ok.status, 0, ok.stderr)
      assert.match(ok.stdout, new RegExp(`Trusted comment: ours ${name}\twith a tab`))
      if (!legacy) assert.equal(minisign(['-V', '-H', '-p', 'minisign.pub', '-m', name, '-x', 'ours.minisig'], dir).status, 0, '-H: prehashed required')

      writeFileSync(join(dir, 'edited.minisig'), editComment(sig, `ours ${name} edited`))
      const edited = minisign(['-V', '-p', 'minisign.pub', '-m', name, '-x', 'edited.minisig'], dir)
      assert.equal(edited.status, 1)
      assert.match(edited.stderr, /Comment signature verification failed/)
      assert.throws(() => verify(files[name] as Buffer, editComment(sig, `ours ${name} edited`), theirs.publicKey), { code: 'ERR_SIGNATURE_COMMENT_INVALID' })

      writeFileSync(join(dir, 'tampered.bin'), Buffer.concat([files[name] as Buffer, Buffer.from([0])]))
      const tampered = minisign(['-V', '-p', 'minisign.pub', '-m', 'tampered.bin', '-x', 'ours.minisig'], dir)
      assert.equal(tampered.status, 1)
      assert.match(tampered.stderr, /Signature verification failed/)
    }
  }
})

test('minisign uses Anvil\'s key files: it signs with our secret key file and verifies with our public key file', { skip }, () => {
  const ours = generateSecretKey()
  writeFileSync(join(dir, 'anvil.key'), encodeSecretKey(ours, 'anvil image secret key (unencrypted minisign format)'), { mode: 0o600 })
  writeFileSync(join(dir, 'anvil.pub'), encodePublicKey(ours.publicKey, `anvil image public key ${ours.keyId}`))
  const r = minisign(['-S', '-s', 'anvil.key', '-m', 'manifest.json', '-x', 'by-minisign.minisig', '-t', 'made by minisign'], dir)
  assert.equal(r.status, 0, r.stderr)
  assert.equal(verify(files['manifest.json'] as Buffer, readFileSync(join(dir, 'by-minisign.minisig')), ours.publicKey).trustedComment, 'made by minisign')
  writeFileSync(join(dir, 'by-anvil.minisig'), sign(files['manifest.json'] as Buffer, ours, 'made by anvil'))
  const v = minisign(['-V', '-p', 'anvil.pub', '-m', 'manifest.json', '-x', 'by-anvil.minisig'], dir)
  assert.equal(v.status, 0, v.stderr)
  // minisign -R derives the same public key file content from our secret key.
  const re = minisign(['-R', '-f', '-s', 'anvil.key', '-p', 'derived.pub'], dir)
  assert.equal(re.status, 0, re.stderr)
  assert.ok(decodePublicKey(readFileSync(join(dir, 'derived.pub'))).raw.equals(ours.publicKey.raw))
})

test('a signature by another key: minisign says so, and so do we', { skip }, () => {
  const other = generateSecretKey()
  writeFileSync(join(dir, 'other.minisig'), sign(files['manifest.json'] as Buffer, other, 'x'))
  const r = minisign(['-V', '-p', 'minisign.pub', '-m', 'manifest.json', '-x', 'other.minisig'], dir)
  assert.equal(r.status, 1)
  // minisign prints the id with printf's %lX: without the leading zeros our 16 digits keep.
  assert.match(r.stderr, new RegExp(`key id in other.minisig is 0*${other.keyId.replace(/^0+/, '')}\\b`))
  assert.throws(() => verify(files['manifest.json'] as Buffer, readFileSync(join(dir, 'other.minisig')), theirs.publicKey), { code: 'ERR_SIGNATURE_KEY_MISMATCH' })
})
