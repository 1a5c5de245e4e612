import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'
import { status } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../grpc/agent-credentials.ts'
import { DEFAULT_PROTO_FILE, loadProvisioningProto } from '../grpc/proto.ts'
import { isCodedError } from '../lib/errors.ts'
import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import { parseCmdline, type AgentArgs } from './cmdline.ts'
import { collectHardware, readSmbios } from './inventory/collect.ts'
import { bootDiskOf, bootMacOf } from './boot-facts.ts'
import { Outbox } from './outbox.ts'
import { runSession, type StreamAuth } from './session.ts'
import { SysTree } from './sysfs.ts'
import { installImage } from './install.ts'
import { TaskDispatcher, type TaskDeps } from './tasks.ts'
import { wipeDisks } from './wipe.ts'

// The discovery agent: init's child in the boot environment (boot-assets/bootenv-init/init).
// Exit status is init's instruction (docs/bootenv.md): 0 power off, 10 reboot, anything else
// "failed": init waits anvil.failwait seconds and reboots, so the machine PXE boots again and the
// server hands it a fresh one-time token.
//
// One session per boot, over as many streams as it takes: the first spends the boot token, the
// welcome hands a session credential, and after a network blip or a server restart the agent
// reconnects with it (backoff with jitter) while its wipe goes on; what it had to say meanwhile
// waits in the outbox. With a credential it never gives up by itself: the server says when the
// session is over (UNAUTHENTICATED), and only then does the agent exit.

export const AGENT_VERSION = '0.1.0'
const EXIT = { powerOff: 0, reboot: 10, failed: 1, tokenRefused: 3, pinMismatch: 4 } as const
const MAX_ATTEMPTS = 20
const BACKOFF_CAP_MS = 30_000

const consoleLog = (line: string): void => { process.stdout.write(`anvil-agent: ${line}\n`) }

/** Where the agent reads its machine and command line (tests: a captured tree and a test server). */
export type AgentOptions = {
  cmdline: string
  root?: string
  log?: (line: string) => void
  /** The wipe (tests: a slow or gated one); default the real wipeDisks. */
  wipe?: TaskDeps['wipe']
  /** The install (tests: a fake one); default the real installImage. */
  install?: TaskDeps['install']
  /** Waits before reconnect attempt `attempt` (1, 2, …); default 1 s doubling to 30 s, with jitter. */
  backoff?: (attempt: number) => Promise<void>
}

/** The agent on this machine: /proc/cmdline, the live /proc and /sys, the console. */
export async function main (): Promise<number> {
  return await runAgent({ cmdline: await readFile('/proc/cmdline', 'latin1') })
}

/** Collects, connects and serves tasks; resolves to the exit status for init. */
export async function runAgent (opts: AgentOptions): Promise<number> {
  const log = opts.log ?? consoleLog
  const root = opts.root ?? '/'
  log(`version ${AGENT_VERSION}, node ${process.version}`)
  let args: AgentArgs
  try {
    args = parseCmdline(opts.cmdline)
  } catch (err) {
    log(`cannot start: ${(err as Error).message}`)
    return EXIT.failed
  }
  const sys = new SysTree(root)
  const hardware = await collectHardware(root, { bmc: { log } })
  const ipmi = (await readSmbios(sys))?.ipmi
  if (ipmi !== undefined) log(`BMC: SMBIOS type 38 ${ipmi.interfaceType} at ${ipmi.addressSpace} 0x${ipmi.baseAddress.toString(16)}`)
  const disks = hardware.disks ?? []
  const bootDisk = await bootDiskOf(sys, disks)
  const bootMac = args.bootMac !== '' ? args.bootMac : await bootMacOf(sys)
  log(`hardware: ${hardware.system?.manufacturer ?? '?'} ${hardware.system?.product ?? '?'} serial ${hardware.system?.serial ?? '?'}, ` +
    `${hardware.cpu?.threads ?? 0} CPUs, ${Math.round(Number(hardware.memory?.totalBytes ?? 0) / 2 ** 20)} MiB, ` +
    `disks ${disks.map((d) => d.name).join(' ') || 'none'}, boot MAC ${bootMac || '?'}, boot disk ${bootDisk ?? 'none'}`)

  const outbox = new Outbox()
  const dispatcher = new TaskDispatcher({
    send: (msg: AgentMessageInput) => { outbox.send(msg) },
    disks,
    wipe: opts.wipe ?? wipeDisks,
    install: opts.install ?? installImage,
    // The node reports in to the server this agent was pointed at, pinned by the same fingerprint.
    server: { host: args.host, port: args.port, fingerprint: args.fingerprint },
    ...(bootDisk !== undefined ? { bootDisk } : {}),
    root,
    log
  })
  const wait = opts.backoff ?? backoff
  const proto = await loadProvisioningProto(protoFile())
  const hello = { agentVersion: AGENT_VERSION, bootMac, bootDisk: bootDisk ?? '' }
  let auth: StreamAuth = { token: args.token }
  for (let attempt = 1; 'credential' in auth || attempt <= MAX_ATTEMPTS; attempt++) {
    if (attempt > 1) await wait(attempt - 1)
    let credentials
    try {
      credentials = await pinnedChannelCredentials(args.host, args.port, args.fingerprint)
    } catch (err) {
      if (isCodedError(err) && err.code === 'ERR_TLS_PIN_MISMATCH') {
        log(`refusing ${args.host}:${args.port}: its certificate is not the pinned one`)
        return EXIT.pinMismatch
      }
      log(`cannot reach ${args.host}:${args.port}: ${(err as Error).message}`)
      continue
    }
    const client = new proto.anvil.provisioning.v1.Provisioning(`${args.host}:${args.port}`, credentials, agentChannelOptions)
    const end = await runSession({
      client,
      auth,
      hello,
      hardware,
      dispatcher,
      outbox,
      onWelcome: (w) => {
        auth = { credential: w.credential }
        log(`session credential valid for ${Math.round(w.credentialTtlMs / 60_000)} min`)
      },
      log
    })
    client.close()
    if (end.kind === 'finished') return end.outcome === 'reboot' ? EXIT.reboot : EXIT.powerOff
    if (end.code === status.UNAUTHENTICATED) {
      // A spent or expired token, or a session the server ended: looping cannot help; a fresh PXE boot gets a new token.
      log(`${'token' in auth ? 'token' : 'session'} refused: ${end.message}`)
      return EXIT.tokenRefused
    }
    log(`stream ended (${status[end.code] ?? end.code}): ${end.message}${outbox.pending > 0 ? `; ${outbox.pending} messages kept for the next stream` : ''}`)
    if (end.welcomed) attempt = 1
  }
  log(`giving up after ${MAX_ATTEMPTS} attempts`)
  return EXIT.failed
}

/** 1 s, 2 s, 4 s … capped at 30 s, with jitter so a rack that lost the server does not return in step. */
async function backoff (attempt: number): Promise<void> {
  const ms = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** (attempt - 1)) * (0.75 + Math.random() / 2)
  await new Promise((resolve) => setTimeout(resolve, ms))
}

/** The bundle ships provisioning.proto beside agent.mjs; in the repository it is src/proto/. */
function protoFile (): string {
  const candidates = [process.env.ANVIL_PROTO, process.argv[1] === undefined ? undefined : join(dirname(process.argv[1]), 'provisioning.proto'), DEFAULT_PROTO_FILE]
  return candidates.find((p): p is string => p !== undefined && existsSync(p)) ?? DEFAULT_PROTO_FILE
}

const entry = process.argv[1]
if (entry !== undefined && /(agent\.mjs|agent[/\\]main\.ts)$/.test(entry)) {
  main().then((code) => { process.exit(code) }, (err: unknown) => {
    consoleLog(`crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    process.exit(EXIT.failed)
  })
}
