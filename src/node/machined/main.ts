/**
 * The node's first-boot program (machined grows from it in issue 11), run as root by the image's
 * stage-2 init (boot-assets/node-init/root-init) from the read-only root, bundled by the image build
 * into /usr/lib/anvil/anvil-node.mjs (src/node/main.ts: `anvil-node.mjs machined`) with the protos beside it. It prints the boot line first
 * (`anvil-node: booted slot A version 0.1.0`: the image boot tests wait for it), then runs the
 * first boot (first-boot.ts). Its exit code tells the init what happened:
 *   0 reported in (or had before) and the slot is committed: the init keeps the machine up
 *   3 no valid STATE (an image booted without an install): nothing done
 *   4 the config was refused: no network, no report
 *   5 anything else failed (no server within the retry budget, a refused token, a disk error)
 */
import { execFile } from 'node:child_process'
import { existsSync, readFileSync } from 'node:fs'
import { networkInterfaces } from 'node:os'
import { dirname, join } from 'node:path'
import { DEFAULT_NODE_PROTO_FILE, DEFAULT_PROTO_FILE } from '../../grpc/proto.ts'
import { ServiceLog } from './api/service-log.ts'
import { runNode } from './run-node.ts'
import { parseNodeCmdline } from './cmdline.ts'
import { runFirstBoot, type FirstBootOutcome } from './first-boot.ts'
import type { Argv } from './network-plan.ts'
import { reportIn } from './report-in.ts'

export const EXIT: Readonly<Record<FirstBootOutcome, number>> = { reported: 0, 'no-state': 3, refused: 4, failed: 5 }

const say = (line: string): void => { process.stdout.write(`anvil-node: ${line}\n`) }

/** The two lines booted.mjs printed before: the boot line, then where and how it runs. */
function bootLines (): void {
  const cmdline = readFileSync('/proc/cmdline', 'utf8')
  const release = JSON.parse(readFileSync('/etc/anvil/release.json', 'utf8')) as { version: string, build: string }
  const args = parseNodeCmdline(cmdline)
  const tryArg = /(?:^|\s)anvil\.try=(\S*)/.exec(cmdline)?.[1] ?? '?'
  say(`booted slot ${args.slot ?? '?'} version ${release.version}`)
  const root = readFileSync('/proc/mounts', 'utf8').split('\n').find(l => l.split(' ')[1] === '/') ?? '?'
  say(`try=${tryArg} build ${release.build} node ${process.version} uptime ${readFileSync('/proc/uptime', 'utf8').split(' ')[0] ?? '?'} s root "${root}"`)
}

async function exec (argv: Argv, timeoutMs: number): Promise<void> {
  const [file, ...args] = argv
  await new Promise<void>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err === null) resolve()
      else reject(new Error(stderr.trim().split('\n').at(-1)?.slice(0, 300) || err.message))
    })
  })
}

/** Global addresses on these links, as CIDR (link-local IPv6 left out: it is the same on every boot of every NIC). */
function addresses (links: readonly string[]): string[] {
  const all = networkInterfaces()
  return links.flatMap(l => (all[l] ?? []).filter(a => !a.internal && !a.address.toLowerCase().startsWith('fe80:')).map(a => a.cidr ?? `${a.address}/${a.family === 'IPv4' ? 32 : 128}`))
}

/** The bundle ships its protos beside itself; in the repository they are in src/proto/. */
function besideBundle (name: string, fallback: string): string {
  const beside = process.argv[1] === undefined ? undefined : join(dirname(process.argv[1]), name)
  return beside !== undefined && existsSync(beside) ? beside : fallback
}

/** machined's own console lines, also kept for the node API's Logs("machined"). */
const ownLog = new ServiceLog()

/**
 * Runs machined (no arguments: everything comes from STATE and the command line): the first boot,
 * then, once it reported in, the node itself (run-node.ts: the node API, trustd, apid) until the
 * machine stops. Resolves only when there is nothing to run: its exit code says why (EXIT).
 */
export async function main (): Promise<number> {
  bootLines()
  const provisioningProto = besideBundle('provisioning.proto', DEFAULT_PROTO_FILE)
  const outcome = await runFirstBoot({
    roots: { sys: '/sys', dev: '/dev', proc: '/proc', etcAnvil: '/etc/anvil', run: '/run' },
    console: (line) => { process.stdout.write(`${line}\n`); ownLog.write('stdout', Buffer.from(`${line}\n`)) },
    exec,
    now: () => Date.now(),
    reportIn: async (target, token, report) => await reportIn(target, token, report, { protoFile: provisioningProto, log: say }),
    addresses
  })
  // anvil.halt=poweroff (tests of the first boot alone): nothing runs after it.
  if (outcome !== 'reported' || /(?:^|\s)anvil\.halt=poweroff(?:\s|$)/.test(readFileSync('/proc/cmdline', 'utf8'))) return EXIT[outcome]
  const line = (text: string): void => { say(text); ownLog.write('stdout', Buffer.from(`anvil-node: ${text}\n`)) }
  try {
    const node = await runNode({
      roots: { sys: '/sys', dev: '/dev', proc: '/proc', etcAnvil: '/etc/anvil' },
      bundle: process.argv[1] ?? '',
      nodeProto: besideBundle('node.proto', DEFAULT_NODE_PROTO_FILE),
      provisioningProto,
      say: line,
      console: (text) => { process.stdout.write(`${text}\n`); ownLog.write('stdout', Buffer.from(`${text}\n`)) },
      ownLog
    })
    await new Promise<void>((resolve) => { process.once('SIGTERM', resolve) })
    await node.stop()
  } catch (err) {
    // The report stands and the slot is committed: the machine stays up (root-init), and says why.
    line(`the node API did not start: ${err instanceof Error ? err.message : String(err)}`)
  }
  return EXIT.reported
}

const entry = process.argv[1]
if (entry !== undefined && /(machined\.mjs|machined[/\\]main\.ts)$/.test(entry)) {
  main().then((code) => { process.exit(code) }, (err: unknown) => {
    say(`crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    process.exit(EXIT.failed)
  })
}
