import assert from 'node:assert/strict'
import { test } from 'node:test'
import { Supervisor, type Clock, type ServiceStatus } from './supervisor.ts'

/** A clock whose timers fire only when the test advances it. */
class FakeClock implements Clock {
  t = 1_000_000
  timers: Array<{ due: number, ms: number, fn: () => void, id: number }> = []
  #id = 0
  now (): number { return this.t }
  setTimeout (fn: () => void, ms: number): unknown {
    const id = ++this.#id
    this.timers.push({ due: this.t + ms, ms, fn, id })
    return id
  }

  clearTimeout (h: unknown): void { this.timers = this.timers.filter(x => x.id !== h) }
  /** Moves time on and runs the timers that are due. */
  advance (ms: number): void {
    this.t += ms
    const due = this.timers.filter(x => x.due <= this.t)
    this.timers = this.timers.filter(x => x.due > this.t)
    for (const x of due) x.fn()
  }
}

/** Resolves with the first status of `id` that satisfies `pred` (including one already reached). */
function until (sup: Supervisor, id: string, pred: (s: ServiceStatus) => boolean): Promise<ServiceStatus> {
  const now = sup.list().find(s => s.id === id)
  if (now !== undefined && pred(now)) return Promise.resolve(now)
  return new Promise(resolve => {
    const stop = sup.watch(s => { if (s.id === id && pred(s)) { stop(); resolve(s) } })
  })
}

/** Resolves once the service's log has a line with this text. */
function lineSeen (sup: Supervisor, id: string, text: string): Promise<void> {
  const log = sup.log(id)
  assert.ok(log !== undefined)
  if (log.lines().some(l => l.text === text)) return Promise.resolve()
  return new Promise(resolve => { const stop = log.follow(l => { if (l.text === text) { stop(); resolve() } }) })
}

/**
 * Resolves once `n` lines of the log satisfy `pred`. A child's 'exit' may come before the last
 * of its output has been read from the pipe, so tests wait for lines rather than for the exit.
 */
function linesSeen (sup: Supervisor, id: string, pred: (text: string) => boolean, n: number): Promise<void> {
  const log = sup.log(id)
  assert.ok(log !== undefined)
  let count = log.lines().filter(l => pred(l.text)).length
  if (count >= n) return Promise.resolve()
  return new Promise(resolve => { const stop = log.follow(l => { if (pred(l.text) && ++count >= n) { stop(); resolve() } }) })
}

/** Keeps a test child alive, and ends it should this test process die without stopping it (it is re-parented). */
const STAY = `setInterval(() => { if (process.ppid !== ${process.pid}) process.exit(0) }, 500)`

const node = (code: string): [string, ...string[]] => [process.execPath, '-e', code]

test('a service that prints and exits 1 is restarted with backoff 1 s, 2 s, 4 s ... 30 s; its lines are kept', async () => {
  const clock = new FakeClock()
  const sup = new Supervisor({ clock })
  sup.start({ id: 'flaky', argv: node('console.log("hello from " + process.pid); console.error("bad"); process.exit(1)') })
  const delays: number[] = []
  for (let run = 0; run < 7; run++) {
    const s = await until(sup, 'flaky', x => x.state === 'backoff' && x.restarts === run)
    assert.equal(s.lastExit, 'exit 1')
    assert.equal(s.pid, 0)
    const timer = clock.timers.at(-1)
    assert.ok(timer !== undefined)
    delays.push(timer.ms)
    clock.advance(timer.ms)
  }
  assert.deepEqual(delays, [1000, 2000, 4000, 8000, 16_000, 30_000, 30_000])
  await until(sup, 'flaky', x => x.state === 'backoff' && x.restarts === 7)
  await linesSeen(sup, 'flaky', t => t.startsWith('hello from '), 8)
  await linesSeen(sup, 'flaky', t => t === 'bad', 8)
  const lines = sup.log('flaky')?.lines() ?? []
  assert.equal(lines.filter(l => l.stream === 'stdout' && l.text.startsWith('hello from ')).length, 8)
  assert.equal(lines.filter(l => l.stream === 'stderr' && l.text === 'bad').length, 8)
  assert.equal(new Set(lines.filter(l => l.text.startsWith('hello from ')).map(l => l.text)).size, 8, 'eight processes, eight pids')
  await sup.stop('flaky')
  assert.equal(sup.list()[0]?.state, 'stopped')
  assert.equal(clock.timers.length, 0, 'no restart pending after stop')
})

test('a run of 60 s resets the backoff to 1 s', async () => {
  const clock = new FakeClock()
  const sup = new Supervisor({ clock })
  // Exits when told (SIGUSR2), so the test decides how long, in fake time, the run lasted.
  sup.start({ id: 'svc', argv: node(`process.on("SIGUSR2", () => process.exit(2)); console.log("ready"); ${STAY}`) })
  const quick = async (restarts: number): Promise<number> => {
    const s = await until(sup, 'svc', x => x.state === 'running' && x.restarts === restarts)
    await lineSeen(sup, 'svc', 'ready')
    process.kill(s.pid, 'SIGUSR2')
    await until(sup, 'svc', x => x.state === 'backoff' && x.restarts === restarts)
    return (clock.timers.at(-1) as { ms: number }).ms
  }
  assert.equal(await quick(0), 1000)
  clock.advance(1000)
  assert.equal(await quick(1), 2000)
  clock.advance(2000)
  const s = await until(sup, 'svc', x => x.state === 'running' && x.restarts === 2)
  assert.ok(s.pid > 0)
  assert.equal(s.startedAtMs, clock.now())
  clock.advance(60_000)
  process.kill(s.pid, 'SIGUSR2')
  await until(sup, 'svc', x => x.state === 'backoff' && x.restarts === 2)
  assert.equal(clock.timers.at(-1)?.ms, 1000)
  await sup.stop('svc')
})

test('stop(): SIGTERM, then SIGKILL after the grace period for a service that ignores SIGTERM', async () => {
  const clock = new FakeClock()
  const sup = new Supervisor({ clock, graceMs: 5000 })
  sup.start({ id: 'stubborn', argv: node(`process.on("SIGTERM", () => console.log("ignoring SIGTERM")); console.log("ready"); ${STAY}`) })
  await until(sup, 'stubborn', x => x.state === 'running')
  await lineSeen(sup, 'stubborn', 'ready')
  const stopped = sup.stop('stubborn')
  await lineSeen(sup, 'stubborn', 'ignoring SIGTERM')
  assert.equal(sup.list()[0]?.state, 'running', 'still running after SIGTERM')
  const grace = clock.timers.find(t => t.ms === 5000)
  assert.ok(grace !== undefined, 'a SIGKILL timer at the grace period')
  clock.advance(5000)
  await stopped
  const s = sup.list()[0]
  assert.deepEqual([s?.state, s?.lastExit, s?.pid], ['stopped', 'signal SIGKILL', 0])
})

test('stop() of a service that honours SIGTERM ends it without SIGKILL; stopAll stops every service', async () => {
  const sup = new Supervisor({ graceMs: 60_000 })
  sup.start({ id: 'a', argv: node(STAY) })
  sup.start({ id: 'b', argv: node(STAY) })
  await until(sup, 'a', x => x.state === 'running')
  await until(sup, 'b', x => x.state === 'running')
  assert.throws(() => { sup.start({ id: 'a', argv: node('') }) }, /already running/)
  await sup.stopAll()
  assert.deepEqual(sup.list().map(s => [s.id, s.state, s.lastExit]), [['a', 'stopped', 'signal SIGTERM'], ['b', 'stopped', 'signal SIGTERM']])
})

test('a binary that does not exist: failed, retried on the backoff schedule', async () => {
  const clock = new FakeClock()
  const lines: string[] = []
  const sup = new Supervisor({ clock, log: l => lines.push(l) })
  sup.start({ id: 'ghost', argv: ['/nonexistent/anvil-test-binary'] })
  const s = await until(sup, 'ghost', x => x.state === 'failed')
  assert.equal(s.lastExit, 'spawn ENOENT')
  assert.equal(clock.timers.at(-1)?.ms, 1000)
  clock.advance(1000)
  await until(sup, 'ghost', x => x.state === 'failed' && x.restarts === 1)
  assert.equal(clock.timers.at(-1)?.ms, 2000)
  await sup.stop('ghost')
  assert.equal(sup.list()[0]?.state, 'stopped')
  assert.ok(lines.some(l => l.includes('ghost: spawn ENOENT; restart in 1 s')))
})

test('the ring stays bounded with a real child that prints more than it keeps; env is only what the spec gives', async () => {
  // A fake clock: no restart comes to mix a second run's lines into the ring.
  const sup = new Supervisor({ clock: new FakeClock(), logs: { capacity: 100 } })
  sup.start({ id: 'chatty', argv: node('for (let i = 0; i < 1000; i++) console.log("n" + i); console.log("env " + Object.keys(process.env).sort().join(","))'), env: { ANVIL_TEST: '1' } })
  await until(sup, 'chatty', x => x.state === 'backoff')
  await lineSeen(sup, 'chatty', 'machined: chatty ended: exit 0')
  await linesSeen(sup, 'chatty', t => t.startsWith('env '), 1)
  const lines = sup.log('chatty')?.lines() ?? []
  assert.equal(lines.length, 100)
  assert.ok(lines.some(l => l.text === 'n999'))
  assert.ok(!lines.some(l => l.text === 'n0'))
  assert.ok(lines.some(l => l.text === 'env ANVIL_TEST'), lines.slice(-3).map(l => l.text).join(' | '))
  await sup.stop('chatty')
})

test('a probe sets health while running', async () => {
  const clock = new FakeClock()
  let ok = true
  const sup = new Supervisor({ clock, probeIntervalMs: 500 })
  sup.start({ id: 'p', argv: node(STAY), probe: async () => ok })
  await until(sup, 'p', x => x.state === 'running')
  assert.equal(sup.list()[0]?.health, 'unknown')
  clock.advance(500)
  await until(sup, 'p', x => x.health === 'healthy')
  ok = false
  clock.advance(500)
  await until(sup, 'p', x => x.health === 'unhealthy')
  const stopping = sup.stop('p')
  await stopping
  assert.equal(sup.list()[0]?.health, 'unknown')
})

test('signal: a running service gets the signal (a reload); a service that is not running does not', async () => {
  const sup = new Supervisor({ graceMs: 2000 })
  sup.start({ id: 'reloader', argv: node(`process.on('SIGHUP', () => console.log('reloaded')); console.log('up'); ${STAY}`) })
  await lineSeen(sup, 'reloader', 'up')
  assert.equal(sup.signal('reloader', 'SIGHUP'), true)
  await lineSeen(sup, 'reloader', 'reloaded')
  assert.equal(sup.signal('nobody', 'SIGHUP'), false)
  await sup.stop('reloader')
  assert.equal(sup.signal('reloader', 'SIGHUP'), false, 'stopped')
})
