// DHCP: perfdhcp as a relay (giaddr set, replies unicast to it on port 67, RFC 2131 §4.1) against
// Anvil (authoritative, SQLite leases), Kea (memfile, persist) and dnsmasq (lease file on disk,
// then on tmpfs), in turns, stepping the offered rate up until drops reach 1%.
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { anvilMissing, startAnvil } from './anvil.ts'
import { OutOfTime, checkTime, dir, fmt, median, ratio, table, type BenchContext, type Section } from './context.ts'
import { CLIENT_IP, SERVER_IF, SERVER_IP, listening, onClient, onServer } from './netns.ts'
import { run, startDaemon, waitUntil, which, type Daemon } from './proc.ts'

const POOL = { subnet: '10.99.0.0/24', first: '10.99.0.10', last: '10.99.0.250' }
const CLIENTS = 200

type Exchange = { sent: number, received: number, drops: number, avgMs: number }
/** One perfdhcp run: the offered rate, what perfdhcp achieved, and both exchanges. */
export type Step = { offered: number, achieved: number, discover: Exchange, request: Exchange, pass: boolean }
type ServerDef = { name: string, label: string, start: (ctx: BenchContext) => Promise<Daemon> }

/** perfdhcp's summary: a "***Statistics for: X***" block per exchange. */
export function parsePerfdhcp (output: string): { discover: Exchange, request: Exchange } | undefined {
  const block = (name: string): Exchange | undefined => {
    const b = output.split(`***Statistics for: ${name}***`)[1]
    if (b === undefined) return undefined
    const num = (re: RegExp): number => Number(re.exec(b)?.[1] ?? NaN)
    return { sent: num(/sent packets: (\d+)/), received: num(/received packets: (\d+)/), drops: num(/drops: (\d+)/), avgMs: num(/avg delay: ([\d.]+) ms/) }
  }
  const discover = block('DISCOVER-OFFER')
  const request = block('REQUEST-ACK')
  if (discover === undefined || request === undefined || !Number.isFinite(discover.sent)) return undefined
  return { discover, request }
}

const dropPct = (e: Exchange): number => e.sent > 0 ? 100 * e.drops / e.sent : 100

function keaConfig (leaseFile: string): object {
  return {
    Dhcp4: {
      'interfaces-config': { interfaces: [SERVER_IF], 'dhcp-socket-type': 'udp' },
      'lease-database': { type: 'memfile', persist: true, name: leaseFile, 'lfc-interval': 0 },
      'valid-lifetime': 3600,
      subnet4: [{ id: 1, subnet: POOL.subnet, pools: [{ pool: `${POOL.first} - ${POOL.last}` }], 'option-data': [{ name: 'routers', data: SERVER_IP }] }],
      loggers: [{ name: 'kea-dhcp4', severity: 'WARN', output_options: [{ output: 'stdout' }] }]
    }
  }
}

async function startKea (ctx: BenchContext): Promise<Daemon> {
  const home = dir(join(ctx.runDir, 'dhcp-kea'))
  const leases = join(home, 'leases4.csv')
  rmSync(leases, { force: true })
  rmSync(`${leases}.2`, { force: true })
  const conf = join(home, 'kea-dhcp4.json')
  writeFileSync(conf, JSON.stringify(keaConfig(leases), null, 2))
  const env = { ...process.env, KEA_PIDFILE_DIR: home, KEA_LOCKFILE_DIR: home }
  return await ready(startDaemon('kea', onServer([which('kea-dhcp4') ?? 'kea-dhcp4', '-c', conf]), join(home, 'kea.log'), env))
}

async function startDnsmasq (ctx: BenchContext, name: string, leaseFile: string): Promise<Daemon> {
  const home = dir(join(ctx.runDir, name))
  rmSync(leaseFile, { force: true })
  const argv = [which('dnsmasq') ?? 'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', '--port=0', `--interface=${SERVER_IF}`,
    '--bind-interfaces', `--dhcp-range=${POOL.first},${POOL.last},255.255.255.0,1h`, `--dhcp-option=option:router,${SERVER_IP}`,
    '--dhcp-authoritative', '--no-ping', `--dhcp-leasefile=${leaseFile}`, '--quiet-dhcp', '--user=root',
    `--pid-file=${join(home, 'dnsmasq.pid')}`, `--log-facility=${join(home, 'dnsmasq.log')}`]
  return await ready(startDaemon(name, onServer(argv), join(home, 'stdout.log')))
}

async function ready (d: Daemon): Promise<Daemon> {
  if (!await waitUntil(async () => d.exited() || await listening('udp', 67), 30_000) || d.exited()) {
    await d.stop()
    throw new Error(`${d.name} did not bind udp/67`)
  }
  return d
}

function servers (ctx: BenchContext): ServerDef[] {
  const list: ServerDef[] = []
  const missing = anvilMissing(ctx)
  if (missing === undefined) {
    list.push({
      name: 'anvil',
      label: 'Anvil (authoritative, SQLite leases, committed before ACK)',
      start: async (c) => await startAnvil(c, 'dhcp-anvil', dir(join(c.runDir, 'assets')), { proto: 'udp', port: 67 }, {
        dhcp: { mode: 'authoritative', listen: '0.0.0.0:67', subnets: [{ subnet: POOL.subnet, range: `${POOL.first}-${POOL.last}`, router: SERVER_IP, leaseTime: '1h' }] }
      })
    })
  } else {
    ctx.log(`dhcp: skipping Anvil: ${missing}`)
  }
  list.push({ name: 'kea', label: 'Kea 4 memfile (persist, no fsync), logging WARN', start: startKea })
  list.push({ name: 'dnsmasq-disk', label: 'dnsmasq, lease file on disk', start: async (c) => await startDnsmasq(c, 'dhcp-dnsmasq-disk', join(c.runDir, 'dhcp-dnsmasq-disk', 'leases')) })
  list.push({ name: 'dnsmasq-shm', label: 'dnsmasq, lease file on /dev/shm', start: async (c) => await startDnsmasq(c, 'dhcp-dnsmasq-shm', join(c.scratch, 'dnsmasq.leases')) })
  return list
}

async function perfdhcp (rate: number, seconds: number): Promise<Step | string> {
  const argv = onClient([which('perfdhcp') ?? 'perfdhcp', '-4', '-l', CLIENT_IP, '-r', String(rate), '-R', String(CLIENTS),
    '-p', String(seconds), '-W', '500000', SERVER_IP])
  const r = await run(argv, { timeoutMs: seconds * 1000 + 20_000 })
  const parsed = parsePerfdhcp(r.stdout)
  if (parsed === undefined) return `perfdhcp failed (exit ${String(r.code)}${r.timedOut ? ', timed out' : ''}): ${r.stderr.trim().slice(0, 200)}`
  const pass = dropPct(parsed.discover) < 1 && dropPct(parsed.request) < 1 && parsed.request.sent > 0
  // Completed DORAs per second of the test period. perfdhcp's own "Rate:" divides by the period
  // plus the -W wait for late replies, which understates short runs.
  return { offered: rate, discover: parsed.discover, request: parsed.request, achieved: parsed.request.received / seconds, pass }
}

/** Steps one server through the rates (stopping at the first step with ≥1% drops). */
async function stepUp (ctx: BenchContext, def: ServerDef, rates: readonly number[], seconds: number): Promise<{ steps: Step[], error?: string }> {
  const daemon = await def.start(ctx)
  const steps: Step[] = []
  try {
    for (const rate of rates) {
      if (Date.now() > ctx.deadline) return { steps, error: 'time budget spent' }
      const s = await perfdhcp(rate, seconds)
      if (typeof s === 'string') return { steps, error: s }
      steps.push(s)
      ctx.log(`dhcp ${def.name} ${rate}/s offered: ${fmt(s.achieved, 0)}/s, drops ${fmt(dropPct(s.discover), 2)}% / ${fmt(dropPct(s.request), 2)}%`)
      if (!s.pass) break
      if (daemon.exited()) return { steps, error: `${def.name} exited` }
    }
    return { steps }
  } finally {
    await daemon.stop()
  }
}

type Round = Map<string, { steps: Step[], error?: string }>

/** Runs the DHCP comparison and returns its section of docs/benchmarks.md. */
export async function benchDhcp (ctx: BenchContext): Promise<Section> {
  const rates = ctx.quick ? [1000, 4000] : [500, 1000, 2000, 4000, 6000, 8000, 10000, 12000, 14000, 16000]
  const seconds = ctx.quick ? 2 : 10
  const roundCount = ctx.rounds ?? (ctx.quick ? 1 : 3)
  const defs = servers(ctx)
  const rounds: Round[] = []
  let stopped: string | undefined
  for (let i = 0; i < roundCount && stopped === undefined; i++) {
    const round: Round = new Map()
    for (const def of defs) {
      try {
        checkTime(ctx)
        round.set(def.name, await stepUp(ctx, def, rates, seconds))
      } catch (err) {
        round.set(def.name, { steps: [], error: (err as Error).message })
        if (err instanceof OutOfTime) {
          stopped = err.message
          break
        }
      }
    }
    rounds.push(round)
  }
  return { id: 'dhcp', markdown: render(defs, rounds, { rates, seconds, stopped }) }
}

function render (defs: readonly ServerDef[], rounds: readonly Round[], how: { rates: readonly number[], seconds: number, stopped: string | undefined }): string {
  const best = (steps: readonly Step[]): Step | undefined => steps.filter(s => s.pass).at(-1)
  const summary = new Map<string, { offered: number, achieved: number, doMs: number, raMs: number }>()
  for (const def of defs) {
    const bests = rounds.map(r => best(r.get(def.name)?.steps ?? []))
    const got = bests.filter((b): b is Step => b !== undefined)
    summary.set(def.name, {
      offered: got.length === 0 ? 0 : median(got.map(b => b.offered)),
      achieved: median(got.map(b => b.achieved)),
      doMs: median(got.map(b => b.discover.avgMs)),
      raMs: median(got.map(b => b.request.avgMs))
    })
  }
  const kea = summary.get('kea')
  const rows = defs.map(def => {
    const s = summary.get(def.name)
    // Passing the last step means the load generator, not the server, set the limit.
    const top = how.rates.at(-1)
    const label = s?.offered === 0 ? `< ${how.rates[0] ?? 0}` : s?.offered === top ? `≥ ${top}` : fmt(s?.offered, 0)
    return [def.label, label, fmt(s?.achieved, 0), fmt(s?.doMs, 3), fmt(s?.raMs, 3), ratio(s?.achieved, kea?.achieved)]
  })
  const detail = rounds.flatMap((r, i) => defs.map(def => {
    const res = r.get(def.name)
    const steps = (res?.steps ?? []).map(s => `${s.offered}: ${fmt(s.achieved, 0)}/s ${fmt(dropPct(s.discover), 1)}%/${fmt(dropPct(s.request), 1)}%`).join(' · ')
    return `- round ${i + 1}, ${def.name}: ${steps === '' ? '(no step)' : steps}${res?.error === undefined ? '' : ` — ${res.error}`}`
  }))
  return [
    table(['Server', 'Highest offered rate with < 1% drops (/s, median)', 'Completed DORA/s there (median)', 'DISCOVER→OFFER avg ms', 'REQUEST→ACK avg ms', 'vs Kea'], rows),
    '',
    `Rates offered: ${how.rates.join(', ')} 4-way exchanges/s, ${how.seconds} s each, ${CLIENTS} simulated clients, ${rounds.length} round(s); a server's stepping stops at its first step with ≥ 1% drops in either exchange. Each step (offered rate: achieved rate, DISCOVER-OFFER drops / REQUEST-ACK drops):`,
    '',
    ...detail,
    ...(how.stopped === undefined ? [] : ['', `Stopped early: ${how.stopped}`])
  ].join('\n')
}
