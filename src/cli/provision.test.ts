import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildProgram } from './program.ts'
import { parseDiskSelector } from './provision.ts'
import { buildApiApp } from '../http/api-app.ts'
import { SqliteOperationStore } from '../db/operation-store.ts'
import { OperationsService } from '../provisioning/operations.ts'
import { createLogger } from '../log/logger.ts'
import type { AgentDirective } from '../provisioning/agent-gateway.ts'
import { configYaml, GiB, makeInstallWorld } from '../../test/helpers/install.ts'

const TOKEN = 'cli-token-0123456789abcdef0123456789'
const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-provision-'))
const tokenFile = join(tmp, 'token')
writeFileSync(tokenFile, TOKEN)
const configFile = join(tmp, 'machine.yaml')
writeFileSync(configFile, configYaml())
after(() => { rmSync(tmp, { recursive: true, force: true }) })

/** A real API on 127.0.0.1:0 over a whole install world, and the CLI pointed at it. */
async function serve () {
  const w = makeInstallWorld()
  const operations = new OperationsService({ store: new SqliteOperationStore(w.inv.db), machine: async (key) => await w.inv.machines.get(key), progress: (taskId) => w.agents.progressOf(taskId) })
  const app = buildApiApp({ machines: w.inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery: w.discovery, provision: w.provision, operations })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const port = (app.server.address() as { port: number }).port
  const run = async (args: string[]): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t }).parseAsync(['--endpoint', `http://127.0.0.1:${port}`, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }
  return { w, app, run }
}

test('the disk selector: key=value pairs of the config\'s install.disk keys, sizes as given or bytes', () => {
  assert.deepEqual(parseDiskSelector('serial=S4EWNX0N123456'), { serial: 'S4EWNX0N123456' })
  assert.deepEqual(parseDiskSelector('minSize=100GiB,maxSize=2000398934016,transport=nvme,rotational=false'), { minSize: '100GiB', maxSize: 2000398934016, transport: 'nvme', rotational: false })
  assert.throws(() => parseDiskSelector('device=/dev/sda'), /not a disk selector key/)
  assert.throws(() => parseDiskSelector('serial='), /needs a value/)
  assert.throws(() => parseDiskSelector('serial=a,serial=b'), /twice/)
  assert.throws(() => parseDiskSelector('rotational=yes'), /true or false/)
})

test('anvil machines provision prints the operation; machines show prints the install and node lines', async () => {
  const { w, app, run } = await serve()
  try {
    await w.addImage('anvil-node', '1.0.0')
    const { machineId } = await w.readyMachine()
    const out = await run(['machines', 'provision', machineId, '--image', 'anvil-node:1.0.0', '--config', configFile, '--disk', 'serial=D2'])
    assert.match(out, /^install of anvil-node:1\.0\.0 to vdb \(serial D2\), config generation 1, queued for m-\S+\noperation t-[0-9a-f-]+\n$/)
    const shown = await run(['machines', 'show', machineId])
    assert.match(shown, /install:\s+anvil-node:1\.0\.0 to vdb \(serial D2, 64 GiB\), config generation 1: queued\n/)
    assert.match(shown, /node:\s+not reported yet\n/)
    const json = JSON.parse(await run(['-o', 'json', 'machines', 'show', machineId])) as { install: { disk: { sizeBytes: number } } }
    assert.equal(json.install.disk.sizeBytes, 64 * GiB)
    await assert.rejects(run(['machines', 'provision', machineId, '--image', 'anvil-node', '--config', configFile]), { code: 'ERR_INVALID_STATE' })
    await assert.rejects(run(['machines', 'provision', machineId, '--image', 'anvil-node', '--machine-config', join(tmp, 'absent.yaml')]), { code: 'ERR_MACHINE_CONFIG_UNREADABLE' })
  } finally {
    await app.close()
  }
})

test('anvil machines provision --watch follows the task, then the machine until its node reports in', async () => {
  const { w, app, run } = await serve()
  try {
    await w.addImage('anvil-node', '1.0.0')
    const { machineId, stream } = await w.readyMachine()
    const ctl = new AbortController()
    const it = w.agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]()
    const watching = run(['machines', 'provision', machineId, '--image', 'anvil-node', '--config', configFile, '--watch'])
    const next = await it.next()
    const task = (next.value as AgentDirective & { task: { id: string } }).task
    w.agents.progress(stream, { taskId: task.id, disk: 'vda', bytesDone: GiB, bytesTotal: 2 * GiB, rateBytesPerSecond: 100 * 2 ** 20, phase: 'write' })
    await w.agents.result(stream, { taskId: task.id, ok: true, error: '', eraseReports: [], install: { disk: 'vda', bytesWritten: 2 * GiB, durationMs: 1000, writeMs: 800, imageSha256: 'e'.repeat(64), verified: true, slot: 'A', committed: true } })
    // The node's report (another part of Anvil) moves the machine on.
    await w.lifecycle.apply(machineId, { type: 'nodeReported' }, { source: 'inventory' })
    const out = await watching
    assert.match(out, /operation t-/)
    assert.match(out, /t-\S+ {2}done {2}/, 'the operation\'s lines, as anvil operations watch prints them')
    assert.match(out, /: provisioned \(the installed node booted from its disk and reported in\)\n$/)
    ctl.abort()
  } finally {
    await app.close()
  }
})

test('anvil machines provision --watch exits ERR_OPERATION_FAILED with the agent\'s reason when the install fails', async () => {
  const { w, app, run } = await serve()
  try {
    await w.addImage('anvil-node', '1.0.0')
    const { machineId, stream } = await w.readyMachine()
    const ctl = new AbortController()
    const it = w.agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]()
    const failing = run(['machines', 'provision', machineId, '--image', 'anvil-node', '--config', configFile, '--watch'])
    const task = ((await it.next()).value as { task: { id: string } }).task
    await w.agents.result(stream, { taskId: task.id, ok: false, error: 'image chunk 3 does not match the manifest', eraseReports: [], install: null })
    await assert.rejects(failing, { code: 'ERR_OPERATION_FAILED', message: /failed: image chunk 3 does not match the manifest/ })
    assert.equal((await w.inv.machines.get(machineId)).state, 'error')
    ctl.abort()
  } finally {
    await app.close()
  }
})
