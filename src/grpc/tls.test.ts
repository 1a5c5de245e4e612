import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { createHash, createPrivateKey, X509Certificate } from 'node:crypto'
import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, test } from 'node:test'
import { ensureServerCertificate } from './tls.ts'

const dirs: string[] = []
const dataDir = (): string => {
  const d = mkdtempSync(join(tmpdir(), 'anvil-grpc-tls-'))
  dirs.push(d)
  return d
}
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

const hasOpenssl = spawnSync('openssl', ['version']).status === 0
const mode = (file: string): number => statSync(file).mode & 0o777

test('first start creates grpc.key (0600) and grpc.crt; later starts reuse both unchanged', async () => {
  const dir = dataDir()
  const first = await ensureServerCertificate(dir, { ip: '10.77.0.1' })
  assert.equal(first.origin, 'created')
  assert.equal(first.keyFile, join(dir, 'grpc.key'))
  assert.equal(mode(first.keyFile), 0o600)
  assert.equal(readFileSync(first.certFile, 'utf8'), first.certPem)
  assert.match(first.fingerprint, /^[0-9a-f]{64}$/)

  const again = await ensureServerCertificate(dir, { ip: '10.77.0.1' })
  assert.equal(again.origin, 'reused')
  assert.equal(again.fingerprint, first.fingerprint)
  assert.equal(again.keyPem, first.keyPem)
  assert.equal(again.certPem, first.certPem)
})

test('the fingerprint is the SHA-256 of the certificate DER (as openssl computes it)', async (t) => {
  const cert = await ensureServerCertificate(dataDir(), { ip: '127.0.0.1' })
  const x509 = new X509Certificate(cert.certPem)
  assert.equal(cert.fingerprint, createHash('sha256').update(x509.raw).digest('hex'))
  if (!hasOpenssl) { t.skip('openssl not installed: cross-check with openssl skipped'); return }
  const out = execFileSync('openssl', ['x509', '-noout', '-fingerprint', '-sha256', '-in', cert.certFile], { encoding: 'utf8' })
  assert.equal(out.trim().split('=')[1]?.replaceAll(':', '').toLowerCase(), cert.fingerprint)
})

test('the certificate: self-signed P-256, 10 years, SAN with the server address and the SNI name', async (t) => {
  const now = new Date('2026-03-01T12:00:00Z')
  const cert = await ensureServerCertificate(dataDir(), { ip: '10.77.0.1', dns: ['anvil.example'] }, now)
  const x509 = new X509Certificate(cert.certPem)
  assert.ok(x509.verify(x509.publicKey), 'signed by its own key')
  assert.ok(x509.checkPrivateKey(createPrivateKey(cert.keyPem)))
  assert.equal(x509.publicKey.asymmetricKeyDetails?.namedCurve, 'prime256v1')
  assert.equal(x509.subjectAltName, 'DNS:anvil-provisioning, DNS:anvil.example, IP Address:10.77.0.1')
  assert.equal(x509.ca, false)
  assert.equal(new Date(x509.validTo).getUTCFullYear(), 2036)
  assert.equal(Date.parse(x509.validFrom), 0, 'valid from the epoch: reset RTCs must not fail the handshake')
  if (!hasOpenssl) { t.skip('openssl not installed: openssl verify skipped'); return }
  // OpenSSL accepts it as its own trust anchor, which is how the agent's channel trusts it.
  const verify = spawnSync('openssl', ['verify', '-purpose', 'sslserver', '-CAfile', cert.certFile, cert.certFile], { encoding: 'utf8' })
  assert.equal(verify.status, 0, verify.stderr)
  const text = execFileSync('openssl', ['x509', '-noout', '-text', '-in', cert.certFile], { encoding: 'utf8' })
  assert.match(text, /Signature Algorithm: ecdsa-with-SHA256/)
  assert.match(text, /Key Usage: critical\s+Digital Signature/)
  assert.match(text, /TLS Web Server Authentication/)
})

test('a changed server address reissues the certificate with the same key', async () => {
  const dir = dataDir()
  const first = await ensureServerCertificate(dir, { ip: '10.77.0.1' })
  const moved = await ensureServerCertificate(dir, { ip: '10.77.0.2' })
  assert.equal(moved.origin, 'reissued')
  assert.equal(moved.keyPem, first.keyPem)
  assert.notEqual(moved.fingerprint, first.fingerprint)
  const x509 = new X509Certificate(moved.certPem)
  assert.equal(x509.checkIP('10.77.0.2'), '10.77.0.2')
  assert.equal(x509.checkIP('10.77.0.1'), undefined)
  assert.equal((await ensureServerCertificate(dir, { ip: '10.77.0.2' })).origin, 'reused')
})

test('a certificate near its expiry, missing or corrupt is reissued; the key stays', async () => {
  const dir = dataDir()
  const first = await ensureServerCertificate(dir, {}, new Date('2026-01-01T00:00:00Z'))
  const late = await ensureServerCertificate(dir, {}, new Date('2035-12-15T00:00:00Z'))
  assert.equal(late.origin, 'reissued')
  assert.equal(late.keyPem, first.keyPem)
  unlinkSync(late.certFile)
  assert.equal((await ensureServerCertificate(dir)).origin, 'reissued')
  writeFileSync(late.certFile, 'not a certificate')
  const fixed = await ensureServerCertificate(dir)
  assert.equal(fixed.origin, 'reissued')
  assert.equal(fixed.keyPem, first.keyPem)
})

test('the unspecified address is not put in the SAN', async () => {
  const cert = await ensureServerCertificate(dataDir(), { ip: '0.0.0.0' })
  assert.equal(new X509Certificate(cert.certPem).subjectAltName, 'DNS:anvil-provisioning')
})

test('a key readable by others is tightened to 0600; an unreadable key is an error, never replaced', async () => {
  const dir = dataDir()
  const first = await ensureServerCertificate(dir)
  chmodSync(first.keyFile, 0o644)
  await ensureServerCertificate(dir)
  assert.equal(mode(first.keyFile), 0o600)
  writeFileSync(first.keyFile, 'garbage')
  await assert.rejects(ensureServerCertificate(dir), /grpc\.key is not a readable PEM private key/)
  assert.equal(readFileSync(first.keyFile, 'utf8'), 'garbage')
})
