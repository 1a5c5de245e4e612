import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { counterFamilies } from './metrics.ts'
import { makeInventory } from '../../test/helpers/inventory.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

describe('admin API', async () => {
  const inv = makeInventory()
  const app = buildApiApp({
    machines: inv.machines,
    adminToken: TOKEN,
    log: createLogger('silent'),
    metrics: async () => counterFamilies('tftp', { active: 2, completed: 7, bytesSent: 1024 }, ['active'])
  })
  after(async () => { await app.close() })
  inv.timeline.record({ source: 'dhcp', type: 'dhcp.offer', mac: '52:54:00:77:00:11', message: 'offered undionly.kpxe' })
  const { machine } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:11', uuid: '8c1f0a5e-77a0-4a0b-9d41-000000000001', serial: 'LAB0001', platform: 'pcbios' })

  test('every call needs the bearer token', async () => {
    for (const headers of [{}, { authorization: 'Bearer wrong' }, { authorization: TOKEN }, { authorization: `Basic ${TOKEN}` }]) {
      const res = await app.inject({ url: '/api/v1/machines', headers })
      assert.equal(res.statusCode, 401)
      assert.equal(res.json().error.code, 'ERR_UNAUTHORIZED')
    }
    assert.equal((await app.inject({ url: '/api/v1/openapi.json' })).statusCode, 401)
  })

  test('lists and shows machines with ISO times', async () => {
    const list = await app.inject({ url: '/api/v1/machines', headers: auth })
    assert.equal(list.statusCode, 200)
    const [m] = list.json().items
    assert.equal(m.id, machine.id)
    assert.deepEqual(m.macs, ['52:54:00:77:00:11'])
    assert.equal(m.firmware, 'pcbios')
    assert.match(m.createdAt, /^\d{4}-\d\d-\d\dT/)
    const one = await app.inject({ url: `/api/v1/machines/${machine.id}`, headers: auth })
    assert.equal(one.json().serial, 'LAB0001')
    const byMac = await app.inject({ url: '/api/v1/machines/52:54:00:77:00:11', headers: auth })
    assert.equal(byMac.json().id, machine.id)
    const filtered = await app.inject({ url: '/api/v1/machines?state=provisioned', headers: auth })
    assert.deepEqual(filtered.json().items, [])
  })

  test('the timeline holds the events before and after discovery, in order', async () => {
    const res = await app.inject({ url: `/api/v1/machines/${machine.id}/events`, headers: auth })
    const items = res.json().items
    assert.deepEqual(items.map((e: { type: string }) => e.type), ['dhcp.offer', 'machine.discovered'])
    const after = await app.inject({ url: `/api/v1/machines/${machine.id}/events?after=${items[0].id}`, headers: auth })
    assert.equal(after.json().items.length, 1)
  })

  test('errors are JSON with stable codes', async () => {
    const missing = await app.inject({ url: '/api/v1/machines/m-nothere', headers: auth })
    assert.equal(missing.statusCode, 404)
    assert.equal(missing.json().error.code, 'ERR_MACHINE_NOT_FOUND')
    const bad = await app.inject({ url: '/api/v1/machines?state=flying', headers: auth })
    assert.equal(bad.statusCode, 400)
    assert.equal(bad.json().error.code, 'ERR_VALIDATION')
    const route = await app.inject({ url: '/api/v1/nope', headers: auth })
    assert.equal(route.json().error.code, 'ERR_ROUTE_NOT_FOUND')
  })

  test('serves its OpenAPI document, naming every route', async () => {
    const doc = (await app.inject({ url: '/api/v1/openapi.json', headers: auth })).json()
    assert.equal(doc.openapi, '3.1.0')
    for (const p of ['/api/v1/machines', '/api/v1/machines/{id}', '/api/v1/machines/{id}/events', '/api/v1/openapi.json']) {
      assert.ok(doc.paths[p], p)
    }
  })

  test('exposes Prometheus metrics behind the same token', async () => {
    assert.equal((await app.inject({ url: '/metrics' })).statusCode, 401)
    const res = await app.inject({ url: '/metrics', headers: auth })
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'] as string, /^text\/plain; version=0\.0\.4/)
    assert.match(res.body, /^# TYPE anvil_tftp_active gauge\nanvil_tftp_active 2$/m)
    assert.match(res.body, /^anvil_tftp_completed_total 7$/m)
    assert.match(res.body, /^anvil_tftp_bytes_sent_total 1024$/m)
    assert.match(res.body, /^anvil_machines\{state="discovered"\} 1$/m)
    assert.match(res.body, /^anvil_machines\{state="provisioned"\} 0$/m)
  })
})
