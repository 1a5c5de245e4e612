import { CodedError } from '../lib/errors.ts'
import { escapeControlChars } from '../lib/text.ts'

import { sanitizeText } from '../lib/text.ts'
export { sanitizeText }

/*
 * Caps on the hardware report (src/proto/provisioning.proto HardwareReport) an agent sends before
 * anyone has accepted its machine: unauthenticated input that is stored, summarised, matched
 * against auto-accept selectors and shown. Each cap is several times what the largest real server
 * reports, so only a hostile or broken agent meets one.
 */
export const REPORT_LIMITS = {
  /** The whole report as JSON, in UTF-8 bytes: what the store keeps. A 100-disk, 200-function host is ~150 KB. */
  jsonBytes: 1024 * 1024,
  /** Nesting: the deepest field, disks[i].byId[j], is four levels below the report. */
  depth: 8,
  /** Fields of one object: the largest message (Disk) has 14. */
  fields: 256,
  /** Identity and name strings (SMBIOS, sysfs, uname): SMBIOS strings run to ~64, interface names 15, MACs 59 (InfiniBand). */
  identityString: 256,
  /** Any other string (by-id names, signatures, fields we do not know). */
  string: 4096,
  /** Any list not named in LIST_LIMITS. */
  list: 1024
} as const

/**
 * Lists by their place in the report ([] for any index). Disks: dual-path SAS to four 102-bay
 * JBODs is ~820 block devices. PCI: an 8-GPU host with its switches has 300-500 functions, and
 * firmware-enabled SR-IOV adds more. DIMMs: 8 sockets x 12 channels x 2 is 192 slots. by-id: the
 * agent derives at most 3 per disk, udev ~8. Signatures: one per partition, and GPT allows more
 * than its usual 128.
 */
const LIST_LIMITS: Readonly<Record<string, number>> = {
  disks: 1024,
  nics: 1024,
  pci: 2048,
  'memory.dimms': 1024,
  'disks[].byId': 64,
  'disks[].signatures': 4096
}

/** The string fields REPORT_LIMITS.identityString applies to, by message (keys as the generated types spell them). */
const IDENTITY_FIELDS: Readonly<Record<string, readonly string[]>> = {
  '': ['kernel'],
  system: ['uuid', 'serial', 'manufacturer', 'product', 'sku', 'family', 'version'],
  baseboard: ['manufacturer', 'product', 'serial', 'version'],
  bios: ['vendor', 'version', 'date'],
  chassis: ['manufacturer', 'type', 'serial', 'assetTag'],
  cpu: ['model'],
  'memory.dimms[]': ['locator', 'type', 'manufacturer', 'serial'],
  'disks[]': ['name', 'model', 'serial', 'wwn', 'transport', 'partitionTable'],
  'nics[]': ['name', 'mac', 'driver', 'pciAddress'],
  'pci[]': ['address', 'driver'],
  bmc: ['ip', 'mac', 'ipSource']
}

const IDENTITY_PATHS = new Set(Object.entries(IDENTITY_FIELDS).flatMap(([at, names]) => names.map(n => join(at, n))))

function join (parent: string, name: string): string {
  return parent === '' ? name : `${parent}.${name}`
}

/** A key as a path segment: plain names as they are, anything else quoted, cut and escaped (it goes into a message). */
function segment (parent: string, key: string): string {
  if (/^[A-Za-z_][A-Za-z0-9_]{0,63}$/.test(key)) return join(parent, key)
  return `${parent}[${JSON.stringify(escapeControlChars(key.slice(0, 64)))}]`
}

function tooLarge (path: string, limit: number, message: string): never {
  throw new CodedError('ERR_REPORT_TOO_LARGE', message, { path, limit })
}

/** `path` names this value exactly (disks[3].serial); `shape` names its place (disks[].serial). */
function walk (value: unknown, path: string, shape: string, depth: number): void {
  if (typeof value === 'string') {
    const limit = IDENTITY_PATHS.has(shape) ? REPORT_LIMITS.identityString : REPORT_LIMITS.string
    if (value.length > limit) tooLarge(path, limit, `hardware report field ${path} is ${value.length} characters; the limit is ${limit}`)
    return
  }
  if (value === null || typeof value !== 'object') return
  if (depth >= REPORT_LIMITS.depth) tooLarge(path, REPORT_LIMITS.depth, `hardware report field ${path} is nested deeper than ${REPORT_LIMITS.depth} levels`)
  if (Array.isArray(value)) {
    const limit = LIST_LIMITS[shape] ?? REPORT_LIMITS.list
    if (value.length > limit) tooLarge(path, limit, `hardware report list ${path} has ${value.length} entries; the limit is ${limit}`)
    for (let i = 0; i < value.length; i++) walk(value[i], `${path}[${i}]`, `${shape}[]`, depth + 1)
    return
  }
  const keys = Object.keys(value)
  if (keys.length > REPORT_LIMITS.fields) {
    tooLarge(path, REPORT_LIMITS.fields, `hardware report object ${path === '' ? '(the report)' : path} has ${keys.length} fields; the limit is ${REPORT_LIMITS.fields}`)
  }
  for (const key of keys) walk((value as Record<string, unknown>)[key], segment(path, key), segment(shape, key), depth + 1)
}

/**
 * Throws CodedError ERR_REPORT_TOO_LARGE, details { path, limit }, when a string, list, object or
 * the nesting of `report` exceeds REPORT_LIMITS / LIST_LIMITS, or its JSON exceeds
 * REPORT_LIMITS.jsonBytes (path ''). Walks every field, known or not, so a field added to the
 * proto is covered by the generic caps. Lengths of strings are in UTF-16 code units. Pure.
 */
export function checkHardwareReport (report: unknown): void {
  walk(report, '', '', 0)
  // After the walk: it bounds nesting, so serialising cannot overflow the stack.
  const bytes = Buffer.byteLength(JSON.stringify(report) ?? '')
  if (bytes > REPORT_LIMITS.jsonBytes) tooLarge('', REPORT_LIMITS.jsonBytes, `hardware report is ${bytes} bytes as JSON; the limit is ${REPORT_LIMITS.jsonBytes}`)
}

/**
 * The report with control characters stripped from every string (src/lib/text.ts sanitizeText),
 * for storage: nothing an agent reported can later drive a terminal or a log viewer. Call after
 * checkHardwareReport, which bounds the walk.
 */
export function sanitizeHardwareReport<T> (report: T): T {
  const walk = (v: unknown): unknown => {
    if (typeof v === 'string') return sanitizeText(v)
    if (Array.isArray(v)) return v.map(walk)
    if (v !== null && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x)]))
    return v
  }
  return walk(report) as T
}
