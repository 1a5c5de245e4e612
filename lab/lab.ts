// `npm run lab [-- --vms N --firmware bios|uefi|mixed --dhcp proxy|authoritative --boot|--no-bmc]`:
// the interactive QEMU lab in the network namespace "rack" (docs/lab.md). Each VM has a simulated
// BMC, is enrolled in Anvil with it and stays powered off until `anvil power on ID`.
// Ctrl-C tears everything down.
import { rmSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { REPO_ROOT, type DhcpMode } from './anvil.ts'
import { cleanupStaleLab } from './cleanup.ts'
import { enrollAll } from './enroll.ts'
import { listNamespaces } from './netns.ts'
import { sleep } from './proc.ts'
import { firmwareFor, vmIdentity, type Firmware } from './qemu.ts'
import { startLab, type Lab } from './start-lab.ts'

const USAGE = `usage: npm run lab -- [options]
  --vms N                       VMs to boot (default 2, at most 20)
  --firmware bios|uefi|mixed    firmware of the VMs (default mixed: vm1 BIOS, vm2 UEFI, ...)
  --dhcp proxy|authoritative    Anvil beside a site DHCP server, or handing out addresses (default proxy)
  --boot                        power every VM on through Anvil at once (boot device pxe, then power on)
  --no-bmc                      no BMCs: start the VMs directly, as QEMU processes of the lab
  --log-level LEVEL             Anvil's log level (default info)
  --for SECONDS                 tear down after this long instead of waiting for Ctrl-C
  --fresh                       delete lab/run (database, logs) before starting
  --cleanup                     remove what a crashed lab left behind, then exit
  --ns NAME                     namespace name (default rack; tests use anvlab-<random>)
  --run-dir DIR                 configs, logs, database (default lab/run)`

type CliOptions = { ns: string, runDir: string, vms: number, firmware: Firmware | 'mixed', dhcp: DhcpMode, logLevel: string, forSeconds: number | undefined, fresh: boolean, cleanup: boolean, boot: boolean, bmc: boolean }

function oneOf<T extends string> (flag: string, value: string, allowed: readonly T[]): T {
  const found = allowed.find(a => a === value)
  if (found === undefined) throw new Error(`--${flag} must be one of ${allowed.join(', ')}, got ${JSON.stringify(value)}`)
  return found
}

function parseCli (argv: string[]): CliOptions {
  const { values } = parseArgs({
    args: argv,
    options: {
      vms: { type: 'string', default: '2' },
      firmware: { type: 'string', default: 'mixed' },
      dhcp: { type: 'string', default: 'proxy' },
      'log-level': { type: 'string', default: 'info' },
      for: { type: 'string' },
      fresh: { type: 'boolean', default: false },
      cleanup: { type: 'boolean', default: false },
      boot: { type: 'boolean', default: false },
      'no-bmc': { type: 'boolean', default: false },
      ns: { type: 'string', default: 'rack' },
      'run-dir': { type: 'string', default: join(REPO_ROOT, 'lab/run') },
      help: { type: 'boolean', default: false }
    }
  })
  if (values.help) {
    console.log(USAGE)
    process.exit(0)
  }
  const vms = Number(values.vms)
  if (!Number.isInteger(vms) || vms < 0 || vms > 20) throw new Error(`--vms must be an integer 0–20, got ${values.vms}`)
  const forSeconds = values.for === undefined ? undefined : Number(values.for)
  if (forSeconds !== undefined && !(forSeconds > 0)) throw new Error(`--for must be a positive number of seconds, got ${String(values.for)}`)
  if (values.boot && values['no-bmc']) throw new Error('--boot powers VMs on through their BMCs; it cannot go with --no-bmc (those VMs start at once anyway)')
  if (!/^[a-z][a-z0-9-]{0,19}$/.test(values.ns)) throw new Error(`--ns must be 1–20 characters of a-z, 0-9 and -, got ${JSON.stringify(values.ns)}`)
  return {
    ns: values.ns,
    runDir: resolve(values['run-dir']),
    vms,
    firmware: oneOf('firmware', values.firmware, ['bios', 'uefi', 'mixed'] as const),
    dhcp: oneOf('dhcp', values.dhcp, ['proxy', 'authoritative'] as const),
    logLevel: values['log-level'],
    forSeconds,
    fresh: values.fresh,
    cleanup: values.cleanup,
    boot: values.boot,
    bmc: !values['no-bmc']
  }
}

/** Prints each machine once it appears in the inventory, and again when its IP, state or power changes. */
async function watchInventory (lab: Lab, stopped: AbortSignal): Promise<void> {
  const seen = new Map<string, string>()
  while (!stopped.aborted) {
    try {
      const power = lab.bmcs.size === 0 ? new Map<string, string>() : await powerStates(lab)
      for (const m of await lab.api.machines()) {
        const p = power.get(m.id)
        const line = `${m.macs.join(',')} uuid ${String(m.uuid)} serial ${String(m.serial)} ${String(m.firmware)} ip ${String(m.ip)} state ${m.state}${p === undefined ? '' : ` power ${p}`}`
        if (seen.get(m.id) !== line) console.log(`inventory: ${m.id}: ${line}`)
        seen.set(m.id, line)
      }
    } catch (err) {
      console.log(`inventory: API not answering: ${(err as Error).message}`)
    }
    await sleep(2_000)
  }
}

/** Each enrolled machine's power state (or its error code) from GET /api/v1/power. */
async function powerStates (lab: Lab): Promise<Map<string, string>> {
  const { machines } = await lab.api.powerAll()
  return new Map(machines.map(m => [m.machineId, m.state ?? m.error?.code ?? 'unknown']))
}

/** Enrols every BMC, prints how to power each VM on, and with --boot powers them on through Anvil. */
async function enrollAndHint (lab: Lab, boot: boolean): Promise<void> {
  const ids = await enrollAll(lab.api, lab.bmcs.values())
  console.log('\nEach VM is enrolled with its BMC and powered off. To boot one from Anvil (same two variables as above):\n')
  for (const [name, id] of ids) {
    const bmc = lab.bmcs.get(name)
    console.log(`  ${name}: machine ${id}, BMC ${String(bmc?.address)}:${String(bmc?.port)} user ${String(bmc?.user)} password ${String(bmc?.password)}`)
    console.log(`    bin/anvil power on ${id}        # its BMC starts with boot device pxe`)
  }
  console.log('  all: bin/anvil power status --all\n')
  if (!boot) return
  for (const [name, id] of ids) {
    await lab.api.setBootDevice(id, 'pxe')
    const { state } = await lab.api.powerAction(id, 'on')
    console.log(`${name}: boot device pxe, power ${state} (through Anvil)`)
  }
}

async function main (): Promise<void> {
  const opts = parseCli(process.argv.slice(2))
  if (process.getuid?.() !== 0) throw new Error('the lab needs root (network namespaces, taps)')
  const { ns, runDir } = opts
  const stale = await cleanupStaleLab(runDir)
  if (stale.length > 0) console.log(`removed what an earlier lab left: ${stale.join(', ')}`)
  if (opts.cleanup) return
  if ((await listNamespaces()).includes(ns)) {
    throw new Error(`namespace "${ns}" exists but ${join(runDir, 'state.json')} does not name it; remove it with \`ip netns del ${ns}\` if it is stale`)
  }
  if (opts.fresh) rmSync(runDir, { recursive: true, force: true })

  const vms = Array.from({ length: opts.vms }, (_, i) => vmIdentity(i + 1, firmwareFor(opts.firmware, i + 1)))
  const lab = await startLab({ ns, runDir, dhcpMode: opts.dhcp, ...(opts.bmc ? { bmcs: vms } : { vms }), logLevel: opts.logLevel, onProgress: (m) => console.log(m) })
  console.log('\nThe lab is up. From another shell on this host:\n')
  console.log(`  ${lab.cliHint()}\n`)
  try {
    if (opts.bmc) await enrollAndHint(lab, opts.boot)
  } catch (err) {
    await lab.stop()
    throw err
  }
  console.log(`Serial consoles: ${join(runDir, 'vmN.serial.log')}; Anvil's log: ${lab.anvil.daemon.logFile}`)
  console.log(opts.forSeconds === undefined ? 'Ctrl-C tears everything down.\n' : `Tearing down in ${opts.forSeconds} s.\n`)

  const stop = new AbortController()
  const done = new Promise<string>(resolve => {
    // Keep listening for the whole teardown: under `npm run`, Ctrl-C reaches us twice (from the
    // terminal and relayed by tsx), and a second SIGINT without a listener would kill us mid-way.
    let signalled = false
    const onSignal = (signal: NodeJS.Signals): void => {
      if (signalled) {
        console.log(`${signal}: already tearing down`)
        return
      }
      signalled = true
      resolve(signal)
    }
    process.on('SIGINT', onSignal)
    process.on('SIGTERM', onSignal)
    if (opts.forSeconds !== undefined) setTimeout(() => resolve('--for elapsed'), opts.forSeconds * 1000).unref()
    lab.anvil.daemon.exited.then(() => resolve('anvil exited'), () => resolve('anvil exited'))
  })
  const watcher = watchInventory(lab, stop.signal)
  const why = await done
  stop.abort()
  console.log(`\n${why}: tearing down`)
  await watcher
  await lab.stop()
  const left = await lab.leftovers()
  if (left.length > 0) throw new Error(`still present after teardown: ${left.join(', ')}`)
  console.log('torn down: no lab namespace, tap, link or process left')
}

main().catch((err: unknown) => {
  console.error(`lab: ${err instanceof Error ? err.message : String(err)}`)
  process.exitCode = 1
})
