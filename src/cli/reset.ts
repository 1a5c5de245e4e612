import { setTimeout as delay } from 'node:timers/promises'
import type { Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { parseDuration } from '../lib/duration.ts'
import { terminalSafe } from '../lib/text.ts'
import type { MachineView, QueuedTaskJson } from '../http/api-types.ts'
import type { ApiClient } from './client.ts'
import type { CliContext } from './machines.ts'
import { requireSucceeded, untilInterrupted, watchOperation } from './operations.ts'
import { renderData } from './output.ts'

/** How long `--wait` follows a reset by default: a wipe of large disks through the agent included. */
export const DEFAULT_RESET_WAIT = '30m'

export type MachineWaitOptions = {
  readonly pollMs?: number
  /** Give up after this long (ERR_OPERATION_FAILED: the reset goes on). */
  readonly timeoutMs: number
  readonly signal?: AbortSignal
  /** Before each printed line (the node as typed, when several are followed). */
  readonly prefix?: string
}

/**
 * Follows a machine in Anvil's inventory until its reset ended: `ready` resolves, `error` (or the
 * timeout) throws ERR_OPERATION_FAILED with the machine's reason. Prints each state it sees once,
 * with its reason, terminal-safe (the reason may quote a node). A machine still `provisioned` is
 * waited for too: a node's reset notice may not have arrived yet.
 */
export async function waitForReady (client: ApiClient, machineId: string, print: (line: string) => void, o: MachineWaitOptions): Promise<MachineView> {
  const deadline = Date.now() + o.timeoutMs
  let shown = ''
  for (let polls = 0; ; polls++) {
    if (o.signal?.aborted === true) throw interrupted(machineId)
    const m = await client.get<MachineView>(`/api/v1/machines/${encodeURIComponent(machineId)}`)
    if (m.state !== shown) {
      shown = m.state
      print(terminalSafe(`${o.prefix ?? ''}${m.id}: ${m.state}${m.stateReason === null ? '' : ` (${m.stateReason})`}`) + '\n')
    }
    if (m.state === 'ready') return m
    if (m.state === 'error') throw new CodedError('ERR_OPERATION_FAILED', `the reset of ${m.id} failed: ${m.stateReason ?? 'no reason given'}`, { id: m.id, state: m.state })
    if (Date.now() >= deadline) throw new CodedError('ERR_OPERATION_FAILED', `${m.id} is still ${m.state} after ${Math.round(o.timeoutMs / 1000)} s; the reset goes on (anvil machines timeline ${m.id})`, { id: m.id, state: m.state })
    try {
      await delay(polls < 8 ? Math.min(250, o.pollMs ?? 1000) : (o.pollMs ?? 1000), undefined, o.signal === undefined ? {} : { signal: o.signal })
    } catch (err) {
      if ((err as Error).name === 'AbortError') throw interrupted(machineId)
      throw err
    }
  }
}

function interrupted (id: string): CodedError {
  return new CodedError('ERR_INTERRUPTED', `stopped waiting for ${id}; its reset goes on (anvil machines timeline ${id})`)
}

/** `--timeout` of a reset's wait, to ms. */
export function resetTimeout (value: string): number {
  const ms = parseDuration(value)
  if (ms <= 0) throw new CodedError('ERR_USAGE', '--timeout must be more than 0')
  return ms
}

/** `anvil machines reset ID [--method fast|zeroes] [--wait [--timeout 30m]]`: Anvil's side, for a node that cannot reset itself. */
export function registerMachineReset (machines: Command, ctx: CliContext, options: { pollMs?: number } = {}): void {
  machines.command('reset').description('reset a provisioned (or failed) machine without its node: its agent wipes every disk (the BMC boots it into the agent), then it is ready; for a node that is unreachable (else `anvil -n NODE reset`)')
    .argument('<id>')
    .option('--method <method>', 'fast (signatures and metadata areas) or zeroes (every byte)', 'fast')
    .option('--wait', 'follow the wipe, then the machine until it is ready')
    .option('--timeout <duration>', 'with --wait: give up waiting after this long (the reset goes on)', DEFAULT_RESET_WAIT)
    .action(async (id: string, o: { method: string, wait?: boolean, timeout: string }) => {
      if (o.method !== 'fast' && o.method !== 'zeroes') throw new CodedError('ERR_USAGE', `--method ${JSON.stringify(o.method.slice(0, 32))}: expected fast or zeroes`)
      const timeoutMs = resetTimeout(o.timeout)
      const task = await ctx.client().post<QueuedTaskJson>(`/api/v1/machines/${encodeURIComponent(id)}/reset`, { method: o.method })
      const format = ctx.output()
      ctx.print(format === 'table' ? `${task.machineId}: resetting; wipe queued for its agent\noperation ${task.operationId}\n` : renderData(task, format))
      if (o.wait !== true) return
      const pollMs = options.pollMs ?? 1000
      await untilInterrupted(async (signal) => {
        requireSucceeded(await watchOperation(ctx.client(), task.operationId, ctx.print, { intervalMs: pollMs, signal }))
        await waitForReady(ctx.client(), task.machineId, ctx.print, { pollMs, timeoutMs, signal })
      })
    })
}
