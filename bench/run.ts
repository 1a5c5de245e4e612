// `npm run bench -- [dhcp|tftp|http|ipmi|discovery|install|node|all] [--quick] [--rounds N] [--write|--no-write] [--dd-only]`: Anvil side by side with the
// anchors (BENCHMARKS.md), in one run, in turns, over a veth pair between two namespaces.
// Results are printed and written to docs/benchmarks.md (a --quick run only with --write;
// --no-write keeps the file as it is). `install --dd-only` runs only the install benchmark's dd
// comparison (minutes instead of the install rounds' half hour), to debug and measure it; it is
// printed and kept in bench/run/last-dd.md, never written to docs/benchmarks.md (it is a partial result).
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { dir, type BenchContext, type Section } from './context.ts'
import { benchDhcp } from './dhcp.ts'
import { benchDiscovery, stopDiscovery } from './discovery.ts'
import { benchHttp } from './http.ts'
import { benchInstall, stopInstall } from './install.ts'
import { benchIpmi } from './ipmi.ts'
import { benchNode, stopNode } from './node.ts'
import { benchTftp } from './tftp.ts'
import { createPair, deletePair } from './netns.ts'
import { killAll, run, stopStarting, which } from './proc.ts'
import { machineLine, resultBlock, updateDocument } from './report.ts'

const BENCHES = { dhcp: benchDhcp, tftp: benchTftp, http: benchHttp, ipmi: benchIpmi, discovery: benchDiscovery, install: benchInstall, node: benchNode } as const
const ALL: BenchId[] = ['dhcp', 'tftp', 'http', 'ipmi', 'discovery', 'install', 'node']
type BenchId = keyof typeof BENCHES
const NEEDS: Record<BenchId, string[]> = {
  dhcp: ['perfdhcp', 'kea-dhcp4', 'dnsmasq'],
  tftp: ['curl', 'atftp', 'in.tftpd'],
  http: ['curl', 'wrk', 'nginx'],
  ipmi: ['ipmi_sim', 'ipmitool'],
  discovery: ['qemu-system-x86_64', 'dnsmasq', 'zstd', 'cpio'],
  install: ['qemu-system-x86_64', 'dnsmasq', 'zstd', 'cpio', 'ipmi_sim', 'sfdisk'],
  node: ['qemu-system-x86_64', 'dnsmasq', 'zstd', 'cpio', 'ipmi_sim', 'sfdisk']
}
const USAGE = 'usage: npm run bench -- [dhcp|tftp|http|ipmi|discovery|install|node|all] [--quick] [--rounds N] [--write|--no-write] [install --dd-only]'

function parseArgs (argv: readonly string[]): { ids: BenchId[], quick: boolean, write: boolean, rounds: number | undefined, ddOnly: boolean } {
  let ids: BenchId[] = ALL
  let quick = false
  let ddOnly = false
  let write: boolean | undefined
  let rounds: number | undefined
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i] as string
    if (a === '--quick') quick = true
    else if (a === '--dd-only') ddOnly = true
    else if (a === '--write') write = true
    else if (a === '--no-write') write = false
    else if (a === '--rounds') {
      rounds = Number(argv[++i])
      if (!Number.isInteger(rounds) || rounds < 1 || rounds > 20) throw new Error(`--rounds takes a number from 1 to 20\n${USAGE}`)
    } else if (a === 'all') ids = ALL
    else if (a in BENCHES) ids = [a as BenchId]
    else throw new Error(`unknown argument ${JSON.stringify(a)}\n${USAGE}`)
  }
  if (ddOnly) {
    if (ids.length !== 1 || ids[0] !== 'install') throw new Error(`--dd-only goes with install alone\n${USAGE}`)
    if (write === true) throw new Error(`--dd-only is a partial result: it is never written to docs/benchmarks.md\n${USAGE}`)
  }
  return { ids, quick, write: ddOnly ? false : write ?? !quick, rounds, ddOnly }
}

async function main (): Promise<number> {
  let opts
  try {
    opts = parseArgs(process.argv.slice(2))
  } catch (err) {
    process.stderr.write(`${(err as Error).message}\n`)
    return 2
  }
  if (process.getuid?.() !== 0) {
    process.stderr.write('bench: needs root (network namespaces, port 67/69)\n')
    return 1
  }
  const missing = [...new Set(['ip', 'taskset', 'ss', ...opts.ids.flatMap(id => NEEDS[id])])].filter(t => which(t) === undefined)
  if (missing.length > 0) {
    process.stderr.write(`bench: missing programs: ${missing.join(', ')} (Debian: kea-admin kea-dhcp4-server dnsmasq-base curl atftp tftpd-hpa nginx-light wrk openipmi ipmitool iproute2 util-linux qemu-system-x86 ovmf busybox-static zstd cpio)\n`)
    return 1
  }
  const repo = fileURLToPath(new URL('..', import.meta.url))
  const ctx: BenchContext = {
    quick: opts.quick,
    rounds: opts.rounds,
    ddOnly: opts.ddOnly,
    repo,
    runDir: dir(join(repo, 'bench/run')),
    scratch: dir('/dev/shm/anvbn-bench'),
    // Every loop is bounded: a full run stops starting measurements after 100 minutes.
    deadline: Date.now() + (opts.quick ? 4 : 100) * 60_000,
    log: (msg) => { process.stderr.write(`[bench ${new Date().toISOString().slice(11, 19)}] ${msg}\n`) }
  }
  // The IPMI benchmark runs on the host's loopback and discovery in its own lab namespaces; only the others need the pair.
  const needsPair = opts.ids.some(id => id !== 'ipmi' && id !== 'discovery' && id !== 'install' && id !== 'node')
  const cleanup = async (): Promise<void> => {
    await stopDiscovery()
    await stopInstall()
    await stopNode()
    killAll()
    if (needsPair) await deletePair()
    rmSync(ctx.scratch, { recursive: true, force: true })
  }
  const onSignal = (signal: NodeJS.Signals): void => {
    ctx.log(`${signal}: stopping what we started and deleting the namespaces`)
    stopStarting()
    cleanup().then(() => process.exit(130), () => process.exit(130))
  }
  process.once('SIGINT', onSignal)
  process.once('SIGTERM', onSignal)

  const sections: Section[] = []
  try {
    if (needsPair) await createPair()
    for (const id of opts.ids) {
      ctx.log(`${id}: starting`)
      sections.push(await BENCHES[id](ctx))
    }
  } finally {
    await cleanup()
  }
  const command = `npm run bench -- ${opts.ids.length === ALL.length ? 'all' : opts.ids.join(' ')}${opts.quick ? ' --quick' : ''}${opts.rounds === undefined ? '' : ` --rounds ${opts.rounds}`}${opts.ddOnly ? ' --dd-only' : ''}`
  const commit = (await run(['git', '-C', repo, 'rev-parse', '--short', 'HEAD'], { timeoutMs: 5000 })).stdout.trim()
  const meta = { command, date: new Date().toISOString().slice(0, 16).replace('T', ' ') + ' UTC', machine: await machineLine(), commit, quick: opts.quick }
  const blocks = sections.map(s => ({ id: s.id, text: resultBlock(s, meta) }))
  const printed = blocks.map(b => `## ${b.id.toUpperCase()}\n\n${b.text}\n`).join('\n')
  process.stdout.write(`${printed}\n`)
  writeFileSync(join(ctx.runDir, opts.ddOnly ? 'last-dd.md' : opts.quick ? 'last-quick.md' : 'last.md'), printed)
  if (opts.write) {
    updateDocument(join(repo, 'docs/benchmarks.md'), blocks)
    ctx.log('wrote docs/benchmarks.md')
  }
  return 0
}

main().then((code) => { process.exitCode = code }, (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exitCode = 1
})
