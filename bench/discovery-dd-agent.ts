/**
 * The benchmark's in-guest agent, bundled by boot-assets/build-bootenv.sh (--agent-entry) into a
 * bench-only initramfs and never into the real one: it runs busybox `dd if=/dev/zero of=DISK
 * bs=N oflag=direct` on the disk whose serial is `anvil.bench.serial`, when and as the benchmark
 * says, and reports the timings over HTTP. The controller (bench/discovery-wipe.ts) serves
 * GET /go-K (404 until round K may start; `{ runs }` or `{ done: true }`) and stores POST /hello
 * and /result-K. Exit 0 makes init power the VM off.
 */
import { spawn, type ChildProcess } from 'node:child_process'
import { readdirSync, readFileSync } from 'node:fs'
import { request } from 'node:http'

/**
 * One dd invocation the benchmark asks for. With `source` (the install benchmark: a URL of a
 * zstd-compressed disk image), dd writes what `wget -O - URL | zstd -dc` produces instead of
 * /dev/zero: the same fetch, decompression and write as Anvil's install, without its hashing.
 */
export type DdRun = { readonly bs: string, readonly count: number, readonly source?: string }
/** What GET /go-K answers. */
export type DdStep = { readonly runs: readonly DdRun[] } | { readonly done: true }
/** One dd invocation as it went: wall time measured around the process, its exit status and stderr. */
export type DdResult = DdRun & { readonly wallMs: number, readonly code: number | null, readonly stderr: string }
/** POST /hello: the disk the agent found. */
export type DdHello = { readonly disk: string, readonly bytes: number, readonly uptime: string }

const POLL_LIMIT_MS = 15 * 60_000

function read (file: string): string {
  try {
    return readFileSync(file, 'utf8').trim()
  } catch {
    return ''
  }
}

async function http (method: 'GET' | 'POST', url: string, body?: string): Promise<{ status: number, body: string }> {
  return await new Promise((resolve, reject) => {
    const req = request(url, { method, headers: { 'content-type': 'application/json' }, timeout: 10_000 }, res => {
      const chunks: Buffer[] = []
      res.on('data', (c: Buffer) => chunks.push(c))
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }))
    })
    req.on('timeout', () => req.destroy(new Error(`${method} ${url} timed out`)))
    req.on('error', reject)
    req.end(body)
  })
}

/** POST with bounded retries: the benchmark waits for these. */
async function post (url: string, value: unknown): Promise<void> {
  for (let attempt = 1; attempt <= 10; attempt++) {
    try {
      if ((await http('POST', url, JSON.stringify(value))).status < 300) return
    } catch (err) {
      console.log(`anvil-bench: ${(err as Error).message}, attempt ${attempt}`)
    }
    await new Promise(resolve => setTimeout(resolve, 500))
  }
  throw new Error(`could not POST ${url}`)
}

/** Polls GET /go-K every 100 ms (bounded) until the benchmark lets round K start. */
async function nextStep (base: string, round: number): Promise<DdStep> {
  const deadline = Date.now() + POLL_LIMIT_MS
  while (Date.now() < deadline) {
    try {
      const res = await http('GET', `${base}/go-${round}`)
      if (res.status === 200) return JSON.parse(res.body) as DdStep
    } catch { /* the controller is in the same namespace; retry */ }
    await new Promise(resolve => setTimeout(resolve, 100))
  }
  return { done: true }
}

async function dd (disk: string, run: DdRun): Promise<DdResult> {
  if (run.source !== undefined) return await ddFrom(disk, run, run.source)
  const started = performance.now()
  return await new Promise((resolve) => {
    const child = spawn('dd', ['if=/dev/zero', `of=/dev/${disk}`, `bs=${run.bs}`, `count=${run.count}`, 'oflag=direct'], { stdio: ['ignore', 'ignore', 'pipe'] })
    let stderr = ''
    child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
    child.once('error', (err) => resolve({ ...run, wallMs: performance.now() - started, code: null, stderr: String(err) }))
    child.once('close', (code) => resolve({ ...run, wallMs: performance.now() - started, code, stderr: stderr.trim() }))
  })
}

/**
 * `wget -q -O - URL | zstd -dc | dd of=DISK bs=N iflag=fullblock oflag=direct`, piped here (no
 * shell), timed as a whole. Each pipe's read end is handed to the next process and this process
 * closes its own copy at once: were it kept, a reader that dies would leave its writer blocked
 * for ever on a pipe that still has a reader (this one), where a shell pipeline gets EPIPE.
 */
async function ddFrom (disk: string, run: DdRun, source: string): Promise<DdResult> {
  const started = performance.now()
  const wget = spawn('wget', ['-q', '-O', '-', source], { stdio: ['ignore', 'pipe', 'pipe'] })
  const zstd = spawn('zstd', ['-q', '-dc'], { stdio: [wget.stdout, 'pipe', 'pipe'] })
  wget.stdout.destroy()
  const ddp = spawn('dd', [`of=/dev/${disk}`, `bs=${run.bs}`, 'iflag=fullblock', 'oflag=direct'], { stdio: [zstd.stdout, 'ignore', 'pipe'] })
  zstd.stdout.destroy()
  const stderr: string[] = []
  const ended = async (name: string, child: ChildProcess): Promise<number | null> => {
    let text = ''
    child.stderr?.on('data', (d: Buffer) => { text += d.toString() })
    // 'exit' and the end of stderr (ours, read here), not 'close': that waits for every stdio
    // stream, and the stdout handed on is never read here. stderr may still hold the last words.
    const code = await new Promise<number | null>((resolve) => {
      child.once('error', (err) => { stderr.push(`${name}: ${String(err)}`); resolve(null) })
      child.once('exit', (c, signal) => { if (signal !== null) stderr.push(`${name}: killed by ${signal}`); resolve(c) })
    })
    // Destroyed means its 'end' came: every 'data' is in. A child that never started has no stderr to wait for.
    if (child.pid !== undefined && child.stderr !== null && !child.stderr.destroyed) await new Promise(resolve => child.stderr?.once('close', resolve))
    if (text.trim() !== '') stderr.push(`${name}: ${text.trim()}`)
    console.log(`anvil-bench: ${name} exited ${String(code)}`)
    return code
  }
  const codes = await Promise.all([ended('wget', wget), ended('zstd', zstd), ended('dd', ddp)])
  const code = codes.every(c => c === 0) ? 0 : codes.find(c => c !== 0) ?? null
  return { ...run, wallMs: performance.now() - started, code, stderr: stderr.join('; ') }
}

async function main (): Promise<number> {
  const cmdline = read('/proc/cmdline')
  const arg = (key: string): string | undefined => cmdline.split(/\s+/).find(w => w.startsWith(`${key}=`))?.slice(key.length + 1)
  const base = arg('anvil.bench.ctl')
  const serial = arg('anvil.bench.serial')
  if (base === undefined || serial === undefined) {
    console.log('anvil-bench: anvil.bench.ctl and anvil.bench.serial are needed')
    return 1
  }
  const disk = readdirSync('/sys/block').find(name => read(`/sys/block/${name}/serial`) === serial)
  if (disk === undefined) {
    console.log(`anvil-bench: no disk with serial ${serial}`)
    return 1
  }
  await post(`${base}/hello`, { disk, bytes: Number(read(`/sys/block/${disk}/size`)) * 512, uptime: read('/proc/uptime') } satisfies DdHello)
  for (let round = 0; round < 100; round++) {
    const step = await nextStep(base, round)
    if ('done' in step) break
    const results: DdResult[] = []
    for (const run of step.runs) {
      console.log(`anvil-bench: round ${round}: dd bs=${run.bs}${run.source === undefined ? ' from /dev/zero' : ` from ${run.source}`}`)
      results.push(await dd(disk, run))
      const r = results.at(-1)
      console.log(`anvil-bench: round ${round}: exit ${String(r?.code)} in ${r?.wallMs.toFixed(0) ?? '?'} ms ${r?.stderr.replace(/\s+/g, ' ') ?? ''}`)
    }
    await post(`${base}/result-${round}`, results)
  }
  console.log('anvil-bench: done')
  return 0
}

// Node exits with status 0 when its event loop runs dry, even with main() still waiting: init
// would power the VM off as if all went well, with no result and not a word on the console. That
// is how the 'close' of a pipe handed on (never read here, so never closed) lost every dd round.
// main() ends with process.exit, so reaching 'beforeExit' means such a wait: say so, exit non-zero.
process.once('beforeExit', () => {
  console.log('anvil-bench: the event loop ran dry while main() still waited (a promise nothing will settle)')
  process.exit(3)
})

main().then(code => process.exit(code), (err: unknown) => {
  console.log(`anvil-bench: ${(err as Error).stack ?? String(err)}`)
  process.exit(1)
})
