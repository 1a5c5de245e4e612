import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { createPrivateKey, createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { buildApiApp } from '../http/api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { ensureNodeCa } from '../pki/node-ca.ts'
import { mutualTls, openssl, opensslSkip, tempDir } from '../pki/testing.ts'
import { buildProgram } from './program.ts'

// The CLI against a real admin API on 127.0.0.1 with a real node CA in a temporary data dir.

const TOKEN = 'test-token-0123456789abcdef'

/** The PEM blocks of a text, with their types, in order. */
const blocks = (text: string): Array<{ type: string, pem: string }> =>
  [...text.matchAll(/-----BEGIN ([A-Z ]+)-----\n[A-Za-z0-9+/=\n]+-----END \1-----\n/g)].map(m => ({ type: m[1] as string, pem: m[0] }))

describe('anvil certs', async () => {
  const tmp = tempDir('anvil-cli-certs-')
  const ca = await ensureNodeCa(tmp.dir)
  const app = buildApiApp({ machines: makeInventory().machines, adminToken: TOKEN, log: createLogger('silent'), nodeCa: ca })
  const bodies: string[] = []
  app.addHook('preHandler', async (req) => { if (req.body !== undefined) bodies.push(JSON.stringify(req.body)) })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const tokenFile = tmp.file('token', TOKEN)
  after(async () => { await app.close(); tmp.remove() })

  const run = async (args: string[]): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t }).parseAsync(['--endpoint', endpoint, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }

  test('certs client prints key, certificate and CA, in that order; the key was made here and never sent', async () => {
    bodies.length = 0
    const out = await run(['certs', 'client', '--role', 'admin', '--name', 'alice', '--ttl', '2h'])
    const parts = blocks(out)
    assert.deepEqual(parts.map(p => p.type), ['PRIVATE KEY', 'CERTIFICATE', 'CERTIFICATE'])
    assert.equal(parts.map(p => p.pem).join(''), out, 'nothing but the three blocks')
    const [key, cert, caPem] = parts.map(p => p.pem) as [string, string, string]
    const x509 = new X509Certificate(cert)
    assert.equal(x509.subject, 'O=admin\nCN=alice')
    assert.ok(x509.checkPrivateKey(createPrivateKey(key)), 'the certificate is for the key in the bundle')
    assert.equal(caPem, ca.certPem)
    assert.ok(x509.verify(new X509Certificate(caPem).publicKey))
    assert.equal(Date.parse(x509.validTo) - Date.parse(x509.validFrom), 2 * 3_600_000 + 5 * 60_000)
    assert.equal(bodies.length, 1)
    assert.doesNotMatch(bodies[0] ?? '', /PRIVATE/)
    const sent = JSON.parse(bodies[0] ?? '{}') as { publicKey: string }
    assert.ok(createPublicKey(sent.publicKey).equals(createPublicKey(createPrivateKey(key))))
  })

  test('the bundle is the whole credential: a node\'s TLS server that trusts the CA accepts it as key and certificate', { skip: opensslSkip }, async () => {
    const out = await run(['certs', 'client', '--role', 'reader'])
    const bundle = tmp.file('reader.pem', out)
    const verify = openssl(['verify', '-purpose', 'sslclient', '-CAfile', ca.certFile, bundle])
    assert.equal(verify.status, 0, verify.stderr)
    const node = generateKeyPairSync('ed25519')
    const server = ca.issueServer({ publicKey: node.publicKey, machineId: 'm-1', ips: ['127.0.0.1'], dnsNames: [] })
    const serverEnd = { key: node.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert: server.certPem, ca: ca.certPem }
    const seen = await mutualTls(serverEnd, { key: out, cert: out, ca: ca.certPem })
    assert.equal(seen.accepted, true, seen.accepted ? '' : seen.error)
    if (seen.accepted) assert.deepEqual([seen.peer.subject.O, seen.peer.subject.CN], ['reader', 'reader'])
  })

  test('a role outside the three is refused before anything is sent; server refusals keep their code', async () => {
    bodies.length = 0
    await assert.rejects(run(['certs', 'client', '--role', 'root']), { code: 'commander.invalidArgument' })
    await assert.rejects(run(['certs', 'client']), { code: 'commander.missingMandatoryOptionValue' })
    assert.equal(bodies.length, 0)
    await assert.rejects(run(['certs', 'client', '--role', 'admin', '--ttl', '1m']), { code: 'ERR_CERT_TTL_INVALID', message: /5 minutes to 7 days/ })
    await assert.rejects(run(['certs', 'client', '--role', 'admin', '--ttl', 'forever']), { code: 'ERR_CERT_TTL_INVALID' })
  })

  test('certs ca prints the CA PEM; -o json adds its fingerprint', async () => {
    assert.equal(await run(['certs', 'ca']), ca.certPem)
    assert.deepEqual(JSON.parse(await run(['-o', 'json', 'certs', 'ca'])), { ca: ca.certPem, fingerprint: ca.fingerprint })
  })
})
