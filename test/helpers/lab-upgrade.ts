// The lab steps of a node upgrade and rollback (issue 11), for test/e2e/install-flow.test.ts to
// call once a VM is provisioned and its node API answers (after nodeApiAnswers). Not run by the
// upgrade helper: the lead runs the lab. What it proves on a real VM, through the real CLI:
//   1. a second image, the same build as version 0.2.0 (ANVIL_IMAGE_VERSION), signed with the
//      lab's image key (the caller builds it), imported into Anvil;
//   2. `anvil -n ID upgrade --image anvil-node:0.2.0 --wait`: the operation ends succeeded, the
//      node runs slot B with 0.2.0 (Version), its operations list it committed;
//   3. `anvil -n ID rollback --wait`: back on slot A with 0.1.0; a second rollback is possible
//      (B stays committed), an upgrade to 0.2.0 again without --force is not a downgrade (0.2.0 > 0.1.0).
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { LabBmc } from '../../lab/bmc.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { waitFor } from '../../lab/proc.ts'
import { api, cli, type LabImage } from './lab-install.ts'

/** Under TCG: a 512 MiB slot written and read back, a reboot through the firmware, the gate. */
const UPGRADE_TIMEOUT_MS = 25 * 60_000

type VersionOutcome = Array<{ node: string, result?: { slot?: string, imageVersion?: string } }>
type OperationOutcome = Array<{ node: string, result?: { operation?: { id: string, kind: string, state: string, phase: string, toSlot: string, toVersion: string, error: string } } }>

/**
 * Upgrade to `next` (0.2.0, built with buildLabImage({ version, keysFrom }) from the installed
 * image), then roll back to 0.1.0, on one provisioned VM whose node API answers.
 */
export async function labUpgradeAndRollback (lab: Lab, bmc: LabBmc, id: string, next: LabImage): Promise<{ upgradeSeconds: number, rollbackSeconds: number }> {
  assert.match(await cli(lab, ['images', 'import', next.manifestFile]), /anvil-node/)
  assert.match(await cli(lab, ['images', 'list']), /anvil-node\s+0\.2\.0\s+ready/)
  // An admin's certificate (Upgrade and Rollback are admin), in a context of its own.
  const env = { ANVIL_HOME: join(lab.runDir, `anvil-home-${bmc.vm.name}-admin`) }
  const bundle = join(lab.runDir, `${bmc.vm.name}.admin.pem`)
  writeFileSync(bundle, await cli(lab, ['certs', 'client', '--role', 'admin', '--name', 'e2e-admin'], 60_000, { stdoutOnly: true }), { mode: 0o600 })
  const view = await api(lab, 'GET', `/api/v1/machines/${id}`)
  const ip = String(view.body?.install?.node?.addresses?.[0] ?? '').split('/')[0] ?? ''
  assert.match(ip, /^10\.77\./)
  await cli(lab, ['context', 'add', 'lab-admin', '--endpoint', ip, '--cert', bundle], 30_000, { env })
  const node = async (args: string[], timeoutMs = 60_000): Promise<string> => await cli(lab, ['-n', id, ...args], timeoutMs, { env, stdoutOnly: true, inLab: true })
  const version = async (): Promise<{ slot?: string, imageVersion?: string } | undefined> => (JSON.parse(await node(['version', '-o', 'json'])) as VersionOutcome)[0]?.result

  const before = await version()
  assert.deepEqual([before?.slot, before?.imageVersion], ['A', '0.1.0'])
  let started = performance.now()
  const up = (JSON.parse(await node(['upgrade', '--image', 'anvil-node:0.2.0', '--wait', '--health-timeout', '5m', '-o', 'json'], UPGRADE_TIMEOUT_MS)) as OperationOutcome)[0]?.result?.operation
  const upgradeSeconds = (performance.now() - started) / 1000
  assert.deepEqual([up?.kind, up?.state, up?.toSlot, up?.toVersion], ['upgrade', 'succeeded', 'B', '0.2.0'], JSON.stringify(up))
  const now = await version()
  assert.deepEqual([now?.slot, now?.imageVersion], ['B', '0.2.0'])
  const ops = JSON.parse(await node(['node-operations', '-o', 'json'])) as Array<{ result?: { operations?: Array<{ id: string, state: string, phase: string }> } }>
  assert.deepEqual(ops[0]?.result?.operations?.[0], { ...ops[0]?.result?.operations?.[0], id: up?.id, state: 'succeeded', phase: 'commit' })
  // Anvil heard it from the node (NodeNotice upgraded): its timeline and its inventory say so.
  const upgraded = await waitFor('node.upgraded in the timeline', 120_000, async () => (await lab.api.events(id)).find(e => e.type === 'node.upgraded'))
  assert.match(upgraded.message, /0\.2\.0/, upgraded.message)
  console.log(`# ${bmc.vm.name}: upgraded to 0.2.0 on slot B in ${Math.round(upgradeSeconds)} s`)

  started = performance.now()
  const back = (JSON.parse(await node(['rollback', '--wait', '-o', 'json'], UPGRADE_TIMEOUT_MS)) as OperationOutcome)[0]?.result?.operation
  const rollbackSeconds = (performance.now() - started) / 1000
  assert.deepEqual([back?.kind, back?.state, back?.toSlot], ['rollback', 'succeeded', 'A'], JSON.stringify(back))
  const after = await version()
  assert.deepEqual([after?.slot, after?.imageVersion], ['A', '0.1.0'])
  console.log(`# ${bmc.vm.name}: rolled back to 0.1.0 on slot A in ${Math.round(rollbackSeconds)} s`)
  return { upgradeSeconds, rollbackSeconds }
}
