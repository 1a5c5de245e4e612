// Real TFTP clients (curl, atftp, tftp-hpa) against our server on 127.0.0.1, checked by SHA-256.
// Every test runs twice: lock-step transfers on the event loop, and on the native loop (native/).
import { after, before, describe, test } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createHash, randomBytes } from 'node:crypto'
import { createSocket } from 'node:dgram'
import { existsSync } from 'node:fs'
import { mkdtemp, readFile, rm, symlink, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { BootAssets } from '../../src/boot/assets.ts'
import type { BootEvent, BootEventSink } from '../../src/inventory/events.ts'
import { createLogger } from '../../src/log/logger.ts'
import { decodePacket, encodePacket, Opcode } from '../../src/tftp/packet.ts'
import { createTftpService, type TftpLimits, type TftpService } from '../../src/tftp/server.ts'
import { loadLockstep, type LockstepEngine } from '../../src/tftp/lockstep-native.ts'
import { planBoot, type BootPlan } from '../../src/provisioning/boot-planner.ts'

const TOOLS = ['/usr/bin/curl', '/usr/bin/atftp', '/usr/bin/tftp']
const missing = TOOLS.filter((t) => !existsSync(t))
const skip = missing.length > 0 ? `needs ${missing.join(', ')} (Debian packages curl, atftp, tftp-hpa)` : false
if (skip !== false) console.log(`# skipping TFTP client tests: ${skip}`)

const loaded = loadLockstep()
if (loaded.engine === undefined && process.env.CI === 'true') throw new Error(`CI must test the native lock-step loop: ${loaded.reason}`)
const nativeSkip = loaded.engine === undefined ? loaded.reason : false
const NATIVE: LockstepEngine | undefined = loaded.engine
NATIVE?.configure({ spinMicros: 50 })

const LIMITS: TftpLimits = { maxTransfers: 64, maxBlockSize: 65464, maxWindowSize: 64, timeout: 1, retries: 5 }
const ROLLOVER_SIZE = 65_536 * 512 + 1000 // more than 65535 blocks of 512: block numbers wrap to 0

class Events implements BootEventSink {
  readonly list: BootEvent[] = []
  record (e: BootEvent): void { this.list.push(e) }
  noteAddress (): void {}
  of (type: string, file?: string): BootEvent[] {
    return this.list.filter((e) => e.type === type && (file === undefined || e.data?.['file'] === file))
  }
}

type Run = { code: number, stdout: string, stderr: string }
function run (cmd: string, args: string[], cwd: string, timeoutMs = 90_000): Promise<Run> {
  return new Promise((resolve) => {
    execFile(cmd, args, { cwd, timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1
      resolve({ code, stdout, stderr })
    })
  })
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')
async function sameFile (a: string, b: string): Promise<void> {
  assert.equal(sha(await readFile(a)), sha(await readFile(b)), `${a} differs from ${b}`)
}

function clientTests (lockstep: LockstepEngine | undefined, skipHere: string | false): void {
  let root: string
  let out: string
  let server: TftpService
  let port: number
  const events = new Events()
  const stop = new AbortController()

  async function startServer (limits: TftpLimits, sink: BootEventSink): Promise<TftpService> {
    const s = createTftpService({ listen: '127.0.0.1:0', assets: new BootAssets(root), events: sink, log: createLogger('silent'), limits, lockstep })
    await s.start(stop.signal)
    return s
  }

  before(async () => {
    if (skipHere !== false) return
    root = await mkdtemp(join(tmpdir(), 'anvtf-root-'))
    out = await mkdtemp(join(tmpdir(), 'anvtf-out-'))
    await writeFile(join(root, 'small.bin'), randomBytes(3000))
    await writeFile(join(root, 'snponly.efi'), randomBytes(196_608))
    await writeFile(join(root, 'exact.bin'), randomBytes(1468 * 64)) // ends with an empty DATA block
    await writeFile(join(root, 'medium.bin'), randomBytes(2 * 1024 * 1024 + 7))
    await writeFile(join(root, 'rollover.bin'), randomBytes(ROLLOVER_SIZE))
    await writeFile(join(root, 'script.txt'), 'line one\nline two\r\nbare\rcarriage\n')
    await symlink('/etc/passwd', join(root, 'link-out'))
    server = await startServer(LIMITS, events)
    port = server.address().port
  })

  after(async () => {
    stop.abort()
    await server?.stop()
    if (root !== undefined) await rm(root, { recursive: true, force: true })
    if (out !== undefined) await rm(out, { recursive: true, force: true })
  })

  const url = (file: string, p = port): string => `tftp://127.0.0.1:${p}/${file}`

  test('curl --tftp-blksize 1468 fetches files intact, and the timeline gets the transfer', { skip: skipHere }, async () => {
    for (const file of ['small.bin', 'snponly.efi', 'exact.bin']) {
      const r = await run('curl', ['-sS', '--tftp-blksize', '1468', '-o', file, url(file)], out)
      assert.equal(r.code, 0, r.stderr)
      await sameFile(join(out, file), join(root, file))
    }
    const [e] = events.of('tftp.transfer', 'snponly.efi')
    assert.ok(e !== undefined)
    assert.equal(e.source, 'tftp')
    assert.equal(e.ip, '127.0.0.1')
    assert.match(e.message, /^sent snponly\.efi \(196,608 bytes\) in \d+\.\d\d s, blksize 1468, windowsize 1, tsize requested$/)
    assert.deepEqual({ ...e.data, durationMs: 0 }, {
      file: 'snponly.efi', blksize: 1468, windowsize: 1, tsize: true, timeout: 6, bytes: 196_608, size: 196_608, blocks: 134, retransmits: 0, durationMs: 0
    })
  })

  test('curl --tftp-blksize 8192 fetches a 2 MiB file intact', { skip: skipHere }, async () => {
    const r = await run('curl', ['-sS', '--tftp-blksize', '8192', '-o', 'medium-8192.bin', url('medium.bin')], out)
    assert.equal(r.code, 0, r.stderr)
    await sameFile(join(out, 'medium-8192.bin'), join(root, 'medium.bin'))
    assert.ok(events.of('tftp.transfer', 'medium.bin').some((e) => e.data?.['blksize'] === 8192))
  })

  test('atftp with blksize 1468 and windowsize 16 (RFC 7440) fetches files intact', { skip: skipHere }, async () => {
    for (const file of ['medium.bin', 'exact.bin']) {
      const local = join(out, `atftp-${file}`)
      const r = await run('atftp', ['--option', 'blksize 1468', '--option', 'windowsize 16', '-g', '-r', file, '-l', local, '127.0.0.1', String(port)], out)
      assert.equal(r.code, 0, r.stderr)
      await sameFile(local, join(root, file))
    }
    assert.ok(events.of('tftp.transfer', 'exact.bin').some((e) => e.data?.['windowsize'] === 16 && e.data['blksize'] === 1468))
  })

  test('tftp-hpa fetches in octet mode, and in netascii mode gets the text back exactly', { skip: skipHere }, async () => {
    let r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'get', 'medium.bin', 'hpa-medium.bin'], out)
    assert.equal(r.code, 0, r.stderr)
    await sameFile(join(out, 'hpa-medium.bin'), join(root, 'medium.bin'))
    r = await run('tftp', ['-m', 'netascii', '127.0.0.1', String(port), '-c', 'get', 'script.txt', 'hpa-script.txt'], out)
    assert.equal(r.code, 0, r.stderr)
    await sameFile(join(out, 'hpa-script.txt'), join(root, 'script.txt'))
    // On the wire it was netascii: LF became CR LF and a bare CR became CR NUL (RFC 764).
    const wire = events.of('tftp.transfer', 'script.txt')[0]?.data?.['bytes']
    assert.equal(wire, Buffer.byteLength('line one\nline two\r\nbare\rcarriage\n') + 5)
  })

  test('a file of more than 65535 blocks of 512 bytes arrives intact (block numbers roll over)', { skip: skipHere }, async () => {
    let r = await run('curl', ['-sS', '--tftp-blksize', '512', '-o', 'rollover-curl.bin', url('rollover.bin')], out)
    assert.equal(r.code, 0, r.stderr)
    await sameFile(join(out, 'rollover-curl.bin'), join(root, 'rollover.bin'))
    const local = join(out, 'rollover-atftp.bin')
    r = await run('atftp', ['--option', 'windowsize 16', '-g', '-r', 'rollover.bin', '-l', local, '127.0.0.1', String(port)], out)
    assert.equal(r.code, 0, r.stderr)
    await sameFile(local, join(root, 'rollover.bin'))
    const blocks = events.of('tftp.transfer', 'rollover.bin').map((e) => e.data?.['blocks'])
    assert.deepEqual(blocks, [65_538, 65_538])
  })

  test('traversal attempts fail with a TFTP error and are recorded', { skip: skipHere }, async () => {
    const attempts = ['../etc/passwd', '/etc/passwd', 'link-out', '..\\..\\etc\\passwd', 'snponly.efi/../../../etc/passwd']
    for (const name of attempts) {
      const local = join(out, 'leak')
      await rm(local, { force: true })
      const r = await run('atftp', ['-g', '-r', name, '-l', local, '127.0.0.1', String(port)], out)
      assert.notEqual(r.code, 0, `${name} must fail`)
      assert.match(r.stderr, /Access violation|File not found/, name)
      const got = existsSync(local) ? await readFile(local, 'utf8') : ''
      assert.doesNotMatch(got, /root:/, `${name} leaked /etc/passwd`)
    }
    const c = await run('curl', ['-sS', '--path-as-is', '-o', 'leak2', url('../../etc/passwd')], out)
    assert.notEqual(c.code, 0)
    const refused = events.of('tftp.refused').map((e) => [e.data?.['file'], e.data?.['errorCode']])
    assert.deepEqual(refused.filter(([f]) => f === '../etc/passwd' || f === 'link-out' || f === '../../etc/passwd'),
      [['../etc/passwd', 2], ['link-out', 2], ['../../etc/passwd', 2]])
    // A leading slash means "from the root" (PXE ROMs send it), so /etc/passwd is looked up inside it.
    assert.deepEqual(refused.find(([f]) => f === '/etc/passwd'), ['/etc/passwd', 1])
    assert.match(events.of('tftp.refused', 'link-out')[0]?.message ?? '', /refused link-out: the path leaves the boot assets \(TFTP error 2 "Access violation"\)/)
  })

  test('write requests are refused: the server is read-only', { skip: skipHere }, async () => {
    await writeFile(join(out, 'upload.bin'), 'x')
    const r = await run('tftp', ['-m', 'binary', '127.0.0.1', String(port), '-c', 'put', 'upload.bin', 'upload.bin'], out)
    assert.match(r.stdout + r.stderr, /Access violation/)
    assert.equal(existsSync(join(root, 'upload.bin')), false)
    assert.equal(events.of('tftp.refused', 'upload.bin').length, 1)
  })

  test('over tftp.maxTransfers a request is refused as busy; the slot frees when the transfer ends', { skip: skipHere }, async () => {
    const capped = new Events()
    const one = await startServer({ ...LIMITS, maxTransfers: 1 }, capped)
    const p = one.address().port
    const hog = createSocket('udp4')
    try {
      // A client that asks and never acknowledges: its transfer holds the only slot.
      const firstData = new Promise<{ port: number }>((resolve) => { hog.once('message', (_m, rinfo) => { resolve(rinfo) }) })
      hog.send(encodePacket({ op: Opcode.RRQ, filename: 'medium.bin', mode: 'octet', options: [] }), p, '127.0.0.1')
      const tid = await firstData
      assert.equal(one.stats().active, 1)
      const busy = await run('curl', ['-sS', '-o', 'busy.bin', url('small.bin', p)], out)
      assert.notEqual(busy.code, 0)
      assert.match(capped.of('tftp.refused', 'small.bin')[0]?.message ?? '', /server busy: 1 transfers at the limit/)
      // RFC 1350 §7: the client's ERROR ends its transfer, which frees the slot.
      const ended = new Promise<void>((resolve) => { const t = setInterval(() => { if (one.stats().active === 0) { clearInterval(t); resolve() } }, 10) })
      hog.send(encodePacket({ op: Opcode.ERROR, code: 0, message: 'done' }), tid.port, '127.0.0.1')
      await ended
      const ok = await run('curl', ['-sS', '-o', 'after.bin', url('small.bin', p)], out)
      assert.equal(ok.code, 0, ok.stderr)
      await sameFile(join(out, 'after.bin'), join(root, 'small.bin'))
      assert.match(capped.of('tftp.failed', 'medium.bin')[0]?.message ?? '', /client sent error 0: done/)
    } finally {
      hog.close()
      await one.stop()
    }
  })

  test('stopping the server ends a running transfer and records why before stop() returns', { skip: skipHere }, async () => {
    const sink = new Events()
    const s = await startServer(LIMITS, sink)
    const c = createSocket('udp4')
    try {
      const firstData = new Promise<void>((resolve) => { c.once('message', () => { resolve() }) })
      c.send(encodePacket({ op: Opcode.RRQ, filename: 'medium.bin', mode: 'octet', options: [] }), s.address().port, '127.0.0.1')
      await firstData
      assert.equal(s.stats().active, 1)
      await s.stop()
      const [failed] = sink.of('tftp.failed', 'medium.bin')
      assert.equal(failed?.data?.['reason'], 'server stopping')
    } finally {
      c.close()
    }
  })

  test('a burst of malformed datagrams is counted and dropped, and a real client is still served', { skip: skipHere }, async () => {
    const before = server.stats().malformed
    const s = createSocket('udp4')
    try {
      const bad = [Buffer.alloc(0), Buffer.from([0]), Buffer.from('0001', 'hex'), Buffer.from('00016100', 'hex'), Buffer.from('0009ffff', 'hex'), Buffer.from('0003000141', 'hex')]
      for (let i = 0; i < 200; i++) s.send(bad[i % bad.length] ?? Buffer.alloc(0), port, '127.0.0.1')
      // DATA sent to the request port is not a request: it is dropped and counted too.
      for (let i = 0; i < 20; i++) s.send(randomBytes(1 + (i % 40)), port, '127.0.0.1')
      const r = await run('curl', ['-sS', '--tftp-blksize', '1468', '-o', 'after-flood.bin', url('small.bin')], out)
      assert.equal(r.code, 0, r.stderr)
      await sameFile(join(out, 'after-flood.bin'), join(root, 'small.bin'))
      assert.ok(server.stats().malformed - before >= 200, `counted ${server.stats().malformed - before}`)
    } finally {
      s.close()
    }
  })

  test('a retransmitted RRQ from the same client TID does not start a second transfer', { skip: skipHere }, async () => {
    const c = createSocket('udp4')
    try {
      await new Promise<void>((resolve) => { c.bind(0, '127.0.0.1', () => { resolve() }) })
      const rrq = encodePacket({ op: Opcode.RRQ, filename: 'small.bin', mode: 'octet', options: [{ name: 'blksize', value: '1468' }] })
      const received: number[] = []
      const done = new Promise<void>((resolve) => {
        c.on('message', (m, rinfo) => {
          const pkt = decodePacket(m)
          received.push(pkt.op)
          if (pkt.op === Opcode.OACK) {
            c.send(rrq, port, '127.0.0.1') // the client "resends" its request while the transfer runs
            c.send(encodePacket({ op: Opcode.ACK, block: 0 }), rinfo.port, '127.0.0.1')
          } else if (pkt.op === Opcode.DATA) {
            c.send(encodePacket({ op: Opcode.ACK, block: pkt.block }), rinfo.port, '127.0.0.1')
            if (pkt.data.length < 1468) resolve()
          }
        })
      })
      const before = events.of('tftp.transfer', 'small.bin').length
      c.send(rrq, port, '127.0.0.1')
      await done
      assert.deepEqual(received, [Opcode.OACK, Opcode.DATA, Opcode.DATA, Opcode.DATA])
      // The resent RRQ reached the server before our last ACKs did: a second transfer would hold a slot now.
      const ended = new Promise<void>((resolve) => { const t = setInterval(() => { if (events.of('tftp.transfer', 'small.bin').length > before) { clearInterval(t); resolve() } }, 5) })
      await ended
      assert.equal(server.stats().active, 0)
    } finally {
      c.close()
    }
  })
}

describe('lock-step on the event loop', () => { clientTests(undefined, skip) })
describe('lock-step on the native loop', () => { clientTests(NATIVE, skip !== false ? skip : nativeSkip) })

describe('the boot planner', () => {
  test('a machine whose plan is its local disk is refused its first stage; others get it (curl)', { skip }, async () => {
    const root = await mkdtemp(join(tmpdir(), 'anvtf-plan-'))
    const out = await mkdtemp(join(tmpdir(), 'anvtf-plan-out-'))
    await writeFile(join(root, 'snponly.efi'), randomBytes(4096))
    let plan: BootPlan | undefined = planBoot({ state: 'maintenance' }, { bootenv: true, recheckSeconds: 30 })
    const events = new Events()
    const stop = new AbortController()
    const s = createTftpService({ listen: '127.0.0.1:0', assets: new BootAssets(root), events, log: createLogger('silent'), limits: { maxTransfers: 8, maxBlockSize: 65464, maxWindowSize: 16, timeout: 1, retries: 3 }, plan: async (ip) => ip === '127.0.0.1' ? plan : undefined })
    await s.start(stop.signal)
    try {
      const url = `tftp://127.0.0.1:${s.address().port}/snponly.efi`
      const refused = await run('curl', ['-sS', '-o', 'snponly.efi', url], out)
      assert.notEqual(refused.code, 0)
      const [e] = events.of('tftp.refused', 'snponly.efi')
      assert.match(e?.message ?? '', /in maintenance: booting from its local disk: no first stage for it/)
      plan = planBoot({ state: 'discovered' }, { bootenv: true, recheckSeconds: 30 })
      const served = await run('curl', ['-sS', '-o', 'snponly.efi', url], out)
      assert.equal(served.code, 0, served.stderr)
      await sameFile(join(out, 'snponly.efi'), join(root, 'snponly.efi'))
    } finally {
      stop.abort()
      await s.stop()
    }
  })
})
