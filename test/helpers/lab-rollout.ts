// The lab step of the fleet upgrade (issue 11), for the lead's e2e (not run by unit or integration
// tiers): two provisioned VMs upgraded by `anvil machines upgrade --max-parallel 1 --wait`, then
// checked through the admin API: one machine at a time, both committed, every machine's timeline
// telling the story.
import assert from 'node:assert/strict'
import type { Lab } from '../../lab/start-lab.ts'
import type { OperationJson } from '../../src/http/api-types.ts'
import { api, cli } from './lab-install.ts'

export type LabRolloutResult = {
  readonly operation: OperationJson
  /** Command to end, as the CLI waited for it. */
  readonly seconds: number
  readonly output: string
}

/**
 * Upgrades the lab's provisioned machines with one command (selector `state=provisioned`,
 * --max-parallel 1, --wait) and asserts what a rolling upgrade promises. Preconditions: exactly
 * `machineIds` are provisioned, their nodes report a lower version than `image`, and `image` is
 * imported and ready. Returns the rollout as it ended and how long the command took (for
 * docs/benchmarks.md).
 */
export async function labRollingUpgrade (lab: Lab, machineIds: readonly string[], image = 'anvil-node:0.2.0', timeoutMs = 40 * 60_000): Promise<LabRolloutResult> {
  const [name, version] = image.split(':') as [string, string]
  const t0 = Date.now()
  // Anvil itself dials the nodes' apid (from its host side of the lab), so the CLI needs no lab namespace.
  const output = await cli(lab, ['machines', 'upgrade', '--selector', 'state=provisioned', '--image', image, '--max-parallel', '1', '--health-timeout', '10m', '--wait', '--interval', '2000'], timeoutMs)
  const seconds = (Date.now() - t0) / 1000
  const id = /^rollout (r-[0-9a-f-]+)/m.exec(output)?.[1]
  assert.ok(id !== undefined, `no rollout id in:\n${output}`)
  const got = await api(lab, 'GET', `/api/v1/operations/${id}`)
  assert.equal(got.status, 200)
  const operation = got.body as OperationJson
  const r = operation.rollout
  assert.ok(r !== undefined)
  assert.equal(operation.state, 'done', `${operation.error ?? ''}\n${output}`)
  assert.deepEqual([...r.machines.map(m => m.machineId)].sort(), [...machineIds].sort(), 'the selector picked exactly the provisioned VMs')
  for (const m of r.machines) {
    assert.equal(m.state, 'succeeded', `${m.machineId}: ${m.error ?? ''}`)
    assert.equal(m.toVersion, version)
    assert.notEqual(m.fromVersion, version, 'it was on another version before')
    assert.ok(m.nodeOperationId !== null && m.nodeOperationId !== '', 'the node\'s own operation is recorded')
  }
  // --max-parallel 1: the second machine started after the first ended.
  const spans = r.machines.map(m => [Date.parse(m.startedAt ?? ''), Date.parse(m.finishedAt ?? '')] as const).sort((a, b) => a[0] - b[0])
  for (let i = 1; i < spans.length; i++) assert.ok((spans[i]?.[0] ?? 0) >= (spans[i - 1]?.[1] ?? Infinity), 'never two machines at once')
  for (const machineId of machineIds) {
    const events = await api(lab, 'GET', `/api/v1/machines/${encodeURIComponent(machineId)}/events?limit=10000`)
    const types: string[] = (events.body.items as Array<{ type: string, data: { rolloutId?: string } | null }>).filter(e => e.data?.rolloutId === id).map(e => e.type)
    assert.deepEqual(types, ['rollout.started', 'rollout.machine', 'rollout.done'])
    // What the node reports of itself once committed (NodeNotice `upgraded`, or its next report).
    const shown = await api(lab, 'GET', `/api/v1/machines/${encodeURIComponent(machineId)}`)
    // Needs the node's NodeNotice `upgraded` (or its next report) to update machine_nodes.
    assert.deepEqual([shown.body.install?.node?.image, shown.body.install?.node?.version], [name, version], 'the inventory shows the committed version')
  }
  return { operation, seconds, output }
}
