import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { createServer, type Server } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadNodeProto } from '../grpc/proto.ts'
import { makeNodeCliPki, type NodeCliPki } from '../../test/helpers/node-cli-pki.ts'
import { startNodeApiDouble, type NodeApiDouble } from '../../test/helpers/node-api-double.ts'
import { ApiClient } from './client.ts'
import { parseNodeBundle } from './node-bundle.ts'
import { fanOut } from './node-fanout.ts'
import { formatAddress, nodeAddressOf, NodeResolver, parseEndpoint, parseNodeAddress, splitTargets } from './node-targets.ts'
import type { MachineView } from '../http/api-types.ts'

test('-n values: repeated and comma-separated, trimmed, each once, bounded', () => {
  assert.deepEqual(splitTargets(['a,b', ' c ', 'a', ',']), ['a', 'b', 'c'])
  assert.throws(() => splitTargets([Array.from({ length: 257 }, (_, i) => `n${i}`).join(',')]), { code: 'ERR_USAGE' })
  assert.throws(() => splitTargets(['x'.repeat(254)]), { code: 'ERR_USAGE' })
})

test('an address is dialled as it is; anything else names a machine (a MAC too)', () => {
  assert.deepEqual(parseNodeAddress('10.77.0.21'), { host: '10.77.0.21', port: 50000 })
  assert.deepEqual(parseNodeAddress('10.77.0.21:50001'), { host: '10.77.0.21', port: 50001 })
  assert.deepEqual(parseNodeAddress('fd00::21'), { host: 'fd00::21', port: 50000 })
  assert.deepEqual(parseNodeAddress('[fd00::21]:50001'), { host: 'fd00::21', port: 50001 })
  assert.deepEqual(parseNodeAddress('[fd00::21]'), { host: 'fd00::21', port: 50000 })
  assert.equal(parseNodeAddress('52:54:00:12:34:56'), undefined)
  assert.equal(parseNodeAddress('m-0000001'), undefined)
  assert.equal(parseNodeAddress('node-1.rack'), undefined)
  assert.throws(() => parseNodeAddress('10.0.0.1:0'), { code: 'ERR_USAGE' })
  assert.throws(() => parseNodeAddress('[fd00::1]:x'), { code: 'ERR_USAGE' })
  assert.deepEqual(parseEndpoint('node-1.rack:50002'), { host: 'node-1.rack', port: 50002 })
  assert.deepEqual(parseEndpoint('node-1'), { host: 'node-1', port: 50000 })
  assert.throws(() => parseEndpoint('bad_host!'), { code: 'ERR_USAGE' })
  assert.equal(formatAddress({ host: 'fd00::21', port: 50000 }), '[fd00::21]:50000')
  assert.equal(formatAddress({ host: '10.0.0.1', port: 1 }), '10.0.0.1:1')
})

const view = (id: string, addresses: string[], hostname: string | null): MachineView => ({
  id, install: { node: { image: 'anvil-node', version: '0.1.0', slot: 'A', configGeneration: 1, addresses, hostname, reportedAt: '2026-12-02T00:00:00.000Z' } }
}) as unknown as MachineView

test('a machine\'s node address: the first reported one that is not IPv6 link-local, without its prefix', () => {
  assert.equal(nodeAddressOf(view('m-1', ['fe80::5054:ff:fe00:1/64', '10.77.0.21/24', '10.77.0.22/24'], null)), '10.77.0.21')
  assert.equal(nodeAddressOf(view('m-1', ['fd00::21/64'], null)), 'fd00::21')
  assert.equal(nodeAddressOf(view('m-1', [], null)), undefined)
  assert.equal(nodeAddressOf({ id: 'm-1', install: null } as unknown as MachineView), undefined)
})

describe('machine ids and names resolved through the admin API (an HTTP double), then called over mutual TLS', () => {
  let tmp: string
  let api: Server
  let endpoint: string
  let pki: NodeCliPki
  let node: NodeApiDouble
  const requests: string[] = []
  const TOKEN = 'token-0123456789abcdef0123456789'
  const machines: Record<string, MachineView> = {
    'm-0000001': view('m-0000001', ['fe80::1/64', '127.0.0.1/8'], 'node-1'),
    'm-0000002': view('m-0000002', [], 'node-2'),
    'm-0000003': view('m-0000003', ['127.0.0.3/8'], 'twin'),
    'm-0000004': view('m-0000004', ['127.0.0.4/8'], 'twin')
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'anvil-node-targets-'))
    pki = makeNodeCliPki(join(tmp, 'pki'))
    node = await startNodeApiDouble({ clientCa: pki.caPem, keyPem: pki.serverKeyPem, certPem: pki.serverCertPem })
    api = createServer((req, res) => {
      requests.push(req.url ?? '')
      res.setHeader('content-type', 'application/json')
      if (req.headers.authorization !== `Bearer ${TOKEN}`) { res.statusCode = 401; res.end('{}'); return }
      if (req.url === '/api/v1/machines?state=provisioned') { res.end(JSON.stringify({ items: Object.values(machines).map(m => ({ id: m.id })) })); return }
      const m = machines[decodeURIComponent((req.url ?? '').replace('/api/v1/machines/', ''))]
      if (m === undefined) { res.statusCode = 404; res.end(JSON.stringify({ error: { code: 'ERR_MACHINE_NOT_FOUND', message: 'no machine' } })); return }
      res.end(JSON.stringify(m))
    })
    await new Promise<void>((resolve) => { api.listen(0, '127.0.0.1', resolve) })
    endpoint = `http://127.0.0.1:${(api.address() as { port: number }).port}`
    writeFileSync(join(tmp, 'token'), TOKEN)
  })
  after(() => {
    node.stop()
    api.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  test('by id, by host name, an address as it is; no address, unknown and ambiguous names are errors', async () => {
    const resolver = new NodeResolver(() => new ApiClient({ endpoint, tokenFile: join(tmp, 'token') }), { port: node.port })
    assert.deepEqual(await resolver.resolve('m-0000001'), { host: '127.0.0.1', port: node.port })
    assert.deepEqual(await resolver.resolve('NODE-1'), { host: '127.0.0.1', port: node.port }, 'host names match without case')
    assert.deepEqual(await resolver.resolve(`127.0.0.1:${node.port}`), { host: '127.0.0.1', port: node.port })
    await assert.rejects(resolver.resolve('m-0000002'), { code: 'ERR_NODE_UNREACHABLE', message: /m-0000002 has reported no node address/ })
    await assert.rejects(resolver.resolve('nope'), { code: 'ERR_MACHINE_NOT_FOUND' })
    await assert.rejects(resolver.resolve('twin'), { code: 'ERR_AMBIGUOUS_MACHINE' })
    assert.equal(requests.filter(u => u.includes('state=provisioned')).length, 1, 'the host names were listed once')
  })

  test('fan-out to a machine id reaches its node; a name that resolves nowhere is that node\'s error', async () => {
    const resolver = new NodeResolver(() => new ApiClient({ endpoint, tokenFile: join(tmp, 'token') }), { port: node.port })
    const session = { targets: ['m-0000001', 'nope'], resolve: async (t: string) => await resolver.resolve(t), proto: await loadNodeProto(), bundle: parseNodeBundle(pki.bundlePem, 'bundle') }
    const outcomes = await fanOut(session, async c => (await c.version()).machineId)
    assert.deepEqual(outcomes, [{ node: 'm-0000001', result: 'm-0000001' }, { node: 'nope', error: { code: 'ERR_MACHINE_NOT_FOUND', message: 'no machine "nope" (by id, MAC, UUID, serial or node host name)' } }])
  })
})

test('a bundle is read by block type, in any order; what is not one is refused', () => {
  const pki = makeNodeCliPki(mkdtempSync(join(tmpdir(), 'anvil-bundle-')))
  try {
    const blocks = pki.bundlePem.match(/-----BEGIN [A-Z ]+-----[\s\S]+?-----END [A-Z ]+-----\n/g) ?? []
    assert.equal(blocks.length, 3)
    const [key, cert, ca] = blocks as [string, string, string]
    const b = parseNodeBundle(ca + cert + key, 'f')
    assert.equal(b.certPem, cert)
    assert.equal(b.caPem, ca)
    assert.equal(b.keyPem, key)
    assert.equal(b.role, 'admin')
    assert.throws(() => parseNodeBundle(key + ca, 'f'), { code: 'ERR_NODE_CERT_INVALID', message: /0 client/ })
    assert.throws(() => parseNodeBundle(key + cert, 'f'), { code: 'ERR_NODE_CERT_INVALID', message: /no CA/ })
    const other = makeNodeCliPki(join(pki.dir, 'other'))
    const otherKey = (other.bundlePem.match(/-----BEGIN PRIVATE KEY-----[\s\S]+?-----END PRIVATE KEY-----\n/) ?? [''])[0]
    assert.throws(() => parseNodeBundle(otherKey + cert + ca, 'f'), { code: 'ERR_NODE_CERT_INVALID', message: /not the client certificate's/ })
    assert.throws(() => parseNodeBundle(pki.bundlePem, 'f', new Date(Date.now() + 3 * 86_400_000)), { code: 'ERR_NODE_CERT_INVALID', message: /expired/ })
  } finally {
    rmSync(pki.dir, { recursive: true, force: true })
  }
})
