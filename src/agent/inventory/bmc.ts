import { execFile } from 'node:child_process'
import type { BmcInfoInput } from '../../proto/generated/anvil/provisioning/v1/BmcInfo.ts'
import { isIpv4 } from '../../lib/ipv4.ts'
import { isMac, normalizeMac } from '../../lib/mac.ts'
import type { SysTree } from '../sysfs.ts'

// The BMC's own LAN address, asked in band. IPMI Get LAN Configuration Parameters (IPMI v2.0
// §23.2) goes through the kernel's IPMI device (/dev/ipmi0, ipmi_devintf) by ioctl, which Node
// cannot issue without a native addon; Debian's ipmitool does exactly that with `-I open`, so the
// boot environment carries it (boot-assets/build-bootenv.sh) and the agent reads its text.

/** What `ipmitool lan print` says about a LAN channel; '' where it said nothing usable. */
export type LanPrint = { readonly ip: string, readonly mac: string, readonly ipSource: string }

/** How one ipmitool run ended: its output, and why it failed (undefined when it exited 0). */
export type IpmitoolResult = {
  readonly stdout: string
  readonly stderr: string
  /** 'missing' when the program is not there, otherwise a short reason (exit status, timeout). */
  readonly failure?: { readonly kind: 'missing' | 'failed', readonly reason: string }
}

/** Runs ipmitool with these arguments, killed after `timeoutMs`; never rejects. */
export type IpmitoolRunner = (args: readonly string[], timeoutMs: number) => Promise<IpmitoolResult>

/** How readBmc asks the BMC; every field has a default suited to the boot environment. */
export type ReadBmcOptions = {
  /** Runs ipmitool; the default spawns it, but only when the tree is the live machine ('/'). */
  readonly run?: IpmitoolRunner
  /** Where the reason goes when the fields stay empty (default: the agent's console). */
  readonly log?: (line: string) => void
  /** Time for the whole channel search (default 5 s): the hardware report waits for it. */
  readonly budgetMs?: number
  /** Monotonic milliseconds (tests). */
  readonly now?: () => number
}

const EMPTY: LanPrint = { ip: '', mac: '', ipSource: '' }
/** Channels 1..11: ipmitool's own `lan print` search (find_lan_channel) and the spec's numbering. */
const CHANNELS = Array.from({ length: 11 }, (_, i) => i + 1)
const DEFAULT_BUDGET_MS = 5000

// IPMI v2.0 §23.2 parameter 4, as ipmitool prints it (lib/ipmi_lanp.c), to stable words.
const SOURCES: Record<string, string> = {
  Unspecified: 'unspecified',
  'Static Address': 'static',
  'DHCP Address': 'dhcp',
  'BIOS Assigned Address': 'bios',
  Other: 'other'
}

/**
 * The IP address, MAC address and address source from `ipmitool lan print` text. Pure and total:
 * anything it cannot read (a truncated line, garbage, 0.0.0.0 or an all-zero MAC, which IPMI
 * uses for "not configured") is '', and it never throws.
 */
export function parseLanPrint (text: string): LanPrint {
  const fields = new Map<string, string>()
  // Only complete lines: ipmitool ends each with '\n', and a cut one ("IP Address : 10.77.5.2")
  // could read as another valid address.
  for (const line of text.split('\n').slice(0, -1)) {
    // "IP Address Source       : DHCP Address"; continuation lines have an empty key.
    const colon = line.indexOf(':')
    if (colon <= 0) continue
    const key = line.slice(0, colon).trim()
    if (key !== '' && !fields.has(key)) fields.set(key, line.slice(colon + 1).trim())
  }
  const ip = fields.get('IP Address') ?? ''
  const mac = fields.get('MAC Address') ?? ''
  return {
    ip: isIpv4(ip) && ip !== '0.0.0.0' ? ip : '',
    mac: isMac(mac) && !/^[0:]+$/.test(mac) ? normalizeMac(mac) : '',
    ipSource: SOURCES[fields.get('IP Address Source') ?? ''] ?? ''
  }
}

/** Whether the text is a LAN channel's listing at all (a truncated one may lack the address lines). */
function isLanListing (text: string): boolean {
  return /^(IP Address|MAC Address|IP Address Source|Subnet Mask)\s*:/m.test(text)
}

/**
 * The BMC, reported only when the kernel found one (/dev/ipmi0): its LAN address, MAC and address
 * source from `ipmitool -I open lan print N` for the first channel 1..11 that answers as a LAN
 * channel, within the time budget. When ipmitool is missing or fails, the BMC is still reported,
 * with empty fields, and the reason is logged: the hardware report never fails for it.
 */
export async function readBmc (sys: SysTree, opts: ReadBmcOptions = {}): Promise<BmcInfoInput | undefined> {
  if (!(await sys.exists('/dev/ipmi0'))) return undefined
  // A captured tree has an empty file for /dev/ipmi0 and no BMC behind it to ask.
  const run = opts.run ?? (sys.root === '/' ? execIpmitool : undefined)
  if (run === undefined) return { ...EMPTY }
  const log = opts.log ?? ((line: string) => { process.stdout.write(`anvil-agent: ${line}\n`) })
  const found = await searchLanChannels(run, opts.budgetMs ?? DEFAULT_BUDGET_MS, opts.now ?? (() => performance.now()))
  if (found.lan === undefined) {
    log(`BMC: LAN address unknown (${found.reasons.join('; ')})`)
    return { ...EMPTY }
  }
  const { lan, channel } = found
  log(`BMC: LAN channel ${channel}: ip ${lan.ip || '?'}, mac ${lan.mac || '?'}, source ${lan.ipSource || '?'}`)
  return { ...lan }
}

type Search = { lan: LanPrint, channel: number, reasons: string[] } | { lan?: undefined, reasons: string[] }

/** Channel 1 first, then upward, until one answers as a LAN channel or the budget is spent. */
async function searchLanChannels (run: IpmitoolRunner, budgetMs: number, now: () => number): Promise<Search> {
  const deadline = now() + budgetMs
  const reasons: string[] = []
  for (const channel of CHANNELS) {
    const left = Math.floor(deadline - now())
    if (left <= 0) {
      reasons.push(`out of time after ${budgetMs} ms`)
      break
    }
    const r = await run(['-I', 'open', 'lan', 'print', String(channel)], left)
    if (r.failure === undefined && isLanListing(r.stdout)) return { lan: parseLanPrint(r.stdout), channel, reasons }
    const said = firstLine(r.stderr) || firstLine(r.stdout)
    const reason = r.failure?.reason ?? 'exit 0 without a LAN listing'
    reasons.push(`channel ${channel}: ${reason}${said !== '' ? `: ${said}` : ''}`)
    // Only "not a LAN channel" is worth the next channel. No program, no device, a hung BMC, or one
    // that does not implement Get Channel Info (IPMI v2.0 §22.24; QEMU's ipmi-bmc-sim answers
    // "Invalid command") is the same on every channel.
    const out = `${r.stderr}\n${r.stdout}`
    if (r.failure?.kind === 'missing' || !/Invalid channel/.test(out) || /Invalid command/.test(out)) break
  }
  return { reasons }
}

/** The first lines worth logging: ipmitool complains about its IANA registry (not shipped) on any error. */
function firstLine (text: string): string {
  return text.split('\n').map((l) => l.trim()).filter((l) => l !== '' && !l.startsWith('IANA PEN registry'))
    .slice(0, 2).join(' / ').slice(0, 200)
}

/** The real runner: ipmitool from PATH with an explicit argv (no shell), killed at the timeout. */
export const execIpmitool: IpmitoolRunner = async (args, timeoutMs) => await new Promise((resolve) => {
  execFile('ipmitool', [...args], {
    timeout: timeoutMs,
    killSignal: 'SIGKILL',
    maxBuffer: 1 << 20,
    encoding: 'utf8',
    env: { ...process.env, LC_ALL: 'C' }
  }, (err, stdout, stderr) => {
    if (err === null) {
      resolve({ stdout, stderr })
      return
    }
    const e = err as NodeJS.ErrnoException & { killed?: boolean, signal?: string | null }
    const failure = e.code === 'ENOENT'
      ? { kind: 'missing' as const, reason: 'ipmitool not found' }
      : { kind: 'failed' as const, reason: e.killed === true ? `no answer within ${timeoutMs} ms` : `exit ${String(e.code ?? e.signal ?? '?')}` }
    resolve({ stdout, stderr, failure })
  })
})
