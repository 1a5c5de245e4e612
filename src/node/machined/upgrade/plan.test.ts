import assert from 'node:assert/strict'
import { test } from 'node:test'
import { framePlan } from '../../../agent/install-plan.ts'
import { INITIAL_ENV } from '../../../image/grub.ts'
import { CHUNK_SIZE, type ImageManifest } from '../../../image/manifest.ts'
import type { StoredOperation } from '../../../node-state/record.ts'
import { waitForOperation, operationFailure } from '../../../cli/node-wait.ts'
import { CodedError } from '../../../lib/errors.ts'
import type { Operation } from '../../../proto/generated/anvil/node/v1/Operation.ts'
import { settleAfterBoot, upsert } from '../operations.ts'
import { healthProblem } from './health.ts'
import { bootOutcome, checkUpgradeVersion, commitTrial, compareVersions, disableSlot, isCommitted, preferSlot, selectTrial, slotImageRange } from './plan.ts'

const ZERO = 'bb9f8df61474d25e71fa00722318cd387396ca1736605e1248821cc0de3d3af8' // SHA-256 of 4 MiB of zeroes

test('versions compare as dotted numbers, a pre-release before its release', () => {
  assert.ok(compareVersions('0.10.0', '0.2.0') > 0)
  assert.ok(compareVersions('0.2.0', '0.2.1') < 0)
  assert.equal(compareVersions('1.0', '1.0.0'), 0)
  assert.ok(compareVersions('1.0.0-rc.1', '1.0.0') < 0)
  assert.ok(compareVersions('1.0.0-rc.2', '1.0.0-rc.1') > 0)
})

test('upgrade versions: newer passes; equal or older only with force; a lower security version never', () => {
  const running = { version: '0.2.0', securityVersion: 2 }
  checkUpgradeVersion(running, { version: '0.3.0', securityVersion: 2 }, false)
  checkUpgradeVersion(running, { version: '0.2.0', securityVersion: 3 }, true)
  checkUpgradeVersion(running, { version: '0.1.0', securityVersion: 2 }, true)
  const downgrade = { code: 'ERR_IMAGE_DOWNGRADE' }
  assert.throws(() => { checkUpgradeVersion(running, { version: '0.2.0', securityVersion: 2 }, false) }, downgrade)
  assert.throws(() => { checkUpgradeVersion(running, { version: '0.1.9', securityVersion: 5 }, false) }, downgrade)
  assert.throws(() => { checkUpgradeVersion(running, { version: '9.0.0', securityVersion: 1 }, true) }, { code: 'ERR_IMAGE_DOWNGRADE', message: /even with force/ })
})

test('grubenv: disable, select for one try, commit, prefer; the running slot keeps OK=1 throughout', () => {
  const installed = { ...INITIAL_ENV, A_OK: '1', A_LEFT: '2' }
  const disabled = disableSlot({ ...installed, B_OK: '1' }, 'B')
  assert.deepEqual(disabled, { ...installed, B_OK: '0', B_LEFT: '0' })
  const trial = selectTrial(disabled, 'B')
  assert.deepEqual(trial, { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '0', B_LEFT: '1' })
  assert.deepEqual(Object.keys(trial), Object.keys(INITIAL_ENV), 'the order of the lines is kept (they stay in the first sector)')
  const spent = { ...trial, B_LEFT: '0' } // GRUB's save_env before it boots B
  assert.deepEqual(commitTrial(spent, 'B'), { ANVIL_ORDER: 'B A', A_OK: '1', A_LEFT: '2', B_OK: '1', B_LEFT: '0' })
  assert.deepEqual(preferSlot(spent, 'A'), { ...spent, ANVIL_ORDER: 'A B' })
  assert.ok(isCommitted(spent, 'A') && !isCommitted(spent, 'B'))
})

test('the boot after a switch: on the new slot, or fell back; nothing pending: none', () => {
  const p = { fromSlot: 'A', toSlot: 'B' } as const
  assert.equal(bootOutcome(p, 'B'), 'on-new-slot')
  assert.equal(bootOutcome(p, 'A'), 'fell-back')
  assert.equal(bootOutcome(undefined, 'A'), 'none')
  assert.equal(bootOutcome(p, undefined), 'none')
})

/** An artifact of 6 chunks: 0 data, 1 zero, 2 data, 3 zero, 4 data, 5 data; frames of 10, 1, 20, 1, 30, 40 bytes. */
const artifact = {
  chunkSize: CHUNK_SIZE,
  size: 6 * CHUNK_SIZE,
  chunks: ['a'.repeat(64), ZERO, 'c'.repeat(64), ZERO, 'e'.repeat(64), 'f'.repeat(64)],
  frames: [10, 1, 20, 1, 30, 40]
} as unknown as ImageManifest['artifact']

test('the frame plan of a window: only its chunks, at target offsets from 0, frames at their artifact offsets', () => {
  const plan = framePlan(artifact, { start: 2 * CHUNK_SIZE, end: 5 * CHUNK_SIZE })
  assert.deepEqual(plan.data.map(d => [d.index, d.start, d.end, d.frame.start, d.frame.end]), [
    [2, 0, CHUNK_SIZE, 11, 31],
    [4, 2 * CHUNK_SIZE, 3 * CHUNK_SIZE, 32, 62]
  ])
  assert.deepEqual(plan.zeroRuns, [{ start: CHUNK_SIZE, end: 2 * CHUNK_SIZE }])
  assert.deepEqual(plan.fetch, [{ start: 11, end: 31 }, { start: 32, end: 62 }])
  assert.equal(plan.dataBytes, 2 * CHUNK_SIZE)
  assert.deepEqual(framePlan(artifact).data.map(d => d.index), [0, 2, 4, 5], 'no window: the whole image, as the install plans it')
  assert.throws(() => framePlan(artifact, { start: 1, end: CHUNK_SIZE }), RangeError)
})

test('a slot\'s image range must be whole chunks', () => {
  const manifest = { artifact: { chunkSize: CHUNK_SIZE }, slots: { A: 'ANVIL-A', B: 'ANVIL-B' }, layout: { sectorSize: 512, partitions: [{ name: 'ANVIL-A', firstLba: 8192, lastLba: 8192 + 16384 - 1 }] } } as unknown as ImageManifest
  assert.deepEqual(slotImageRange(manifest), { start: CHUNK_SIZE, end: 3 * CHUNK_SIZE })
  const odd = { ...manifest, layout: { ...manifest.layout, partitions: [{ name: 'ANVIL-A', firstLba: 2048, lastLba: 10000 }] } } as unknown as ImageManifest
  assert.throws(() => slotImageRange(odd), { code: 'ERR_VALIDATION' })
})

test('health: both daemons running for a while and a certificate; else the first thing missing', () => {
  const s = (id: string, state: 'running' | 'backoff', startedAtMs: number, lastExit = ''): Parameters<typeof healthProblem>[0][number] => ({ id, state, pid: 1, restarts: 0, startedAtMs, health: 'unknown', lastExit })
  assert.equal(healthProblem([s('trustd', 'running', 0), s('apid', 'running', 0)], true, 60_000), undefined)
  assert.equal(healthProblem([s('trustd', 'running', 0)], true, 60_000), 'apid is not started')
  assert.equal(healthProblem([s('trustd', 'running', 0), s('apid', 'backoff', 0, 'exit 1')], true, 60_000), 'apid is backoff (last exit: exit 1)')
  assert.match(healthProblem([s('trustd', 'running', 55_000), s('apid', 'running', 0)], true, 60_000) ?? '', /trustd has run for less than/)
  assert.match(healthProblem([s('trustd', 'running', 0), s('apid', 'running', 0)], false, 60_000) ?? '', /no certificate/)
})

test('operations: newest first, at most 16, replaced in place; after a boot a reboot that happened succeeded and a cut upgrade failed', () => {
  const op = (id: string, over: Partial<StoredOperation> = {}): StoredOperation => ({ id, kind: 'reboot', state: 'running', phase: 'p', startedAtMs: 0, ...over })
  let list: StoredOperation[] = []
  for (let i = 0; i < 20; i++) list = upsert(list, op(`op-${i}`))
  assert.equal(list.length, 16)
  assert.equal(list[0]?.id, 'op-19')
  list = upsert(list, op('op-10', { state: 'failed' }))
  assert.equal(list.length, 16)
  assert.equal(list.find(o => o.id === 'op-10')?.state, 'failed')
  const settled = settleAfterBoot([op('r1', { bootIdBefore: 'boot-1' }), op('r2', { bootIdBefore: 'boot-2' }), op('u1', { kind: 'upgrade' }), op('u2', { kind: 'upgrade' })], 'boot-2', 'u2', 5)
  assert.deepEqual(settled.map(o => o.state), ['succeeded', 'running', 'failed', 'running'])
})

test('--wait: retries an unreachable node with backoff until the operation is final; says each phase once; gives up at the deadline', async () => {
  let t = 0
  const answers: Array<Operation | Error> = [
    { id: 'op', kind: 'upgrade', state: 'running', phase: 'reboot' } as Operation,
    new CodedError('ERR_NODE_UNREACHABLE', 'down'),
    new CodedError('ERR_NODE_UNREACHABLE', 'down'),
    { id: 'op', kind: 'upgrade', state: 'running', phase: 'health' } as Operation,
    { id: 'op', kind: 'upgrade', state: 'rolled_back', phase: 'health', error: 'health gate: apid is backoff', errorCode: 'ERR_ROLLOUT_FAILED' } as Operation
  ]
  const phases: string[] = []
  const sleeps: number[] = []
  const done = await waitForOperation(async () => {
    const a = answers.shift()
    if (a instanceof Error) throw a
    return a ?? null
  }, { timeoutMs: 600_000, now: () => t, sleep: async (ms) => { sleeps.push(ms); t += ms }, onPhase: p => phases.push(p), delayMs: 100 })
  assert.equal(done.state, 'rolled_back')
  assert.deepEqual(phases, ['reboot', 'node unreachable (rebooting?)', 'health'])
  assert.deepEqual(sleeps, [100, 200, 400, 100])
  assert.match(operationFailure(done)?.message ?? '', /rolled_back: health gate/)
  assert.equal(operationFailure({ ...done, state: 'succeeded' }), undefined)
  t = 0
  await assert.rejects(waitForOperation(async () => { throw new CodedError('ERR_NODE_UNREACHABLE', 'down') }, { timeoutMs: 1000, now: () => t, sleep: async (ms) => { t += ms }, delayMs: 100 }), { code: 'ERR_NODE_UNREACHABLE', message: /not final after 1 s/ })
  await assert.rejects(waitForOperation(async () => { throw new CodedError('ERR_NODE_ROLE_DENIED', 'no') }, { timeoutMs: 1000 }), { code: 'ERR_NODE_ROLE_DENIED' })
})
