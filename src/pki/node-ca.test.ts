import assert from 'node:assert/strict'
import { createHash, createPrivateKey, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { chmodSync, readFileSync, statSync, unlinkSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { after, describe, test } from 'node:test'
import { ensureNodeCa, type NodeCa } from './node-ca.ts'
import { openssl, opensslSkip, tempDir } from './testing.ts'

const tmp = tempDir('anvil-node-ca-')
after(tmp.remove)
let n = 0
const dataDir = (): string => join(tmp.dir, `d${n++}`)
const mode = (file: string): number => statSync(file).mode & 0o777

const T0 = new Date('2026-03-01T12:00:00Z')
const MIN = 60_000
const HOUR = 60 * MIN
const DAY = 24 * HOUR
const fixed = (d: Date) => () => d

const ed25519Pem = (): { publicPem: string, publicDer: Buffer, privatePem: string } => {
  const k = generateKeyPairSync('ed25519')
  return { publicPem: k.publicKey.export({ type: 'spki', format: 'pem' }).toString(), publicDer: k.publicKey.export({ type: 'spki', format: 'der' }), privatePem: k.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString() }
}

function verifiesWith (ca: NodeCa, certPem: string, purpose: string): void {
  const r = openssl(['verify', '-attime', String(T0.getTime() / 1000 + 60), '-purpose', purpose, '-CAfile', ca.certFile, tmp.file(`leaf-${n++}.pem`, certPem)])
  assert.equal(r.status, 0, r.stderr)
}

describe('the files', () => {
  test('first start: node-ca.key (Ed25519 PKCS#8, 0600) and node-ca.crt (10 years, back-dated 5 minutes); later starts reuse both', async () => {
    const dir = dataDir()
    const ca = await ensureNodeCa(dir, fixed(T0))
    assert.deepEqual([ca.origin, ca.tightened], ['created', false])
    assert.equal(ca.keyFile, join(dir, 'node-ca.key'))
    assert.equal(mode(ca.keyFile), 0o600)
    assert.equal(mode(ca.certFile), 0o644)
    assert.equal(mode(dir), 0o700)
    assert.equal(createPrivateKey(readFileSync(ca.keyFile, 'utf8')).asymmetricKeyType, 'ed25519')
    assert.equal(readFileSync(ca.certFile, 'utf8'), ca.certPem)
    const cert = new X509Certificate(ca.certPem)
    assert.equal(cert.subject, 'CN=Anvil node CA')
    assert.equal(cert.ca, true)
    assert.ok(cert.checkPrivateKey(createPrivateKey(readFileSync(ca.keyFile, 'utf8'))))
    assert.equal(Date.parse(cert.validFrom), T0.getTime() - 5 * MIN)
    assert.equal(new Date(cert.validTo).getUTCFullYear(), 2036)
    assert.equal(ca.fingerprint, createHash('sha256').update(cert.raw).digest('hex'))
    assert.ok(!Object.values(ca).some((v) => typeof v === 'string' && v.includes('PRIVATE KEY')), 'the private key is not handed out')

    const again = await ensureNodeCa(dir, fixed(new Date(T0.getTime() + 400 * DAY)))
    assert.deepEqual([again.origin, again.fingerprint, again.certPem], ['reused', ca.fingerprint, ca.certPem])
  })

  test('a missing, corrupt or expiring CA certificate is reissued with the same key: what it signed before still verifies', { skip: opensslSkip }, async () => {
    const dir = dataDir()
    const ca = await ensureNodeCa(dir, fixed(T0))
    const key = readFileSync(ca.keyFile, 'utf8')
    const issued = ca.issueClient({ publicKey: ed25519Pem().publicPem, role: 'admin', name: 'alice' })
    unlinkSync(ca.certFile)
    const reissued = await ensureNodeCa(dir, fixed(T0))
    assert.equal(reissued.origin, 'reissued')
    assert.notEqual(reissued.fingerprint, ca.fingerprint)
    assert.equal(readFileSync(ca.keyFile, 'utf8'), key)
    verifiesWith(reissued, issued.certPem, 'sslclient')
    writeFileSync(ca.certFile, 'not a certificate')
    assert.equal((await ensureNodeCa(dir, fixed(T0))).origin, 'reissued')
    const late = await ensureNodeCa(dir, fixed(new Date(T0.getTime() + 3640 * DAY)))
    assert.equal(late.origin, 'reissued', 'within 30 days of its end')
    assert.equal(new Date(new X509Certificate(late.certPem).validTo).getUTCFullYear(), 2046)
  })

  test('a key readable by others is set to 0600 and reported; an unreadable or non-Ed25519 key is an error, never replaced', async () => {
    const dir = dataDir()
    const ca = await ensureNodeCa(dir, fixed(T0))
    chmodSync(ca.keyFile, 0o644)
    const loose = await ensureNodeCa(dir, fixed(T0))
    assert.deepEqual([loose.tightened, loose.origin, mode(ca.keyFile)], [true, 'reused', 0o600])
    writeFileSync(ca.keyFile, 'garbage')
    await assert.rejects(ensureNodeCa(dir, fixed(T0)), /node-ca\.key is not a readable PEM private key/)
    assert.equal(readFileSync(ca.keyFile, 'utf8'), 'garbage')
    writeFileSync(ca.keyFile, generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey.export({ type: 'pkcs8', format: 'pem' }))
    await assert.rejects(ensureNodeCa(dir, fixed(T0)), /not an Ed25519 key/)
  })

  test('two servers starting at once on one data dir end up with one CA key', async () => {
    const dir = dataDir()
    const [a, b] = await Promise.all([ensureNodeCa(dir, fixed(T0)), ensureNodeCa(dir, fixed(T0))])
    const key = createPrivateKey(readFileSync(join(dir, 'node-ca.key'), 'utf8'))
    for (const ca of [a, b]) assert.ok(new X509Certificate(ca.certPem).checkPrivateKey(key))
  })
})

describe('issuing', async () => {
  let now = T0
  const ca = await ensureNodeCa(dataDir(), () => now)

  test('a client certificate: O=role, CN=name, clientAuth, 8 h by default, from 5 minutes ago, on the clock at issue time', { skip: opensslSkip }, () => {
    now = new Date(T0.getTime() + 1234)
    const key = ed25519Pem()
    const issued = ca.issueClient({ publicKey: key.publicPem, role: 'operator', name: 'bob@laptop' })
    const cert = new X509Certificate(issued.certPem)
    assert.equal(cert.subject, 'O=operator\nCN=bob@laptop')
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'])
    assert.ok(cert.checkPrivateKey(createPrivateKey(key.privatePem)))
    assert.ok(cert.checkIssued(new X509Certificate(ca.certPem)))
    // Whole seconds, rounded down: 5 minutes before, less the 1.234 s past T0, floored.
    assert.equal(issued.notBefore.getTime(), T0.getTime() - 5 * MIN + 1000)
    assert.equal(issued.notAfter.getTime(), T0.getTime() + 8 * HOUR + 1000)
    assert.deepEqual([Date.parse(cert.validFrom), Date.parse(cert.validTo)], [issued.notBefore.getTime(), issued.notAfter.getTime()])
    assert.equal(issued.serialNumber, cert.serialNumber)
    assert.ok(issued.der.equals(cert.raw))
    verifiesWith(ca, issued.certPem, 'sslclient')
    now = T0
  })

  test('every role; the key as PEM, DER or KeyObject', () => {
    const key = ed25519Pem()
    for (const [role, publicKey] of [['admin', key.publicPem], ['operator', key.publicDer], ['reader', generateKeyPairSync('ed25519').publicKey]] as const) {
      assert.equal(new X509Certificate(ca.issueClient({ publicKey, role, name: 'n' }).certPem).subject, `O=${role}\nCN=n`)
    }
  })

  test('lifetimes: 5 minutes to 7 days, else ERR_CERT_TTL_INVALID', () => {
    const publicKey = ed25519Pem().publicPem
    for (const ttlMs of [5 * MIN, 7 * DAY, 30 * MIN]) {
      const issued = ca.issueClient({ publicKey, role: 'reader', name: 'r', ttlMs })
      assert.equal(issued.notAfter.getTime(), T0.getTime() + ttlMs)
    }
    for (const ttlMs of [5 * MIN - 1, 7 * DAY + 1, 0, -HOUR, Number.NaN, Number.POSITIVE_INFINITY]) {
      assert.throws(() => ca.issueClient({ publicKey, role: 'reader', name: 'r', ttlMs }), { code: 'ERR_CERT_TTL_INVALID' }, String(ttlMs))
    }
  })

  test('a role other than admin, operator or reader is ERR_CERT_ROLE_INVALID', () => {
    const publicKey = ed25519Pem().publicPem
    for (const role of ['root', 'Admin', '', 'os:admin', 'admin ']) {
      assert.throws(() => ca.issueClient({ publicKey, role, name: 'x' }), { code: 'ERR_CERT_ROLE_INVALID' }, role)
    }
  })

  test('a key that is not an Ed25519 SPKI is ERR_CERT_KEY_INVALID; a private key is refused and never echoed', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 }).publicKey.export({ type: 'spki', format: 'pem' }).toString()
    const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'der' })
    const priv = ed25519Pem().privatePem
    for (const publicKey of [rsa, ec, 'garbage', '', Buffer.from('3000', 'hex'), `${ed25519Pem().publicPem}${ed25519Pem().publicPem}`, generateKeyPairSync('ed25519').privateKey]) {
      assert.throws(() => ca.issueClient({ publicKey, role: 'admin', name: 'x' }), { code: 'ERR_CERT_KEY_INVALID' })
    }
    assert.throws(() => ca.issueClient({ publicKey: priv, role: 'admin', name: 'x' }), (err: Error & { code?: string }) => {
      assert.equal(err.code, 'ERR_CERT_KEY_INVALID')
      assert.match(err.message, /private key: send only the public key/)
      assert.ok(!err.message.includes(priv.split('\n')[1] ?? '-'), 'the key is not in the message')
      return true
    })
  })

  test('names: 1 to 64 characters, no control characters (ERR_VALIDATION)', () => {
    const publicKey = ed25519Pem().publicPem
    assert.equal(new X509Certificate(ca.issueClient({ publicKey, role: 'admin', name: 'ü'.repeat(64) }).certPem).subject, `O=admin\nCN=${'ü'.repeat(64)}`)
    for (const name of ['', 'x'.repeat(65), 'a\nO=admin', 'bell\x07']) {
      assert.throws(() => ca.issueClient({ publicKey, role: 'reader', name }), { code: 'ERR_VALIDATION' }, JSON.stringify(name))
    }
  })

  test('a server certificate: CN=machineId, no O, serverAuth, its SANs, 24 h by default', { skip: opensslSkip }, () => {
    const issued = ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-0k3v9q2a', ips: ['10.77.0.21', 'fd00::21'], dnsNames: ['node1'] })
    const cert = new X509Certificate(issued.certPem)
    assert.equal(cert.subject, 'CN=m-0k3v9q2a')
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.1'])
    assert.equal(cert.subjectAltName, 'DNS:node1, IP Address:10.77.0.21, IP Address:FD00:0:0:0:0:0:0:21')
    assert.equal(issued.notAfter.getTime(), T0.getTime() + DAY)
    verifiesWith(ca, issued.certPem, 'sslserver')
    assert.throws(() => ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-1', ips: [], dnsNames: [] }), { code: 'ERR_VALIDATION' })
    assert.throws(() => ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-1', ips: ['10.77.0.300'], dnsNames: [] }), { code: 'ERR_VALIDATION', message: /10\.77\.0\.300/ })
    assert.throws(() => ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-1', ips: [], dnsNames: ['bad_name'] }), { code: 'ERR_VALIDATION', message: /bad_name/ })
    assert.throws(() => ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-1', ips: new Array<string>(33).fill('10.0.0.1'), dnsNames: [] }), { code: 'ERR_VALIDATION' })
    assert.throws(() => ca.issueServer({ publicKey: 'garbage', machineId: 'm-1', ips: ['10.77.0.2'], dnsNames: [] }), { code: 'ERR_CERT_KEY_INVALID' })
    assert.throws(() => ca.issueServer({ publicKey: ed25519Pem().publicPem, machineId: 'm-1', ips: ['10.77.0.2'], dnsNames: [], ttlMs: 8 * DAY }), { code: 'ERR_CERT_TTL_INVALID' })
  })
})
