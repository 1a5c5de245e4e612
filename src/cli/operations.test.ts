import { test, describe, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { buildApiApp } from '../http/api-app.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import type { OpenedStream } from '../provisioning/agent-gateway.ts'
import { buildProgram } from './program.ts'
import { ApiClient } from './client.ts'
import { age, watchOperation } from './operations.ts'

// The CLI against a real admin API on 127.0.0.1 (real HTTP, real stores, the real agent service).

const TOKEN = 'test-token-0123456789abcdef'
const MiB = 2 ** 20
const HOSTILE = 'wipe\x1b]0;owned\x07'

describe('anvil operations', async () => {
  const inv = makeInventory()
  const { agents, discovery, operations } = makeProvisioning(inv)
  const app = buildApiApp({ machines: inv.machines, adminToken: TOKEN, log: createLogger('silent'), discovery, operations })
  // Each poll of one operation, counted, so the test moves the agent on only after the watch has
  // seen the same state several times (and so must not have printed it again).
  let polls = 0
  const waiting: Array<{ at: number, resolve: () => void }> = []
  app.addHook('onResponse', async (req) => {
    if (!req.url.startsWith('/api/v1/operations/')) return
    polls++
    for (const w of waiting.filter(w => w.at <= polls)) { waiting.splice(waiting.indexOf(w), 1); w.resolve() }
  })
  /** Resolves once `n` more polls of an operation were answered. */
  const morePolls = async (n: number): Promise<void> => { await new Promise<void>((resolve) => { waiting.push({ at: polls + n, resolve }) }) }
  await app.listen({ port: 0, host: '127.0.0.1' })
  const endpoint = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`
  const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-ops-'))
  const tokenFile = join(tmp, 'token')
  writeFileSync(tokenFile, TOKEN)
  after(async () => {
    await app.close()
    rmSync(tmp, { recursive: true, force: true })
  })

  const run = async (args: string[], onPrint?: (text: string) => void): Promise<string> => {
    let out = ''
    await buildProgram(async () => {}, (t) => { out += t; onPrint?.(t) }).parseAsync(['--endpoint', endpoint, '--token-file', tokenFile, ...args], { from: 'user' })
    return out
  }

  let mac = 0x80
  /** A machine wiping vda (64 MiB), its agent holding the task. */
  const wiping = async (): Promise<{ machineId: string, taskId: string, stream: OpenedStream, ctl: AbortController }> => {
    const m = `52:54:00:77:00:${(mac++).toString(16)}`
    const { machine } = await inv.machines.registerBoot({ mac: m })
    await discovery.accept(machine.id)
    const task = await discovery.wipe(machine.id, { method: 'zeroes', disks: ['vda'] })
    const stream = await agents.openSession({ kind: 'token', token: await agents.issueToken(machine.id, '10.77.0.180') }, { agentVersion: '1', bootMac: m, bootDisk: '' }, '10.77.0.180')
    const ctl = new AbortController()
    await agents.tasks(stream, ctl.signal)[Symbol.asyncIterator]().next()
    return { machineId: machine.id, taskId: task.id, stream, ctl }
  }
  const progress = (w: { taskId: string, stream: OpenedStream }, phase: string, done: number): void => {
    agents.progress(w.stream, { taskId: w.taskId, disk: 'vda', phase, bytesDone: done, bytesTotal: 64 * MiB, rateBytesPerSecond: MiB })
  }

  test('list: a table with id, machine, kind, state, phase, progress and age; filters; JSON exact; server errors keep their code', async () => {
    const w = await wiping()
    progress(w, HOSTILE, 16 * MiB)
    inv.clock.advance(1000)
    const table = await run(['operations', 'list', '--machine', w.machineId])
    const [header, row, ...rest] = table.trimEnd().split('\n')
    assert.deepEqual(header?.split(/\s{2,}/), ['ID', 'MACHINE', 'KIND', 'STATE', 'PHASE', 'PROGRESS', 'AGE'])
    assert.deepEqual(row?.split(/\s{2,}/).slice(0, 6), [w.taskId, w.machineId, 'wipe', 'running', 'wipe\\x1b]0;owned\\x07', '25%'])
    assert.match(row ?? '', /\s\d+[smhd]$/)
    assert.deepEqual(rest, [])
    assert.ok(![...table].some(c => /\p{Cc}/u.test(c) && c !== '\n'), 'no raw control character reaches the terminal')
    const json = JSON.parse(await run(['-o', 'json', 'operations', 'list', '--machine', w.machineId, '--state', 'running', '--kind', 'wipe', '--limit', '5'])) as Array<{ id: string, phase: string, bytesDone: number }>
    assert.deepEqual(json.map(o => [o.id, o.phase, o.bytesDone]), [[w.taskId, HOSTILE, 16 * MiB]], 'JSON stays exact')
    assert.deepEqual(JSON.parse(await run(['-o', 'json', 'operations', 'list', '--machine', w.machineId, '--state', 'done'])), [])
    await assert.rejects(run(['operations', 'list', '--state', 'exploded']), { code: 'ERR_VALIDATION', message: /state "exploded" is not one of/ })
    await assert.rejects(run(['operations', 'list', '--limit', '0']), (err: Error) => /an integer from 1 to 500/.test(err.message))
    w.ctl.abort()
  })

  test('show: every field and a bar per disk; -o yaml; an unknown id is ERR_OPERATION_NOT_FOUND', async () => {
    const w = await wiping()
    progress(w, 'wipe', 48 * MiB)
    const shown = await run(['operations', 'show', w.taskId])
    const fields = new Map(shown.trimEnd().split('\n').filter(l => /^[a-z ]+:/.test(l)).map(l => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]))
    assert.equal(fields.get('id'), w.taskId)
    assert.equal(fields.get('machine'), w.machineId)
    assert.equal(fields.get('state'), 'running')
    assert.equal(fields.get('phase'), 'wipe')
    assert.equal(fields.get('progress'), '75% (48 MiB of 64 MiB)')
    assert.equal(fields.get('result'), '-')
    for (const k of ['kind', 'error', 'created', 'started', 'finished', 'cancel requested', 'progress at']) assert.ok(fields.has(k), k)
    assert.match(shown, /^vda\s+\[#+\.+\]\s+75%\s+48 MiB \/ 64 MiB/m)
    const yaml = await run(['-o', 'yaml', 'operations', 'show', w.taskId])
    assert.match(yaml, /^bytesDone: 50331648$/m)
    await assert.rejects(run(['operations', 'show', 't-00000000-0000-0000-0000-000000000000']), { code: 'ERR_OPERATION_NOT_FOUND' })
    w.ctl.abort()
  })

  test('watch: a line per change of phase or percent, none for a poll that saw no change; exit 0 once done', async () => {
    const w = await wiping()
    progress(w, 'wipe', 0)
    // What the agent does after each line the watch prints; every move waits for three more polls,
    // which saw no change and so must have printed nothing.
    const settled = async (): Promise<void> => { await morePolls(3) }
    const afterLine = [
      async () => { progress(w, 'wipe', 32 * MiB) },
      async () => {
        progress(w, 'wipe', 32 * MiB + 1) // the same percent: no line
        await settled()
        progress(w, 'verify', 0)
      },
      async () => { await agents.result(w.stream, { taskId: w.taskId, ok: true, error: '', eraseReports: [{ disk: 'vda', serial: '', method: 'zeroes', bytesWritten: 64 * MiB, durationMs: 9, verified: true, refused: '' }], install: null }) }
    ]
    let pending: Promise<void> = Promise.resolve()
    const advance = (): void => {
      const next = afterLine.shift()
      if (next !== undefined) pending = pending.then(settled).then(next)
    }
    const out = await run(['operations', 'watch', w.taskId, '--interval', '5'], advance)
    await pending
    assert.deepEqual(out.trimEnd().split('\n').map(l => l.split('  ').slice(1)), [
      ['running', 'wipe', '0% (0 B of 64 MiB)'],
      ['running', 'wipe', '50% (32 MiB of 64 MiB)'],
      ['running', 'verify', '0% (0 B of 64 MiB)'],
      ['done', 'verify', '100% (0 B of 64 MiB)']
    ])
    w.ctl.abort()
  })

  test('watch: a failed operation exits 1 with its error; -o json prints the operation as it ended', async () => {
    const w = await wiping()
    await agents.result(w.stream, { taskId: w.taskId, ok: false, error: `vda: EIO at 4096 ${HOSTILE}`, eraseReports: [], install: null })
    let out = ''
    await assert.rejects(run(['operations', 'watch', w.taskId, '--interval', '5'], (t) => { out += t }), { code: 'ERR_OPERATION_FAILED', message: /failed: vda: EIO at 4096/ })
    assert.equal(out, `${w.taskId}  failed  -  -  error: vda: EIO at 4096 wipe\\x1b]0;owned\\x07\n`, 'no progress was reported; the error escaped')
    let json = ''
    await assert.rejects(run(['-o', 'json', 'operations', 'watch', w.taskId], (t) => { json += t }), { code: 'ERR_OPERATION_FAILED' })
    assert.equal((JSON.parse(json) as { state: string }).state, 'failed')
    w.ctl.abort()
  })

  test('watchOperation stops with ERR_INTERRUPTED when its signal aborts, and the operation goes on', async () => {
    const w = await wiping()
    const ctl = new AbortController()
    const lines: string[] = []
    const watching = watchOperation(new ApiClient({ endpoint, tokenFile }), w.taskId, (l) => { lines.push(l); ctl.abort() }, { intervalMs: 60_000, signal: ctl.signal })
    await assert.rejects(watching, { code: 'ERR_INTERRUPTED', message: /it goes on/ })
    assert.equal(lines.length, 1)
    assert.equal((await operations.get(w.taskId)).state, 'running')
    w.ctl.abort()
  })

  test('anvil operations watch, a real process: Ctrl-C (SIGINT) stops watching with status 130, the operation untouched', async () => {
    const w = await wiping()
    const bin = fileURLToPath(new URL('../bin/anvil.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', bin, '--endpoint', endpoint, '--token-file', tokenFile, 'operations', 'watch', w.taskId, '--interval', '50'], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stderr.on('data', (b: Buffer) => { stderr += b.toString() })
    await new Promise<void>((resolve, reject) => {
      child.on('exit', () => { reject(new Error(`the watch ended before its first line: ${stderr}`)) })
      child.stdout.on('data', (b: Buffer) => {
        stdout += b.toString()
        if (stdout.includes('\n')) resolve()
      })
    })
    const exit = new Promise<number | null>((resolve) => { child.removeAllListeners('exit'); child.on('exit', (code) => { resolve(code) }) })
    child.kill('SIGINT')
    assert.equal(await exit, 130, stderr)
    assert.match(stdout, new RegExp(`^${w.taskId} {2}running`))
    assert.match(stderr, /stopped watching operation t-[0-9a-f-]+; it goes on \(anvil operations watch t-[0-9a-f-]+\) \[ERR_INTERRUPTED\]/)
    assert.equal((await operations.get(w.taskId)).state, 'running')
    w.ctl.abort()
  })
})

test('age is the largest whole unit', () => {
  const now = Date.parse('2026-11-22T12:00:00Z')
  assert.equal(age('2026-11-22T11:59:15Z', now), '45s')
  assert.equal(age('2026-11-22T11:48:00Z', now), '12m')
  assert.equal(age('2026-11-22T09:00:00Z', now), '3h')
  assert.equal(age('2026-11-20T12:00:00Z', now), '2d')
  assert.equal(age('2026-11-22T12:00:05Z', now), '0s', 'a clock ahead of ours is now')
})
