import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync } from 'node:fs'
import { createServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parse } from 'yaml'
import { makeNodeCliPki, type NodeCliPki } from '../../test/helpers/node-cli-pki.ts'
import { startNodeApiDouble, versionOf, type NodeApiDouble } from '../../test/helpers/node-api-double.ts'
import { buildProgram } from './program.ts'
import { saveContexts } from './contexts.ts'

// The node verbs through the real command tree, against real grpc-js servers with mutual TLS on
// 127.0.0.1, the certificates made by the openssl CLI.

const HOSTILE = 'node-1\x1b]0;owned\x07'

/** A loopback port with nothing listening (bound, then closed). */
async function deadPort (): Promise<number> {
  const s = createServer()
  await new Promise<void>((resolve) => { s.listen(0, '127.0.0.1', resolve) })
  const { port } = s.address() as { port: number }
  await new Promise<void>((resolve) => { s.close(() => { resolve() }) })
  return port
}

describe('node verbs', () => {
  let tmp: string
  let home: string
  let pki: NodeCliPki
  let a: NodeApiDouble
  let b: NodeApiDouble
  let nodeA: string
  let nodeB: string
  const savedHome = process.env.ANVIL_HOME
  const stops: Array<() => void> = []

  const useContext = async (endpoint: string, cert: string): Promise<void> => {
    await saveContexts(home, { current: 'lab', contexts: { lab: { endpoint, cert } } })
  }

  before(async () => {
    tmp = mkdtempSync(join(tmpdir(), 'anvil-node-cli-'))
    home = join(tmp, 'home')
    process.env.ANVIL_HOME = home
    pki = makeNodeCliPki(join(tmp, 'pki'))
    const tls = { clientCa: pki.caPem, keyPem: pki.serverKeyPem, certPem: pki.serverCertPem }
    a = await startNodeApiDouble(tls, HOSTILE)
    b = await startNodeApiDouble(tls, 'node-2')
    stops.push(a.stop, b.stop)
    nodeA = `127.0.0.1:${a.port}`
    nodeB = `127.0.0.1:${b.port}`
    await useContext(nodeA, pki.bundleFile)
  })
  after(() => {
    for (const stop of stops) stop()
    if (savedHome === undefined) delete process.env.ANVIL_HOME
    else process.env.ANVIL_HOME = savedHome
    rmSync(tmp, { recursive: true, force: true })
  })

  /** Runs the CLI; resolves with what it printed and the error it ended with (if any). */
  const run = async (args: string[], onPrint?: (text: string, all: string) => void): Promise<{ out: string, err: (Error & { code?: string }) | undefined }> => {
    let out = ''
    const program = buildProgram(async () => {}, (t) => { out += t; onPrint?.(t, out) })
    try {
      await program.parseAsync(args, { from: 'user' })
      return { out, err: undefined }
    } catch (err) {
      return { out, err: err as Error & { code?: string } }
    }
  }
  const table = (out: string): string[][] => out.trimEnd().split('\n').map(l => l.split(/\s{2,}/))

  test('version through the current context: a table with NODE first, control characters escaped; the bundle\'s certificate is what the node saw', async () => {
    const before = a.calls.length
    const { out, err } = await run(['version'])
    assert.equal(err, undefined)
    assert.deepEqual(table(out), [
      ['NODE', 'MACHINE', 'HOSTNAME', 'IMAGE', 'SLOT', 'CONFIG', 'KERNEL', 'NODE.JS', 'ARCH', 'UPTIME'],
      [nodeA, 'm-0000001', 'node-1\\x1b]0;owned\\x07', 'anvil-node:0.1.0', 'A', '3', '6.1.0-28-amd64', 'v20.20.0', 'amd64', '1h2m']
    ])
    assert.deepEqual(a.calls.slice(before), [{ method: 'Version', role: 'admin' }])
  })

  test('version -o json and -o yaml: an array of { node, result }, exact', async () => {
    const expected = [{ node: nodeA, result: { ...versionOf(HOSTILE) } }]
    assert.deepEqual(JSON.parse((await run(['-o', 'json', 'version'])).out), expected)
    assert.deepEqual(parse((await run(['version', '-o', 'yaml'])).out), expected)
  })

  test('every unary verb prints a table with a NODE column', async () => {
    const headers: Record<string, string[]> = {
      services: ['NODE', 'SERVICE', 'STATE', 'HEALTH', 'PID', 'RESTARTS', 'UPTIME', 'LAST EXIT'],
      memory: ['NODE', 'TOTAL', 'USED', 'AVAILABLE', 'FREE', 'BUFFERS', 'CACHED', 'SWAP'],
      disks: ['NODE', 'DISK', 'SIZE', 'MODEL', 'SERIAL', 'WWN', 'TYPE', 'RO', 'PARTITIONS'],
      mounts: ['NODE', 'SOURCE', 'TARGET', 'TYPE', 'SIZE', 'AVAILABLE', 'OPTIONS'],
      processes: ['NODE', 'PID', 'PPID', 'STATE', 'THREADS', 'RSS', 'CPU', 'COMMAND'],
      reboot: ['NODE', 'OPERATION', 'KIND', 'STATE', 'PHASE', 'ERROR']
    }
    for (const [verb, header] of Object.entries(headers)) {
      const { out, err } = await run(['-n', nodeA, verb])
      assert.equal(err, undefined, verb)
      const [h, row, ...rest] = table(out)
      assert.deepEqual(h, header, verb)
      assert.equal(row?.[0], nodeA, verb)
      assert.deepEqual(rest, [], verb)
    }
    assert.deepEqual(table((await run(['-n', nodeA, 'memory'])).out)[1], [nodeA, '2 GiB', '512 MiB', '1.5 GiB', '1 GiB', '0 B', '1 MiB', '-'])
    assert.deepEqual(table((await run(['-n', nodeA, 'reboot', '--mode', 'force'])).out)[1], [nodeA, 'op-1', 'reboot', 'pending', 'stop-services', '-'])
  })

  test('two -n targets, one unreachable: the other\'s result is printed, the failure reported by node, and the command fails', async () => {
    const dead = `127.0.0.1:${await deadPort()}`
    const { out, err } = await run(['-n', `${nodeB},${dead}`, 'version'])
    assert.deepEqual(table(out).map(r => r[0]), ['NODE', nodeB])
    assert.equal(err?.code, 'ERR_NODE_UNREACHABLE')
    assert.match(err?.message ?? '', new RegExp(`^1 of 2 nodes failed: ${dead}: cannot reach the node API at ${dead}`))
    const json = JSON.parse((await run(['-o', 'json', '-n', dead, '-n', nodeB, 'version'])).out) as Array<{ node: string, result?: { hostname: string }, error?: { code: string } }>
    assert.deepEqual(json.map(o => [o.node, o.result?.hostname, o.error?.code]), [[dead, undefined, 'ERR_NODE_UNREACHABLE'], [nodeB, 'node-2', undefined]])
  })

  test('the node\'s own error code (the anvil-error-code trailer) is the command\'s', async () => {
    const { out, err } = await run(['-n', nodeA, 'shutdown', '--force'])
    assert.equal(out, '')
    assert.equal(err?.code, 'ERR_NODE_ROLE_DENIED')
    assert.equal(err?.message, 'role reader may not call Shutdown')
  })

  test('a node whose certificate is from another CA is refused before any call', async () => {
    const other = makeNodeCliPki(join(tmp, 'other'), { caName: 'another CA' })
    // It would accept our client certificate: only our refusal of its certificate can stop the call.
    const impostor = await startNodeApiDouble({ clientCa: pki.caPem, keyPem: other.serverKeyPem, certPem: other.serverCertPem })
    stops.push(impostor.stop)
    const { err } = await run(['-n', `127.0.0.1:${impostor.port}`, 'version'])
    assert.equal(err?.code, 'ERR_NODE_UNREACHABLE')
    assert.match(err?.message ?? '', /certificate/i)
    assert.deepEqual(impostor.calls, [])
  })

  test('a node certificate from our CA that does not name the dialled IP is refused', async () => {
    const elsewhere = makeNodeCliPki(join(tmp, 'elsewhere'), { serverIp: '127.0.0.2' })
    const node = await startNodeApiDouble({ clientCa: elsewhere.caPem, keyPem: elsewhere.serverKeyPem, certPem: elsewhere.serverCertPem })
    stops.push(node.stop)
    await useContext(`127.0.0.1:${node.port}`, elsewhere.bundleFile)
    try {
      const { err } = await run(['version'])
      assert.equal(err?.code, 'ERR_NODE_UNREACHABLE')
      assert.match(err?.message ?? '', /127\.0\.0\.1 is not in the cert's list/)
      assert.deepEqual(node.calls, [])
    } finally {
      await useContext(nodeA, pki.bundleFile)
    }
  })

  test('logs without -f from two nodes: each line after its node; -o json: the lines by node', async () => {
    const { out, err } = await run(['-n', nodeA, '-n', nodeB, 'logs', 'apid', '--tail', '2'])
    assert.equal(err, undefined)
    // The nodes' lines interleave as they come; each node's stay in order. Labels are padded alike.
    const width = Math.max(nodeA.length, nodeB.length)
    const lines = out.trimEnd().split('\n')
    for (const node of [nodeA, nodeB]) {
      assert.deepEqual(lines.filter(l => l.startsWith(`${node} `)), [
        `${node.padEnd(width)}  2026-12-02T03:00:00.000Z  apid first`,
        `${node.padEnd(width)}  2026-12-02T03:00:01.000Z  apid second \\x1b[2J`
      ])
    }
    assert.equal(lines.length, 4)
    const json = JSON.parse((await run(['-o', 'json', '-n', nodeA, 'dmesg'])).out) as Array<{ node: string, result: Array<{ text: string, source: string }> }>
    assert.deepEqual(json.map(o => [o.node, o.result.map(l => l.text)]), [[nodeA, ['kernel first', 'kernel second \x1b[2J']]])
    assert.deepEqual(b.streamRequests.at(-1), { service: 'apid', follow: false, tail: 2 })
  })

  test('logs -f prints streamed lines until Ctrl-C, which ends it with ERR_INTERRUPTED (exit 130)', async () => {
    const pushed = a.nextFollower().then((write) => { write('apid third') })
    const { out, err } = await run(['logs', 'apid', '-f', '--tail', '5'], (_t, all) => {
      if (all.includes('third')) process.emit('SIGINT', 'SIGINT')
    })
    await pushed
    assert.equal(err?.code, 'ERR_INTERRUPTED')
    assert.deepEqual(out.trimEnd().split('\n'), [
      '2026-12-02T03:00:00.000Z  apid first',
      '2026-12-02T03:00:01.000Z  apid second \\x1b[2J',
      '2026-12-02T03:00:02.000Z  apid third'
    ])
    assert.deepEqual(a.streamRequests.at(-1), { service: 'apid', follow: true, tail: 5 })
  })

  test('dmesg -f -o json: one { node, line } document per line as it comes, exact', async () => {
    const pushed = a.nextFollower().then((write) => { write('kernel third') })
    const { out, err } = await run(['-o', 'json', 'dmesg', '-f'], (_t, all) => {
      if (all.includes('third')) process.emit('SIGINT', 'SIGINT')
    })
    await pushed
    assert.equal(err?.code, 'ERR_INTERRUPTED')
    const docs = out.trimEnd().split(/\n(?=\{)/).map(d => JSON.parse(d) as { node: string, line: { text: string } })
    assert.deepEqual(docs.map(d => [d.node, d.line.text]), [[nodeA, 'kernel first'], [nodeA, 'kernel second \x1b[2J'], [nodeA, 'kernel third']])
  })

  test('anvil logs -f, a real process: Ctrl-C (SIGINT) ends it with status 130', async () => {
    const bin = fileURLToPath(new URL('../bin/anvil.ts', import.meta.url))
    const child = spawn(process.execPath, ['--import', 'tsx', bin, '-n', nodeB, 'logs', 'apid', '-f'], { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ANVIL_HOME: home } })
    try {
      let stdout = ''
      let stderr = ''
      child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
      const exit = new Promise<number | null>((resolve) => { child.on('exit', (code) => { resolve(code) }) })
      await new Promise<void>((resolve, reject) => {
        void exit.then(() => { reject(new Error(`it ended before its lines: ${stderr}`)) })
        child.stdout.on('data', (d: Buffer) => {
          stdout += d.toString()
          if (stdout.split('\n').length > 2) resolve()
        })
      })
      child.kill('SIGINT')
      assert.equal(await exit, 130, stderr)
      assert.match(stdout, /^2026-12-02T03:00:00\.000Z {2}apid first\n/)
      assert.match(stderr, /stopped following 127\.0\.0\.1:\d+ \[ERR_INTERRUPTED\]/)
      assert.doesNotMatch(stderr, /DEP0123|Warning/, 'no SNI-IP warning: the override is in place')
    } finally {
      child.kill('SIGKILL')
    }
  })

  test('without a current context the node verbs say so', async () => {
    await saveContexts(home, { current: null, contexts: {} })
    try {
      const { err } = await run(['version'])
      assert.equal(err?.code, 'ERR_CONTEXT_NOT_FOUND')
    } finally {
      await useContext(nodeA, pki.bundleFile)
    }
  })
  test('rollback --wait follows the operation through the reboot (the node unreachable, then final); node-operations lists the node\'s own', async () => {
    const { out, err } = await run(['-n', nodeB, '-o', 'json', 'rollback', '--wait'])
    assert.equal(err, undefined, err?.message)
    const [outcome] = JSON.parse(out) as Array<{ node: string, result: { operation: { id: string, kind: string, state: string } } }>
    assert.deepEqual([outcome?.node, outcome?.result.operation.id, outcome?.result.operation.state], [nodeB, 'op-rb', 'succeeded'])
    assert.deepEqual(b.calls.filter(c => c.method === 'GetOperation').length, 3, 'asked again after two UNAVAILABLE answers')
    const ops = await run(['-n', nodeB, 'node-operations'])
    assert.equal(ops.err, undefined)
    assert.deepEqual(table(ops.out)[0], ['NODE', 'OPERATION', 'KIND', 'STATE', 'PHASE', 'SLOT', 'VERSION', 'STARTED', 'ERROR'])
    assert.deepEqual(table(ops.out)[1]?.slice(0, 7), [nodeB, 'op-up', 'upgrade', 'succeeded', 'commit', 'A→B', '0.1.0→0.2.0'])
  })
})
