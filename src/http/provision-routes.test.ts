import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { buildApiApp } from './api-app.ts'
import { createLogger } from '../log/logger.ts'
import { configYaml, GiB, makeInstallWorld } from '../../test/helpers/install.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

const w = makeInstallWorld()
const app = buildApiApp({ machines: w.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: w.discovery, provision: w.provision })
after(async () => { await app.close() })
const post = async (id: string, payload: unknown) => await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/provision`, headers: auth, payload: payload as Record<string, unknown> })

test('POST /provision: 202 with the operation, image, disk and generation; the machine shows its install', async () => {
  await w.addImage('anvil-node', '1.0.0')
  const { machineId } = await w.readyMachine()
  const before = (await app.inject({ url: `/api/v1/machines/${machineId}`, headers: auth })).json()
  assert.equal(before.install, null)
  const res = await post(machineId, { image: 'anvil-node', config: configYaml(), disk: { serial: 'D2' } })
  assert.equal(res.statusCode, 202, res.body)
  const body = res.json()
  assert.match(body.operationId, /^t-/)
  assert.equal(body.machine.state, 'installing')
  assert.deepEqual(body.image, { name: 'anvil-node', version: '1.0.0' })
  assert.deepEqual(body.disk, { name: 'vdb', serial: 'D2', wwn: '', sizeBytes: 64 * GiB })
  assert.equal(body.configGeneration, 1)
  assert.ok(!res.body.includes('node-sealed'), 'the config is never echoed')
  const shown = (await app.inject({ url: `/api/v1/machines/${machineId}`, headers: auth })).json()
  assert.deepEqual({ ...shown.install, createdAt: undefined }, { operationId: body.operationId, state: 'queued', error: null, image: body.image, disk: body.disk, configGeneration: 1, createdAt: undefined, finishedAt: null, node: null })
  const again = await post(machineId, { image: 'anvil-node', config: configYaml() })
  assert.equal(again.statusCode, 409)
  assert.equal(again.json().error.code, 'ERR_INVALID_STATE')
})

test('POST /provision errors: stable codes and statuses, the config\'s issues with their key paths', async () => {
  const { machine } = await w.inv.machines.registerBoot({ mac: '52:54:00:77:00:12' })
  const cases: Array<[string, unknown, number, string]> = [
    ['m-none', { image: 'anvil-node', config: configYaml() }, 404, 'ERR_MACHINE_NOT_FOUND'],
    [machine.id, { image: 'anvil-node', config: configYaml() }, 409, 'ERR_INVALID_STATE'],
    [machine.id, { image: 'anvil-node' }, 400, 'ERR_VALIDATION'],
    [machine.id, { image: 'anvil-node', config: 'x'.repeat(256 * 1024 + 1) }, 400, 'ERR_VALIDATION']
  ]
  for (const [id, payload, status, code] of cases) {
    const res = await post(id, payload)
    assert.equal(res.statusCode, status, `${code}: ${res.body.slice(0, 200)}`)
    assert.equal(res.json().error.code, code)
  }
  const huge = await app.inject({ method: 'POST', url: `/api/v1/machines/${machine.id}/provision`, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ image: 'anvil-node', config: '\n'.repeat(600 * 1024) }) })
  assert.equal(huge.statusCode, 413, 'the body is bounded before it is parsed')

  // A second ready machine (its own MAC and agent) for the checks that need one.
  const other = makeInstallWorld()
  const otherApp = buildApiApp({ machines: other.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: other.discovery, provision: other.provision })
  try {
    const { machineId } = await other.readyMachine()
    const send = async (payload: unknown) => await otherApp.inject({ method: 'POST', url: `/api/v1/machines/${machineId}/provision`, headers: auth, payload: payload as Record<string, unknown> })
    let res = await send({ image: 'anvil-node', config: configYaml() })
    assert.deepEqual([res.statusCode, res.json().error.code], [404, 'ERR_IMAGE_NOT_FOUND'])
    await other.addImage('anvil-node', '2.0.0', { pending: true })
    res = await send({ image: 'anvil-node', config: configYaml() })
    assert.deepEqual([res.statusCode, res.json().error.code], [409, 'ERR_IMAGE_UNAVAILABLE'])
    await other.addImage('anvil-node', '1.0.0', { minDiskBytes: 16 * GiB })
    res = await send({ image: 'anvil-node', config: configYaml('D1', '      mtu: 12') })
    assert.deepEqual([res.statusCode, res.json().error.code], [400, 'ERR_MACHINE_CONFIG_INVALID'])
    assert.deepEqual(res.json().error.details.issues.map((i: { path: string }) => i.path), ['network.interfaces[0].mtu'])
    res = await send({ image: 'anvil-node', config: configYaml('NONE') })
    assert.deepEqual([res.statusCode, res.json().error.code], [422, 'ERR_INSTALL_DISK_NONE'])
    res = await send({ image: 'anvil-node', config: configYaml(), disk: { transport: 'virtio' } })
    assert.deepEqual([res.statusCode, res.json().error.code], [422, 'ERR_INSTALL_DISK_AMBIGUOUS'])
    res = await send({ image: 'anvil-node', config: configYaml(), disk: { serial: 'USB1' } })
    assert.deepEqual([res.statusCode, res.json().error.code], [422, 'ERR_INSTALL_DISK_TOO_SMALL'])
    res = await send({ image: 'anvil-node', config: configYaml(), disk: { device: '/dev/sda' } })
    assert.deepEqual([res.statusCode, res.json().error.code], [400, 'ERR_MACHINE_CONFIG_INVALID'])
    assert.match(res.json().error.details.issues[0].path, /^disk/)
  } finally {
    await otherApp.close()
  }
})

test('the OpenAPI document describes the route', async () => {
  const doc = (await app.inject({ url: '/api/v1/openapi.json', headers: auth })).json()
  assert.ok(doc.paths['/api/v1/machines/{id}/provision'].post.responses['202'])
  assert.ok(doc.components.schemas.Install)
})
