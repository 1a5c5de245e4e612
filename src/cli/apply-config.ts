import { CodedError } from '../lib/errors.ts'
import { parseDuration } from '../lib/duration.ts'
import { terminalSafe } from '../lib/text.ts'
import type { SignedConfigView } from '../http/api-types.ts'
import type { ApplyConfigReply } from '../proto/generated/anvil/node/v1/ApplyConfigReply.ts'
import type { ApiClient } from './client.ts'
import type { NodeApiClient } from './node-client.ts'
import type { NodeOutcome } from './node-fanout.ts'

export const APPLY_MODES = ['auto', 'no-reboot', 'reboot', 'try'] as const
export type ApplyMode = typeof APPLY_MODES[number]
/** How long a try lasts by default (the node's own default is the same 120 s). */
export const DEFAULT_TRY_TIMEOUT = '2m'
const MAX_TRY_S = 24 * 3600

/** `--timeout` of a try, in whole seconds (rounded up), from 1 s to 24 h. */
export function tryTimeoutSeconds (value: string): number {
  const s = Math.ceil(parseDuration(value) / 1000)
  if (s <= 0 || s > MAX_TRY_S) throw new CodedError('ERR_USAGE', `--timeout must be from 1s to 24h, got ${JSON.stringify(value.slice(0, 32))}`)
  return s
}

/** What one node answered: Anvil's generation and the node's reply. */
export type AppliedConfig = { readonly machineId: string, readonly reply: ApplyConfigReply }

/**
 * On one node: its machine id (Version), the config signed for that machine by Anvil (POST
 * /api/v1/machines/:id/config: the config key never leaves Anvil), then ApplyConfig with the
 * exact bytes that were signed.
 */
export async function applyOnNode (api: ApiClient, node: NodeApiClient, text: string, req: { mode: ApplyMode, tryTimeoutS: number, dryRun: boolean }): Promise<AppliedConfig> {
  const { machineId } = await node.version()
  if (machineId === '') throw new CodedError('ERR_INVALID_STATE', 'the node names no machine (it has no STATE): it has no config to change')
  const signed = await api.post<SignedConfigView>(`/api/v1/machines/${encodeURIComponent(machineId)}/config`, { config: text })
  const reply = await node.applyConfig({ config: Buffer.from(signed.config, 'utf8'), configSignature: signed.signature, mode: req.mode, tryTimeoutS: req.tryTimeoutS, dryRun: req.dryRun })
  return { machineId, reply }
}

/** The table text: per node, the generation, how it is applied and the operation, then each changed key path. */
export function appliedText (outcomes: ReadonlyArray<NodeOutcome<AppliedConfig>>): string {
  const several = outcomes.length > 1
  const width = Math.max(...outcomes.map(o => o.node.length))
  return outcomes.map(o => {
    const head = several ? `${o.node.padEnd(width)}  ` : ''
    if ('error' in o) return terminalSafe(`${head}error: ${o.error.message} [${o.error.code}]`) + '\n'
    const r = o.result.reply
    const op = r.operation
    const how = r.appliedAs === 'dry-run' ? 'dry run: nothing applied' : `${r.appliedAs}; operation ${op?.id ?? '?'} ${op?.state ?? '?'} (${op?.phase ?? '?'})`
    const changes = r.changes.length === 0 ? ['  (no changes)'] : r.changes.map(c => `  ${c}`)
    return terminalSafe([`${head}${o.result.machineId} generation ${String(r.generation)}: ${how}`, ...changes].join('\n')) + '\n'
  }).join('')
}
