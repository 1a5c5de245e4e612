// TFTP: Anvil against tftpd-hpa and atftpd, lock-step (curl, blksize 512/1468/8192) and windowed
// (atftp, RFC 7440 windowsize 16), a file above 65535 blocks of 512 (block-number rollover),
// 16 clients at once, and windowed transfers again under 1% packet loss.
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { anvilMissing, startAnvil } from './anvil.ts'
import { OutOfTime, checkTime, dir, ensureRandomFile, fmt, median, ratio, table, type BenchContext, type Section } from './context.ts'
import { SERVER_CPU, SERVER_IP, addLoss, clearLoss, listening, onServer } from './netns.ts'
import { run, startDaemon, waitUntil, which, type Daemon } from './proc.ts'
import { fetchOnce, storm, type Fetch, type ServedFile } from './tftp-clients.ts'

type ServerDef = { readonly name: string, readonly label: string, start: (ctx: BenchContext, root: string) => Promise<Daemon> }
type Case = { readonly key: string, readonly label: string, readonly fetch: Fetch, readonly file: ServedFile }
/** Per case, per server: MB/s of each completed fetch, and the failures. */
type Tally = Map<string, Map<string, { mbps: number[], failed: number, why: Set<string> }>>
/** Per case, per server: busy seconds of the server's CPU for each completed single fetch. */
type CpuTally = Map<string, Map<string, number[]>>

/**
 * Busy seconds of the CPU the servers are pinned to (SERVER_CPU), from /proc/stat: user, nice,
 * system, irq and softirq, in USER_HZ ticks (100 per second). Not the server's own accounting,
 * because tftpd-hpa's per-transfer children are never waited for and their time is lost; the
 * pinned CPU runs only the server under test (clients are pinned to the other), plus the kernel's
 * share of its traffic, which a server that sends less pays less of.
 */
function serverCpuSeconds (): number | undefined {
  const line = readFileSync('/proc/stat', 'utf8').split('\n').find((l) => l.startsWith(`cpu${SERVER_CPU} `))
  if (line === undefined) return undefined
  const f = line.trim().split(/\s+/).map(Number)
  return [1, 2, 3, 6, 7].reduce((sum, i) => sum + (f[i] ?? 0), 0) / 100
}

const STORM_CLIENTS = 16
/** Seconds a transfer under loss may take before it counts as failed. */
const lossLimit = (ctx: BenchContext): number => ctx.quick ? 10 : 60
const MiB = 1 << 20

/** Debian's atftpd conflicts with tftpd-hpa, so when it is not installed we unpack its .deb here. */
async function atftpdPath (ctx: BenchContext): Promise<string | undefined> {
  const installed = which('atftpd')
  if (installed !== undefined) return installed
  const pkgs = dir(join(ctx.runDir, 'pkgs'))
  const unpacked = join(pkgs, 'atftpd', 'usr/sbin/atftpd')
  if (existsSync(unpacked)) return unpacked
  ctx.log('tftp: atftpd not installed (its package conflicts with tftpd-hpa): apt-get download atftpd + dpkg -x')
  await run(['apt-get', 'download', 'atftpd'], { timeoutMs: 120_000, cwd: pkgs })
  const deb = readdirSync(pkgs).find(f => f.startsWith('atftpd_') && f.endsWith('.deb'))
  if (deb === undefined) return undefined
  await run(['dpkg', '-x', join(pkgs, deb), join(pkgs, 'atftpd')], { timeoutMs: 60_000 })
  return existsSync(unpacked) ? unpacked : undefined
}

async function ready (d: Daemon): Promise<Daemon> {
  if (!await waitUntil(async () => d.exited() || await listening('udp', 69), 30_000) || d.exited()) {
    await d.stop()
    throw new Error(`${d.name} did not bind udp/69`)
  }
  return d
}

async function servers (ctx: BenchContext): Promise<ServerDef[]> {
  const list: ServerDef[] = []
  const missing = anvilMissing(ctx)
  if (missing === undefined) {
    list.push({
      name: 'anvil',
      label: 'Anvil',
      start: async (c, root) => await startAnvil(c, 'tftp-anvil', root, { proto: 'udp', port: 69 }, { tftp: { enabled: true, listen: `${SERVER_IP}:69` } })
    })
  } else {
    ctx.log(`tftp: skipping Anvil: ${missing}`)
  }
  list.push({
    name: 'tftpd-hpa',
    label: 'tftpd-hpa',
    start: async (c, root) => await ready(startDaemon('tftpd-hpa', onServer([which('in.tftpd') ?? 'in.tftpd', '-L', '-a', `${SERVER_IP}:69`, '-u', 'root', '-s', root]), join(dir(join(c.runDir, 'tftp-hpa')), 'tftpd.log')))
  })
  const atftpd = await atftpdPath(ctx)
  if (atftpd === undefined) {
    ctx.log('tftp: skipping atftpd: not installed and could not be unpacked')
  } else {
    list.push({
      name: 'atftpd',
      label: 'atftpd',
      start: async (c, root) => {
        const home = dir(join(c.runDir, 'tftp-atftpd'))
        const argv = [atftpd, '--daemon', '--no-fork', '--port', '69', '--bind-address', SERVER_IP, '--user', 'root', '--group', 'root', '--logfile', join(home, 'atftpd.log'), root]
        return await ready(startDaemon('atftpd', onServer(argv), join(home, 'stdout.log')))
      }
    })
  }
  return list
}

async function files (ctx: BenchContext, root: string): Promise<{ main: ServedFile, rollover: ServedFile, loss: ServedFile }> {
  const make = async (name: string, size: number): Promise<ServedFile> => ({ name, size, sha256: await ensureRandomFile(join(root, name), size) })
  return {
    main: await make(ctx.quick ? 'bench-4m.bin' : 'bench-32m.bin', ctx.quick ? 4 * MiB : 32 * MiB),
    // 34,000,000 bytes = 66,407 blocks of 512: the block number wraps past 65535 (RFC 1350 has
    // 16-bit block numbers; clients and servers agree to roll over to 0).
    rollover: await make('bench-rollover.bin', 34_000_000),
    loss: await make(ctx.quick ? 'bench-2m.bin' : 'bench-8m.bin', ctx.quick ? 2 * MiB : 8 * MiB)
  }
}

function cases (ctx: BenchContext, f: Awaited<ReturnType<typeof files>>): { single: Case[], storms: Case[], lossy: Case[] } {
  const c = (client: Fetch['client'], blksize: number, window: number, file: ServedFile, note = ''): Case => ({
    key: `${client}-${blksize}-${window}-${file.name}`,
    label: `${client} blksize ${blksize}${window > 1 ? ` windowsize ${window}` : ' (lock-step)'}, ${(file.size / 1e6).toFixed(1)} MB${note}`,
    fetch: { client, blksize, window },
    file
  })
  const single = [c('curl', 512, 1, f.main), c('curl', 1468, 1, f.main), c('curl', 8192, 1, f.main), c('atftp', 1468, 16, f.main), c('atftp', 8192, 16, f.main)]
  if (!ctx.quick) single.push(c('curl', 512, 1, f.rollover, ', rollover'))
  single.push(c('atftp', 512, 16, f.rollover, ', rollover'))
  return {
    single,
    storms: [c('curl', 1468, 1, f.main), c('atftp', 1468, 16, f.main)],
    lossy: [c('atftp', 1468, 16, f.loss), c('atftp', 8192, 16, f.loss)]
  }
}

function note (tally: Tally, key: string, server: string, mbps: number | undefined, failed = 0, why: readonly string[] = []): void {
  const byServer = tally.get(key) ?? new Map<string, { mbps: number[], failed: number, why: Set<string> }>()
  tally.set(key, byServer)
  const t = byServer.get(server) ?? { mbps: [], failed: 0, why: new Set<string>() }
  byServer.set(server, t)
  if (mbps !== undefined) t.mbps.push(mbps)
  t.failed += failed
  for (const w of why) t.why.add(w)
}

/** One server, one round: every single-transfer case, both storms, then the lossy cases. */
async function round (ctx: BenchContext, def: ServerDef, root: string, all: ReturnType<typeof cases>, t: { single: Tally, storms: Tally, lossy: Tally, cpu: CpuTally }, lossHow: string[]): Promise<void> {
  const daemon = await def.start(ctx, root)
  const limit = ctx.quick ? 30 : 90
  try {
    // One unmeasured fetch first, so that no server's first figure includes its start-up (a JIT
    // warming up, a cold file cache): the anchors get the same.
    const warm = all.single[0]
    if (warm !== undefined) await fetchOnce(ctx, { client: 'atftp', blksize: 1468, window: 16 }, warm.file, 30)
    for (const c of all.single) {
      checkTime(ctx)
      const cpu0 = serverCpuSeconds()
      const o = await fetchOnce(ctx, c.fetch, c.file, limit)
      const cpu1 = serverCpuSeconds()
      note(t.single, c.key, def.name, o.ok ? o.mbps : undefined, o.ok ? 0 : 1, o.ok ? [] : [o.why])
      if (o.ok && cpu0 !== undefined && cpu1 !== undefined) {
        const byServer = t.cpu.get(c.key) ?? new Map<string, number[]>()
        t.cpu.set(c.key, byServer)
        byServer.set(def.name, [...byServer.get(def.name) ?? [], cpu1 - cpu0])
      }
      ctx.log(`tftp ${def.name} ${c.label}: ${o.ok ? `${fmt(o.mbps)} MB/s` : `FAILED ${o.why}`}`)
    }
    for (const c of all.storms) {
      checkTime(ctx)
      const s = await storm(ctx, c.fetch, c.file, STORM_CLIENTS, limit)
      note(t.storms, c.key, def.name, s.mbps, s.failed, s.why)
      ctx.log(`tftp ${def.name} storm ${STORM_CLIENTS}× ${c.label}: ${fmt(s.mbps)} MB/s in all, ${s.failed} failed`)
    }
    try {
      lossHow.push(await addLoss(1))
      for (const c of all.lossy) {
        checkTime(ctx)
        const o = await fetchOnce(ctx, c.fetch, c.file, lossLimit(ctx))
        note(t.lossy, c.key, def.name, o.ok ? o.mbps : undefined, o.ok ? 0 : 1, o.ok ? [] : [o.why])
        ctx.log(`tftp ${def.name} 1% loss ${c.label}: ${o.ok ? `${fmt(o.mbps)} MB/s` : `FAILED ${o.why}`}`)
      }
    } finally {
      await clearLoss()
    }
  } finally {
    await daemon.stop()
  }
}

/** Runs the TFTP comparison and returns its section of docs/benchmarks.md. */
export async function benchTftp (ctx: BenchContext): Promise<Section> {
  const root = dir(join(ctx.runDir, 'assets'))
  const f = await files(ctx, root)
  const all = cases(ctx, f)
  const defs = await servers(ctx)
  const t = { single: new Map(), storms: new Map(), lossy: new Map(), cpu: new Map() }
  const lossHow: string[] = []
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 3)
  let stopped: string | undefined
  const errors: string[] = []
  let done = 0
  for (let i = 0; i < rounds && stopped === undefined; i++) {
    for (const def of defs) {
      try {
        await round(ctx, def, root, all, t, lossHow)
      } catch (err) {
        if (err instanceof OutOfTime) {
          stopped = err.message
          break
        }
        // A server that would not start, or loss that could not be set up: say so, go on.
        errors.push(`round ${i + 1}, ${def.name}: ${(err as Error).message}`)
        ctx.log(`tftp ${def.name}: ${(err as Error).message}`)
      }
    }
    done++
  }
  return { id: 'tftp', markdown: render(defs, all, t, { rounds: done, stopped, errors, loss: lossHow[0] ?? 'not applied', lossLimit: lossLimit(ctx) }) }
}

function cell (t: Tally, key: string, server: string, digits = 1): string {
  const x = t.get(key)?.get(server)
  if (x === undefined) return '–'
  const m = median(x.mbps)
  const failed = x.failed > 0 ? ` (${x.failed} failed)` : ''
  return `${fmt(m, digits)}${failed}`
}

function section (title: string, defs: readonly ServerDef[], list: readonly Case[], t: Tally): string {
  const others = defs.filter(d => d.name !== 'anvil')
  const header = ['Transfer', ...defs.map(d => `${d.label} MB/s`), ...others.map(o => `Anvil / ${o.label}`)]
  const rows = list.map(c => [c.label, ...defs.map(d => cell(t, c.key, d.name)),
    ...others.map(o => ratio(median(t.get(c.key)?.get('anvil')?.mbps ?? []), median(t.get(c.key)?.get(o.name)?.mbps ?? [])))])
  return `${title}\n\n${table(header, rows)}`
}

function cpuSection (defs: readonly ServerDef[], list: readonly Case[], cpu: CpuTally): string {
  const header = ['Transfer', ...defs.map(d => `${d.label} CPU s`)]
  // Seconds per transfer: a faster server spends its busy time in less wall time, so compare CPU s, not %.
  const rows = list.map(c => [c.label, ...defs.map(d => {
    const xs = cpu.get(c.key)?.get(d.name) ?? []
    return xs.length === 0 ? '–' : fmt(median(xs), 2)
  })])
  return `Busy seconds of the server's CPU (CPU ${SERVER_CPU}, where the server under test is pinned and clients are not: its work, the kernel's for its traffic, and anything else scheduled there) per single transfer above (median; /proc/stat, 10 ms ticks):\n\n${table(header, rows)}`
}

function render (defs: readonly ServerDef[], all: ReturnType<typeof cases>, t: { single: Tally, storms: Tally, lossy: Tally, cpu: CpuTally }, how: { rounds: number, stopped: string | undefined, errors: readonly string[], loss: string, lossLimit: number }): string {
  const failures = [t.single, t.storms, t.lossy].flatMap(tally => [...tally.entries()].flatMap(([key, m]) =>
    [...m.entries()].filter(([, x]) => x.why.size > 0).map(([server, x]) => `- ${server}, ${key}: ${[...x.why].join('; ')}`)))
  return [
    section(`Single transfers over the veth (median of ${how.rounds} round(s); MB = 10^6 bytes; every fetch's SHA-256 checked):`, defs, all.single, t.single),
    '',
    cpuSection(defs, all.single, t.cpu),
    '',
    section(`Boot storm: ${STORM_CLIENTS} clients at once, total MB/s of the completed transfers over the storm's wall time (median), failures summed over rounds:`, defs, all.storms, t.storms),
    '',
    section(`Under loss (${how.loss}), one transfer per round, ${how.lossLimit} s limit:`, defs, all.lossy, t.lossy),
    ...(failures.length === 0 ? [] : ['', 'Failures:', '', ...failures]),
    ...(how.errors.length === 0 ? [] : ['', 'Errors:', '', ...how.errors.map(e => `- ${e}`)]),
    ...(how.stopped === undefined ? [] : ['', `Stopped early: ${how.stopped}`])
  ].join('\n')
}
