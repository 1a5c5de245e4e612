import { z } from 'zod'
import { isIpv4, parseCidr, parseRange, ipv4ToInt, cidrContains } from '../lib/ipv4.ts'
import { isMac, normalizeMac } from '../lib/mac.ts'
import { parseDuration } from '../lib/duration.ts'

/** "host:port" with an IPv4 host (or 0.0.0.0) and a port 0–65535; port 0 asks the kernel for one. */
const listenAddress = z.string().superRefine((v, ctx) => {
  const i = v.lastIndexOf(':')
  const host = v.slice(0, i)
  const port = Number(v.slice(i + 1))
  if (i <= 0 || !isIpv4(host) || !Number.isInteger(port) || port < 0 || port > 65535) {
    ctx.addIssue({ code: 'custom', message: `expected "IPv4:port" such as "0.0.0.0:8080", got ${JSON.stringify(v)}` })
  }
})

const ipv4 = z.string().refine(isIpv4, { error: (iss) => `expected an IPv4 address, got ${JSON.stringify(iss.input)}` })
const mac = z.string().refine(isMac, { error: (iss) => `expected a MAC address such as 52:54:00:12:34:56, got ${JSON.stringify(iss.input)}` })
  .transform(normalizeMac)
const duration = z.union([z.string(), z.number()]).transform((v, ctx) => {
  try {
    return parseDuration(v)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
    return z.NEVER
  }
})

/** The loosely typed view a refinement gets when other keys of the subnet may be invalid. */
type RawSubnet = { subnet?: unknown, range?: unknown, reservations?: unknown }

/** Range and reservations must lie inside the subnet (reported per key). */
function checkSubnetBounds (s: RawSubnet, ctx: z.RefinementCtx): void {
  if (typeof s.subnet !== 'string') return
  let cidr
  try {
    cidr = parseCidr(s.subnet)
  } catch (err) {
    ctx.addIssue({ code: 'custom', path: ['subnet'], message: (err as Error).message })
    return
  }
  if (typeof s.range === 'string') {
    try {
      const r = parseRange(s.range)
      if (!cidrContains(cidr, r.start) || !cidrContains(cidr, r.end)) {
        ctx.addIssue({ code: 'custom', path: ['range'], message: `range ${s.range} is not inside subnet ${s.subnet}` })
      }
    } catch (err) {
      ctx.addIssue({ code: 'custom', path: ['range'], message: (err as Error).message })
    }
  }
  const reservations = Array.isArray(s.reservations) ? s.reservations as { address?: unknown }[] : []
  reservations.forEach((r, i) => {
    if (typeof r?.address === 'string' && isIpv4(r.address) && !cidrContains(cidr, ipv4ToInt(r.address))) {
      ctx.addIssue({ code: 'custom', path: ['reservations', i, 'address'], message: `${r.address} is not inside subnet ${s.subnet as string}` })
    }
  })
}

const subnet = z.strictObject({
  subnet: z.string(),
  range: z.string(),
  router: ipv4.optional(),
  dns: z.array(ipv4).default([]),
  domain: z.string().optional(),
  leaseTime: duration.default(3_600_000),
  reservations: z.array(z.strictObject({ mac, address: ipv4, hostname: z.string().optional() })).default([])
  // `when`: run even when another key of this subnet is invalid, so every problem shows at once.
}).superRefine((s, ctx) => { checkSubnetBounds(s as RawSubnet, ctx) }, { when: () => true })

export const configSchema = z.strictObject({
  dataDir: z.string().default('./var'),
  bootAssets: z.string().default('./boot-assets'),
  /** Boot files held in memory for TFTP and HTTP (a boot storm reads each from disk once). */
  assetCache: z.strictObject({
    /** Files up to this many MiB are cached; larger ones are read from disk per request. */
    maxFileMiB: z.int().min(0).max(4096).default(128),
    /** MiB held in all; the least recently used files go first. */
    maxTotalMiB: z.int().min(0).max(65536).default(512)
  }).default({ maxFileMiB: 128, maxTotalMiB: 512 }),
  server: z.strictObject({
    /** The address machines use to reach us: DHCP next-server and the URLs in iPXE scripts. */
    address: ipv4.optional()
  }).default({}),
  log: z.strictObject({
    level: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info')
  }).default({ level: 'info' }),
  http: z.strictObject({
    listen: listenAddress.default('0.0.0.0:8080')
  }).default({ listen: '0.0.0.0:8080' }),
  api: z.strictObject({
    listen: listenAddress.default('127.0.0.1:8081')
  }).default({ listen: '127.0.0.1:8081' }),
  tftp: z.strictObject({
    enabled: z.boolean().default(true),
    listen: listenAddress.default('0.0.0.0:69'),
    /** Transfers served at once; a request over the cap gets a TFTP error and retries later. */
    maxTransfers: z.int().min(1).max(10_000).default(256),
    /** Largest blksize we accept (RFC 2348 allows 65464). */
    maxBlockSize: z.int().min(512).max(65464).default(65464),
    /** Largest windowsize we accept (RFC 7440). */
    maxWindowSize: z.int().min(1).max(65535).default(64),
    /** Seconds to wait for an ACK before retransmitting, unless the client negotiates timeout. */
    timeout: z.int().min(1).max(255).default(2),
    retries: z.int().min(1).max(50).default(5),
    /**
     * Run lock-step transfers (windowsize 1, what PXE firmware asks for) of cached files on the
     * native engine built at install (native/): one thread serving them all through epoll, which
     * turns an ACK into the next block faster than the event loop. Off, or not built: the event loop.
     */
    nativeLockstep: z.boolean().default(true),
    /**
     * Microseconds the native engine polls after each datagram before it sleeps (0: never). While
     * clients answer within it, neither side pays a CPU's wake-up per block; when a whole budget
     * passes without a datagram it backs off. One thread polls, never more.
     */
    spinMicros: z.int().min(0).max(10_000).default(50)
  }).default({ enabled: true, listen: '0.0.0.0:69', maxTransfers: 256, maxBlockSize: 65464, maxWindowSize: 64, timeout: 2, retries: 5, nativeLockstep: true, spinMicros: 50 }),
  dhcp: z.strictObject({
    mode: z.enum(['proxy', 'authoritative', 'off']).default('proxy'),
    /** Bind to this interface (SO_BINDTODEVICE); needed when the host has several networks. */
    interface: z.string().optional(),
    listen: listenAddress.default('0.0.0.0:67'),
    /** PXE boot server port (proxyDHCP REQUEST → ACK), proxy mode only. */
    proxyListen: listenAddress.default('0.0.0.0:4011'),
    /** Port clients listen on; 68 except in tests. */
    clientPort: z.int().min(1).max(65535).default(68),
    /** UEFI x86-64 first stage: snponly.efi uses the firmware's NIC driver, ipxe.efi its own. */
    efiX64BootFile: z.string().default('snponly.efi'),
    biosBootFile: z.string().default('undionly.kpxe'),
    efiArm64BootFile: z.string().default('arm64/snponly.efi'),
    subnets: z.array(subnet).default([])
  }).default({
    mode: 'proxy',
    listen: '0.0.0.0:67',
    proxyListen: '0.0.0.0:4011',
    clientPort: 68,
    efiX64BootFile: 'snponly.efi',
    biosBootFile: 'undionly.kpxe',
    efiArm64BootFile: 'arm64/snponly.efi',
    subnets: []
  }),
  grpc: z.strictObject({
    /** The provisioning service discovery agents connect to (TLS; certificate in dataDir). */
    listen: listenAddress.default('0.0.0.0:8443')
  }).default({ listen: '0.0.0.0:8443' }),
  discovery: z.strictObject({
    /** How long the token in a boot script stays valid (it is spent by the agent's first session). */
    tokenTtl: duration.default(3_600_000),
    /**
     * Machines whose hardware matches one of these selectors are accepted without an operator:
     * dotted paths into the hardware report → value, `*` as wildcard, e.g.
     * { "system.manufacturer": "Dell*", "nics.mac": "52:54:00:*" }.
     */
    autoAccept: z.array(z.record(z.string().min(1), z.union([z.string(), z.number(), z.boolean()]))
      .refine(r => Object.keys(r).length > 0, { message: 'an empty selector would accept nothing; remove it' })).default([]),
    /**
     * New machines (a MAC the inventory has never seen) recorded per minute at most, with bursts up
     * to as many: anyone on the provisioning network can invent MACs. 0 turns the limit off.
     */
    newMachinesPerMinute: z.int().min(0).max(1_000_000).default(120)
  }).default({ tokenTtl: 3_600_000, autoAccept: [], newMachinesPerMinute: 120 }),
  images: z.strictObject({
    /**
     * Image keys (minisign public keys, `RW…`) whose signatures Anvil accepts besides its own
     * `<dataDir>/image.pub`: an image key kept offline, a release key.
     */
    trustedKeys: z.array(z.string().regex(/^RW[A-Za-z0-9+/]{54}$/, 'a minisign public key (RW… , 56 characters)')).max(16).default([])
  }).default({ trustedKeys: [] }),
  retention: z.strictObject({
    /** Timeline events older than this are deleted (machines' and unattached ones). */
    events: duration.default(90 * 24 * 3_600_000),
    /** At most this many timeline events are kept per machine; the oldest go first. */
    eventsPerMachine: z.int().min(100).max(10_000_000).default(20_000),
    /** Events that never matched a machine (DHCP chatter of other hosts) go after this long. */
    unattachedEvents: duration.default(7 * 24 * 3_600_000)
  }).default({ events: 90 * 24 * 3_600_000, eventsPerMachine: 20_000, unattachedEvents: 7 * 24 * 3_600_000 }),
  power: z.strictObject({
    /** BMC operations in flight at once, over all BMCs (one at a time per BMC, always). */
    concurrency: z.int().min(1).max(1024).default(64),
    /** Minimum time between two power-ons, so a rack does not draw its inrush current at once. */
    powerOnStagger: duration.default(500),
    /** Attempts after the first for a BMC that did not answer (never for wrong credentials). */
    retries: z.int().min(0).max(10).default(2),
    /** First retry delay; each further one doubles it. */
    retryBackoff: duration.default(250),
    /** How long a power on/off/cycle/reset may take to read back as done. */
    readBackTimeout: duration.default(15_000),
    /** How long a soft shutdown may take: it is up to the operating system. */
    softOffTimeout: duration.default(120_000),
    ipmi: z.strictObject({
      /** Wait per IPMI request before retransmitting. */
      timeout: duration.default(1000),
      /** Retransmissions of one IPMI request before the BMC counts as unreachable. */
      retries: z.int().min(0).max(10).default(3),
      /** Cipher suite when a machine's BMC does not name one: auto picks the strongest offered. */
      cipherSuite: z.union([z.literal('auto'), z.literal(3), z.literal(17)]).default('auto'),
      /** An idle session is closed after this long (and reopened on the next command). */
      idleClose: duration.default(300_000)
    }).default({ timeout: 1000, retries: 3, cipherSuite: 'auto', idleClose: 300_000 })
  }).default({
    concurrency: 64,
    powerOnStagger: 500,
    retries: 2,
    retryBackoff: 250,
    readBackTimeout: 15_000,
    softOffTimeout: 120_000,
    ipmi: { timeout: 1000, retries: 3, cipherSuite: 'auto', idleClose: 300_000 }
  })
}).superRefine((c, ctx) => {
  if (c.dhcp.mode === 'authoritative' && c.dhcp.subnets.length === 0) {
    ctx.addIssue({ code: 'custom', path: ['dhcp', 'subnets'], message: 'authoritative mode needs at least one subnet' })
  }
})

/** The validated configuration every part of the server receives. */
export type Config = z.output<typeof configSchema>
export type SubnetConfig = Config['dhcp']['subnets'][number]
export type PowerConfig = Config['power']
