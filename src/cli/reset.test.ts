// The reset verbs through the real command tree: `anvil machines reset` against a real API on
// 127.0.0.1 over a whole install world (SQLite, the agent service), and `anvil -n NODE reset`
// against a node API double with mutual TLS (openssl-made PKI) plus that API for --wait.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApiApp } from '../http/api-app.ts'
import { MachineState } from '../inventory/machine.ts'
import { createLogger } from '../log/logger.ts'
import type { AgentDirective, OpenedStream } from '../provisioning/agent-gateway.ts'
import { makeInstallWorld } from '../../test/helpers/install.ts'
import { makeNodeCliPki } from '../../test/helpers/node-cli-pki.ts'
import { startNodeApiDouble } from '../../test/helpers/node-api-double.ts'
import { setMachineState } from '../../test/helpers/node-report.ts'
import { saveContexts } from './contexts.ts'
import { buildProgram } from './program.ts'

const TOKEN = 'cli-token-0123456789abcdef0123456789'
const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-reset-'))
const tokenFile = join(tmp, 'token')
writeFileSync(tokenFile, TOKEN)
after(() => { rmSync(tmp, { recursive: true, force: true }) })

/** A real API on 127.0.0.1:0 with a provisioned machine whose agent is connected, and the CLI pointed at it. */
async function serve () {
  const w = makeInstallWorld()
  const app = buildApiApp({ machines: w.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: w.discovery, provision: w.provision, operations: w.operations })
  await app.listen({ port: 0, host: '127.0.0.1' })
  after(async () => { await app.close() })
  const port = (app.server.address() as { port: number }).port
  const { machineId, stream } = await w.readyMachine()
  setMachineState(w.inv.db, machineId, MachineState.provisioned)
  const run = async (args: string[]): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t }).parseAsync(['--endpoint', `http://127.0.0.1:${port}`, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }
  /** The agent takes the wipe Anvil queued and reports it done. */
  const agentWipes = async (s: OpenedStream): Promise<void> => {
    const ctl = new AbortController()
    const it = w.agents.tasks(s, ctl.signal)[Symbol.asyncIterator]()
    let d: AgentDirective
    do d = (await it.next()).value as AgentDirective
    while (!('task' in d))
    const task = d.task as { id: string, wipe?: unknown }
    assert.ok(task.wipe !== undefined, 'the agent is handed a wipe')
    await w.agents.result(s, { taskId: task.id, ok: true, error: '', eraseReports: [{ disk: 'vda', serial: 'D1', method: 'fast', bytesWritten: 2 ** 20, durationMs: 5, verified: true, refused: '' }], install: null })
    ctl.abort()
  }
  return { w, app, port, run, machineId, stream, agentWipes }
}

test('POST /api/v1/machines/:id/reset: 202 with the wipe\'s operation id; only a provisioned or failed machine', async () => {
  const { app, machineId, w } = await serve()
  const auth = { authorization: `Bearer ${TOKEN}` }
  const bad = await app.inject({ method: 'POST', url: `/api/v1/machines/${machineId}/reset`, headers: auth, payload: { method: 'shred' } })
  assert.equal(bad.statusCode, 400)
  const r = await app.inject({ method: 'POST', url: `/api/v1/machines/${machineId}/reset`, headers: auth, payload: {} })
  assert.equal(r.statusCode, 202)
  assert.equal(r.json().kind, 'wipe')
  assert.equal(r.json().operationId, r.json().id)
  assert.deepEqual(r.json().params, { method: 'fast', disks: [] })
  assert.equal((await w.inv.machines.get(machineId)).state, MachineState.resetting)
  const again = await app.inject({ method: 'POST', url: `/api/v1/machines/${machineId}/reset`, headers: auth, payload: {} })
  assert.equal(again.statusCode, 409)
  assert.equal(again.json().error.code, 'ERR_INVALID_STATE')
})

test('anvil machines reset prints the operation; --wait follows the wipe and the machine until it is ready', async () => {
  const { run, machineId, stream, agentWipes, w } = await serve()
  const waiting = run(['machines', 'reset', machineId, '--wait'])
  await agentWipes(stream)
  const out = await waiting
  assert.match(out, new RegExp(`^${machineId}: resetting; wipe queued for its agent\\noperation t-[0-9a-f-]+\\n`))
  assert.match(out, /t-[0-9a-f-]+ {2}done/)
  assert.match(out, new RegExp(`${machineId}: ready \\(reset: fast`))
  assert.equal((await w.inv.machines.get(machineId)).state, MachineState.ready)
  await assert.rejects(run(['machines', 'reset', machineId]), { code: 'ERR_INVALID_STATE' })
})

test('anvil -n NODE reset: the node\'s operation; --wait: then the machine in Anvil until ready', async () => {
  const { run, machineId, stream, agentWipes, w } = await serve()
  const home = join(tmp, 'home')
  const savedHome = process.env.ANVIL_HOME
  process.env.ANVIL_HOME = home
  after(() => { if (savedHome === undefined) delete process.env.ANVIL_HOME; else process.env.ANVIL_HOME = savedHome })
  const pki = makeNodeCliPki(join(tmp, 'pki'))
  // The node tells Anvil as it resets (here: the test does it for the double, as NodeNotice would).
  let told: Promise<unknown> = Promise.resolve()
  const node = await startNodeApiDouble({ clientCa: pki.caPem, keyPem: pki.serverKeyPem, certPem: pki.serverCertPem }, 'node-1', {
    machineId,
    onReset: () => { told = w.discovery.reset(machineId, { requestedBy: 'the node itself' }) }
  })
  after(() => { node.stop() })
  const target = `127.0.0.1:${node.port}`
  await saveContexts(home, { current: 'lab', contexts: { lab: { endpoint: target, cert: pki.bundleFile } } })
  const plain = await run(['-n', target, 'reset', '--graceful', '--wipe', 'state'])
  assert.match(plain, /op-2\s+reset\s+running\s+plan/)
  assert.deepEqual(node.resetRequests, [{ graceful: true, wipe: 'state' }])
  await told
  // Back to provisioned for the --wait run (the first reset's wipe is left queued: cancel it).
  await w.discovery.cancel(machineId)
  setMachineState(w.inv.db, machineId, MachineState.provisioned)
  const waiting = run(['-n', target, 'reset', '--wait'])
  await new Promise<void>((resolve) => { const t = setInterval(() => { if (node.resetRequests.length === 2) { clearInterval(t); resolve() } }, 10) })
  await told
  await agentWipes(stream)
  const out = await waiting
  assert.deepEqual(node.resetRequests[1], { graceful: false, wipe: 'all' })
  assert.match(out, /operation op-2: running \(plan\)\n/)
  assert.match(out, new RegExp(`${machineId}: (resetting|ready)`))
  assert.match(out, new RegExp(`${machineId}: ready \\(reset: `))
})
