// HTTP boot files: a 64 MiB file from Anvil (GET /assets/<file>) and from nginx (sendfile on),
// to 1 and 16 clients (curl, wrk), over the veth; plus byte-exact Range checks (RFC 9110 §14).
import { readFileSync, rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { anvilMissing, startAnvil } from './anvil.ts'
import { OutOfTime, checkTime, dir, ensureRandomFile, fmt, mbps, median, ratio, sha256, table, type BenchContext, type Section } from './context.ts'
import { SERVER_IP, listening, onClient, onServer } from './netns.ts'
import { run, startDaemon, waitUntil, which, type Daemon } from './proc.ts'

const PORT = 8080
const MiB = 1 << 20
type ServerDef = { readonly name: string, readonly label: string, start: (ctx: BenchContext, root: string) => Promise<Daemon> }
type Measure = { readonly key: string, readonly label: string }
const MEASURES: readonly Measure[] = [
  { key: 'curl1', label: '1 client, curl (MB/s)' },
  { key: 'curl16', label: '16 clients at once, curl (MB/s in all)' },
  { key: 'wrk1', label: '1 connection, wrk (MB/s)' },
  { key: 'wrk16', label: '16 connections, wrk (MB/s in all)' }
]

function nginxConf (home: string, root: string): string {
  // One worker, like Anvil's single event loop; sendfile as BENCHMARKS.md prescribes.
  return `daemon off;
master_process on;
worker_processes 1;
pid ${home}/nginx.pid;
error_log ${home}/error.log warn;
events { worker_connections 1024; }
http {
  access_log off;
  sendfile on;
  tcp_nopush on;
  default_type application/octet-stream;
  client_body_temp_path ${home}/tmp-body;
  proxy_temp_path ${home}/tmp-proxy;
  fastcgi_temp_path ${home}/tmp-fastcgi;
  uwsgi_temp_path ${home}/tmp-uwsgi;
  scgi_temp_path ${home}/tmp-scgi;
  server {
    listen ${SERVER_IP}:${PORT};
    location /assets/ { alias ${root}/; }
  }
}
`
}

function servers (ctx: BenchContext): ServerDef[] {
  const list: ServerDef[] = []
  const missing = anvilMissing(ctx)
  if (missing === undefined) {
    list.push({ name: 'anvil', label: 'Anvil', start: async (c, root) => await startAnvil(c, 'http-anvil', root, { proto: 'tcp', port: PORT }, { http: { listen: `${SERVER_IP}:${PORT}` } }) })
  } else {
    ctx.log(`http: skipping Anvil: ${missing}`)
  }
  list.push({
    name: 'nginx',
    label: 'nginx (sendfile)',
    start: async (c, root) => {
      const home = dir(join(c.runDir, 'http-nginx'))
      const conf = join(home, 'nginx.conf')
      writeFileSync(conf, nginxConf(home, root))
      const d = startDaemon('nginx', onServer([which('nginx') ?? 'nginx', '-p', home, '-c', conf]), join(home, 'stdout.log'))
      if (!await waitUntil(async () => d.exited() || await listening('tcp', PORT), 30_000) || d.exited()) {
        await d.stop()
        throw new Error(`nginx did not bind tcp/${PORT}; see ${home}`)
      }
      return d
    }
  })
  return list
}

const curl = (args: readonly string[]): string[] => onClient([which('curl') ?? 'curl', '-sS', '--max-time', '60', ...args])

async function curlOnce (url: string): Promise<number> {
  const r = await run(curl(['-o', '/dev/null', '-w', '%{http_code} %{size_download} %{time_total}', url]), { timeoutMs: 70_000 })
  const [code, size, seconds] = r.stdout.trim().split(' ').map(Number)
  if (r.code !== 0 || code !== 200 || size === undefined || seconds === undefined) throw new Error(`curl ${url}: exit ${String(r.code)} ${r.stdout} ${r.stderr.trim()}`)
  return mbps(size, seconds * 1000)
}

async function curlStorm (url: string, n: number, size: number): Promise<number> {
  const started = process.hrtime.bigint()
  const rs = await Promise.all(Array.from({ length: n }, async () => await run(curl(['-o', '/dev/null', '-w', '%{http_code} %{size_download}', url]), { timeoutMs: 70_000 })))
  const ms = Number(process.hrtime.bigint() - started) / 1e6
  const ok = rs.filter(r => r.code === 0 && r.stdout.trim() === `200 ${size}`).length
  if (ok < n) throw new Error(`${n - ok} of ${n} curl clients failed`)
  return mbps(n * size, ms)
}

/** wrk's "Transfer/sec: 1.23GB" to MB/s (wrk's units are binary), with its error counts. */
export function parseWrk (out: string): { mbps: number, errors: string | undefined } {
  const m = /Transfer\/sec:\s+([\d.]+)([KMG]?B)/.exec(out)
  const unit = { B: 1, KB: 2 ** 10, MB: 2 ** 20, GB: 2 ** 30 }[m?.[2] ?? 'B'] ?? 1
  const errors = /Socket errors:[^\n]*|Non-2xx or 3xx responses: \d+/.exec(out)?.[0]
  return { mbps: m === null ? NaN : Number(m[1]) * unit / 1e6, errors }
}

async function wrk (url: string, connections: number, seconds: number): Promise<number> {
  const r = await run(onClient([which('wrk') ?? 'wrk', '-t1', `-c${connections}`, `-d${seconds}s`, '--timeout', '30s', url]), { timeoutMs: (seconds + 40) * 1000 })
  const { mbps: rate, errors } = parseWrk(r.stdout)
  if (r.code !== 0 || !Number.isFinite(rate)) throw new Error(`wrk: exit ${String(r.code)} ${r.stderr.trim()}`)
  if (errors !== undefined) throw new Error(`wrk -c${connections}: ${errors}`)
  return rate
}

/** Whole file byte-exact, then Range: a middle slice, a suffix, an open end, and one past the end. */
async function checks (ctx: BenchContext, url: string, file: string, sum: string): Promise<string[]> {
  const failed: string[] = []
  const out = join(ctx.scratch, 'http-fetch')
  const whole = await run(curl(['-o', out, url]), { timeoutMs: 70_000 })
  if (whole.code !== 0 || await sha256(out) !== sum) failed.push('whole file: checksum mismatch')
  const bytes = readFileSync(file)
  const ranges: Array<[string, number, number]> = [['1000-1999', 1000, 2000], ['-500', bytes.length - 500, bytes.length], [`${bytes.length - 100}-`, bytes.length - 100, bytes.length]]
  for (const [spec, from, to] of ranges) {
    const r = await run(curl(['-r', spec, '-o', out, '-w', '%{http_code}', url]), { timeoutMs: 30_000 })
    if (r.stdout.trim() !== '206' || !readFileSync(out).equals(bytes.subarray(from, to))) failed.push(`Range ${spec}: status ${r.stdout.trim()} or wrong bytes`)
  }
  const past = await run(curl(['-r', `${bytes.length + 10}-`, '-o', '/dev/null', '-w', '%{http_code}', url]), { timeoutMs: 30_000 })
  if (past.stdout.trim() !== '416') failed.push(`Range past the end: status ${past.stdout.trim()}, expected 416`)
  rmSync(out, { force: true })
  return failed
}

/** Runs the HTTP comparison and returns its section of docs/benchmarks.md. */
export async function benchHttp (ctx: BenchContext): Promise<Section> {
  const root = dir(join(ctx.runDir, 'assets'))
  const name = 'bench-64m.bin'
  const size = 64 * MiB
  const sum = await ensureRandomFile(join(root, name), size)
  const url = `http://${SERVER_IP}:${PORT}/assets/${name}`
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 5)
  const wrkSeconds = ctx.quick ? 3 : 10
  const defs = servers(ctx)
  const results = new Map<string, Map<string, number[]>>()
  const notes = new Map<string, string[]>()
  let stopped: string | undefined
  for (let i = 0; i < rounds && stopped === undefined; i++) {
    for (const def of defs) {
      const got = results.get(def.name) ?? new Map<string, number[]>()
      results.set(def.name, got)
      const add = (key: string, v: number): void => { got.set(key, [...(got.get(key) ?? []), v]) }
      let daemon: Daemon | undefined
      try {
        checkTime(ctx)
        daemon = await def.start(ctx, root)
        if (i === 0) notes.set(def.name, await checks(ctx, url, join(root, name), sum))
        // Unmeasured warm-up (JIT, file cache), the same for every server.
        await curlOnce(url)
        add('curl1', await curlOnce(url))
        add('curl16', await curlStorm(url, 16, size))
        add('wrk1', await wrk(url, 1, wrkSeconds))
        add('wrk16', await wrk(url, 16, wrkSeconds))
        ctx.log(`http ${def.name} round ${i + 1}: ${MEASURES.map(m => `${m.key} ${fmt(got.get(m.key)?.at(-1), 0)}`).join(', ')} MB/s`)
      } catch (err) {
        if (err instanceof OutOfTime) { stopped = err.message; break }
        notes.set(def.name, [...(notes.get(def.name) ?? []), `round ${i + 1}: ${(err as Error).message}`])
      } finally {
        await daemon?.stop()
      }
    }
  }
  return { id: 'http', markdown: render(defs, results, notes, { rounds, wrkSeconds, stopped }) }
}

function render (defs: readonly ServerDef[], results: Map<string, Map<string, number[]>>, notes: Map<string, string[]>, how: { rounds: number, wrkSeconds: number, stopped: string | undefined }): string {
  const m = (server: string, key: string): number => median(results.get(server)?.get(key) ?? [])
  const rows = MEASURES.map(x => [x.label, ...defs.map(d => fmt(m(d.name, x.key), 0)), ratio(m('anvil', x.key), m('nginx', x.key))])
  const checkLines = defs.map(d => {
    const n = notes.get(d.name)
    return `- ${d.label}: ${n === undefined ? 'not run' : n.length === 0 ? 'whole file byte-exact; Range 1000-1999, -500 and N-100- give 206 with the right bytes; a range past the end gives 416' : n.join('; ')}`
  })
  return [
    `64 MiB file, median of ${how.rounds} round(s); MB = 10^6 bytes; wrk \`-t1 -cN -d${how.wrkSeconds}s --timeout 30s\`, curl to /dev/null.`,
    '',
    table(['Measure', ...defs.map(d => d.label), 'Anvil / nginx'], rows),
    '',
    'Checks:',
    '',
    ...checkLines,
    ...(how.stopped === undefined ? [] : ['', `Stopped early: ${how.stopped}`])
  ].join('\n')
}
