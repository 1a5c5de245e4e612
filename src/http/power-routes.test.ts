import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { Writable } from 'node:stream'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory } from '../../test/helpers/inventory.ts'
import { ScriptedBmc } from '../../test/helpers/scripted-bmc.ts'
import { SqliteBmcStore } from '../db/bmc-store.ts'
import { SecretBox } from '../lib/secret-box.ts'
import { configSchema } from '../config/schema.ts'
import { BmcError, BmcErrorCode } from '../power/errors.ts'
import { BmcRegistry } from '../power/bmc-registry.ts'
import { PowerService } from '../power/power-service.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }
const PASSWORD = 'Sup3r-S3cret-pw'

describe('enrolment, BMC and power API', async () => {
  const inv = makeInventory()
  const logged: string[] = []
  const log = createLogger('trace', new Writable({ write (chunk, _enc, done) { logged.push(String(chunk)); done() } }))
  const registry = new BmcRegistry({ machines: inv.machines, store: new SqliteBmcStore(inv.db), secrets: new SecretBox(randomBytes(32)), events: inv.timeline, clock: inv.clock })
  const bmc = new ScriptedBmc()
  const config = configSchema.parse({ power: { powerOnStagger: 0 } }).power
  const service = new PowerService({ registry, client: bmc, events: inv.timeline, clock: inv.clock, config, sleep: async (ms) => { inv.clock.advance(ms) } })
  const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log, power: { registry, service } })
  after(async () => { await app.close() })

  const enrolBody = { mac: '52:54:00:77:00:31', serial: 'LAB0031', bmc: { address: '10.77.1.31', port: 6231, user: 'admin', password: PASSWORD } }
  let id = ''

  test('POST /api/v1/machines enrols a machine with its BMC, never echoing the password', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: enrolBody })
    assert.equal(res.statusCode, 201)
    const m = res.json()
    id = m.id
    assert.equal(m.state, 'enrolled')
    assert.deepEqual(m.macs, ['52:54:00:77:00:31'])
    assert.deepEqual({ ...m.bmc, updatedAt: undefined }, { address: '10.77.1.31', port: 6231, user: 'admin', cipherSuite: 'auto', updatedAt: undefined })
    assert.ok(!res.body.includes(PASSWORD))
    const again = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: enrolBody })
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'ERR_MACHINE_EXISTS')
  })

  test('a bad BMC is refused before anything is created', async () => {
    const res = await app.inject({ method: 'POST', url: '/api/v1/machines', headers: auth, payload: { mac: '52:54:00:77:00:32', bmc: { address: 'bad address', user: 'admin', password: 'x' } } })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'ERR_INVALID_BMC')
    assert.equal((await app.inject({ url: '/api/v1/machines/52:54:00:77:00:32', headers: auth })).statusCode, 404)
    const tooLong = await app.inject({ method: 'PUT', url: `/api/v1/machines/${id}/bmc`, headers: auth, payload: { address: '10.0.0.1', user: 'admin', password: 'p'.repeat(21) } })
    assert.equal(tooLong.json().error.code, 'ERR_VALIDATION')
  })

  test('power on, status, boot device and power status of all', async () => {
    const on = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/power`, headers: auth, payload: { action: 'on' } })
    assert.equal(on.statusCode, 200)
    assert.equal(on.json().state, 'on')
    assert.equal((await app.inject({ url: `/api/v1/machines/${id}/power`, headers: auth })).json().state, 'on')
    const boot = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/boot-device`, headers: auth, payload: { device: 'disk', persistent: true } })
    assert.deepEqual(boot.json(), { machineId: id, device: 'disk', persistent: true, efi: false, valid: true })
    assert.equal((await app.inject({ url: `/api/v1/machines/${id}/boot-device`, headers: auth })).json().device, 'disk')
    const all = await app.inject({ url: '/api/v1/power', headers: auth })
    assert.deepEqual(all.json(), { machines: [{ machineId: id, state: 'on' }] })
    const types = (await app.inject({ url: `/api/v1/machines/${id}/events`, headers: auth })).json().items.map((e: { type: string }) => e.type)
    assert.deepEqual(types, ['machine.enrolled', 'bmc.set', 'power.action', 'power.boot-device'])
  })

  test('BMC failures map to stable codes and statuses', async () => {
    bmc.failNext = [new BmcError(BmcErrorCode.auth, 'the BMC refused user admin')]
    const res = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/power`, headers: auth, payload: { action: 'off' } })
    assert.equal(res.statusCode, 502)
    assert.equal(res.json().error.code, 'ERR_BMC_AUTH')
    bmc.failNext = [1, 2, 3].map(() => new BmcError(BmcErrorCode.unreachable, 'no answer from 10.77.1.31:6231'))
    const slow = await app.inject({ url: `/api/v1/machines/${id}/power`, headers: auth })
    assert.equal(slow.statusCode, 504)
    const bad = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/power`, headers: auth, payload: { action: 'explode' } })
    assert.equal(bad.json().error.code, 'ERR_VALIDATION')
  })

  test('BMC can be replaced and removed; then power says ERR_NO_BMC', async () => {
    const put = await app.inject({ method: 'PUT', url: `/api/v1/machines/${id}/bmc`, headers: auth, payload: { address: '10.77.1.99', user: 'root', password: 'other', cipherSuite: 17 } })
    assert.equal(put.json().bmc.address, '10.77.1.99')
    assert.equal(put.json().bmc.cipherSuite, 17)
    assert.equal((await app.inject({ method: 'DELETE', url: `/api/v1/machines/${id}/bmc`, headers: auth })).statusCode, 204)
    const none = await app.inject({ url: `/api/v1/machines/${id}/power`, headers: auth })
    assert.equal(none.statusCode, 409)
    assert.equal(none.json().error.code, 'ERR_NO_BMC')
    assert.equal((await app.inject({ url: `/api/v1/machines/${id}/bmc`, headers: auth })).json().error.code, 'ERR_NO_BMC')
  })

  test('no password in any answer, event or log line', async () => {
    const everything = [
      (await app.inject({ url: '/api/v1/machines', headers: auth })).body,
      (await app.inject({ url: `/api/v1/machines/${id}/events`, headers: auth })).body,
      ...logged
    ].join('\n')
    assert.ok(everything.length > 0)
    assert.ok(!everything.includes(PASSWORD))
    assert.ok(!everything.includes('other"'))
  })
})
