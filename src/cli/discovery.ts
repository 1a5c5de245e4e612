import { Argument, InvalidArgumentError, Option, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { terminalSafe } from '../lib/text.ts'
import { humanBytes } from '../provisioning/hardware-summary.ts'
import type { CancelView, EraseReportView, MachineView, TaskJson } from '../http/api-types.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderTable } from './output.ts'

const path = (id: string, rest = ''): string => `/api/v1/machines/${encodeURIComponent(id)}${rest}`
const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

type Progress = TaskJson['progress'][number]

/** One progress bar line: `vda      [##########..........]  50%  32.0 MiB / 64.0 MiB  12.0 MiB/s  wipe`. */
export function progressLine (p: Progress, width = 30): string {
  const ratio = p.bytesTotal > 0 ? Math.min(1, p.bytesDone / p.bytesTotal) : 1
  const filled = Math.round(ratio * width)
  const bar = '#'.repeat(filled) + '.'.repeat(width - filled)
  const pct = `${Math.floor(ratio * 100)}%`.padStart(4)
  return `${p.disk.padEnd(10)} [${bar}] ${pct}  ${humanBytes(p.bytesDone)} / ${humanBytes(p.bytesTotal)}  ${humanBytes(p.rateBytesPerSecond)}/s  ${p.phase}`
}

/** Polls the task until it ends, drawing a bar per disk (redrawn in place on a terminal). */
async function watchTask (ctx: CliContext, machineId: string, taskId: string, out: NodeJS.WriteStream = process.stdout): Promise<TaskJson> {
  const tty = out.isTTY
  let drawn = 0
  const printedSteps = new Map<string, number>()
  for (let polls = 0; ; polls++) {
    const { items } = await ctx.client().get<{ items: TaskJson[] }>(path(machineId, '/tasks'))
    const task = items.find(t => t.id === taskId)
    if (task === undefined) throw new CodedError('ERR_TASK_NOT_FOUND', `task ${taskId} is gone`)
    if (tty) {
      const lines = [`task ${task.id}: ${task.state}`, ...task.progress.map(p => progressLine(p))]
      // Move up over what was drawn last time, then redraw every line in full.
      // Our own cursor controls only: the lines themselves (disk names, phases) are made terminal-safe.
      out.write((drawn > 0 ? `\x1b[${drawn}A` : '') + lines.map(l => `\x1b[2K${terminalSafe(l)}\n`).join(''))
      drawn = lines.length
    } else {
      for (const p of task.progress) {
        const step = Math.floor((p.bytesTotal > 0 ? p.bytesDone / p.bytesTotal : 1) * 10)
        const key = `${p.disk}/${p.phase}`
        if ((printedSteps.get(key) ?? -1) < step) {
          printedSteps.set(key, step)
          ctx.print(progressLine(p) + '\n')
        }
      }
    }
    if (task.state === 'done' || task.state === 'failed' || task.state === 'cancelled') return task
    await sleep(polls < 4 ? 250 : 500)
  }
}

function reportTable (items: readonly EraseReportView[]): string {
  return renderTable(items, [
    { header: 'DISK', get: e => e.disk },
    { header: 'SERIAL', get: e => e.serial },
    { header: 'METHOD', get: e => e.method },
    { header: 'BYTES', get: e => e.refused === null ? humanBytes(e.bytesWritten) : '-' },
    { header: 'SECONDS', get: e => (e.durationMs / 1000).toFixed(1) },
    { header: 'VERIFIED', get: e => e.refused === null ? (e.verified ? 'yes' : 'NO') : '-' },
    { header: 'REFUSED', get: e => e.refused }
  ])
}

/** `anvil machines accept|reject|wipe|erase-reports`. */
export function registerDiscoveryCommands (machines: Command, ctx: CliContext): void {
  for (const verb of ['accept', 'reject'] as const) {
    machines.command(verb).description(verb === 'accept'
      ? 'let a discovered machine proceed (nothing destructive happens before this)'
      : 'leave a machine alone: it boots from its local disk')
      .argument('<id>')
      .action(async (id: string) => {
        const m = await ctx.client().post<MachineView>(path(id, `/${verb}`), {})
        const format = ctx.output()
        ctx.print(format === 'table' ? `${m.id}: ${m.state}\n` : renderData(m, format))
      })
  }

  machines.command('wipe').description('erase the disks of an accepted machine through its discovery agent')
    .argument('<id>')
    .addOption(new Option('--method <method>', 'fast: signatures and metadata areas; zeroes: every byte').choices(['fast', 'zeroes']).default('fast'))
    .option('--disks <names...>', 'only these disks (e.g. vda nvme0n1); default every disk', (v: string, prev: string[] | undefined) => {
      if (!/^[A-Za-z0-9_.:-]{1,64}$/.test(v)) throw new InvalidArgumentError(`not a disk name: ${v}`)
      return [...(prev ?? []), v]
    })
    .option('--watch', 'show progress bars until the wipe ends')
    .action(async (id: string, o: { method: 'fast' | 'zeroes', disks?: string[], watch?: boolean }) => {
      const task = await ctx.client().post<TaskJson>(path(id, '/wipe'), { method: o.method, ...(o.disks === undefined ? {} : { disks: o.disks }) })
      const format = ctx.output()
      if (o.watch !== true) {
        ctx.print(format === 'table' ? `wipe queued as task ${task.id}; follow it with \`anvil machines timeline ${task.machineId}\`\n` : renderData(task, format))
        return
      }
      const ended = await watchTask(ctx, task.machineId, task.id)
      const { items } = await ctx.client().get<{ items: EraseReportView[] }>(path(id, '/erase-reports'))
      const mine = items.filter(e => e.taskId === task.id)
      ctx.print(format === 'table' ? `task ${ended.id} ${ended.state}${ended.error === null ? '' : `: ${ended.error}`}\n${reportTable(mine)}` : renderData({ task: ended, eraseReports: mine }, format))
      if (ended.state === 'failed') throw new CodedError('ERR_WIPE_FAILED', `the wipe failed: ${ended.error ?? 'no reason given'}`)
      if (ended.state === 'cancelled') throw new CodedError('ERR_WIPE_FAILED', 'the wipe was cancelled')
    })

  machines.command('cancel').description('stop a queued or running task (a running one stops at its next safe point; its erase report says how far it got)')
    .argument('<id>')
    .argument('[task]', 'the task id (default: the machine\'s current task)')
    .action(async (id: string, task: string | undefined) => {
      const r = await ctx.client().post<CancelView>(task === undefined ? path(id, '/cancel') : path(id, `/tasks/${encodeURIComponent(task)}/cancel`), {})
      const format = ctx.output()
      ctx.print(format === 'table'
        ? r.cancelled.map(t => `cancelled ${t.kind} task ${t.id}${t.startedAt === null ? ' (it had not started)' : ' (running: the agent stops at its next safe point)'}\n`).join('') + `${r.machine.id}: ${r.machine.state}\n`
        : renderData(r, format))
    })

  machines.command('maintenance').description('on: Anvil leaves the machine alone (boots it from its disk, gives it no tasks; pending tasks are cancelled); off: it resumes')
    .argument('<id>')
    .addArgument(new Argument('<on|off>').choices(['on', 'off']))
    .action(async (id: string, mode: 'on' | 'off') => {
      const m = await ctx.client().post<MachineView>(path(id, '/maintenance'), { enabled: mode === 'on' })
      const format = ctx.output()
      ctx.print(format === 'table' ? `${m.id}: ${m.state}${m.stateReason === null ? '' : ` (${m.stateReason})`}\n` : renderData(m, format))
    })

  for (const [verb, kind] of [['reboot', 'reboot'], ['poweroff', 'powerOff']] as const) {
    machines.command(verb).description(`ask the machine's discovery agent to ${verb === 'reboot' ? 'reboot' : 'power off'} (in band; \`anvil power\` goes through the BMC)`)
      .argument('<id>')
      .action(async (id: string) => {
        const task = await ctx.client().post<TaskJson>(path(id, '/tasks'), { kind })
        const format = ctx.output()
        ctx.print(format === 'table' ? `${verb} queued for the agent of ${task.machineId} as task ${task.id}\n` : renderData(task, format))
      })
  }

  machines.command('erase-reports').description('what each wipe erased, per disk: method, bytes, duration, verified')
    .argument('<id>')
    .action(async (id: string) => {
      const { items } = await ctx.client().get<{ items: EraseReportView[] }>(path(id, '/erase-reports'))
      const format = ctx.output()
      ctx.print(format === 'table' ? reportTable(items) : renderData(items, format))
    })
}
