// IPMI power status of 50 BMCs (50 Debian ipmi_sim on 127.0.0.1): Anvil's `GET /api/v1/power`
// (every enrolled machine queried concurrently over its own RMCP+ session, reused between rounds)
// against 50 `ipmitool -I lanplus -C 3 ... chassis power status` processes run in parallel (each a
// new process and a new session), side by side, in turns, in one run. Issue 3's target: at least
// 5x faster on a repeated round. Everything is on the host's loopback; no namespace is needed.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { once } from 'node:events'
import { join } from 'node:path'
import { stringify } from 'yaml'
import { OutOfTime, checkTime, dir, fmt, median, table, type BenchContext, type Section } from './context.ts'
import { chassisPower, setChassisPower, startBenchBmcs, stopBenchBmcs, type BenchBmc } from './ipmi-sims.ts'
import { run, sleep, startDaemon, which, type Daemon } from './proc.ts'

/** The IPMI section of docs/benchmarks.md. */
export type IpmiSection = Section & { readonly id: 'ipmi' }

type Api = { readonly endpoint: string, readonly token: string }
type Samples = { anvilFirst: number[], anvilRepeat: number[], toolFirst: number[], toolRepeat: number[] }

async function freeTcpPort (): Promise<number> {
  const s = createServer()
  s.listen(0, '127.0.0.1')
  await once(s, 'listening')
  const address = s.address()
  s.close()
  if (address === null || typeof address === 'string') throw new Error('no TCP port')
  return address.port
}

async function call<T> (api: Api, method: 'GET' | 'POST', path: string, body?: unknown): Promise<T> {
  const res = await fetch(`${api.endpoint}${path}`, {
    method,
    headers: { authorization: `Bearer ${api.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    signal: AbortSignal.timeout(60_000)
  })
  const text = await res.text()
  if (!res.ok) throw new Error(`${method} ${path}: HTTP ${res.status} ${text.slice(0, 200)}`)
  return JSON.parse(text) as T
}

/** `anvil serve` on loopback with only the admin API doing work (no DHCP, no TFTP), logging at warn. */
async function startAnvil (ctx: BenchContext, home: string): Promise<{ daemon: Daemon, api: Api }> {
  const dataDir = join(home, 'data')
  const apiPort = await freeTcpPort()
  const config = {
    dataDir,
    bootAssets: dir(join(home, 'assets')),
    server: { address: '127.0.0.1' },
    log: { level: 'warn' },
    http: { listen: `127.0.0.1:${await freeTcpPort()}` },
    api: { listen: `127.0.0.1:${apiPort}` },
    tftp: { enabled: false },
    dhcp: { mode: 'off' }
  }
  const file = join(home, 'config.yaml')
  writeFileSync(file, stringify(config))
  const loader = `file://${join(ctx.repo, 'node_modules/tsx/dist/loader.mjs')}`
  const daemon = startDaemon('anvil', [process.execPath, '--import', loader, join(ctx.repo, 'src/bin/anvil.ts'), 'serve', '--config', file], join(home, 'anvil.log'))
  const endpoint = `http://127.0.0.1:${apiPort}`
  const tokenFile = join(dataDir, 'admin.token')
  for (let i = 0; i < 600; i++) {
    if (daemon.exited()) break
    if (existsSync(tokenFile)) {
      const api = { endpoint, token: readFileSync(tokenFile, 'utf8').trim() }
      try {
        await call(api, 'GET', '/api/v1/machines')
        return { daemon, api }
      } catch { /* not listening yet */ }
    }
    await sleep(100)
  }
  await daemon.stop()
  throw new Error(`anvil did not answer its API within 60 s; see ${join(home, 'anvil.log')}`)
}

/** Enrols one machine per BMC (MAC 52:54:00:88:HH:LL); returns machine ID → BMC. */
async function enroll (api: Api, bmcs: readonly BenchBmc[]): Promise<Map<string, BenchBmc>> {
  const byId = new Map<string, BenchBmc>()
  for (const b of bmcs) {
    const mac = `52:54:00:88:${(b.index >> 8).toString(16).padStart(2, '0')}:${(b.index & 0xff).toString(16).padStart(2, '0')}`
    const m = await call<{ id: string }>(api, 'POST', '/api/v1/machines', {
      mac,
      bmc: { address: '127.0.0.1', port: b.port, user: b.user, password: b.password, cipherSuite: 3 }
    })
    byId.set(m.id, b)
  }
  return byId
}

/** One Anvil round: GET /api/v1/power, checked against every chassis file; the wall time in ms. */
async function anvilRound (api: Api, byId: ReadonlyMap<string, BenchBmc>): Promise<number> {
  const started = process.hrtime.bigint()
  const { machines } = await call<{ machines: Array<{ machineId: string, state?: string, error?: { code: string } }> }>(api, 'GET', '/api/v1/power')
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const wrong = machines.filter(m => { const b = byId.get(m.machineId); return b === undefined || m.state !== chassisPower(b) })
  if (machines.length !== byId.size || wrong.length > 0) {
    const first = wrong[0]
    throw new Error(`anvil: ${machines.length} machines answered, ${wrong.length} wrong${first === undefined ? '' : ` (e.g. ${first.machineId}: ${first.state ?? first.error?.code ?? '?'})`}`)
  }
  return ms
}

/** One ipmitool round: a process per BMC, all at once; the wall time until the last one exits. */
async function ipmitoolRound (bmcs: readonly BenchBmc[]): Promise<number> {
  const ipmitool = which('ipmitool') ?? 'ipmitool'
  const started = process.hrtime.bigint()
  const results = await Promise.all(bmcs.map(async b => await run(
    [ipmitool, '-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(b.port), '-U', b.user, '-E', 'chassis', 'power', 'status'],
    // -E: the password from IPMI_PASSWORD, not on a command line that ps shows.
    { timeoutMs: 60_000, env: { ...process.env, IPMI_PASSWORD: b.password } })))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const wrong = results.filter((r, i) => r.code !== 0 || r.stdout.trim() !== `Chassis Power is ${chassisPower(bmcs[i] as BenchBmc)}`)
  if (wrong.length > 0) throw new Error(`ipmitool: ${wrong.length} of ${bmcs.length} wrong or failed (e.g. exit ${String(wrong[0]?.code)}: ${wrong[0]?.stdout.trim()} ${wrong[0]?.stderr.trim()})`)
  return ms
}

/** Runs the IPMI comparison and returns its section of docs/benchmarks.md. */
export async function benchIpmi (ctx: BenchContext): Promise<IpmiSection> {
  const n = ctx.quick ? 10 : 50
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 5)
  const repeats = ctx.quick ? 2 : 5
  const home = dir(join(ctx.runDir, 'ipmi'))
  if (!existsSync(join(ctx.repo, 'src/bin/anvil.ts'))) return { id: 'ipmi', markdown: 'Not run: src/bin/anvil.ts is not in this checkout.' }
  const s: Samples = { anvilFirst: [], anvilRepeat: [], toolFirst: [], toolRepeat: [] }
  const notes: string[] = []
  let stopped: string | undefined
  rmSync(join(home, 'data'), { recursive: true, force: true })
  const bmcs = await startBenchBmcs(join(home, 'bmcs'), n)
  try {
    // A third on, the rest off: both clients must read each chassis right, not just "off".
    for (const b of bmcs) setChassisPower(b, b.index % 3 === 0)
    let byId: Map<string, BenchBmc> | undefined
    for (let r = 0; r < rounds && stopped === undefined; r++) {
      try {
        checkTime(ctx)
        // A fresh process each round, so the first GET opens every session; the database persists.
        const { daemon, api } = await startAnvil(ctx, home)
        try {
          byId ??= await enroll(api, bmcs)
          s.anvilFirst.push(await anvilRound(api, byId))
          for (let k = 0; k < repeats; k++) s.anvilRepeat.push(await anvilRound(api, byId))
        } finally {
          await daemon.stop()
        }
        for (let k = 0; k <= repeats; k++) (k === 0 ? s.toolFirst : s.toolRepeat).push(await ipmitoolRound(bmcs))
        ctx.log(`ipmi round ${r + 1}: anvil first ${fmt(s.anvilFirst.at(-1), 0)} ms, repeated ${fmt(median(s.anvilRepeat.slice(-repeats)), 0)} ms; ipmitool x${n} ${fmt(median(s.toolRepeat.slice(-repeats)), 0)} ms`)
      } catch (err) {
        if (err instanceof OutOfTime) { stopped = err.message; break }
        notes.push(`round ${r + 1}: ${(err as Error).message}`)
      }
    }
  } finally {
    await stopBenchBmcs(bmcs)
  }
  return { id: 'ipmi', markdown: render(s, notes, { n, rounds, repeats, stopped, on: bmcs.filter(b => b.index % 3 === 0).length }) }
}

function render (s: Samples, notes: readonly string[], how: { n: number, rounds: number, repeats: number, stopped: string | undefined, on: number }): string {
  const speedup = (tool: number[], anvil: number[]): string => {
    const a = median(anvil)
    const t = median(tool)
    return Number.isFinite(a) && Number.isFinite(t) && a > 0 ? `${(t / a).toFixed(1)}×` : '–'
  }
  const repeated = median(s.toolRepeat) / median(s.anvilRepeat)
  const verdict = Number.isFinite(repeated) ? (repeated >= 5 ? `met (${repeated.toFixed(1)}×)` : `**not met** (${repeated.toFixed(1)}×)`) : 'not measured'
  return [
    `Power status of ${how.n} BMCs: ${how.n} Debian \`ipmi_sim\` on 127.0.0.1, each with a file-backed chassis program (${how.on} on, ${how.n - how.on} off).`,
    `Anvil: one \`GET /api/v1/power\` (every enrolled machine at once, one RMCP+ session per BMC, cipher suite 3). ipmitool: ${how.n} \`ipmitool -I lanplus -C 3 ... chassis power status\` processes started together, timed until the last exits.`,
    `${how.rounds} round(s); each round starts Anvil afresh (its first request opens every session), then ${how.repeats} repeated requests over the open sessions, then ${how.repeats + 1} ipmitool rounds. Medians, wall time in ms.`,
    '',
    table(['Measure', 'Anvil (ms)', `ipmitool ×${how.n} (ms)`, 'Anvil speed-up'], [
      ['First round (Anvil opens its sessions)', fmt(median(s.anvilFirst), 0), fmt(median(s.toolFirst), 0), speedup(s.toolFirst, s.anvilFirst)],
      ['Repeated round (Anvil reuses its sessions)', fmt(median(s.anvilRepeat), 0), fmt(median(s.toolRepeat), 0), speedup(s.toolRepeat, s.anvilRepeat)]
    ]),
    '',
    `Target (issue 3): at least 5× faster on a repeated round: ${verdict}.`,
    '',
    `Checks: every round, both clients must report every chassis's power exactly as its file holds it${notes.length === 0 ? '; all did.' : ':'}`,
    ...notes.map(n => `- ${n}`),
    ...(how.stopped === undefined ? [] : ['', `Stopped early: ${how.stopped}`])
  ].join('\n')
}
