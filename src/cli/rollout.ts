import { setTimeout as delay } from 'node:timers/promises'
import { InvalidArgumentError, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { parseDuration } from '../lib/duration.ts'
import { terminalSafe } from '../lib/text.ts'
import type { OperationJson } from '../http/api-types.ts'
import type { ApiClient } from './client.ts'
import type { CliContext } from './machines.ts'
import { ROLLOUT_MACHINE_COLUMNS, untilInterrupted } from './operations.ts'
import { renderData, renderTable } from './output.ts'

/** `r-…  running  upgrading  1/3 machines`. */
export function rolloutLine (o: OperationJson): string {
  const r = o.rollout
  const count = r === undefined ? '' : `  ${r.machinesDone}/${r.machinesTotal} machines`
  return `${o.id}  ${o.state}  ${o.phase ?? '-'}${count}${o.error === null || o.state === 'running' ? '' : `  error: ${o.error}`}`
}

/** One line per machine whose state or phase changed since `seen`; `seen` is updated. */
function machineLines (o: OperationJson, seen: Map<string, string>): string[] {
  const lines: string[] = []
  for (const m of o.rollout?.machines ?? []) {
    const key = `${m.state} ${m.phase ?? ''}`
    if (seen.get(m.machineId) === key) continue
    seen.set(m.machineId, key)
    lines.push(`  ${m.machineId}  ${m.state}${m.phase === null ? '' : `  ${m.phase}`}${m.nodeOperationId === null ? '' : `  (node operation ${m.nodeOperationId})`}${m.error === null ? '' : `  ${m.error}`}`)
  }
  return lines
}

/**
 * Follows a rollout until it ends, printing the rollout's line when it changes and a line per
 * machine change (terminal-safe: phases and errors come from nodes). Returns it as it ended.
 */
export async function watchRollout (client: ApiClient, id: string, print: (line: string) => void, options: { intervalMs: number, signal?: AbortSignal }): Promise<OperationJson> {
  const seen = new Map<string, string>()
  let shown = ''
  for (;;) {
    if (options.signal?.aborted === true) throw new CodedError('ERR_INTERRUPTED', `stopped watching rollout ${id}; it goes on (anvil operations watch ${id})`)
    const o = await client.get<OperationJson>(`/api/v1/operations/${encodeURIComponent(id)}`)
    const line = rolloutLine(o)
    if (line !== shown) { shown = line; print(terminalSafe(line) + '\n') }
    for (const l of machineLines(o, seen)) print(terminalSafe(l) + '\n')
    if (o.state !== 'running' && o.state !== 'queued') return o
    try {
      await delay(options.intervalMs, undefined, options.signal === undefined ? {} : { signal: options.signal })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw new CodedError('ERR_INTERRUPTED', `stopped watching rollout ${id}; it goes on (anvil operations watch ${id})`)
      throw err
    }
  }
}

function intOption (min: number, max: number) {
  return (v: string): number => {
    const n = Number(v)
    if (!/^\d+$/.test(v) || n < min || n > max) throw new InvalidArgumentError(`an integer from ${min} to ${max}`)
    return n
  }
}

function seconds (v: string): number {
  try {
    const ms = parseDuration(/^\d+$/.test(v) ? `${v}s` : v)
    return Math.round(ms / 1000)
  } catch {
    throw new InvalidArgumentError('a duration such as 90s, 5m or 1h')
  }
}

/** `anvil machines upgrade --selector S --image I [--max-parallel N] [--health-timeout 5m] [--force] [--wait]`. */
export function registerRolloutCommand (machines: Command, ctx: CliContext): void {
  machines.command('upgrade').description('rolling upgrade of the provisioned machines a selector picks: N at a time, stops at the first failure and says where')
    .requiredOption('--selector <key=value,...>', 'which machines: state, uuidStatus, id, serial, manufacturer, product, firmware, arch, ip, mac (values of the last ones may use *)')
    .requiredOption('--image <name[:version]>', 'a ready image: NAME:VERSION, or NAME for its highest ready version')
    .option('--max-parallel <n>', 'machines upgrading at once (1 to 64)', intOption(1, 64), 1)
    .option('--health-timeout <duration>', 'each new slot\'s time to come up healthy before the node rolls back (30s to 1h; default 5m)', seconds)
    .option('--force', 'also upgrade to the same or an older version (never a lower security version); machines already on it are not skipped')
    .option('--wait', 'follow the rollout until it ends; exit 1 with the failing machine named if it fails')
    .option('--interval <ms>', 'between polls with --wait', intOption(100, 60_000), 1000)
    .action(async (o: { selector: string, image: string, maxParallel: number, healthTimeout?: number, force?: boolean, wait?: boolean, interval: number }) => {
      const body = { selector: o.selector, image: o.image, maxParallel: o.maxParallel, ...(o.healthTimeout === undefined ? {} : { healthTimeoutS: o.healthTimeout }), ...(o.force === true ? { force: true } : {}) }
      const { operation } = await ctx.client().post<{ operation: OperationJson }>('/api/v1/machines/upgrade', body)
      const format = ctx.output()
      const r = operation.rollout
      if (format === 'table') {
        const skipped = r?.machines.filter(m => m.state === 'skipped').length ?? 0
        ctx.print(`rollout ${operation.id}: ${r?.image ?? o.image} on ${r?.machinesTotal ?? 0} machines, ${o.maxParallel} at a time${skipped === 0 ? '' : ` (${skipped} already on it, skipped)`}\n`)
        if (o.wait !== true) { ctx.print(`follow it: anvil operations watch ${operation.id}\n`); return }
      } else if (o.wait !== true) { ctx.print(renderData(operation, format)); return }
      const print = format === 'table' ? ctx.print : () => {}
      const ended = await untilInterrupted(async (signal) => await watchRollout(ctx.client(), operation.id, print, { intervalMs: o.interval, signal }))
      if (format === 'table') ctx.print(renderTable(ended.rollout?.machines ?? [], ROLLOUT_MACHINE_COLUMNS))
      else ctx.print(renderData(ended, format))
      if (ended.state !== 'done') throw new CodedError('ERR_ROLLOUT_FAILED', `rollout ${ended.id} ${ended.state}: ${ended.error ?? 'no reason given'}`, { id: ended.id })
    })
}
