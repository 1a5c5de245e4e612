// The signed image, end to end: `npm run build:image` (built and signed with the server's own
// image key), a real `anvil serve`, and the CLI: import, list, show; then the artifact as an
// installing agent fetches it, with Range; a tampered manifest is refused.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { spawnSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { copyFileSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { skipReason } from '../helpers/requirements.ts'
import { ANVIL, REPO, killAllServers, startServerProcess, stopServerProcess, type ServerProcess } from '../helpers/server-process.ts'

const skip = skipReason('the image import test', { programs: ['mcopy', 'mksquashfs', 'grub-mkimage', 'zstd'] })
const IMAGES = join(REPO, 'boot-assets', 'images')
const VERSION = (JSON.parse(readFileSync(join(REPO, 'package.json'), 'utf8')) as { version: string }).version
const MANIFEST = join(IMAGES, `anvil-node-${VERSION}.manifest.json`)

let dir = ''
let server: ServerProcess | undefined

function anvil (args: string[], input?: string): { code: number, stdout: string, stderr: string } {
  const r = spawnSync(ANVIL, ['--endpoint', 'http://127.0.0.1:18181', '--token-file', join(dir, 'var', 'admin.token'), ...args], { encoding: 'utf8', input, timeout: 300_000 })
  return { code: r.status ?? -1, stdout: r.stdout, stderr: r.stderr }
}

before(async () => {
  if (skip !== undefined) return
  dir = mkdtempSync(join(tmpdir(), 'anvil-images-e2e-'))
  // The build signs with the image key of the data directory the server then uses.
  const built = spawnSync('npm', ['run', 'build:image'], { cwd: REPO, encoding: 'utf8', env: { ...process.env, ANVIL_DATA_DIR: join(dir, 'var') }, timeout: 600_000 })
  assert.equal(built.status, 0, built.stderr + built.stdout)
  const config = join(dir, 'anvil.yaml')
  writeFileSync(config, [`dataDir: ${join(dir, 'var')}`, `bootAssets: ${join(REPO, 'boot-assets')}`, 'server: { address: 127.0.0.1 }', 'http: { listen: "127.0.0.1:18180" }', 'api: { listen: "127.0.0.1:18181" }', 'grpc: { listen: "127.0.0.1:18443" }', 'tftp: { enabled: false }', 'dhcp: { mode: off }', ''].join('\n'))
  server = await startServerProcess(config)
})

after(async () => {
  if (server !== undefined) await stopServerProcess(server)
  killAllServers()
  if (dir !== '') rmSync(dir, { recursive: true, force: true })
})

test('npm run build:image, then anvil images import|list|show against a real server; agents fetch the artifact with Range', { skip: skip ?? false }, async () => {
  assert.ok(existsSync(join(IMAGES, `anvil-node-${VERSION}.minisig`)), 'the build signs its manifest')
  const imported = anvil(['images', 'import', MANIFEST])
  assert.equal(imported.code, 0, imported.stderr)
  assert.match(imported.stdout, new RegExp(`imported anvil-node:${VERSION.replaceAll('.', '\\.')} .*: ready`))
  const list = JSON.parse(anvil(['-o', 'json', 'images', 'list']).stdout) as Array<{ name: string, version: string, state: string }>
  assert.deepEqual(list.map(i => [i.name, i.version, i.state]), [['anvil-node', VERSION, 'ready']])
  const shown = anvil(['images', 'show', 'anvil-node'])
  assert.equal(shown.code, 0, shown.stderr)
  assert.match(shown.stdout, /partitions:\s+BIOS EFI ANVIL-A ANVIL-B ANVIL-STATE/)
  const again = anvil(['images', 'import', MANIFEST])
  assert.equal(again.code, 1)
  assert.match(again.stderr, /ERR_IMAGE_EXISTS/)

  const artifact = readFileSync(join(IMAGES, `anvil-node-${VERSION}.raw.zst`))
  const whole = Buffer.from(await (await fetch(`http://127.0.0.1:18180/images/anvil-node/${VERSION}`)).arrayBuffer())
  assert.equal(createHash('sha256').update(whole).digest('hex'), createHash('sha256').update(artifact).digest('hex'))
  const tail = await fetch(`http://127.0.0.1:18180/images/anvil-node/${VERSION}`, { headers: { range: `bytes=${artifact.length - 1000}-` } })
  assert.equal(tail.status, 206)
  assert.deepEqual(Buffer.from(await tail.arrayBuffer()), artifact.subarray(artifact.length - 1000))
})

test('a manifest with one byte changed is refused with its signature code, and nothing is imported', { skip: skip ?? false }, async () => {
  const copy = join(dir, 'anvil-node-9.9.9.manifest.json')
  const bytes = readFileSync(MANIFEST)
  const at = bytes.indexOf('"securityVersion"') + 20
  bytes[at] = (bytes[at] as number) ^ 0x01
  writeFileSync(copy, bytes)
  copyFileSync(join(IMAGES, `anvil-node-${VERSION}.minisig`), join(dir, 'anvil-node-9.9.9.minisig'))
  const r = anvil(['images', 'import', copy])
  assert.equal(r.code, 1)
  assert.match(r.stderr, /ERR_SIGNATURE_INVALID/)
  assert.equal((JSON.parse(anvil(['-o', 'json', 'images', 'list']).stdout) as unknown[]).length, 1)
})
