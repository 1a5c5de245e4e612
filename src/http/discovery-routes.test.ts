import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

describe('discovery API', async () => {
  const inv = makeInventory()
  const { agents, discovery } = makeProvisioning(inv, { tokenTtlMs: 60_000 })
  const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery })
  after(async () => { await app.close() })
  const { machine } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:41', serial: 'LAB0041' })
  const id = machine.id

  test('hardware is 404 until reported, then served whole', async () => {
    const none = await app.inject({ url: `/api/v1/machines/${id}/hardware`, headers: auth })
    assert.equal(none.statusCode, 404)
    assert.equal(none.json().error.code, 'ERR_NO_HARDWARE')
    const stream = await agents.openSession({ kind: 'token', token: await agents.issueToken(id, '10.77.0.141') }, { agentVersion: '1', bootMac: '52:54:00:77:00:41', bootDisk: '' }, '10.77.0.141')
    await agents.hardwareReported(stream, { system: null, baseboard: null, bios: null, chassis: null, cpu: null, memory: { totalBytes: 2 ** 29, dimms: [] }, disks: [], nics: [], pci: [], bmc: null, kernel: '6.1' })
    const hw = await app.inject({ url: `/api/v1/machines/${id}/hardware`, headers: auth })
    assert.equal(hw.statusCode, 200)
    assert.equal(hw.json().hardware.memory.totalBytes, 2 ** 29)
    assert.match(hw.json().reportedAt, /^\d{4}-/)
  })

  test('wipe before accept is refused with 409 ERR_NOT_ACCEPTED; accept, wipe 202, tasks, reject cancels the wipe', async () => {
    const early = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/wipe`, headers: auth, payload: { method: 'fast' } })
    assert.equal(early.statusCode, 409)
    assert.equal(early.json().error.code, 'ERR_NOT_ACCEPTED')
    const accepted = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/accept`, headers: auth })
    assert.equal(accepted.json().state, 'accepted')
    const bad = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/wipe`, headers: auth, payload: { method: 'shred' } })
    assert.equal(bad.json().error.code, 'ERR_VALIDATION')
    const wipe = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/wipe`, headers: auth, payload: { method: 'zeroes', disks: ['vda'] } })
    assert.equal(wipe.statusCode, 202)
    assert.equal(wipe.json().state, 'queued')
    assert.deepEqual(wipe.json().params, { method: 'zeroes', disks: ['vda'] })
    const tasks = await app.inject({ url: `/api/v1/machines/${id}/tasks`, headers: auth })
    assert.equal(tasks.json().items.length, 1)
    const again = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/wipe`, headers: auth, payload: {} })
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'ERR_TASK_PENDING')
    const reject = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/reject`, headers: auth })
    assert.equal(reject.json().state, 'rejected')
    assert.equal((await app.inject({ url: `/api/v1/machines/${id}/tasks`, headers: auth })).json().items[0].state, 'cancelled', 'reject cancels the queued wipe')
    const twice = await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/reject`, headers: auth })
    assert.equal(twice.statusCode, 409)
    assert.equal(twice.json().error.code, 'ERR_INVALID_STATE')
    assert.equal((await app.inject({ url: `/api/v1/machines/${id}/erase-reports`, headers: auth })).json().items.length, 0)
  })

  test('cancel: a queued wipe never starts and the machine leaves wiping; unknown and finished tasks get precise errors', async () => {
    const { machine: m } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:42' })
    const post = async (url: string, payload: object = {}) => await app.inject({ method: 'POST', url, headers: auth, payload })
    await post(`/api/v1/machines/${m.id}/accept`)
    const none = await post(`/api/v1/machines/${m.id}/cancel`)
    assert.equal(none.statusCode, 404)
    assert.equal(none.json().error.code, 'ERR_TASK_NOT_FOUND')
    const task = (await post(`/api/v1/machines/${m.id}/wipe`, { method: 'fast' })).json()
    const cancelled = await post(`/api/v1/machines/${m.id}/tasks/${task.id as string}/cancel`)
    assert.equal(cancelled.statusCode, 200)
    assert.equal(cancelled.json().machine.state, 'accepted')
    assert.deepEqual(cancelled.json().cancelled.map((t: { id: string, state: string }) => [t.id, t.state]), [[task.id, 'cancelled']])
    const again = await post(`/api/v1/machines/${m.id}/tasks/${task.id as string}/cancel`)
    assert.equal(again.statusCode, 409)
    assert.equal(again.json().error.code, 'ERR_TASK_FINISHED')
    assert.equal((await post(`/api/v1/machines/${m.id}/tasks/t-0000/cancel`)).json().error.code, 'ERR_TASK_NOT_FOUND')
    assert.equal((await post(`/api/v1/machines/${m.id}/tasks/not-a-task/cancel`)).json().error.code, 'ERR_VALIDATION')
  })

  test('maintenance on cancels pending work and holds the state; off returns to where the work began', async () => {
    const { machine: m } = await inv.machines.registerBoot({ mac: '52:54:00:77:00:43' })
    const post = async (url: string, payload: object = {}) => await app.inject({ method: 'POST', url, headers: auth, payload })
    await post(`/api/v1/machines/${m.id}/accept`)
    const task = (await post(`/api/v1/machines/${m.id}/wipe`, { method: 'fast' })).json()
    const on = await post(`/api/v1/machines/${m.id}/maintenance`, { enabled: true })
    assert.equal(on.json().state, 'maintenance')
    assert.equal(on.json().heldState, 'wiping')
    const tasks = (await app.inject({ url: `/api/v1/machines/${m.id}/tasks`, headers: auth })).json().items
    assert.equal(tasks.find((t: { id: string }) => t.id === task.id).state, 'cancelled')
    assert.equal((await post(`/api/v1/machines/${m.id}/wipe`, {})).json().error.code, 'ERR_NOT_ACCEPTED')
    assert.equal((await post(`/api/v1/machines/${m.id}/maintenance`, { enabled: true })).json().error.code, 'ERR_INVALID_STATE')
    const off = await post(`/api/v1/machines/${m.id}/maintenance`, { enabled: false })
    assert.equal(off.json().state, 'accepted')
    assert.equal(off.json().heldState, null)
    assert.equal((await post(`/api/v1/machines/${m.id}/maintenance`, {})).json().error.code, 'ERR_VALIDATION')
  })
})
