import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto'
import { after, describe, test } from 'node:test'
import { issueCertificate, selfSignedCa, type Issuer } from './certificate.ts'
import { mutualTls, openssl, opensslSkip, tempDir } from './testing.ts'

const tmp = tempDir('anvil-pki-cert-')
after(tmp.remove)

// Around the real time: openssl verify and the TLS handshake check validity against the clock.
const NOW = Math.floor(Date.now() / 1000) * 1000
const NOT_BEFORE = new Date(NOW - 5 * 60_000)
const NOT_AFTER = new Date(NOW + 8 * 3_600_000)
const CA_UNTIL = new Date(NOW + 3650 * 86_400_000)

function ed25519 (): { privateKey: KeyObject, publicKey: KeyObject } {
  return generateKeyPairSync('ed25519')
}

function makeCa (commonName: string): { issuer: Issuer, cert: X509Certificate, pem: string } {
  const keys = ed25519()
  const name = { commonName, organizations: [] }
  const cert = new X509Certificate(selfSignedCa({ name, ...keys, notBefore: NOT_BEFORE, notAfter: CA_UNTIL }))
  return { issuer: { name, ...keys }, cert, pem: cert.toString() }
}

const keyPem = (k: KeyObject): string => k.export({ type: 'pkcs8', format: 'pem' }).toString()

/** openssl x509 -text of a PEM, and the section of one extension (its header line to the next header). */
function opensslText (pem: string): string {
  const r = openssl(['x509', '-noout', '-text', '-in', tmp.file(`c-${Math.random().toString(16).slice(2)}.pem`, pem)])
  assert.equal(r.status, 0, r.stderr)
  return r.stdout
}
const section = (text: string, header: string): string => {
  const at = text.indexOf(header)
  assert.notEqual(at, -1, `no ${header} in\n${text}`)
  return text.slice(at + header.length).split(/\n\s+X509v3 |\n\s+Signature Algorithm/)[0] ?? ''
}
const hexId = (s: string): string => (/([0-9A-F]{2}(:[0-9A-F]{2}){19})/.exec(s)?.[1] ?? '')

function opensslVerify (caPem: string, certPem: string, purpose: string): { status: number | null, stderr: string, stdout: string } {
  return openssl(['verify', '-purpose', purpose, '-CAfile', tmp.file(`ca-${Math.random().toString(16).slice(2)}.pem`, caPem), tmp.file(`leaf-${Math.random().toString(16).slice(2)}.pem`, certPem)])
}

describe('the CA certificate', () => {
  const ca = makeCa('Anvil node CA')

  test('self-signed Ed25519, issuer = subject, dates as given, serial positive and random', () => {
    assert.equal(ca.cert.subject, 'CN=Anvil node CA')
    assert.equal(ca.cert.issuer, ca.cert.subject)
    assert.ok(ca.cert.verify(ca.issuer.publicKey), 'signed by its own key')
    assert.ok(ca.cert.checkIssued(ca.cert))
    assert.equal(ca.cert.ca, true)
    assert.equal(ca.cert.publicKey.asymmetricKeyType, 'ed25519')
    assert.equal(Date.parse(ca.cert.validFrom), NOT_BEFORE.getTime())
    assert.equal(Date.parse(ca.cert.validTo), CA_UNTIL.getTime())
    assert.match(ca.cert.serialNumber, /^[4-7][0-9A-F]{31}$/, '16 octets, top bit clear')
    assert.notEqual(makeCa('Anvil node CA').cert.serialNumber, ca.cert.serialNumber)
  })

  test('openssl reads it: Ed25519, CA:TRUE pathlen 0, keyCertSign and cRLSign, SKI = AKI', { skip: opensslSkip }, () => {
    const text = opensslText(ca.pem)
    assert.match(text, /Signature Algorithm: ED25519/)
    assert.match(text, /Public Key Algorithm: ED25519/)
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:TRUE, pathlen:0/)
    assert.match(text, /X509v3 Key Usage: critical\s+Certificate Sign, CRL Sign\n/)
    assert.doesNotMatch(text, /Extended Key Usage/)
    const ski = hexId(section(text, 'X509v3 Subject Key Identifier:'))
    assert.notEqual(ski, '')
    assert.equal(hexId(section(text, 'X509v3 Authority Key Identifier:')), ski)
    const verify = opensslVerify(ca.pem, ca.pem, 'any')
    assert.equal(verify.status, 0, verify.stderr)
  })
})

describe('client and server certificates', () => {
  const ca = makeCa('Anvil node CA')
  const other = makeCa('Anvil node CA') // same name, another key: must not pass for ours
  const alice = ed25519()
  const client = new X509Certificate(issueCertificate({
    issuer: ca.issuer,
    subjectPublicKey: alice.publicKey,
    subject: { commonName: 'alice', organizations: ['admin', 'reader'] },
    usage: 'client',
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER
  }))
  const node = ed25519()
  const server = new X509Certificate(issueCertificate({
    issuer: ca.issuer,
    subjectPublicKey: node.publicKey,
    subject: { commonName: 'm-0k3v9q2a', organizations: [] },
    usage: 'server',
    dnsNames: ['node1.rack.example'],
    ipAddresses: ['127.0.0.1', '10.77.0.21', '::1', '2001:db8::21', '::ffff:192.0.2.1'],
    notBefore: NOT_BEFORE,
    notAfter: NOT_AFTER,
    serial: Buffer.from('00ff01', 'hex')
  }))

  test('the client certificate: one RDN per O then the CN, signed by the CA, clientAuth only', () => {
    assert.equal(client.subject, 'O=admin\nO=reader\nCN=alice')
    assert.equal(client.issuer, 'CN=Anvil node CA')
    assert.ok(client.verify(ca.issuer.publicKey))
    assert.ok(client.checkIssued(ca.cert))
    assert.equal(client.verify(other.issuer.publicKey), false)
    assert.equal(client.ca, false)
    assert.deepEqual(client.keyUsage, ['1.3.6.1.5.5.7.3.2'])
    assert.equal(client.subjectAltName, undefined)
    assert.ok(client.publicKey.equals(alice.publicKey))
    assert.deepEqual([client.validFrom, client.validTo].map(Date.parse), [NOT_BEFORE.getTime(), NOT_AFTER.getTime()])
  })

  test('the server certificate: SANs for IPv4, IPv6 and DNS names, serverAuth only, the serial given', () => {
    assert.equal(server.subject, 'CN=m-0k3v9q2a')
    assert.ok(server.verify(ca.issuer.publicKey))
    assert.deepEqual(server.keyUsage, ['1.3.6.1.5.5.7.3.1'])
    assert.equal(server.serialNumber, 'FF01', 'minimal, with the sign octet the INTEGER needs')
    for (const ip of ['127.0.0.1', '10.77.0.21', '::1', '2001:db8::21', '2001:0db8:0:0::0021', '::ffff:192.0.2.1']) assert.equal(server.checkIP(ip), ip, ip)
    assert.equal(server.checkIP('10.77.0.22'), undefined)
    assert.equal(server.checkIP('2001:db8::22'), undefined)
    assert.equal(server.checkHost('node1.rack.example'), 'node1.rack.example')
    assert.equal(server.checkHost('node2.rack.example'), undefined)
  })

  test('openssl: the chain verifies for its purpose only, extensions as specified, AKI = the CA\'s SKI', { skip: opensslSkip }, () => {
    for (const [cert, purpose] of [[client, 'sslclient'], [server, 'sslserver']] as const) {
      const ok = opensslVerify(ca.pem, cert.toString(), purpose)
      assert.equal(ok.status, 0, `${purpose}: ${ok.stderr}`)
      assert.notEqual(opensslVerify(other.pem, cert.toString(), purpose).status, 0, 'another CA of the same name does not verify it')
    }
    assert.notEqual(opensslVerify(ca.pem, client.toString(), 'sslserver').status, 0, 'a client certificate is no server certificate')
    assert.notEqual(opensslVerify(ca.pem, server.toString(), 'sslclient').status, 0, 'a server certificate is no client certificate')

    const caSki = hexId(section(opensslText(ca.pem), 'X509v3 Subject Key Identifier:'))
    const text = opensslText(client.toString())
    assert.match(text, /Subject: O = admin, O = reader, CN = alice/)
    assert.match(text, /Issuer: CN = Anvil node CA/)
    assert.match(text, /X509v3 Basic Constraints: critical\s+CA:FALSE/)
    assert.match(text, /X509v3 Key Usage: critical\s+Digital Signature\n/)
    assert.match(text, /X509v3 Extended Key Usage:\s+TLS Web Client Authentication\n/)
    assert.equal(hexId(section(text, 'X509v3 Authority Key Identifier:')), caSki)
    assert.notEqual(hexId(section(text, 'X509v3 Subject Key Identifier:')), caSki)

    const serverText = opensslText(server.toString())
    assert.match(serverText, /X509v3 Subject Alternative Name:\s+DNS:node1\.rack\.example, IP Address:127\.0\.0\.1, IP Address:10\.77\.0\.21, IP Address:0:0:0:0:0:0:0:1, IP Address:2001:DB8:0:0:0:0:0:21, IP Address:0:0:0:0:0:FFFF:C000:201\s*\n/)
    assert.match(serverText, /TLS Web Server Authentication/)
  })

  test('a real TLS handshake with requestCert: our client certificate is accepted, another CA\'s and none are refused', async () => {
    const serverEnd = { key: keyPem(node.privateKey), cert: server.toString(), ca: ca.pem }
    const ok = await mutualTls(serverEnd, { key: keyPem(alice.privateKey), cert: client.toString(), ca: ca.pem })
    assert.equal(ok.accepted, true, ok.accepted ? '' : ok.error)
    if (ok.accepted) {
      assert.deepEqual(ok.peer.subject.O, ['admin', 'reader'])
      assert.equal(ok.peer.subject.CN, 'alice')
      assert.deepEqual(ok.peer.ext_key_usage, ['1.3.6.1.5.5.7.3.2'])
    }
    const mallory = ed25519()
    const forged = new X509Certificate(issueCertificate({
      issuer: other.issuer, subjectPublicKey: mallory.publicKey, subject: { commonName: 'alice', organizations: ['admin'] }, usage: 'client', notBefore: NOT_BEFORE, notAfter: NOT_AFTER
    }))
    const refused = await mutualTls(serverEnd, { key: keyPem(mallory.privateKey), cert: forged.toString(), ca: ca.pem })
    assert.equal(refused.accepted, false)
    assert.equal((await mutualTls(serverEnd, { ca: ca.pem })).accepted, false, 'no client certificate')
  })
})

test('what no valid certificate carries is refused before signing', () => {
  const ca = makeCa('Anvil node CA')
  const base = { issuer: ca.issuer, subjectPublicKey: ed25519().publicKey, subject: { commonName: 'x', organizations: [] }, usage: 'client' as const, notBefore: NOT_BEFORE, notAfter: NOT_AFTER }
  assert.throws(() => issueCertificate({ ...base, usage: 'server' }), /at least one DNS name or IP address/)
  assert.throws(() => issueCertificate({ ...base, usage: 'server', ipAddresses: ['10.0.0.256'] }), /not an IP address/)
  assert.throws(() => issueCertificate({ ...base, usage: 'server', ipAddresses: ['fe80::1%eth0'] }), /not an IP address/)
  assert.throws(() => issueCertificate({ ...base, usage: 'server', dnsNames: ['*.example'] }), /not a DNS name/)
  assert.throws(() => issueCertificate({ ...base, subjectPublicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey }), /must be an Ed25519 public key/)
  assert.throws(() => issueCertificate({ ...base, subjectPublicKey: createPublicKey(ca.issuer.privateKey), issuer: { ...ca.issuer, privateKey: ca.issuer.publicKey } }), /Ed25519 private key/)
  assert.throws(() => issueCertificate({ ...base, issuer: { ...ca.issuer, publicKey: ed25519().publicKey } }), /not its private key's/)
  assert.throws(() => issueCertificate({ ...base, subject: { commonName: 'x'.repeat(65), organizations: [] } }), /1 to 64 characters/)
  assert.throws(() => issueCertificate({ ...base, subject: { commonName: 'x', organizations: [''] } }), /1 to 64 characters/)
  assert.throws(() => issueCertificate({ ...base, notAfter: NOT_BEFORE }), /notBefore must be before notAfter/)
  assert.throws(() => issueCertificate({ ...base, serial: Buffer.alloc(4) }), /positive/)
  assert.throws(() => issueCertificate({ ...base, serial: Buffer.alloc(20, 0xff) }), /at most 20 octets/)
  assert.equal(new X509Certificate(issueCertificate({ ...base, serial: Buffer.alloc(20, 0x7f) })).serialNumber, '7F'.repeat(20))
})
