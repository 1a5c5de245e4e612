// `anvil -n NODE apply-config FILE` through the real command tree: a real API on 127.0.0.1 over
// the install world (SQLite; the provisioned machine's config signed there) and the node API
// double with mutual TLS (openssl-made PKI), which records what it was sent.
import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApiApp } from '../http/api-app.ts'
import { MachineState } from '../inventory/machine.ts'
import { createLogger } from '../log/logger.ts'
import { verifyConfig } from '../signing/config-signature.ts'
import { configYaml, makeInstallWorld } from '../../test/helpers/install.ts'
import { makeNodeCliPki } from '../../test/helpers/node-cli-pki.ts'
import { startNodeApiDouble } from '../../test/helpers/node-api-double.ts'
import { setMachineState } from '../../test/helpers/node-report.ts'
import { tryTimeoutSeconds } from './apply-config.ts'
import { saveContexts } from './contexts.ts'
import { buildProgram } from './program.ts'

const TOKEN = 'cli-token-0123456789abcdef0123456789'
const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-apply-'))
const tokenFile = join(tmp, 'token')
writeFileSync(tokenFile, TOKEN)
after(() => { rmSync(tmp, { recursive: true, force: true }) })

test('--timeout: whole seconds, 1 s to 24 h', () => {
  assert.equal(tryTimeoutSeconds('2m'), 120)
  assert.equal(tryTimeoutSeconds('1500ms'), 2)
  assert.throws(() => tryTimeoutSeconds('0s'), { code: 'ERR_USAGE' })
  assert.throws(() => tryTimeoutSeconds('25h'), { code: 'ERR_USAGE' })
})

test('anvil -n NODE apply-config: Anvil signs for the node\'s machine, the node is sent those exact bytes; changes and the operation printed', async () => {
  const w = makeInstallWorld()
  const app = buildApiApp({ machines: w.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: w.discovery, provision: w.provision, operations: w.operations })
  await app.listen({ port: 0, host: '127.0.0.1' })
  after(async () => { await app.close() })
  const port = (app.server.address() as { port: number }).port
  const { machineId } = await w.readyMachine()
  setMachineState(w.inv.db, machineId, MachineState.provisioned)
  const home = join(tmp, 'home')
  const savedHome = process.env.ANVIL_HOME
  process.env.ANVIL_HOME = home
  after(() => { if (savedHome === undefined) delete process.env.ANVIL_HOME; else process.env.ANVIL_HOME = savedHome })
  const pki = makeNodeCliPki(join(tmp, 'pki'))
  const node = await startNodeApiDouble({ clientCa: pki.caPem, keyPem: pki.serverKeyPem, certPem: pki.serverCertPem }, 'node-1', { machineId })
  after(() => { node.stop() })
  const target = `127.0.0.1:${node.port}`
  await saveContexts(home, { current: 'lab', contexts: { lab: { endpoint: target, cert: pki.bundleFile } } })
  const run = async (args: string[]): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t }).parseAsync(['--endpoint', `http://127.0.0.1:${port}`, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }
  const file = join(tmp, 'machine.yaml')
  writeFileSync(file, configYaml('D1'))

  const out = await run(['-n', target, 'apply-config', file, '--mode', 'try', '--timeout', '90s'])
  assert.equal(out, `${machineId} generation 4: live; operation op-3 running (verify)\n  hostname\n  network.interfaces[0].addresses\n`)
  assert.deepEqual(node.calls.map(c => c.method), ['Version', 'ApplyConfig'])
  const sent = node.applyRequests[0]
  assert.ok(sent !== undefined)
  assert.equal(sent.mode, 'try')
  assert.equal(sent.tryTimeoutS, 90)
  assert.equal(sent.dryRun, false)
  // What the node got is what Anvil signed for this machine, generation 1 (its first config here).
  const binding = verifyConfig(sent.config, sent.configSignature, w.configKey.publicKey, { machineId, minGeneration: 1, now: new Date(w.inv.clock.now()) })
  assert.equal(binding.generation, 1)
  assert.equal(Buffer.from(sent.config).toString('utf8'), w.secrets.open((await w.configs.get(machineId, 1))?.configSealed ?? '', `anvil machine config ${machineId} generation 1`))

  const dry = await run(['-n', target, 'apply-config', file, '--dry-run', '-o', 'json'])
  assert.deepEqual(JSON.parse(dry), [{ node: target, result: { machineId, reply: { operation: null, changes: ['hostname', 'network.interfaces[0].addresses'], appliedAs: 'dry-run', generation: 4 } } }])
  assert.equal(node.applyRequests[1]?.dryRun, true)
  assert.equal(node.applyRequests[1]?.mode, 'auto')

  // Two nodes, one unreachable: the other's answer printed, the failure by node, the command fails.
  const dead = '127.0.0.1:1'
  let printed = ''
  await assert.rejects(buildProgram(async () => {}, (t) => { printed += t }).parseAsync(['--endpoint', `http://127.0.0.1:${port}`, '--token-file', tokenFile, '-n', target, '-n', dead, 'apply-config', file], { from: 'user' }))
  assert.match(printed, new RegExp(`^${target.replace(/\./g, '\\.')} +${machineId} generation 4: live`, 'm'))
  assert.match(printed, new RegExp(`^${dead.replace(/\./g, '\\.')} +error: .*\\[ERR_NODE_UNREACHABLE\\]`, 'm'))

  // Not a machine config: refused by the CLI's reader before anything is sent.
  const before = node.applyRequests.length
  const missing = join(tmp, 'none.yaml')
  await assert.rejects(run(['-n', target, 'apply-config', missing]), { code: 'ERR_MACHINE_CONFIG_UNREADABLE' })
  assert.equal(node.applyRequests.length, before)
})
