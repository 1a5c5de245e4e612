// Windowed transfers across a veth pair between two namespaces of our own, each side dropping 1% of
// its packets: the server in one namespace, atftp and tftp-hpa in the other. Needs root. Loss comes from
// `tc ... netem loss 1%`; on a kernel without sch_netem (some VM kernels ship no modules) from an
// nftables rule dropping 1 received UDP packet in 100 at random, which is the same loss model.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile, spawn, type ChildProcess } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import { fileURLToPath } from 'node:url'

const need = ['/usr/sbin/ip', '/usr/sbin/tc', '/usr/sbin/nft', '/usr/bin/atftp', '/usr/bin/tftp'].filter((t) => !existsSync(t))
const skip = process.getuid?.() !== 0
  ? 'needs root (network namespaces and netem)'
  : need.length > 0 ? `needs ${need.join(', ')} (Debian packages iproute2, nftables, atftp, tftp-hpa)` : false
if (skip !== false) console.log(`# skipping TFTP loss tests: ${skip}`)

const repo = fileURLToPath(new URL('../..', import.meta.url))
const tag = `${process.pid % 100000}`
const NS_SERVER = `anvtf-s${tag}`
const NS_CLIENT = `anvtf-c${tag}`
const DEV_SERVER = `anvtf${tag}s` // interface names: at most 15 characters
const DEV_CLIENT = `anvtf${tag}c`
const SERVER_IP = '10.99.7.1'
const CLIENT_IP = '10.99.7.2'

type Run = { code: number, stdout: string, stderr: string }
function run (cmd: string, args: string[], timeoutMs = 120_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      resolve({ code: err === null ? 0 : typeof err.code === 'number' ? err.code : -1, stdout, stderr })
    })
  })
}
async function sh (cmd: string, args: string[]): Promise<void> {
  const r = await run(cmd, args, 20_000)
  if (r.code !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.trim()}`)
}

let lossVia = 'netem'
// 1% of the packets each way are lost: netem drops on the way out; the nftables fallback drops on
// the way in (a drop on output would fail the sender's sendto with EPERM, which real loss never does).
async function addLoss (ns: string, dev: string): Promise<void> {
  const netem = await run('tc', ['-n', ns, 'qdisc', 'add', 'dev', dev, 'root', 'netem', 'loss', '1%'], 20_000)
  if (netem.code === 0) return
  if (!/qdisc kind is unknown/.test(netem.stderr)) throw new Error(`tc netem: ${netem.stderr.trim()}`)
  lossVia = 'nftables (this kernel has no sch_netem)'
  const rules = `table inet anvtf_loss { chain in { type filter hook input priority 0; policy accept; iifname "${dev}" meta l4proto udp numgen random mod 100 0 drop; }; }`
  await sh('ip', ['netns', 'exec', ns, 'nft', rules])
}

// The servers run inside the server namespace in one process of their own: one with every transfer
// on the event loop, one with lock-step transfers on the native loop (native/). It prints their
// addresses, then one JSON line per timeline event, and their stats when stdin closes.
const SERVER_SCRIPT = `
import { createTftpService } from ${JSON.stringify(join(repo, 'src/tftp/server.ts'))}
import { loadLockstep } from ${JSON.stringify(join(repo, 'src/tftp/lockstep-native.ts'))}
import { BootAssets } from ${JSON.stringify(join(repo, 'src/boot/assets.ts'))}
import { createLogger } from ${JSON.stringify(join(repo, 'src/log/logger.ts'))}
const print = (o) => process.stdout.write(JSON.stringify(o) + '\\n')
const loaded = loadLockstep()
if (loaded.engine === undefined) { print({ error: loaded.reason }); process.exit(1) }
const make = (lockstep) => createTftpService({
  listen: '${SERVER_IP}:0', assets: new BootAssets(process.env.ANVTF_ROOT), log: createLogger('silent'),
  events: { record: (e) => print({ event: e }), noteAddress () {} },
  limits: { maxTransfers: 8, maxBlockSize: 65464, maxWindowSize: 64, timeout: 1, retries: 10 },
  lockstep
})
const loop = make(undefined)
loaded.engine.configure({ spinMicros: 50 })
const native = make(loaded.engine)
await loop.start(new AbortController().signal)
await native.start(new AbortController().signal)
print({ address: loop.address(), nativeAddress: native.address() })
process.stdin.resume()
process.stdin.on('end', async () => { print({ stats: loop.stats() }); await loop.stop(); await native.stop(); process.exit(0) })
`

type Line = { address?: { port: number }, nativeAddress?: { port: number }, error?: string, event?: { type: string, data?: Record<string, unknown> }, stats?: Record<string, number> }
let root: string
let server: ChildProcess | undefined
let port = 0
let nativePort = 0
const lines: Line[] = []
let nsCreated = false

before(async () => {
  if (skip !== false) return
  root = await mkdtemp(join(tmpdir(), 'anvtf-loss-'))
  await writeFile(join(root, 'initrd.img'), randomBytes(4 * 1024 * 1024 + 123))
  await writeFile(join(root, 'snponly.efi'), randomBytes(70_000))
  await sh('ip', ['netns', 'add', NS_SERVER])
  nsCreated = true
  await sh('ip', ['netns', 'add', NS_CLIENT])
  await sh('ip', ['link', 'add', DEV_SERVER, 'netns', NS_SERVER, 'type', 'veth', 'peer', 'name', DEV_CLIENT, 'netns', NS_CLIENT])
  for (const [ns, dev, ip] of [[NS_SERVER, DEV_SERVER, SERVER_IP], [NS_CLIENT, DEV_CLIENT, CLIENT_IP]] as const) {
    await sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', dev])
    await sh('ip', ['-n', ns, 'link', 'set', dev, 'up'])
    await sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up'])
    await addLoss(ns, dev)
  }
  console.log(`# 1% loss each way through ${lossVia}`)
  const child = spawn('ip', ['netns', 'exec', NS_SERVER, process.execPath, '--import', 'tsx', '--input-type=module', '-e', SERVER_SCRIPT], {
    cwd: repo, env: { ...process.env, ANVTF_ROOT: root }, stdio: ['pipe', 'pipe', 'inherit']
  })
  server = child
  const ready = new Promise<void>((resolve, reject) => {
    child.once('exit', (code) => { reject(new Error(`server exited with ${code}`)) })
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const msg = JSON.parse(l) as Line
      lines.push(msg)
      if (msg.error !== undefined) reject(new Error(msg.error))
      if (msg.address !== undefined && msg.nativeAddress !== undefined) { port = msg.address.port; nativePort = msg.nativeAddress.port; resolve() }
    })
  })
  await ready
})

after(async () => {
  if (server !== undefined && server.exitCode === null) {
    const exited = new Promise((resolve) => { server!.once('exit', resolve) })
    server.stdin?.end()
    const t = setTimeout(() => { server?.kill('SIGKILL') }, 5000)
    await exited
    clearTimeout(t)
  }
  if (nsCreated) {
    await run('ip', ['netns', 'del', NS_SERVER])
    await run('ip', ['netns', 'del', NS_CLIENT])
  }
  if (root !== undefined) await rm(root, { recursive: true, force: true })
})

const sha = async (f: string): Promise<string> => createHash('sha256').update(await readFile(f)).digest('hex')

test('atftp with windowsize 16 under 1% loss each way: every transfer completes intact', { skip }, async () => {
  const want = await sha(join(root, 'initrd.img'))
  for (let i = 0; i < 3; i++) {
    const local = join(root, `got-${i}.img`)
    const r = await run('ip', ['netns', 'exec', NS_CLIENT, 'atftp', '--option', 'blksize 1468', '--option', 'windowsize 16',
      '-g', '-r', 'initrd.img', '-l', local, SERVER_IP, String(port)])
    assert.equal(r.code, 0, r.stderr)
    assert.equal(await sha(local), want, `transfer ${i}`)
  }
  // The server records each transfer when the client's final ACK arrives, which may be after atftp
  // exits; if that ACK is lost, the server retries until it gives up (about retries × timeout).
  const ended = (): Line[] => lines.filter((l) => l.event?.type === 'tftp.transfer' || l.event?.type === 'tftp.failed')
  for (let i = 0; i < 600 && ended().length < 3; i++) await new Promise((resolve) => setTimeout(resolve, 50))
  const done = lines.filter((l) => l.event?.type === 'tftp.transfer').map((l) => l.event?.data)
  const lostFinalAck = lines.filter((l) => l.event?.type === 'tftp.failed' && /every block was sent/.test(String(l.event.data?.['reason'])))
  assert.equal(done.length + lostFinalAck.length, 3, JSON.stringify(ended()))
  for (const d of done) assert.equal(d?.['windowsize'], 16)
  // 1% of about 2,860 blocks each way: losses are certain, so recovery was exercised.
  const resent = done.reduce((n, d) => n + Number(d?.['retransmits']), 0)
  assert.ok(resent > 0, 'no block was resent: was the loss applied?')
  console.log(`# windowed under loss: ${done.map((d) => `${d?.['durationMs']} ms, ${d?.['retransmits']} blocks resent`).join('; ')}`)
})

test('lock-step (tftp-hpa, no options) under the same loss: the retransmit timer recovers, on the event loop and the native loop', { skip }, async () => {
  // Lock-step recovery waits for a timeout per loss (1 s here), so the file is small: 137 blocks.
  for (const [name, p] of [['event loop', port], ['native loop', nativePort]] as const) {
    const local = join(root, `got-hpa-${p}.efi`)
    const r = await run('ip', ['netns', 'exec', NS_CLIENT, 'tftp', '-m', 'binary', SERVER_IP, String(p), '-c', 'get', 'snponly.efi', local])
    assert.equal(r.code, 0, `${name}: ${r.stderr}`)
    assert.equal(await sha(local), await sha(join(root, 'snponly.efi')), name)
  }
})
