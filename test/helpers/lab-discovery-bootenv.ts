import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { inNamespace, type Teardown } from '../../lab/netns.ts'
import { run, startDaemon, stopDaemon, tryRun, waitFor, type Daemon } from '../../lab/proc.ts'

/** Where a build put the boot environment, and how long it took. */
export type BuiltBootenv = { readonly dir: string, readonly vmlinuz: string, readonly initrd: string, readonly seconds: number, readonly output: string }

/**
 * Runs boot-assets/build-bootenv.sh (idempotent: seconds when nothing changed). `out` and
 * `agentEntry` build a test-only environment elsewhere (the stand-in agent), leaving boot-assets/bootenv alone.
 */
export async function buildBootenv (options: { out?: string, agentEntry?: string } = {}): Promise<BuiltBootenv> {
  const args = [join(REPO_ROOT, 'boot-assets/build-bootenv.sh')]
  if (options.out !== undefined) args.push('--out', options.out)
  if (options.agentEntry !== undefined) args.push('--agent-entry', options.agentEntry)
  const started = process.hrtime.bigint()
  const output = await new Promise<string>((resolve, reject) => {
    execFile('bash', args, { cwd: REPO_ROOT, timeout: 300_000, maxBuffer: 4 << 20 }, (err, stdout, stderr) => {
      if (err !== null) reject(new Error(`build-bootenv.sh failed: ${stderr.trim() || err.message}`))
      else resolve(stdout + stderr)
    })
  })
  const dir = options.out ?? join(REPO_ROOT, 'boot-assets/bootenv')
  return {
    dir,
    vmlinuz: join(dir, 'vmlinuz'),
    initrd: join(dir, 'initramfs.zst'),
    seconds: Number(process.hrtime.bigint() - started) / 1e9,
    output
  }
}

/** The stand-in network: a namespace with br0, dnsmasq handing out addresses, and a report receiver. */
export const STANDIN_NET = {
  bridge: 'br0',
  serverAddress: '10.77.0.1',
  range: ['10.77.0.100', '10.77.0.199'],
  reportPort: 8080
} as const

// Runs inside the namespace: every POST body is written to <dir>/<path>.json, answered with 204.
const REPORT_SERVER = `
const { createServer } = require('node:http')
const { writeFileSync } = require('node:fs')
const [dir, host, port] = process.argv.slice(1)
createServer((req, res) => {
  const chunks = []
  req.on('data', c => chunks.push(c))
  req.on('end', () => {
    const name = req.url.replace(/[^a-zA-Z0-9-]/g, '') || 'report'
    writeFileSync(dir + '/' + name + '.json', Buffer.concat(chunks))
    console.log('report ' + name + ' from ' + req.socket.remoteAddress)
    res.writeHead(204).end()
  })
}).listen(Number(port), host, () => console.log('listening'))
`

/** The pieces the stand-in test starts in its namespace; all are undone by the Teardown. */
export type StandinNetwork = { readonly ns: string, readonly dhcp: Daemon, readonly reports: Daemon, reportUrl (name: string): string, report (name: string): unknown }

/** Creates namespace `ns` with br0, the taps, dnsmasq (DHCP only) and the report receiver. */
export async function startStandinNetwork (ns: string, runDir: string, taps: readonly string[], teardown: Teardown): Promise<StandinNetwork> {
  const { bridge, serverAddress } = STANDIN_NET
  await run(['ip', 'netns', 'add', ns])
  teardown.push(`delete namespace ${ns}`, async () => await run(['ip', 'netns', 'del', ns]))
  const ipNs = async (...args: string[]): Promise<string> => await run(['ip', '-n', ns, ...args])
  await ipNs('link', 'set', 'lo', 'up')
  await ipNs('link', 'add', bridge, 'type', 'bridge', 'stp_state', '0', 'forward_delay', '0')
  await ipNs('addr', 'add', `${serverAddress}/24`, 'dev', bridge)
  await ipNs('link', 'set', bridge, 'up')
  for (const tap of taps) {
    await ipNs('tuntap', 'add', 'dev', tap, 'mode', 'tap')
    teardown.push(`delete ${tap}`, async () => await tryRun(['ip', '-n', ns, 'link', 'del', tap]))
    await ipNs('link', 'set', tap, 'master', bridge, 'up')
  }
  const track = (d: Daemon): Daemon => {
    teardown.push(`stop ${d.name}`, async () => await stopDaemon(d))
    return d
  }
  const dhcp = track(startDaemon({
    name: 'dnsmasq-dhcp',
    argv: inNamespace(ns, [
      'dnsmasq', '--keep-in-foreground', '--conf-file=/dev/null', `--pid-file=${join(runDir, 'dnsmasq.pid')}`,
      '--port=0', '--no-resolv', '--no-hosts', '--log-facility=-', '--user=root', '--bind-interfaces',
      `--interface=${bridge}`, `--dhcp-range=${STANDIN_NET.range[0]},${STANDIN_NET.range[1]},255.255.255.0,1h`,
      `--dhcp-option=option:router,${serverAddress}`, `--dhcp-option=option:dns-server,${serverAddress}`,
      `--dhcp-leasefile=${join(runDir, 'dnsmasq.leases')}`, '--dhcp-authoritative', '--log-dhcp'
    ]),
    logFile: join(runDir, 'dnsmasq.log')
  }))
  let listening = false
  const reports = track(startDaemon({
    name: 'report-server',
    argv: inNamespace(ns, [process.execPath, '-e', REPORT_SERVER, runDir, serverAddress, String(STANDIN_NET.reportPort)]),
    logFile: join(runDir, 'report-server.log'),
    onLine: (line) => { if (line === 'listening') listening = true }
  }))
  await waitFor('the report receiver', 10_000, () => listening ? true : undefined, {
    intervalMs: 100,
    giveUp: () => reports.alive() ? undefined : `it exited; see ${reports.logFile}`
  })
  return {
    ns,
    dhcp,
    reports,
    reportUrl: (name) => `http://${serverAddress}:${STANDIN_NET.reportPort}/${name}`,
    report: (name) => {
      const file = join(runDir, `${name}.json`)
      return existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) as unknown : undefined
    }
  }
}
