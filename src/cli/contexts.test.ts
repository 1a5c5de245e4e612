import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parse } from 'yaml'
import { makeNodeCliPki, type NodeCliPki } from '../../test/helpers/node-cli-pki.ts'
import { buildProgram } from './program.ts'
import { anvilHome, loadContexts } from './contexts.ts'

// `anvil context add|use|list|remove` through the real command tree, on real files.

describe('anvil context', () => {
  let tmp: string
  let home: string
  let pki: NodeCliPki
  const savedHome = process.env.ANVIL_HOME
  before(() => {
    tmp = mkdtempSync(join(tmpdir(), 'anvil-ctx-'))
    home = join(tmp, 'home', '.anvil')
    process.env.ANVIL_HOME = home
    pki = makeNodeCliPki(join(tmp, 'pki'))
  })
  after(() => {
    if (savedHome === undefined) delete process.env.ANVIL_HOME
    else process.env.ANVIL_HOME = savedHome
    rmSync(tmp, { recursive: true, force: true })
  })

  const run = async (args: string[]): Promise<{ out: string, globals: Record<string, unknown> }> => {
    let out = ''
    const program = buildProgram(async () => {}, (t) => { out += t })
    await program.parseAsync(args, { from: 'user' })
    return { out, globals: program.opts() }
  }
  const file = (): { current: string | null, contexts: Record<string, { endpoint: string, cert: string }> } => parse(readFileSync(join(home, 'config.yaml'), 'utf8'))

  test('add: the first context becomes current; the file is 0600 in a 0700 directory, written whole', async () => {
    const { out } = await run(['context', 'add', 'rack1', '--endpoint', '10.77.0.21', '--cert', pki.bundleFile])
    assert.match(out, /^context rack1: 10\.77\.0\.21:50000, .*admin\.pem \(current\)\n$/)
    assert.deepEqual(file(), { current: 'rack1', contexts: { rack1: { endpoint: '10.77.0.21:50000', cert: pki.bundleFile } } })
    assert.equal(statSync(join(home, 'config.yaml')).mode & 0o777, 0o600)
    assert.equal(statSync(home).mode & 0o777, 0o700)
    assert.deepEqual(readdirSync(home), ['config.yaml'], 'no temporary file left behind')
  })

  test('add: a second context (IPv6 with a port, --endpoint=) leaves the current one; the global --endpoint before the command is still the API URL', async () => {
    const { globals } = await run(['--endpoint', 'http://127.0.0.1:9', 'context', 'add', 'rack2', '--endpoint=[fd00::21]:50001', '--cert', pki.bundleFile])
    assert.equal(globals.endpoint, 'http://127.0.0.1:9')
    const f = file()
    assert.equal(f.current, 'rack1')
    assert.deepEqual(f.contexts.rack2, { endpoint: '[fd00::21]:50001', cert: pki.bundleFile })
  })

  test('list: the current context marked; JSON exact', async () => {
    const { out } = await run(['context', 'list'])
    const lines = out.trimEnd().split('\n').map(l => l.split(/\s{2,}/))
    assert.deepEqual(lines, [['CURRENT', 'NAME', 'ENDPOINT', 'CERT'], ['*', 'rack1', '10.77.0.21:50000', pki.bundleFile], ['-', 'rack2', '[fd00::21]:50001', pki.bundleFile]])
    const json = JSON.parse((await run(['-o', 'json', 'context', 'list'])).out) as Array<{ name: string, current: boolean }>
    assert.deepEqual(json.map(c => [c.name, c.current]), [['rack1', true], ['rack2', false]])
  })

  test('use and remove; unknown names are ERR_CONTEXT_NOT_FOUND and change nothing', async () => {
    await run(['context', 'use', 'rack2'])
    assert.equal(file().current, 'rack2')
    const before = readFileSync(join(home, 'config.yaml'), 'utf8')
    await assert.rejects(run(['context', 'use', 'nope']), { code: 'ERR_CONTEXT_NOT_FOUND', message: /no context "nope"/ })
    await assert.rejects(run(['context', 'remove', 'nope']), { code: 'ERR_CONTEXT_NOT_FOUND' })
    assert.equal(readFileSync(join(home, 'config.yaml'), 'utf8'), before)
    await run(['context', 'remove', 'rack2'])
    assert.deepEqual(file(), { current: null, contexts: { rack1: { endpoint: '10.77.0.21:50000', cert: pki.bundleFile } } })
    assert.deepEqual(await loadContexts(home), { current: null, contexts: { rack1: { endpoint: '10.77.0.21:50000', cert: pki.bundleFile } } })
  })

  test('add refuses what is not a bundle, a bad endpoint and a bad name, and writes nothing', async () => {
    const before = readFileSync(join(home, 'config.yaml'), 'utf8')
    await assert.rejects(run(['context', 'add', 'x', '--endpoint', '10.0.0.1', '--cert', join(pki.dir, 'ca.pem')]), { code: 'ERR_NODE_CERT_INVALID', message: /0 PRIVATE KEY blocks/ })
    await assert.rejects(run(['context', 'add', 'x', '--endpoint', '10.0.0.1', '--cert', join(pki.dir, 'missing.pem')]), { code: 'ERR_SECRET_UNREADABLE' })
    await assert.rejects(run(['context', 'add', 'x', '--endpoint', 'not a host', '--cert', pki.bundleFile]), { code: 'ERR_USAGE' })
    await assert.rejects(run(['context', 'add', 'x', '--endpoint', '10.0.0.1:70000', '--cert', pki.bundleFile]), { code: 'ERR_USAGE', message: /port/ })
    await assert.rejects(run(['context', 'add', '../x', '--endpoint', '10.0.0.1', '--cert', pki.bundleFile]), { code: 'ERR_USAGE' })
    assert.equal(readFileSync(join(home, 'config.yaml'), 'utf8'), before)
  })

  test('ANVIL_HOME, else ~/.anvil', () => {
    assert.equal(anvilHome({ ANVIL_HOME: '/srv/anvil' }), '/srv/anvil')
    assert.match(anvilHome({}), /\.anvil$/)
  })
})
