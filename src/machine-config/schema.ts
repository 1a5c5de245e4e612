import { z } from 'zod'
import { installDiskSchema } from './install-disk.ts'
import { dnsNameProblem, hostOrIp, show, sysctlKeyProblem } from './names.ts'
import { networkSchema } from './network-schema.ts'

// The machine config, v1alpha1: one declarative document per machine that the install writes and
// the node daemons read. Every key is documented here (docs/machine-config.md is the reference);
// unknown keys are errors, so a typo never falls back to a default.

/** The schema version this Anvil reads and writes. */
export const MACHINE_CONFIG_VERSION = 'v1alpha1'

/** Default ports of the node daemons. */
export const DEFAULT_APID_PORT = 50000
export const DEFAULT_TRUSTD_PORT = 50001

/** Why a `secrets` section is refused (its content is never shown). */
export const SECRETS_REFUSED = 'secrets do not belong in a machine config, which is stored, printed and signed in the clear; node secrets travel separately, encrypted to the node (docs/machine-config.md#secrets). Remove this section'

const version = z.literal(MACHINE_CONFIG_VERSION, {
  error: (iss) => iss.input === undefined ? `required: version: ${MACHINE_CONFIG_VERSION}` : `unsupported version ${show(iss.input)}: this Anvil reads ${MACHINE_CONFIG_VERSION}`
})
const kind = z.literal('MachineConfig', {
  error: (iss) => iss.input === undefined ? 'required: kind: MachineConfig' : `${show(iss.input)} is not this document's kind: expected MachineConfig`
})

const hostname = z.string().transform((v, ctx) => {
  const problem = dnsNameProblem(v)
  if (problem !== undefined) ctx.addIssue({ code: 'custom', message: `${show(v)} ${problem}` })
  // HOST_NAME_MAX (include/uapi/linux/utsname.h __NEW_UTS_LEN): what sethostname(2) accepts.
  else if (v.length > 64) ctx.addIssue({ code: 'custom', message: `is ${v.length} characters long; the kernel keeps at most 64 (HOST_NAME_MAX)` })
  return v.toLowerCase()
})

/** A host name or IP address (time servers, certificate names), canonical. */
function hostOrIpSchema (opts: { wildcard?: boolean } = {}): z.ZodType<string, string> {
  return z.string().transform((v, ctx) => {
    const r = hostOrIp(v, opts)
    if ('value' in r) return r.value
    ctx.addIssue({ code: 'custom', message: `${show(v)} ${r.problem}` })
    return z.NEVER
  })
}

/** Reports each repeated value of a list at its own index. */
function unique (what: string) {
  return (values: readonly unknown[], ctx: z.RefinementCtx): void => {
    if (!Array.isArray(values)) return
    const seen = new Map<unknown, number>()
    values.forEach((v, i) => {
      const first = seen.get(v)
      if (first === undefined) seen.set(v, i)
      else if (typeof v === 'string') ctx.addIssue({ code: 'custom', path: [i], message: `${what} ${show(v)} is already [${first}]` })
    })
  }
}

const port = z.int().min(1).max(65535)

function alwaysOn (service: string): z.ZodOptional<z.ZodLiteral<true>> {
  return z.literal(true, { error: `${service} cannot be disabled: the node is managed through it` }).optional()
}

const services = z.strictObject({
  /** The node's API (machined's front door), always on; `enabled: true` is allowed and changes nothing. */
  apid: z.strictObject({
    enabled: alwaysOn('apid'),
    /** TCP port apid listens on. */
    port: port.default(DEFAULT_APID_PORT)
  }).transform(({ port }) => ({ port })).default({ port: DEFAULT_APID_PORT }),
  /** The node's certificate service, always on. */
  trustd: z.strictObject({
    enabled: alwaysOn('trustd'),
    /** TCP port trustd listens on. */
    port: port.default(DEFAULT_TRUSTD_PORT),
    /** This node's trustd is a trust anchor: it signs other nodes' certificate requests (issue 11). */
    trustAnchor: z.boolean().default(false)
  }).transform(({ port, trustAnchor }) => ({ port, trustAnchor })).default({ port: DEFAULT_TRUSTD_PORT, trustAnchor: false }),
  /** Time synchronisation (SNTP client). Off when this section is absent. */
  ntp: z.strictObject({
    /** Present means on; `enabled: false` keeps the section but runs nothing. */
    enabled: z.boolean().default(true),
    /** NTP servers, host names or IP addresses, at most 8; at least one when enabled. */
    servers: z.array(hostOrIpSchema()).max(8).superRefine(unique('server'), { when: () => true }).default([])
  }).superRefine((v, ctx) => {
    if (v.enabled && v.servers.length === 0) ctx.addIssue({ code: 'custom', path: ['servers'], message: 'ntp needs at least one server, e.g. [pool.ntp.org]; or set enabled: false' })
  }).optional()
}, {
  error: (iss) => iss.code === 'unrecognized_keys' ? 'unknown service: the node daemons know apid, trustd and ntp' : undefined
}).superRefine((v, ctx) => {
  // Runs when another service key is invalid too, so the raw values are checked here.
  const portOf = (s: unknown, fallback: number): unknown => (s !== null && typeof s === 'object' ? (s as { port?: unknown }).port : undefined) ?? fallback
  const apid = portOf(v.apid, DEFAULT_APID_PORT)
  const trustd = portOf(v.trustd, DEFAULT_TRUSTD_PORT)
  if (typeof apid === 'number' && apid === trustd) ctx.addIssue({ code: 'custom', path: ['trustd', 'port'], message: `${apid} is apid's port too` })
}, { when: () => true })

/** Linux's COMMAND_LINE_SIZE is 2048 on x86; the installer adds its own arguments to these. */
const KERNEL_ARGS_MAX_CHARS = 1024

// Kernel args and sysctl values may carry tokens or passwords: their messages never repeat them.
const kernelArg = z.string().superRefine((v, ctx) => {
  if (v === '') ctx.addIssue({ code: 'custom', message: 'is empty' })
  else if (/\s/.test(v)) ctx.addIssue({ code: 'custom', message: 'contains whitespace: give one argument per list item (a value with spaces cannot be passed)' })
  else if (/\p{Cc}/u.test(v)) ctx.addIssue({ code: 'custom', message: 'contains a control character' })
  else if (v.includes('"')) ctx.addIssue({ code: 'custom', message: 'contains a double quote, which the kernel treats as quoting' })
})

const kernelArgs = z.array(kernelArg).max(64).superRefine((args, ctx) => {
  if (!Array.isArray(args)) return
  const chars = args.map(String).join(' ').length
  if (chars > KERNEL_ARGS_MAX_CHARS) ctx.addIssue({ code: 'custom', message: `take ${chars} characters; at most ${KERNEL_ARGS_MAX_CHARS} (x86 kernels read 2048 and the installer adds its own)` })
}, { when: () => true })

const sysctlValue = z.string({
  error: (iss) => iss.input === undefined ? undefined : 'expected a string: quote the value, e.g. "1" (sysctl values are written as text)'
}).max(1024).superRefine((v, ctx) => {
  if (/[^\P{Cc}\t]/u.test(v)) ctx.addIssue({ code: 'custom', message: 'contains a control character (only tab is allowed)' })
})

const sysctls = z.record(z.string(), sysctlValue).superRefine((v, ctx) => {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return
  const keys = Object.keys(v)
  if (keys.length > 256) ctx.addIssue({ code: 'custom', message: `${keys.length} sysctls; at most 256` })
  for (const key of keys) {
    const problem = sysctlKeyProblem(key)
    if (problem !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${show(key)} ${problem}` })
  }
}, { when: () => true }).transform((v) => Object.fromEntries(Object.keys(v).sort().map(k => [k, v[k] as string])))

/** The machine config document, v1alpha1. */
export const machineConfigSchema = z.strictObject({
  /** Schema version: v1alpha1. */
  version,
  /** Document kind: MachineConfig. */
  kind,
  /** The machine's host name: RFC 1123 (letters, digits, hyphens; dotted labels), at most 64 characters; stored lower-case. */
  hostname,
  /** What the install does. */
  install: z.strictObject({
    /** The disk the OS is installed to, chosen by what it is (serial, wwn, model, size, transport), never by a /dev name. */
    disk: installDiskSchema
  }),
  /** Interfaces, addresses, routes, DNS. */
  network: networkSchema,
  /** The node daemons: apid and trustd always run; others run when configured. */
  services: services.default({ apid: { port: DEFAULT_APID_PORT }, trustd: { port: DEFAULT_TRUSTD_PORT, trustAnchor: false } }),
  /** Extra names and addresses for the node's API certificate (wildcards like *.example.com allowed), at most 32. */
  certSANs: z.array(hostOrIpSchema({ wildcard: true })).max(32).superRefine(unique('name'), { when: () => true }).default([]),
  /** Extra kernel command-line arguments, one per item (console=ttyS0,115200), at most 64. */
  kernelArgs: kernelArgs.default([]),
  /** Kernel parameters set at boot: dotted key (net.ipv4.ip_forward) to a string value, at most 256. */
  sysctls: sysctls.default({}),
  /** Refused: secrets travel separately (see SECRETS_REFUSED). */
  secrets: z.never({ error: SECRETS_REFUSED }).optional()
})

/** A validated, normalized machine config (sizes in bytes, addresses and MACs canonical, defaults filled). */
export type MachineConfig = z.output<typeof machineConfigSchema>
