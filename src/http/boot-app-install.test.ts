import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildBootApp } from './boot-app.ts'
import { BootAssets } from '../boot/assets.ts'
import { createLogger } from '../log/logger.ts'
import { BootMessage } from '../provisioning/boot-planner.ts'
import { configYaml, GiB, MAC, makeInstallWorld } from '../../test/helpers/install.ts'

test('an installing machine whose image is written gets its local disk from the boot script, not the environment again', async () => {
  const root = mkdtempSync(join(tmpdir(), 'anvil-assets-'))
  const w = makeInstallWorld()
  const app = buildBootApp({
    machines: w.inv.machines,
    lifecycle: w.lifecycle,
    assets: new BootAssets(root),
    events: w.inv.timeline,
    baseUrl: () => 'http://10.77.0.1:8080',
    capabilities: { recheckSeconds: 30 },
    agent: { available: async () => true, prepare: async () => ({ grpc: '10.77.0.1:8443', token: 'tok', fingerprint: 'a'.repeat(64) }) },
    installFacts: w.installs,
    log: createLogger('silent')
  })
  try {
    await w.addImage('anvil-node', '1.0.0')
    const { machineId, stream } = await w.readyMachine()
    const r = await w.provision.provision(machineId, { image: 'anvil-node', config: configYaml() })
    const boot = async (): Promise<string> => (await app.inject({ url: `/boot.ipxe?mac=${MAC}`, remoteAddress: '10.77.0.100' })).body
    assert.match(await boot(), new RegExp(BootMessage.install))
    const ctl = new AbortController()
    await w.agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]().next()
    await w.agents.result(stream, { taskId: r.task.id, ok: true, error: '', eraseReports: [], install: { disk: 'vda', bytesWritten: GiB, durationMs: 1000, writeMs: 900, imageSha256: 'e'.repeat(64), verified: true, slot: 'A', committed: true } })
    const script = await boot()
    assert.match(script, /image is written: booting from its local disk/)
    assert.doesNotMatch(script, /kernel|initrd|anvil\.token/)
    assert.equal((await w.inv.machines.get(machineId)).state, 'installing')
    ctl.abort()
  } finally {
    await app.close()
    rmSync(root, { recursive: true, force: true })
  }
})
