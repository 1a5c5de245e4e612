import { InvalidArgumentError, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { humanBytes } from '../provisioning/hardware-summary.ts'
import type { InstallJson, MachineView, ProvisionView } from '../http/api-types.ts'
import { readConfigFile } from './config.ts'
import { requireSucceeded, untilInterrupted, watchOperation } from './operations.ts'
import type { CliContext } from './machines.ts'
import { renderData } from './output.ts'

const SELECTOR_KEYS = ['serial', 'wwn', 'model', 'minSize', 'maxSize', 'transport', 'rotational'] as const

/**
 * `serial=S123,minSize=100GiB` to the install.disk selector object the API takes (the same keys as
 * the config's install.disk; the server checks the values). A size of digits alone is bytes.
 */
export function parseDiskSelector (text: string): Record<string, string | number | boolean> {
  const out: Record<string, string | number | boolean> = {}
  for (const part of text.split(',')) {
    const i = part.indexOf('=')
    const key = i < 0 ? part : part.slice(0, i)
    const value = i < 0 ? '' : part.slice(i + 1)
    if (!(SELECTOR_KEYS as readonly string[]).includes(key)) throw new InvalidArgumentError(`${JSON.stringify(key.slice(0, 32))} is not a disk selector key: use ${SELECTOR_KEYS.join(', ')} (key=value,key=value)`)
    if (value === '') throw new InvalidArgumentError(`${key} needs a value (${key}=...)`)
    if (key in out) throw new InvalidArgumentError(`${key} is given twice`)
    if (key === 'rotational') {
      if (value !== 'true' && value !== 'false') throw new InvalidArgumentError('rotational is true or false')
      out[key] = value === 'true'
    } else {
      out[key] = (key === 'minSize' || key === 'maxSize') && /^\d{1,16}$/.test(value) ? Number(value) : value
    }
  }
  return out
}

/** The install and node lines of `anvil machines show`. */
export function installFields (install: InstallJson | null | undefined): Array<readonly [string, unknown]> {
  if (install === undefined) return []
  if (install === null) return [['install', 'never provisioned']]
  const d = install.disk
  return [
    ['install', `${install.image.name}:${install.image.version} to ${d.name} (serial ${d.serial === '' ? 'none' : d.serial}, ${humanBytes(d.sizeBytes)}), config generation ${install.configGeneration}: ${install.state}${install.error === null ? '' : ` (${install.error})`}`],
    ['install operation', install.operationId],
    ['node', install.node === null ? 'not reported yet' : `${install.node.image} ${install.node.version}, slot ${install.node.slot}, config generation ${install.node.configGeneration}, reported ${install.node.reportedAt}`]
  ]
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** After the task: the machine's state until its node reports in (provisioned) or it fails (error). */
async function watchMachine (ctx: CliContext, machineId: string, pollMs: number): Promise<MachineView> {
  let last = ''
  for (let polls = 0; ; polls++) {
    const m = await ctx.client().get<MachineView>(`/api/v1/machines/${encodeURIComponent(machineId)}`)
    if (m.state !== last) {
      ctx.print(`${m.id}: ${m.state}${m.stateReason === null ? '' : ` (${m.stateReason})`}\n`)
      last = m.state
    }
    if (m.state !== 'installing') return m
    await sleep(polls < 8 ? Math.min(250, pollMs) : pollMs)
  }
}

/** `anvil machines provision ID --image NAME[:VERSION] --config FILE [--disk SELECTOR] [--watch]` (`--config` is read as `--machine-config`: src/cli/program.ts). */
export function registerProvisionCommand (machines: Command, ctx: CliContext, options: { pollMs?: number } = {}): void {
  const pollMs = options.pollMs ?? 500
  machines.command('provision').description('install a signed image and a machine config on a ready machine (its config is signed for it and stored sealed)')
    .argument('<id>')
    .requiredOption('--image <name[:version]>', 'the image: NAME (its highest ready version) or NAME:VERSION')
    // Not --config: that is the global option naming the server's config file.
    .requiredOption('--machine-config <file>', 'the machine config YAML, also given as --config (docs/machine-config.md; check it with `anvil config validate`)')
    .option('--disk <selector>', 'the install disk, replacing the config\'s install.disk: key=value[,key=value] with serial, wwn, model, minSize, maxSize, transport, rotational', parseDiskSelector)
    .option('--watch', 'follow the install until the node reports in (provisioned) or it fails')
    .action(async (id: string, o: { image: string, machineConfig: string, disk?: Record<string, unknown>, watch?: boolean }) => {
      const config = readConfigFile(o.machineConfig)
      const r = await ctx.client().post<ProvisionView>(`/api/v1/machines/${encodeURIComponent(id)}/provision`, { image: o.image, config, ...(o.disk === undefined ? {} : { disk: o.disk }) })
      const format = ctx.output()
      const d = r.disk
      ctx.print(format === 'table'
        ? `install of ${r.image.name}:${r.image.version} to ${d.name} (serial ${d.serial === '' ? 'none' : d.serial}), config generation ${r.configGeneration}, queued for ${r.machine.id}\noperation ${r.operationId}\n`
        : renderData(r, format))
      if (o.watch !== true) return
      // The task through the operations API (what `anvil operations watch` prints), then the machine.
      const op = await untilInterrupted(async (signal) => await watchOperation(ctx.client(), r.operationId, ctx.print, { intervalMs: pollMs, signal }))
      requireSucceeded(op)
      const m = await watchMachine(ctx, r.machine.id, pollMs)
      if (m.state !== 'provisioned') throw new CodedError('ERR_OPERATION_FAILED', `the install of ${m.id} was written, but the machine is ${m.state}${m.stateReason === null ? '' : `: ${m.stateReason}`}`, { id: r.operationId, state: m.state })
    })
}
