// POST /api/v1/machines/:id/config against a real SQLite inventory (the install world): a
// provisioned machine's next config, validated as `anvil config validate`, signed for the next
// generation and stored sealed as an install's.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { buildApiApp } from './api-app.ts'
import { MachineState } from '../inventory/machine.ts'
import { createLogger } from '../log/logger.ts'
import { configSealContext } from '../provisioning/install-ports.ts'
import { verifyConfig } from '../signing/config-signature.ts'
import { configYaml, makeInstallWorld } from '../../test/helpers/install.ts'
import { setMachineState } from '../../test/helpers/node-report.ts'

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

const w = makeInstallWorld()
const app = buildApiApp({ machines: w.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: w.discovery, provision: w.provision })
after(async () => { await app.close() })
const post = async (id: string, payload: unknown) => await app.inject({ method: 'POST', url: `/api/v1/machines/${id}/config`, headers: auth, payload: payload as Record<string, unknown> })

test('201: the canonical text signed for the next generation (after the install\'s), stored sealed; the next call is one more', async () => {
  await w.addImage('anvil-node', '1.0.0')
  const { machineId } = await w.readyMachine()
  const installed = await app.inject({ method: 'POST', url: `/api/v1/machines/${machineId}/provision`, headers: auth, payload: { image: 'anvil-node', config: configYaml() } })
  assert.equal(installed.statusCode, 202, installed.body)
  setMachineState(w.inv.db, machineId, MachineState.provisioned)
  const text = configYaml('D1').replace(/^hostname: .*$/m, 'hostname: NODE-2')
  const res = await post(machineId, { config: text })
  assert.equal(res.statusCode, 201, res.body)
  const body = res.json() as { machineId: string, generation: number, config: string, signature: string }
  assert.equal(body.machineId, machineId)
  assert.equal(body.generation, 2)
  assert.match(body.config, /^hostname: "node-2"$/m, 'the canonical text: the host name lower-cased')
  const binding = verifyConfig(Buffer.from(body.config, 'utf8'), body.signature, w.configKey.publicKey, { machineId, minGeneration: 2, now: new Date(w.inv.clock.now()) })
  assert.equal(binding.generation, 2)
  assert.equal(binding.expiresAt.getTime(), Math.floor((w.inv.clock.now() + 24 * 3_600_000) / 1000) * 1000, 'valid for a day, as an install\'s')
  const stored = await w.configs.get(machineId, 2)
  assert.ok(stored !== undefined)
  assert.equal(stored.taskId, null)
  assert.equal(stored.signature, body.signature)
  assert.ok(!stored.configSealed.includes('node-2'), 'sealed at rest')
  assert.equal(w.secrets.open(stored.configSealed, configSealContext(machineId, 2)), body.config)
  const next = await post(machineId, { config: text })
  assert.equal(next.json().generation, 3)
})

test('errors: not provisioned ERR_INVALID_STATE; an invalid config ERR_VALIDATION with each issue\'s key path; unknown machine; bounded body', async () => {
  const { machine } = await w.inv.machines.registerBoot({ mac: '52:54:00:77:00:31' })
  const notProvisioned = await post(machine.id, { config: configYaml() })
  assert.deepEqual([notProvisioned.statusCode, notProvisioned.json().error.code], [409, 'ERR_INVALID_STATE'])
  setMachineState(w.inv.db, machine.id, MachineState.provisioned)
  const bad = await post(machine.id, { config: configYaml().replace(/^hostname: .*$/m, 'hostname: -bad-').concat('bogus: 1\n') })
  assert.equal(bad.statusCode, 400, bad.body)
  const err = bad.json().error as { code: string, message: string, details?: { issues?: Array<{ path: string }> } }
  assert.equal(err.code, 'ERR_VALIDATION')
  assert.match(err.message, /^ {2}hostname: /m)
  assert.match(err.message, /^ {2}bogus: unknown key/m)
  assert.deepEqual(err.details?.issues?.map(i => i.path).sort(), ['bogus', 'hostname'])
  assert.equal(await w.configs.get(machine.id, 1), undefined, 'nothing stored')
  const missing = await post('m-none', { config: configYaml() })
  assert.deepEqual([missing.statusCode, missing.json().error.code], [404, 'ERR_MACHINE_NOT_FOUND'])
  const empty = await post(machine.id, {})
  assert.deepEqual([empty.statusCode, empty.json().error.code], [400, 'ERR_VALIDATION'])
  const huge = await app.inject({ method: 'POST', url: `/api/v1/machines/${machine.id}/config`, headers: { ...auth, 'content-type': 'application/json' }, payload: JSON.stringify({ config: '\n'.repeat(600 * 1024) }) })
  assert.equal(huge.statusCode, 413)
})
