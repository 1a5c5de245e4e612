import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }
const MiB = 2 ** 20
const MAC = '52:54:00:77:00:71'
const PEER = '10.77.0.171'

describe('operations API', async () => {
  const inv = makeInventory()
  const { agents, discovery, operations } = makeProvisioning(inv)
  const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery, operations })
  after(async () => { await app.close() })
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'LAB0071' })
  const get = async (url: string) => await app.inject({ url, headers: auth })
  const post = async (url: string, payload: object = {}) => await app.inject({ method: 'POST', url, headers: auth, payload })

  test('a wipe through the real agent service: 202 with operationId, then GET /api/v1/operations/:id with phase and bytes, then its result', async () => {
    await post(`/api/v1/machines/${machine.id}/accept`)
    const wipe = await post(`/api/v1/machines/${machine.id}/wipe`, { method: 'zeroes', disks: ['vda'] })
    assert.equal(wipe.statusCode, 202)
    const queued = wipe.json()
    assert.equal(queued.operationId, queued.id, 'the operation id is the task id')
    assert.deepEqual([queued.state, queued.kind, queued.params], ['queued', 'wipe', { method: 'zeroes', disks: ['vda'] }], 'the existing fields stay')
    const url = `/api/v1/operations/${queued.operationId as string}`
    assert.deepEqual(await get(url).then(r => [r.statusCode, r.json().state, r.json().phase, r.json().percent]), [200, 'queued', null, null])

    const stream = await agents.openSession({ kind: 'token', token: await agents.issueToken(machine.id, PEER) }, { agentVersion: '1', bootMac: MAC, bootDisk: '' }, PEER)
    const ctl = new AbortController()
    const handed = await agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]().next()
    assert.equal(handed.done !== true && 'task' in handed.value ? handed.value.task.id : undefined, queued.id)
    agents.progress(stream, { taskId: queued.id, disk: 'vda', phase: 'wipe', bytesDone: 16 * MiB, bytesTotal: 64 * MiB, rateBytesPerSecond: 4 * MiB })
    inv.clock.advance(2000)
    agents.progress(stream, { taskId: queued.id, disk: 'vda', phase: 'wipe', bytesDone: 48 * MiB, bytesTotal: 64 * MiB, rateBytesPerSecond: 8 * MiB })
    const running = await get(url)
    assert.equal(running.statusCode, 200)
    const r = running.json()
    assert.deepEqual([r.id, r.machineId, r.kind, r.state, r.phase, r.bytesDone, r.bytesTotal, r.percent], [queued.id, machine.id, 'wipe', 'running', 'wipe', 48 * MiB, 64 * MiB, 75])
    assert.deepEqual(r.progress.map((p: { disk: string, bytesDone: number, rateBytesPerSecond: number }) => [p.disk, p.bytesDone, p.rateBytesPerSecond]), [['vda', 48 * MiB, 8 * MiB]])
    assert.equal(r.progressAt, new Date(inv.clock.now()).toISOString())
    assert.match(r.startedAt, /^\d{4}-\d\d-\d\dT/)
    assert.equal(r.params, undefined)

    await agents.result(stream, { taskId: queued.id, ok: true, error: '', eraseReports: [{ disk: 'vda', serial: 'S', method: 'zeroes', bytesWritten: 64 * MiB, durationMs: 900, verified: true, refused: '' }], install: null })
    const done = (await get(url)).json()
    assert.deepEqual([done.state, done.percent, done.error, done.progress], ['done', 100, null, []])
    assert.deepEqual(done.result, { method: 'zeroes', disks: [{ disk: 'vda', bytesWritten: 64 * MiB, verified: true, refused: null }] })
    assert.match(done.finishedAt, /^\d{4}-/)
    ctl.abort()
  })

  test('reboot and power-off answers carry operationId too', async () => {
    const task = await post(`/api/v1/machines/${machine.id}/tasks`, { kind: 'reboot' })
    assert.equal(task.statusCode, 202)
    assert.equal(task.json().operationId, task.json().id)
    assert.equal((await get(`/api/v1/operations/${task.json().operationId as string}`)).json().kind, 'reboot')
  })

  test('GET /api/v1/operations: newest first, filtered by machine (any key), state and kind', async () => {
    const { machine: other } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:72' })
    await post(`/api/v1/machines/${other.id}/accept`)
    inv.clock.advance(1000)
    const theirs = (await post(`/api/v1/machines/${other.id}/wipe`, {})).json()
    const all = await get('/api/v1/operations')
    assert.equal(all.statusCode, 200)
    const list = all.json().operations as Array<{ id: string, kind: string, state: string, machineId: string }>
    assert.deepEqual(list.map(o => o.kind), ['wipe', 'reboot', 'wipe'])
    assert.equal(list[0]?.id, theirs.id)
    assert.deepEqual((await get(`/api/v1/operations?machine=${MAC}`)).json().operations.map((o: { machineId: string }) => o.machineId), [machine.id, machine.id])
    assert.deepEqual((await get('/api/v1/operations?machine=LAB0071&kind=wipe&state=done')).json().operations.map((o: { kind: string }) => o.kind), ['wipe'])
    assert.deepEqual((await get('/api/v1/operations?state=queued')).json().operations.map((o: { id: string }) => o.id), [theirs.id, list[1]?.id])
    assert.deepEqual((await get('/api/v1/operations?limit=1')).json().operations.map((o: { id: string }) => o.id), [theirs.id])
    assert.deepEqual((await get(`/api/v1/operations?before=${theirs.id as string}&limit=1`)).json().operations.map((o: { id: string }) => o.id), [list[1]?.id])
  })

  test('precise errors: 400 with the field, 404 for an unknown operation or machine', async () => {
    const state = await get('/api/v1/operations?state=exploded')
    assert.equal(state.statusCode, 400)
    assert.equal(state.json().error.code, 'ERR_VALIDATION')
    assert.equal(state.json().error.details.field, 'state')
    assert.match(state.json().error.message, /queued, running, done, failed, cancelled/)
    assert.equal((await get('/api/v1/operations?kind=upgrade')).json().error.details.field, 'kind')
    for (const q of ['limit=0', 'limit=501', 'limit=many']) {
      const r = await get(`/api/v1/operations?${q}`)
      assert.equal(r.statusCode, 400, q)
      assert.equal(r.json().error.code, 'ERR_VALIDATION', q)
      assert.match(r.json().error.message, /limit/, q)
    }
    const machine = await get('/api/v1/operations?machine=nobody')
    assert.deepEqual([machine.statusCode, machine.json().error.code], [404, 'ERR_MACHINE_NOT_FOUND'])
    const missing = await get('/api/v1/operations/t-00000000-0000-0000-0000-000000000000')
    assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'ERR_OPERATION_NOT_FOUND'])
    const malformed = await get('/api/v1/operations/not-an-operation')
    assert.deepEqual([malformed.statusCode, malformed.json().error.code], [400, 'ERR_VALIDATION'])
    const before = await get('/api/v1/operations?before=t-0000')
    assert.deepEqual([before.statusCode, before.json().error.code], [404, 'ERR_OPERATION_NOT_FOUND'])
    assert.equal((await app.inject({ url: '/api/v1/operations' })).statusCode, 401, 'the bearer token, as everywhere')
  })

  test('the OpenAPI document names both routes and the Operation schema', async () => {
    const doc = (await get('/api/v1/openapi.json')).json()
    for (const p of ['/api/v1/operations', '/api/v1/operations/{id}']) assert.ok(doc.paths[p]?.get, p)
    assert.ok(doc.components.schemas.Operation.properties.percent)
  })
})
