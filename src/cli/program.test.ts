import { test } from 'node:test'
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { buildProgram } from './program.ts'
import { terminalSafe } from '../lib/text.ts'

test('terminalSafe keeps line feeds and escapes every other control character', () => {
  assert.equal(terminalSafe('a\nb'), 'a\nb')
  assert.equal(terminalSafe('\x1b]0;owned\x07'), '\\x1b]0;owned\\x07')
  assert.equal(terminalSafe('x\x9b2Jy\r'), 'x\\x9b2Jy\\r')
})

test('a hostile serial in the inventory reaches the terminal escaped in tables, exact in JSON', async () => {
  const hostile = '\x1b]0;pwned\x07LAB\x1b[2J'
  const machine = { id: 'm-0000001', uuid: null, reportedUuid: null, uuidStatus: 'missing', serial: hostile, manufacturer: null, product: null, firmware: null, arch: null, ip: null, macs: ['52:54:00:00:00:01'], state: 'discovered', stateReason: `reason ${hostile}`, heldState: null, createdAt: '2026-12-01T00:00:00.000Z', updatedAt: '2026-12-01T00:00:00.000Z', lastSeenAt: '2026-12-01T00:00:00.000Z', bmc: null }
  const server = createServer((req, res) => {
    res.setHeader('content-type', 'application/json')
    if (req.url?.endsWith('/hardware') === true) {
      res.statusCode = 404
      res.end(JSON.stringify({ error: { code: 'ERR_NO_HARDWARE', message: 'none' } }))
      return
    }
    res.end(JSON.stringify(req.url === '/api/v1/machines' ? { items: [machine] } : machine))
  })
  await new Promise<void>((resolve) => { server.listen(0, '127.0.0.1', resolve) })
  const port = (server.address() as { port: number }).port
  const tmp = mkdtempSync(join(tmpdir(), 'anvil-cli-'))
  const tokenFile = join(tmp, 'token')
  writeFileSync(tokenFile, 'x'.repeat(32))
  try {
    const run = async (args: string[]): Promise<string> => {
      let out = ''
      const program = buildProgram(async () => {}, (t) => { out += t })
      await program.parseAsync(['--endpoint', `http://127.0.0.1:${port}`, '--token-file', tokenFile, ...args], { from: 'user' })
      return out
    }
    for (const args of [['machines', 'list'], ['machines', 'show', 'm-0000001']]) {
      const table = await run(args)
      assert.ok(![...table].some(c => /\p{Cc}/u.test(c) && c !== '\n'), `${args.join(' ')}: no raw control character reaches the terminal`)
      assert.ok(table.includes('\\x1b]0;pwned\\x07LAB'), 'the value is shown, escaped')
    }
    const json = JSON.parse(await run(['-o', 'json', 'machines', 'list'])) as Array<{ serial: string }>
    assert.equal(json[0]?.serial, hostile, 'JSON stays exact')
  } finally {
    server.close()
    rmSync(tmp, { recursive: true, force: true })
  }
})

test('after `machines provision`, --config names the machine config; before the subcommand it stays the server config', async () => {
  const { commandOptionArgs: provisionConfigArgs } = await import('./program.ts')
  assert.deepEqual(provisionConfigArgs(['machines', 'provision', 'm-1', '--image', 'anvil-node', '--config', 'machine.yaml'], 'user'),
    ['machines', 'provision', 'm-1', '--image', 'anvil-node', '--machine-config', 'machine.yaml'])
  assert.deepEqual(provisionConfigArgs(['-c', 'server.yaml', '-o', 'json', 'machine', 'provision', 'm-1', '--config=machine.yaml'], 'user'),
    ['-c', 'server.yaml', '-o', 'json', 'machine', 'provision', 'm-1', '--machine-config=machine.yaml'])
  assert.deepEqual(provisionConfigArgs(['node', 'anvil', '--config', 'server.yaml', 'machines', 'provision', 'm-1', '--config', 'm.yaml'], 'node'),
    ['node', 'anvil', '--config', 'server.yaml', 'machines', 'provision', 'm-1', '--machine-config', 'm.yaml'])
  // Other commands keep --config as the global option.
  assert.deepEqual(provisionConfigArgs(['machines', 'list', '--config', 'server.yaml'], 'user'), ['machines', 'list', '--config', 'server.yaml'])
  assert.deepEqual(provisionConfigArgs(['keys', 'show', '--config', 'server.yaml'], 'user'), ['keys', 'show', '--config', 'server.yaml'])
})

test('after `context add`, --endpoint names the node endpoint; before the command words, and after any other command, it stays the API URL', async () => {
  const { commandOptionArgs, OPTION_RENAMES } = await import('./program.ts')
  assert.deepEqual(commandOptionArgs(['--endpoint', 'http://a:8081', 'context', 'add', 'rack1', '--endpoint', '10.77.0.21', '--cert', 'a.pem'], 'user'),
    ['--endpoint', 'http://a:8081', 'context', 'add', 'rack1', '--context-endpoint', '10.77.0.21', '--cert', 'a.pem'])
  // -n takes a value, so `node-1` is not a command word.
  assert.deepEqual(commandOptionArgs(['-n', 'node-1', 'contexts', 'add', 'r', '--endpoint=[fd00::1]:50001'], 'user'),
    ['-n', 'node-1', 'contexts', 'add', 'r', '--context-endpoint=[fd00::1]:50001'])
  assert.deepEqual(commandOptionArgs(['context', 'list', '--endpoint', 'http://a:8081'], 'user'), ['context', 'list', '--endpoint', 'http://a:8081'])
  assert.deepEqual(commandOptionArgs(['machines', 'provision', 'm-1', '--endpoint', 'http://a:8081'], 'user'), ['machines', 'provision', 'm-1', '--endpoint', 'http://a:8081'], 'a rename applies to its own command only')
  assert.deepEqual(commandOptionArgs(['context', 'add', 'r', '--', '--endpoint'], 'user'), ['context', 'add', 'r', '--', '--endpoint'], 'nothing after --')
  assert.ok(OPTION_RENAMES.every(r => r.from !== r.to))
})
