/**
 * What a new machine config changes on a running node, and how ApplyConfig (node.proto) may apply
 * it. Pure: the changes are key paths only (`network.interfaces[0].addresses`, `hostname`), never
 * values, since a value may be a secret (a sysctl, a kernel argument).
 */
import { CodedError } from '../../lib/errors.ts'
import { sanitizeText } from '../../lib/text.ts'
import { formatPath } from '../../machine-config/issues.ts'
import type { MachineConfig } from '../../machine-config/schema.ts'

export const APPLY_MODES = ['auto', 'no-reboot', 'reboot', 'try'] as const
export type ApplyMode = typeof APPLY_MODES[number]

/** The request's mode; "" is auto. ERR_VALIDATION otherwise. */
export function parseApplyMode (mode: string): ApplyMode {
  if (mode === '') return 'auto'
  if ((APPLY_MODES as readonly string[]).includes(mode)) return mode as ApplyMode
  throw new CodedError('ERR_VALIDATION', `apply mode ${JSON.stringify(sanitizeText(mode).slice(0, 32))}: expected auto, no-reboot, reboot or try`, { field: 'mode' })
}

/** The try timeout's default (try_timeout_s 0) and its bound: a try is a short trial, not a mode to live in. */
export const DEFAULT_TRY_TIMEOUT_S = 120
export const MAX_TRY_TIMEOUT_S = 24 * 3600

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/**
 * The key paths at which `after` differs from `before`, sorted. Objects are compared key by key;
 * a list of objects (interfaces, routes, VLANs) element by element (an element only one side has
 * is its own path, `network.interfaces[1]`); a list of scalars (addresses, servers) as a whole.
 */
export function configChanges (before: MachineConfig, after: MachineConfig): string[] {
  const out: string[] = []
  walk(before, after, [], out)
  return out.sort()
}

function walk (a: unknown, b: unknown, path: Array<string | number>, out: string[]): void {
  if (isObject(a) && isObject(b)) {
    for (const k of new Set([...Object.keys(a), ...Object.keys(b)])) walk(a[k], b[k], [...path, k], out)
    return
  }
  if (Array.isArray(a) && Array.isArray(b) && [...a, ...b].every(isObject) && a.length + b.length > 0) {
    for (let i = 0; i < Math.max(a.length, b.length); i++) walk(a[i], b[i], [...path, i], out)
    return
  }
  if (JSON.stringify(a) !== JSON.stringify(b)) out.push(formatPath(path))
}

/**
 * The keys a running node cannot take live, and why (for the refusal). The install disk is only
 * read by an install; kernel arguments by the boot; apid and trustd listen with the port and
 * names they started with, and restarting apid under the caller would cut the very call that
 * asked (so those wait for a reboot too).
 */
const REBOOT_KEYS: ReadonlyArray<readonly [string, string]> = [
  ['install', 'the install disk is read by an install, not by a running node'],
  ['kernelArgs', 'kernel arguments are read at boot'],
  ['services.apid', 'apid listens with the port it started with'],
  ['services.trustd', 'trustd serves with the port and role it started with'],
  ['certSANs', 'apid\'s certificate names are fixed when trustd starts']
]

/** Why `path` needs a reboot, or undefined when it applies live. */
export function rebootReason (path: string): string | undefined {
  for (const [key, why] of REBOOT_KEYS) {
    if (path === key || path.startsWith(`${key}.`) || path.startsWith(`${key}[`)) return why
  }
  return undefined
}

export type ApplyDecision = {
  readonly appliedAs: 'live' | 'reboot'
  /** The changes that need a reboot (empty when everything applies live). */
  readonly needReboot: readonly string[]
}

/**
 * How `mode` applies `changes`: live, or written and rebooted; `no-reboot` and `try` refuse a
 * change that needs a reboot (ERR_VALIDATION naming the key paths; a try that rebooted would boot
 * the old config, which STATE still holds).
 */
export function decideApply (mode: ApplyMode, changes: readonly string[]): ApplyDecision {
  const needReboot = changes.filter(c => rebootReason(c) !== undefined)
  if (mode === 'reboot') return { appliedAs: 'reboot', needReboot }
  if (needReboot.length === 0) return { appliedAs: 'live', needReboot }
  if (mode === 'auto') return { appliedAs: 'reboot', needReboot }
  const why = needReboot.map(p => `${p} (${rebootReason(p) ?? ''})`).join('; ')
  throw new CodedError('ERR_VALIDATION', `${mode}: ${needReboot.length === 1 ? 'this change needs' : 'these changes need'} a reboot: ${why}; nothing was changed (apply it with --mode auto or reboot)`, { field: needReboot[0], paths: needReboot })
}
