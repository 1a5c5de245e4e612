import { Argument, InvalidArgumentError, Option, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import type { BmcJson, BootDeviceView, MachineView, PowerStateView, PowerStatusView } from '../http/api-types.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderFields, renderTable } from './output.ts'
import { readSecretFromStdin } from './stdin.ts'

const ACTIONS = ['on', 'off', 'cycle', 'reset', 'soft'] as const

/** `--cipher-suite auto|3|17` as the API wants it. */
export function parseCipherSuite (v: string): 'auto' | 3 | 17 {
  if (v === 'auto') return 'auto'
  if (v === '3' || v === '17') return Number(v) as 3 | 17
  throw new InvalidArgumentError('use auto, 3 or 17')
}

/** `--port` / `--bmc-port` as an integer 1–65535. */
export function parsePort (v: string): number {
  const n = Number(v)
  if (!Number.isInteger(n) || n < 1 || n > 65535) throw new InvalidArgumentError('a port is 1–65535')
  return n
}

const path = (id: string, rest = ''): string => `/api/v1/machines/${encodeURIComponent(id)}${rest}`

function printBmc (ctx: CliContext, bmc: BmcJson | null, machineId: string): void {
  const format = ctx.output()
  if (format !== 'table') {
    ctx.print(renderData(bmc, format))
    return
  }
  ctx.print(bmc === null
    ? `machine ${machineId} has no BMC\n`
    : renderFields([['machine', machineId], ['address', bmc.address], ['port', bmc.port], ['user', bmc.user], ['password', '(set; never shown)'], ['cipher suite', bmc.cipherSuite], ['updated', bmc.updatedAt]]))
}

/** `anvil bmc set|show|remove`: a machine's BMC (the password only ever from stdin). */
export function registerBmcCommands (program: Command, ctx: CliContext): void {
  const bmc = program.command('bmc').description('a machine\'s BMC: address, user, password (sealed at rest), cipher suite')

  bmc.command('set').description('set or replace the BMC of machine ID')
    .argument('<id>')
    .requiredOption('--address <host>', 'BMC IPv4 address or host name')
    .option('--port <port>', 'RMCP+ UDP port', parsePort, 623)
    .requiredOption('--user <name>', 'BMC user')
    .requiredOption('--password-stdin', 'read the BMC password from standard input')
    .addOption(new Option('--cipher-suite <suite>', 'auto (strongest offered), 3 or 17').argParser(parseCipherSuite).default('auto'))
    .action(async (id: string, o: { address: string, port: number, user: string, cipherSuite: 'auto' | 3 | 17 }) => {
      const password = await readSecretFromStdin('--password-stdin')
      const m = await ctx.client().request<MachineView>('PUT', path(id, '/bmc'), { address: o.address, port: o.port, user: o.user, password, cipherSuite: o.cipherSuite })
      printBmc(ctx, m.bmc, m.id)
    })

  bmc.command('show').description('the BMC of machine ID (never its password)')
    .argument('<id>')
    .action(async (id: string) => {
      const m = await ctx.client().get<MachineView>(path(id))
      printBmc(ctx, m.bmc, m.id)
    })

  bmc.command('remove').description('forget the BMC of machine ID')
    .argument('<id>')
    .action(async (id: string) => {
      await ctx.client().request('DELETE', path(id, '/bmc'))
      if (ctx.output() === 'table') ctx.print(`removed the BMC of ${id}\n`)
    })
}

/** `anvil power on|off|cycle|reset|soft|status ID` and `anvil power status --all`. */
export function registerPowerCommands (program: Command, ctx: CliContext): void {
  const power = program.command('power').description('power control through each machine\'s BMC; every change is read back')

  for (const action of ACTIONS) {
    power.command(action).description(`${action === 'soft' ? 'soft shutdown (ACPI)' : `power ${action}`} machine ID, then wait until the BMC reads back the result`)
      .argument('<id>')
      .action(async (id: string) => {
        const r = await ctx.client().post<PowerStateView>(path(id, '/power'), { action })
        const format = ctx.output()
        ctx.print(format === 'table' ? `${r.machineId}: power ${action} done, chassis is ${r.state} (${((r.tookMs ?? 0) / 1000).toFixed(1)} s)\n` : renderData(r, format))
      })
  }

  power.command('status').description('power state of machine ID, or of every machine with a BMC (--all)')
    .argument('[id]')
    .option('--all', 'every machine with a BMC, queried concurrently')
    .action(async (id: string | undefined, o: { all?: boolean }) => {
      const format = ctx.output()
      if (o.all === true) {
        if (id !== undefined) throw new CodedError('ERR_USAGE', 'give a machine ID or --all, not both')
        const { machines } = await ctx.client().get<PowerStatusView>('/api/v1/power')
        ctx.print(format === 'table'
          ? renderTable(machines, [{ header: 'ID', get: l => l.machineId }, { header: 'POWER', get: l => l.state ?? 'unknown' }, { header: 'ERROR', get: l => l.error === undefined ? '' : `${l.error.message} [${l.error.code}]` }])
          : renderData(machines, format))
        return
      }
      if (id === undefined) throw new CodedError('ERR_USAGE', 'give a machine ID, or --all')
      const r = await ctx.client().get<PowerStateView>(path(id, '/power'))
      ctx.print(format === 'table' ? `${r.machineId}: ${r.state}\n` : renderData(r, format))
    })
}

/** `anvil bootdev ID pxe|disk [--persistent] [--efi]`, and without a device: show what the BMC holds. */
export function registerBootdevCommand (program: Command, ctx: CliContext): void {
  program.command('bootdev').description('set (and read back) the next boot device of machine ID; without a device, show it')
    .argument('<id>')
    .addArgument(new Argument('[device]', 'pxe or disk').choices(['pxe', 'disk']))
    .option('--persistent', 'every boot, not only the next one')
    .option('--efi', 'EFI boot rather than legacy BIOS')
    .action(async (id: string, device: 'pxe' | 'disk' | undefined, o: { persistent?: boolean, efi?: boolean }) => {
      const client = ctx.client()
      const r = device === undefined
        ? await client.get<BootDeviceView>(path(id, '/boot-device'))
        : await client.post<BootDeviceView>(path(id, '/boot-device'), { device, persistent: o.persistent === true, efi: o.efi === true })
      const format = ctx.output()
      if (format !== 'table') {
        ctx.print(renderData(r, format))
        return
      }
      const flags = r.valid ? `${r.persistent ? 'persistent' : 'next boot only'}, ${r.efi ? 'EFI' : 'legacy'}` : 'flags not reported by the BMC'
      ctx.print(`${r.machineId}: boot device ${r.device} (${flags})\n`)
    })
}
