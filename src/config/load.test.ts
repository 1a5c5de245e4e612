import { test } from 'node:test'
import assert from 'node:assert/strict'
import { parseConfig, parseConfigText, ConfigError } from './load.ts'

test('embedded defaults match the documented ones', () => {
  const c = parseConfig({})
  assert.equal(c.dataDir, './var')
  assert.equal(c.bootAssets, './boot-assets')
  assert.equal(c.http.listen, '0.0.0.0:8080')
  assert.equal(c.api.listen, '127.0.0.1:8081')
  assert.equal(c.tftp.listen, '0.0.0.0:69')
  assert.equal(c.dhcp.mode, 'proxy')
  assert.equal(c.dhcp.efiX64BootFile, 'snponly.efi')
  assert.equal(c.server.address, undefined)
})

test('a full authoritative config parses, with durations and normalised MACs', () => {
  const c = parseConfigText(`
server: { address: 10.77.0.1 }
dhcp:
  mode: authoritative
  interface: br0
  subnets:
    - subnet: 10.77.0.0/24
      range: 10.77.0.100-10.77.0.199
      router: 10.77.0.1
      dns: [10.77.0.1]
      leaseTime: 1h30m
      reservations: [{ mac: "52-54-00-77-00-10", address: 10.77.0.50 }]
`)
  const s = c.dhcp.subnets[0]
  assert.ok(s)
  assert.equal(s.leaseTime, 5_400_000)
  assert.equal(s.reservations[0]?.mac, '52:54:00:77:00:10')
})

test('every problem is reported with its key path', () => {
  try {
    parseConfigText(`
http: { listen: "0.0.0.0:99999" }
dhcp:
  mode: authoritative
  subnets:
    - subnet: 10.77.0.0/24
      range: 10.77.0.100-10.78.0.1
      leaseTime: 5 parsecs
      reservations: [{ mac: "nope", address: 10.99.0.1 }]
extra: 1
`, 'test.yaml')
    assert.fail('should have thrown')
  } catch (err) {
    assert.ok(err instanceof ConfigError)
    const paths = err.problems.map(p => p.path)
    for (const p of ['http.listen', 'dhcp.subnets[0].range', 'dhcp.subnets[0].leaseTime', 'dhcp.subnets[0].reservations[0].mac', 'dhcp.subnets[0].reservations[0].address', '(top level)']) {
      assert.ok(paths.includes(p), `missing ${p} in ${JSON.stringify(err.problems)}`)
    }
    assert.match(err.message, /test\.yaml/)
  }
})

test('authoritative mode without subnets, and YAML syntax errors, are refused', () => {
  assert.throws(() => parseConfig({ dhcp: { mode: 'authoritative' } }), (e: unknown) => e instanceof ConfigError && e.problems.some(p => p.path === 'dhcp.subnets'))
  assert.throws(() => parseConfigText('dhcp: [\n'), (e: unknown) => e instanceof ConfigError && /line/.test(e.problems[0]?.path ?? ''))
  assert.throws(() => parseConfig({ dhcp: { mode: 'sometimes' } }), ConfigError)
})
