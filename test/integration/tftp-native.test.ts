// The native lock-step loop (native/tftp-lockstep.c) driven directly by a scripted client on
// loopback: every path of the protocol it implements, and every way it reports an end. Real clients
// (curl, atftp, tftp-hpa) run against it through the server in tftp-clients.test.ts.
import { after, before, test } from 'node:test'
import assert from 'node:assert/strict'
import { randomBytes } from 'node:crypto'
import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import { loadLockstep, type LockstepEngine, type LockstepResult, type LockstepStart } from '../../src/tftp/lockstep-native.ts'
import { decodePacket, encodePacket, Opcode, type TftpPacket } from '../../src/tftp/packet.ts'

const loaded = loadLockstep()
if (loaded.engine === undefined && process.env.CI === 'true') throw new Error(`CI must test the native lock-step loop: ${loaded.reason}`)
const skip = loaded.engine === undefined ? loaded.reason : false
if (skip !== false) console.log(`# skipping native lock-step tests: ${skip}`)
const engine = loaded.engine as LockstepEngine

/** A client socket that queues what the server's transfer socket sends it. */
class Client {
  readonly socket: Socket = createSocket('udp4')
  readonly #queue: Array<{ packet: TftpPacket, rinfo: RemoteInfo }> = []
  readonly #waiters: Array<(m: { packet: TftpPacket, rinfo: RemoteInfo }) => void> = []
  server: RemoteInfo | undefined

  async bind (): Promise<number> {
    this.socket.on('message', (msg, rinfo) => {
      this.server = rinfo
      const m = { packet: decodePacket(msg), rinfo }
      const w = this.#waiters.shift()
      if (w !== undefined) w(m)
      else this.#queue.push(m)
    })
    await new Promise<void>((resolve) => { this.socket.bind(0, '127.0.0.1', resolve) })
    return this.socket.address().port
  }

  /** The next datagram, or undefined if none comes within ms. */
  async next (ms = 2000): Promise<TftpPacket | undefined> {
    const queued = this.#queue.shift()
    if (queued !== undefined) return queued.packet
    return await new Promise((resolve) => {
      const t = setTimeout(() => { this.#waiters.splice(this.#waiters.indexOf(w), 1); resolve(undefined) }, ms)
      const w = (m: { packet: TftpPacket }): void => { clearTimeout(t); resolve(m.packet) }
      this.#waiters.push(w)
    })
  }

  send (p: TftpPacket | Buffer): void {
    assert.ok(this.server !== undefined, 'nothing received yet: no server TID')
    this.socket.send(Buffer.isBuffer(p) ? p : encodePacket(p), this.server.port, '127.0.0.1')
  }

  ack (block: number): void { this.send({ op: Opcode.ACK, block }) }
  close (): void { this.socket.close() }
}

let client: Client
let port: number
before(async () => {
  if (skip !== false) return
  client = new Client()
  port = await client.bind()
})
after(() => { client?.close() })

function start (opts: Partial<LockstepStart> & { data: Buffer }): { result: Promise<LockstepResult>, handle: ReturnType<LockstepEngine['start']> } {
  let done!: (r: LockstepResult) => void
  const result = new Promise<LockstepResult>((resolve) => { done = resolve })
  const handle = engine.start({ host: '127.0.0.1', peerAddress: '127.0.0.1', peerPort: port, blksize: 512, timeoutMs: 2000, retries: 3, ...opts }, done)
  return { result, handle }
}

async function expectData (block: number, bytes?: Buffer): Promise<Buffer> {
  const p = await client.next()
  assert.ok(p !== undefined && p.op === Opcode.DATA, `expected DATA ${block}, got ${JSON.stringify(p)}`)
  assert.equal(p.block, block)
  if (bytes !== undefined) assert.deepEqual(p.data, bytes)
  return p.data
}

test('without options: DATA from block 1, one per ACK; a size that is a multiple of blksize ends with an empty block', { skip }, async () => {
  const data = randomBytes(512 * 3)
  const { result } = start({ data })
  for (let b = 1; b <= 3; b++) {
    await expectData(b, data.subarray((b - 1) * 512, b * 512))
    client.ack(b)
  }
  await expectData(4, Buffer.alloc(0))
  client.ack(4)
  const r = await result
  assert.deepEqual({ ...r, durationMs: 0 }, { outcome: 'complete', phase: 'sending', base: 5, retransmits: 0, strays: 0, durationMs: 0 })
})

test('with an OACK: it is sent first and DATA waits for ACK 0; other ACKs meanwhile are ignored', { skip }, async () => {
  const data = randomBytes(700)
  const oack = encodePacket({ op: Opcode.OACK, options: [{ name: 'blksize', value: '600' }, { name: 'tsize', value: '700' }] })
  const { result } = start({ data, blksize: 600, oack })
  assert.deepEqual(await client.next(), { op: Opcode.OACK, options: [{ name: 'blksize', value: '600' }, { name: 'tsize', value: '700' }] })
  client.ack(1) // stale: only ACK 0 answers an OACK
  assert.equal(await client.next(150), undefined)
  client.ack(0)
  await expectData(1, data.subarray(0, 600))
  client.ack(1)
  await expectData(2, data.subarray(600))
  client.ack(2)
  assert.equal((await result).outcome, 'complete')
})

test('a duplicate ACK does not resend (Sorcerer\'s Apprentice, RFC 1123 §4.2.3.1); a lost ACK is covered by the timer', { skip }, async () => {
  const data = randomBytes(512 * 2 + 10)
  const { result } = start({ data, timeoutMs: 300 })
  await expectData(1)
  client.ack(1)
  await expectData(2)
  client.ack(1) // duplicate
  assert.equal(await client.next(150), undefined, 'a duplicate ACK must not make it resend')
  // Not acknowledging block 2: it comes again when the timer fires.
  await expectData(2)
  client.ack(2)
  await expectData(3)
  client.ack(3)
  const r = await result
  assert.equal(r.outcome, 'complete')
  assert.equal(r.retransmits, 1)
})

test('a client that stops answering: the block is resent `retries` times, then it reports a timeout where it stopped', { skip }, async () => {
  const { result } = start({ data: randomBytes(2000), timeoutMs: 60, retries: 2 })
  await expectData(1)
  client.ack(1)
  for (let i = 0; i < 3; i++) await expectData(2)
  const r = await result
  assert.equal(r.outcome, 'timeout')
  assert.equal(r.phase, 'sending')
  assert.equal(r.base, 2)
  assert.equal(r.retransmits, 2)
})

test('an unanswered OACK is resent, then it reports a timeout while negotiating', { skip }, async () => {
  const oack = encodePacket({ op: Opcode.OACK, options: [{ name: 'tsize', value: '10' }] })
  const { result } = start({ data: randomBytes(10), timeoutMs: 60, retries: 1, oack })
  assert.equal((await client.next())?.op, Opcode.OACK)
  assert.equal((await client.next())?.op, Opcode.OACK)
  const r = await result
  assert.deepEqual([r.outcome, r.phase, r.base, r.retransmits], ['timeout', 'negotiating', 1, 0])
})

test('a client ERROR ends the transfer and is handed back whole; a malformed one is only a stray', { skip }, async () => {
  const { result } = start({ data: randomBytes(2000) })
  await expectData(1)
  client.send(Buffer.from('0005000061', 'hex')) // no terminating NUL: not an ERROR packet
  client.send(randomBytes(3))
  client.send(Buffer.from('0003000141', 'hex')) // DATA is meaningless from the reader
  client.send(Buffer.from('0004000100', 'hex')) // an ACK is exactly 4 bytes (RFC 1350 §5): not one
  assert.equal(await client.next(150), undefined, 'block 2 must wait for a real ACK of block 1')
  client.ack(1)
  await expectData(2)
  client.send({ op: Opcode.ERROR, code: 8, message: 'enough' })
  const r = await result
  assert.equal(r.outcome, 'client-error')
  assert.deepEqual(decodePacket(r.packet ?? Buffer.alloc(0)), { op: Opcode.ERROR, code: 8, message: 'enough' })
  assert.equal(r.strays, 4)
  assert.equal(r.base, 2)
})

test('a datagram longer than the engine keeps is a stray, even when its first 1024 bytes are a well-formed ERROR', { skip }, async () => {
  const { result } = start({ data: randomBytes(700) })
  await expectData(1)
  // The kernel hands a 1024-byte buffer only the first 1024 bytes: an ERROR whose only NUL falls at the cut.
  const cutError = Buffer.concat([Buffer.from('00050008', 'hex'), Buffer.alloc(1019, 0x78), Buffer.from([0]), Buffer.alloc(500, 0x79)])
  client.send(cutError)
  // And an ACK of block 1 with junk behind it: not an ACK (RFC 1350 §5: exactly 4 bytes).
  client.send(Buffer.concat([Buffer.from('00040001', 'hex'), Buffer.alloc(2000, 0x7a)]))
  assert.equal(await client.next(150), undefined, 'neither may move the transfer')
  client.ack(1)
  await expectData(2)
  client.ack(2)
  const r = await result
  assert.deepEqual([r.outcome, r.base, r.strays, r.packet], ['complete', 3, 2, undefined])
})

test('strays do not restart the clock: the block is resent on time even while garbage keeps arriving', { skip }, async () => {
  const { result } = start({ data: randomBytes(100), timeoutMs: 200, retries: 1 })
  await expectData(1)
  const sentAt = performance.now()
  const noise = setInterval(() => { client.send(Buffer.from('00', 'hex')) }, 20)
  try {
    await expectData(1)
    const waited = performance.now() - sentAt
    assert.ok(waited >= 150 && waited < 600, `resent after ${Math.round(waited)} ms, timeout 200 ms`)
  } finally {
    clearInterval(noise)
  }
  client.ack(1)
  const r = await result
  assert.equal(r.outcome, 'complete')
  assert.ok(r.strays >= 5, `strays ${r.strays}`)
})

test('abort ends a waiting transfer at once; abort after the report is harmless', { skip }, async () => {
  const { result, handle } = start({ data: randomBytes(5000), timeoutMs: 10_000 })
  await expectData(1)
  const t0 = performance.now()
  engine.abort(handle)
  const r = await result
  assert.equal(r.outcome, 'aborted')
  assert.ok(performance.now() - t0 < 1000)
  engine.abort(handle)
})

test('a client that went away (ICMP port unreachable) is reported as refused, not waited out', { skip }, async () => {
  const gone = new Client()
  const gonePort = await gone.bind()
  let done!: (r: LockstepResult) => void
  const result = new Promise<LockstepResult>((resolve) => { done = resolve })
  engine.start({ host: '127.0.0.1', peerAddress: '127.0.0.1', peerPort: gonePort, data: randomBytes(5000), blksize: 512, timeoutMs: 50, retries: 20 }, done)
  assert.equal((await gone.next())?.op, Opcode.DATA)
  gone.close()
  const r = await result
  assert.equal(r.outcome, 'refused')
  assert.ok(r.retransmits < 20)
})

test('with polling on (spinMicros), transfers run the same, and a slow client still gets every block', { skip }, async () => {
  engine.configure({ spinMicros: 200 })
  try {
    const data = randomBytes(512 * 40 + 1)
    const { result } = start({ data })
    for (let b = 1; b <= 41; b++) {
      const got = await expectData(b)
      assert.deepEqual(got, data.subarray((b - 1) * 512, b * 512))
      if (b % 10 === 0) await new Promise((resolve) => setTimeout(resolve, 5)) // slower than the budget
      client.ack(b)
    }
    assert.equal((await result).outcome, 'complete')
  } finally {
    engine.configure({ spinMicros: 0 })
  }
})

test('one engine serves many transfers at once, each to its own client, each intact', { skip }, async () => {
  const clients = await Promise.all(Array.from({ length: 8 }, async () => { const c = new Client(); return { c, port: await c.bind() } }))
  try {
    const files = clients.map((_, i) => randomBytes(512 * (5 + i) + i))
    const results = clients.map(({ port: p }, i) => new Promise<LockstepResult>((resolve) => {
      engine.start({ host: '127.0.0.1', peerAddress: '127.0.0.1', peerPort: p, data: files[i] ?? Buffer.alloc(0), blksize: 512, timeoutMs: 2000, retries: 3 }, resolve)
    }))
    await Promise.all(clients.map(async ({ c }, i) => {
      const file = files[i] ?? Buffer.alloc(0)
      const got: Buffer[] = []
      for (;;) {
        const p = await c.next()
        assert.ok(p !== undefined && p.op === Opcode.DATA)
        got.push(p.data)
        c.ack(p.block)
        if (p.data.length < 512) break
      }
      assert.deepEqual(Buffer.concat(got), file)
    }))
    for (const r of await Promise.all(results)) assert.equal(r.outcome, 'complete')
  } finally {
    for (const { c } of clients) c.close()
  }
})

test('bad options are refused with a TypeError and a stable code, before any socket is made', { skip }, () => {
  const base = { host: '127.0.0.1', peerAddress: '127.0.0.1', peerPort: 9, data: Buffer.alloc(1), blksize: 512, timeoutMs: 100, retries: 1 }
  const bad: Array<Record<string, unknown>> = [
    { ...base, host: '::1' },
    { ...base, peerAddress: 'nowhere' },
    { ...base, peerPort: 0 },
    { ...base, peerPort: 70_000 },
    { ...base, blksize: 4 },
    { ...base, timeoutMs: 0 },
    { ...base, data: 'text' },
    { ...base, oack: Buffer.alloc(0) }
  ]
  for (const opts of bad) {
    assert.throws(() => engine.start(opts as unknown as LockstepStart, () => {}), (err: NodeJS.ErrnoException) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_VALUE', JSON.stringify(opts))
  }
  assert.throws(() => { (engine.start as unknown as (o: unknown) => void)(base) }, TypeError)
  assert.throws(() => { engine.configure({ spinMicros: 1e6 }) }, (err: NodeJS.ErrnoException) => err instanceof TypeError && err.code === 'ERR_INVALID_ARG_VALUE')
  assert.throws(() => { engine.configure({ spinMicros: -1 }) }, TypeError)
})
