// A power action through the BMC while the server is still handling the agent's result: after a
// committed install the server power-cycles the machine from inside that result's handling, which
// cuts the very stream the result came on. The stream must end with its status and nothing else:
// before the fix, the read of the next message, started as the cut landed, rejected with that status
// after the call ended and took the whole server down (an unhandled rejection, seen in the install
// lab test). node:test fails a test on an unhandled rejection, so this one guards it.
import assert from 'node:assert/strict'
import { cpSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { after, test } from 'node:test'
import { runAgent } from '../../src/agent/main.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import type { AgentStream, TaskResult } from '../../src/provisioning/agent-gateway.ts'
import { ObservedGateway, startProvisioning } from '../helpers/agent-server.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'

const vm1 = fileURLToPath(new URL('../fixtures/agent/vm1', import.meta.url))
const MAC = '52:54:00:a1:00:02'
const dirs: string[] = []
after(() => { for (const d of dirs) rmSync(d, { recursive: true, force: true }) })

test('a power cycle through the BMC while the server handles the agent\'s result ends that stream cleanly; the result is committed', { timeout: 60_000 }, async () => {
  const certDir = mkdtempSync(join(tmpdir(), 'anvil-power-cut-'))
  dirs.push(certDir)
  const cert = await ensureServerCertificate(certDir, { ip: '127.0.0.1' })
  const inv = makeInventory()
  const p = makeProvisioning(inv)
  let cutDone: () => void = () => {}
  const cut = new Promise<void>((resolve) => { cutDone = resolve })
  // What InstallTasks does after a committed install (boot device disk, power cycle), here after a wipe's result.
  class PowerCycleOnResult extends ObservedGateway {
    override async result (stream: AgentStream, r: TaskResult): Promise<void> {
      await super.result(stream, r)
      await p.agents.machinePowerChanged(stream.machineId, 'cycle')
      // Still inside the result's handling while the cut stream winds down.
      await new Promise((resolve) => setTimeout(resolve, 200))
      cutDone()
    }
  }
  const gateway = new PowerCycleOnResult(p.agents)
  const { service, port } = await startProvisioning(gateway, cert)
  after(async () => { await service.stop() })
  const { machine } = await inv.machines.registerBoot({ mac: MAC, serial: 'VM1' })
  await p.discovery.accept(machine.id)
  const task = await p.discovery.wipe(machine.id, { method: 'fast', disks: ['vda'] })
  const root = mkdtempSync(join(tmpdir(), 'anvil-power-cut-root-'))
  dirs.push(root)
  cpSync(vm1, root, { recursive: true, verbatimSymlinks: true })
  writeFileSync(join(root, 'dev/vda'), Buffer.alloc(64 << 20, 0xa5))
  const closed = new Promise<string>((resolve) => { gateway.once('closed', (_s: AgentStream, reason: string) => { resolve(reason) }) })
  const lines: string[] = []
  const exit = runAgent({
    cmdline: `anvil.grpc=127.0.0.1:${port} anvil.token=${await p.agents.issueToken(machine.id, '127.0.0.1')} anvil.fingerprint=${cert.fingerprint} BOOTIF=01-${MAC.replaceAll(':', '-')}`,
    root,
    log: (l) => lines.push(l),
    backoff: async () => { await new Promise((resolve) => setTimeout(resolve, 100)) }
  })
  assert.match(await closed, /powered off or reset through its BMC/)
  await cut
  assert.equal((await inv.machines.get(machine.id)).state, 'ready', 'the wipe\'s result was committed before the cut')
  assert.equal((await p.store.tasks(machine.id)).find(t => t.id === task.id)?.state, 'done')
  // The power cycle ended the session (credential deleted): the agent's reconnect is refused, and it exits.
  assert.equal(await exit, 3, lines.join('\n'))
  await inv.timeline.flush()
  assert.ok((await inv.machines.events(machine.id)).some(e => e.type === 'agent.cut-off'))
})
