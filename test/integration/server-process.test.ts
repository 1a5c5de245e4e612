import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync, spawnSync } from 'node:child_process'
import { chmodSync, chownSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { skipReason } from '../helpers/requirements.ts'
import { ANVIL, REPO, killAllServers, startServerProcess, stopServerProcess } from '../helpers/server-process.ts'

const skip = skipReason('the server-process integration tests', { root: true, programs: ['ip', 'curl', 'setpriv', 'unshare', 'mount'] })

/** Mount points under `dir` in our own mount namespace (there must be none: see the unprivileged test). */
function mountsUnder (dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8').split('\n').map(l => l.split(' ')[4] ?? '').filter(m => m === dir || m.startsWith(`${dir}/`))
}

describe('anvil serve as a process', { skip }, () => {
  const ns = `anvsrv-${randomBytes(3).toString('hex')}`
  const dir = mkdtempSync(join(tmpdir(), 'anvil-serve-'))
  const configFile = join(dir, 'anvil.yaml')
  const inNs = ['ip', 'netns', 'exec', ns]
  const curl = (...args: string[]): string => execFileSync('ip', ['netns', 'exec', ns, 'curl', '-sS', '--max-time', '10', ...args], { encoding: 'utf8' })
  const api = (path: string): unknown => JSON.parse(curl('-H', `Authorization: Bearer ${readFileSync(join(dir, 'var', 'admin.token'), 'utf8').trim()}`, `http://127.0.0.1:18081${path}`))

  before(() => {
    execFileSync('ip', ['netns', 'add', ns])
    execFileSync('ip', ['netns', 'exec', ns, 'ip', 'link', 'set', 'lo', 'up'])
    chmodSync(dir, 0o755)
    // A data directory made beforehand by hand, as umask 022 leaves it: the server must tighten it.
    mkdirSync(join(dir, 'var'), { mode: 0o755 })
    chmodSync(join(dir, 'var'), 0o755)
    writeFileSync(configFile, [
      `dataDir: ${join(dir, 'var')}`,
      `bootAssets: ${join(REPO, 'boot-assets')}`,
      'server: { address: 127.0.0.1 }',
      'http: { listen: "127.0.0.1:18080" }',
      'api: { listen: "127.0.0.1:18081" }',
      'log: { level: info }',
      ''
    ].join('\n'))
  })
  after(() => {
    killAllServers()
    spawnSync('ip', ['netns', 'del', ns])
    // Never delete through a mount: a bind of the checkout left here would take the checkout along.
    if (mountsUnder(dir).length > 0) throw new Error(`not removing ${dir}: mounts under it: ${mountsUnder(dir).join(', ')}`)
    rmSync(dir, { recursive: true, force: true })
  })

  test('a machine and its timeline survive kill -9, and SIGTERM shuts down cleanly', async (t) => {
    t.after(killAllServers)
    const first = await startServerProcess(configFile, inNs)
    const tokenFile = join(dir, 'var', 'admin.token')
    assert.equal(statSync(tokenFile).mode & 0o777, 0o600)
    assert.equal(statSync(join(dir, 'var')).mode & 0o777, 0o700, 'the data directory is private')
    for (const f of ['anvil.db', 'anvil.db-wal', 'anvil.db-shm']) {
      assert.equal((statSync(join(dir, 'var', f)).mode & 0o777).toString(8), '600', `${f} is private`)
    }
    const script = curl('http://127.0.0.1:18080/boot.ipxe?mac=52:54:00:77:00:31&uuid=6f1d2c3b-0000-4000-8000-000000000031&serial=KILL9&platform=pcbios&buildarch=i386')
    assert.match(script, /^#!ipxe/)
    const before = api('/api/v1/machines') as { items: { id: string, serial: string }[] }
    assert.equal(before.items.length, 1)
    const id = before.items[0]?.id as string
    assert.equal(await stopServerProcess(first, 'SIGKILL'), 'SIGKILL')

    const second = await startServerProcess(configFile, inNs)
    const after = api(`/api/v1/machines/${id}`) as { id: string, serial: string, macs: string[] }
    assert.equal(after.serial, 'KILL9')
    assert.deepEqual(after.macs, ['52:54:00:77:00:31'])
    const events = api(`/api/v1/machines/${id}/events`) as { items: { type: string }[] }
    assert.ok(events.items.some(e => e.type === 'machine.discovered'), 'the discovery event survived')
    // The same machine booting again is recognised, not duplicated.
    curl('http://127.0.0.1:18080/boot.ipxe?mac=52:54:00:77:00:31&uuid=6f1d2c3b-0000-4000-8000-000000000031&serial=KILL9')
    assert.equal((api('/api/v1/machines') as { items: unknown[] }).items.length, 1)
    assert.equal(await stopServerProcess(second, 'SIGTERM'), 0)
    assert.ok(second.lines.some(l => l.msg === 'shutting down'))
  })

  test('unprivileged, the ports that need root fail with the config key to change, and the rest runs', async (t) => {
    t.after(killAllServers)
    chownSync(join(dir, 'var'), 65534, 65534)
    for (const f of ['anvil.db', 'admin.token', 'secret.key', 'grpc.key', 'grpc.crt', 'node-ca.key', 'node-ca.crt', 'image.key', 'image.pub', 'config.key', 'config.pub', 'anvil.db-wal', 'anvil.db-shm']) {
      try { chownSync(join(dir, 'var', f), 65534, 65534) } catch { /* absent after a clean shutdown */ }
    }
    // nobody may not be able to reach this checkout at all: a clone under /root (0700) failed with
    // "bin/anvil: Permission denied". So the child gets a mount namespace of its own in which the
    // checkout is bind-mounted onto a directory nobody can reach, and runs this very checkout's
    // bin/anvil, src/ and node_modules from there, in it as its working directory (tsx spawns
    // esbuild, which fails with EACCES in a working directory the user nobody cannot enter). Nothing is
    // copied, and the mount exists only in that namespace (private propagation), gone when the
    // server exits.
    const mnt = join(dir, 'checkout')
    mkdirSync(mnt, { mode: 0o755 })
    const unprivilegedConfig = join(dir, 'anvil-unprivileged.yaml')
    const text = readFileSync(configFile, 'utf8').replace(`bootAssets: ${join(REPO, 'boot-assets')}`, `bootAssets: ${join(mnt, 'boot-assets')}`)
    assert.ok(text.includes(mnt), 'bootAssets moved to the bind mount')
    writeFileSync(unprivilegedConfig, text)
    const bindCheckout = ['unshare', '--mount', '--propagation', 'private', '--', 'sh', '-c', 'mount --bind "$1" "$2" && cd "$2" && shift 2 && exec "$@"', 'sh', REPO, mnt]
    const dropPrivileges = ['setpriv', '--reuid=65534', '--regid=65534', '--clear-groups']
    const p = await startServerProcess(unprivilegedConfig, [...inNs, ...bindCheckout, ...dropPrivileges], { anvil: [join(mnt, 'bin', 'anvil')] })
    assert.deepEqual(mountsUnder(dir), [], 'the bind mount is not visible outside the server\'s namespace')
    try {
      const status = readFileSync(`/proc/${p.child.pid ?? 0}/status`, 'utf8')
      assert.match(status, /^Uid:\s+65534\s+65534\s+65534\s+65534$/m, 'the server runs as nobody')
      const errors = p.lines.filter(l => l.level === 50).map(l => String(l.msg))
      assert.ok(errors.some(m => m.includes('tftp.listen') && m.includes('root')), `no tftp.listen error in ${JSON.stringify(errors)}`)
      assert.ok(errors.some(m => m.includes('dhcp.listen') && m.includes('root')), `no dhcp.listen error in ${JSON.stringify(errors)}`)
      const ready = p.lines.find(l => l.msg === 'anvil ready') as { listening: Record<string, string>, failed: string[] }
      assert.deepEqual(Object.keys(ready.listening).sort(), ['api', 'grpc', 'http'])
      assert.deepEqual([...ready.failed].sort(), ['dhcp', 'tftp'])
      assert.match(curl('http://127.0.0.1:18080/boot.ipxe'), /^#!ipxe/)
    } finally {
      assert.equal(await stopServerProcess(p), 0)
    }
  })
})

test('an invalid config stops the server at start with every bad key and what was expected', () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-badcfg-'))
  try {
    const file = join(dir, 'bad.yaml')
    writeFileSync(file, [
      'http: { listen: "nowhere" }',
      'dhcp:',
      '  mode: authoritative',
      '  subnets:',
      '    - subnet: 10.77.0.0/24',
      '      range: 10.77.1.1-10.77.1.9',
      '      leaseTime: soon',
      'tftpp: {}',
      ''
    ].join('\n'))
    const r = spawnSync(ANVIL, ['serve', '--config', file], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(r.status, 2, r.stderr)
    assert.match(r.stderr, /http\.listen: expected "IPv4:port"/)
    assert.match(r.stderr, /dhcp\.subnets\[0\]\.range: range 10\.77\.1\.1-10\.77\.1\.9 is not inside subnet 10\.77\.0\.0\/24/)
    assert.match(r.stderr, /dhcp\.subnets\[0\]\.leaseTime: not a duration/)
    assert.match(r.stderr, /tftpp/)
    const syntax = join(dir, 'syntax.yaml')
    writeFileSync(syntax, 'http: { listen: [\n')
    const s = spawnSync(ANVIL, ['serve', '--config', syntax], { encoding: 'utf8', timeout: 60_000 })
    assert.equal(s.status, 2)
    assert.match(s.stderr, /line \d+/)
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
