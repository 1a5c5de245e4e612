import { test, describe } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildApiApp } from '../http/api-app.ts'
import { createLogger } from '../log/logger.ts'
import type { OperationJson } from '../http/api-types.ts'
import { makeRolloutRig, type RolloutRig } from '../../test/helpers/rollout-rig.ts'
import type { UpgradeScript } from '../../test/helpers/node-upgrade-double.ts'
import { buildProgram } from './program.ts'

// POST /api/v1/machines/upgrade and `anvil machines upgrade` against a real admin API on
// 127.0.0.1, the rollout running against node API doubles with real mutual TLS.

const TOKEN = 'test-token-0123456789abcdef'
const auth = { authorization: `Bearer ${TOKEN}` }

async function withServer (scripts: readonly UpgradeScript[], fn: (s: { rig: RolloutRig, app: ReturnType<typeof buildApiApp>, run: (args: string[]) => Promise<string> }) => Promise<void>): Promise<void> {
  const rig = await makeRolloutRig(scripts)
  const app = buildApiApp({ machines: rig.inv.machines, adminToken: TOKEN, log: createLogger('silent'), operations: rig.operations, rollouts: rig.rollouts })
  await app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-rollout-'))
  const tokenFile = join(tmp, 'token')
  writeFileSync(tokenFile, TOKEN)
  const run = async (args: string[]): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t }).parseAsync(['--endpoint', endpoint, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }
  try {
    await fn({ rig, app, run })
  } finally {
    await app.close()
    await rig.close()
    rmSync(tmp, { recursive: true, force: true })
  }
}

describe('anvil machines upgrade', () => {
  test('--wait: a line per change, the machines table at the end; then operations list/show know the rollout', async () => {
    await withServer(['succeeds', 'succeeds'], async ({ run }) => {
      const out = await run(['machines', 'upgrade', '--selector', 'state=provisioned', '--image', 'anvil-node:0.2.0', '--max-parallel', '2', '--health-timeout', '2m', '--wait', '--interval', '100'])
      const lines = out.trimEnd().split('\n')
      assert.match(lines[0] ?? '', /^rollout (r-[0-9a-f-]+): anvil-node:0\.2\.0 on 2 machines, 2 at a time$/)
      const id = /^rollout (r-[0-9a-f-]+)/.exec(lines[0] ?? '')?.[1] as string
      assert.ok(lines.some(l => /^r-[0-9a-f-]+ {2}done {2}done {2}2\/2 machines$/.test(l)), out)
      assert.ok(lines.some(l => /^ {2}m-rollout-1 {2}succeeded {2}commit {2}\(node operation op-127\.0\.0\.3-1\)$/.test(l)), out)
      const table = lines.slice(lines.findIndex(l => l.startsWith('MACHINE')))
      assert.deepEqual(table[0]?.split(/\s{2,}/), ['MACHINE', 'STATE', 'PHASE', 'FROM', 'TO', 'NODE OPERATION', 'ERROR'])
      assert.deepEqual(table[1]?.split(/\s{2,}/).slice(0, 6), ['m-rollout-0', 'succeeded', 'commit', '0.1.0', '0.2.0', 'op-127.0.0.2-1'])

      const listed = JSON.parse(await run(['-o', 'json', 'operations', 'list', '--kind', 'rollout'])) as OperationJson[]
      assert.deepEqual(listed.map(o => [o.id, o.kind, o.state, o.machineId]), [[id, 'rollout', 'done', null]])
      const byMachine = JSON.parse(await run(['-o', 'json', 'operations', 'list', '--machine', 'm-rollout-1'])) as OperationJson[]
      assert.deepEqual(byMachine.map(o => o.id), [id], 'a machine\'s operations include the rollouts it was in')
      const shown = await run(['operations', 'show', id])
      assert.match(shown, /progress:\s+2\/2 machines/)
      assert.match(shown, /selector:\s+state=provisioned/)
      assert.match(shown, /m-rollout-0\s+succeeded\s+commit\s+0\.1\.0\s+0\.2\.0\s+op-127\.0\.0\.2-1/)
      await run(['operations', 'watch', id]) // done: exits 0
    })
  })

  test('--wait on a failing rollout exits non-zero with ERR_ROLLOUT_FAILED naming the machine; without --wait it prints the id', async () => {
    await withServer(['rolls-back', 'succeeds'], async ({ run, rig }) => {
      await assert.rejects(run(['machines', 'upgrade', '--selector', 'id=m-rollout-*', '--image', 'anvil-node', '--wait', '--interval', '100']), {
        code: 'ERR_ROLLOUT_FAILED',
        message: /^rollout r-[0-9a-f-]+ failed: machine m-rollout-0 \(node operation op-127\.0\.0\.2-1\) rolled_back: the new slot was not healthy within 300 s: apid did not start; 1 machine not started$/
      })
      assert.equal(rig.doubles[1]?.calls.length, 0)
      await assert.rejects(run(['machines', 'upgrade', '--selector', 'state=provisioned', '--image', 'anvil-node', '--max-parallel', '65']), /an integer from 1 to 64/)
      await assert.rejects(run(['machines', 'upgrade', '--selector', 'state=provisioned', '--image', 'anvil-node:0.3.0']), { code: 'ERR_IMAGE_NOT_READY' })
    })
  })

  test('the route: 202 with the rollout operation; precise refusals; GET /api/v1/operations/r-… follows it', async () => {
    await withServer(['succeeds'], async ({ app, rig }) => {
      const post = async (payload: Record<string, unknown>) => await app.inject({ method: 'POST', url: '/api/v1/machines/upgrade', headers: auth, payload })
      assert.equal((await post({ selector: 'state=provisioned', image: 'anvil-node:0.2.0', maxParallel: 0 })).statusCode, 400)
      const none = await post({ selector: 'serial=XYZ', image: 'anvil-node:0.2.0' })
      assert.equal(none.statusCode, 404)
      assert.equal(none.json().error.code, 'ERR_MACHINE_NOT_FOUND')
      const notReady = await post({ selector: 'state=provisioned', image: 'anvil-node:0.3.0' })
      assert.deepEqual([notReady.statusCode, notReady.json().error.code], [409, 'ERR_IMAGE_NOT_READY'])
      const bad = await post({ selector: 'state=exploded', image: 'anvil-node:0.2.0' })
      assert.deepEqual([bad.statusCode, bad.json().error.code], [400, 'ERR_VALIDATION'])

      const res = await post({ selector: 'state=provisioned', image: 'anvil-node:0.2.0', healthTimeoutS: 60, force: false })
      assert.equal(res.statusCode, 202)
      const { operation } = res.json() as { operation: OperationJson }
      assert.match(operation.id, /^r-[0-9a-f-]{36}$/)
      assert.deepEqual([operation.kind, operation.state, operation.machineId, operation.rollout?.machinesTotal, operation.rollout?.healthTimeoutS], ['rollout', 'running', null, 1, 60])
      assert.equal(typeof operation.createdAt, 'string')
      await rig.rollouts.settled(operation.id)
      const got = await app.inject({ method: 'GET', url: `/api/v1/operations/${operation.id}`, headers: auth })
      assert.equal(got.statusCode, 200)
      const ended = got.json() as OperationJson
      assert.equal(ended.state, 'done')
      assert.match(ended.rollout?.machines[0]?.finishedAt ?? '', /^\d{4}-\d\d-\d\dT/)
    })
  })
})
