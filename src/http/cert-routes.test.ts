import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { createHash, generateKeyPairSync, X509Certificate } from 'node:crypto'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { ensureNodeCa } from '../pki/node-ca.ts'
import { openssl, opensslSkip, tempDir } from '../pki/testing.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }
const HOUR = 3_600_000

const publicPem = (): string => generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString()

describe('node CA API', async () => {
  const tmp = tempDir('anvil-cert-routes-')
  const inv = makeInventory()
  const ca = await ensureNodeCa(tmp.dir)
  const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent'), nodeCa: ca })
  after(async () => { await app.close(); tmp.remove() })
  const post = async (payload: unknown, headers: Record<string, string> = auth) => await app.inject({ method: 'POST', url: '/api/v1/certs/client', headers, payload: payload as object })

  test('POST /api/v1/certs/client: 201 with the certificate for the key sent, the CA, role, name and notAfter', { skip: opensslSkip }, async () => {
    const key = generateKeyPairSync('ed25519')
    const res = await post({ role: 'operator', publicKey: key.publicKey.export({ type: 'spki', format: 'pem' }), name: 'bob', ttl: '30m' })
    assert.equal(res.statusCode, 201, res.body)
    const body = res.json()
    assert.deepEqual(Object.keys(body).sort(), ['ca', 'certificate', 'name', 'notAfter', 'role'])
    assert.deepEqual([body.role, body.name, body.ca], ['operator', 'bob', ca.certPem])
    const cert = new X509Certificate(body.certificate)
    assert.equal(cert.subject, 'O=operator\nCN=bob')
    assert.ok(cert.publicKey.equals(key.publicKey))
    assert.deepEqual(cert.keyUsage, ['1.3.6.1.5.5.7.3.2'])
    assert.equal(Date.parse(body.notAfter), Date.parse(cert.validTo))
    assert.equal(Date.parse(cert.validTo) - Date.parse(cert.validFrom), 35 * 60_000, '30 minutes, from 5 minutes back')
    const verify = openssl(['verify', '-purpose', 'sslclient', '-CAfile', ca.certFile, tmp.file('bob.pem', body.certificate)])
    assert.equal(verify.status, 0, verify.stderr)
  })

  test('defaults: the name is the role, the lifetime 8 h', async () => {
    const res = await post({ role: 'reader', publicKey: publicPem() })
    assert.equal(res.statusCode, 201)
    const cert = new X509Certificate(res.json().certificate)
    assert.equal(cert.subject, 'O=reader\nCN=reader')
    assert.equal(Date.parse(cert.validTo) - Date.parse(cert.validFrom), 8 * HOUR + 5 * 60_000)
  })

  test('refusals with their codes: role, key, lifetime, name, sizes, the token; unknown fields dropped', async () => {
    const cases: Array<[unknown, number, string]> = [
      [{ role: 'root', publicKey: publicPem() }, 400, 'ERR_CERT_ROLE_INVALID'],
      [{ role: 'admin', publicKey: generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey.export({ type: 'spki', format: 'pem' }) }, 400, 'ERR_CERT_KEY_INVALID'],
      [{ role: 'admin', publicKey: generateKeyPairSync('ed25519').privateKey.export({ type: 'pkcs8', format: 'pem' }) }, 400, 'ERR_CERT_KEY_INVALID'],
      [{ role: 'admin', publicKey: 'not a key' }, 400, 'ERR_CERT_KEY_INVALID'],
      [{ role: 'admin', publicKey: publicPem(), ttl: '1m' }, 400, 'ERR_CERT_TTL_INVALID'],
      [{ role: 'admin', publicKey: publicPem(), ttl: '8d' }, 400, 'ERR_CERT_TTL_INVALID'],
      [{ role: 'admin', publicKey: publicPem(), ttl: 'soon' }, 400, 'ERR_CERT_TTL_INVALID'],
      [{ role: 'admin', publicKey: publicPem(), name: 'a\u001b]0;x' }, 400, 'ERR_VALIDATION'],
      [{ role: 'admin', publicKey: publicPem(), name: 'x'.repeat(65) }, 400, 'ERR_VALIDATION'],
      [{ role: 'admin', publicKey: 'x'.repeat(5000) }, 400, 'ERR_VALIDATION'],
      [{ publicKey: publicPem() }, 400, 'ERR_VALIDATION']
    ]
    for (const [payload, status, code] of cases) {
      const res = await post(payload)
      assert.deepEqual([res.statusCode, res.json().error?.code], [status, code], JSON.stringify(payload).slice(0, 120))
      assert.doesNotMatch(res.body, /PRIVATE KEY|BEGIN/, 'no key material echoed')
    }
    // Fastify's schema drops unknown fields (removeAdditional): an O asked for is not an O given.
    const extra = await post({ role: 'reader', publicKey: publicPem(), organizations: ['admin'], subject: 'O=admin' })
    assert.equal(extra.statusCode, 201)
    assert.equal(new X509Certificate(extra.json().certificate).subject, 'O=reader\nCN=reader')
    assert.equal((await post({ role: 'admin', publicKey: publicPem() }, {})).statusCode, 401)
    assert.equal((await app.inject({ method: 'POST', url: '/api/v1/certs/client', headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ role: 'admin', publicKey: 'x'.repeat(20_000) }) })).statusCode, 413)
  })

  test('GET /api/v1/certs/ca: the CA PEM and the SHA-256 of its DER', async () => {
    const res = await app.inject({ url: '/api/v1/certs/ca', headers: auth })
    assert.equal(res.statusCode, 200)
    assert.deepEqual(res.json(), { ca: ca.certPem, fingerprint: createHash('sha256').update(new X509Certificate(ca.certPem).raw).digest('hex') })
    assert.equal((await app.inject({ url: '/api/v1/certs/ca' })).statusCode, 401)
  })

  test('the OpenAPI document names both routes and their schemas', async () => {
    const doc = (await app.inject({ url: '/api/v1/openapi.json', headers: auth })).json()
    assert.ok(doc.paths['/api/v1/certs/client']?.post)
    assert.ok(doc.paths['/api/v1/certs/ca']?.get)
    for (const s of ['ClientCertInput', 'ClientCert', 'NodeCa']) assert.ok(doc.components.schemas[s], s)
  })

  test('without a node CA the routes are absent', async () => {
    const bare = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent') })
    assert.equal((await bare.inject({ url: '/api/v1/certs/ca', headers: auth })).statusCode, 404)
    await bare.close()
  })
})
