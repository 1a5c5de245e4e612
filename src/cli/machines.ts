import { Option, type Command } from 'commander'
import { CodedError } from '../lib/errors.ts'
import { parseCipherSuite, parsePort } from './power.ts'
import { readSecretFromStdin } from './stdin.ts'
import { registerDiscoveryCommands } from './discovery.ts'
import { installFields, registerProvisionCommand } from './provision.ts'
import { registerMachineReset } from './reset.ts'
import { registerRolloutCommand } from './rollout.ts'
import { hardwareFields } from './hardware.ts'
import { isCodedError } from '../lib/errors.ts'
import type { HardwareView } from '../http/api-types.ts'
import type { ApiClient } from './client.ts'
import type { EventView, MachineView } from '../http/api-types.ts'
import { renderData, renderFields, renderTable, type Column, type OutputFormat } from './output.ts'

/** The UUID column says why an untrusted UUID is not the identity. */
function uuidCell (m: MachineView): string {
  if (m.uuidStatus === 'valid') return m.uuid ?? '-'
  return `${m.reportedUuid ?? '-'} (${m.uuidStatus})`
}

const MACHINE_COLUMNS: Column<MachineView>[] = [
  { header: 'ID', get: m => m.id },
  { header: 'STATE', get: m => m.state },
  { header: 'UUID', get: uuidCell },
  { header: 'SERIAL', get: m => m.serial },
  { header: 'VENDOR', get: m => m.manufacturer },
  { header: 'PRODUCT', get: m => m.product },
  { header: 'MACS', get: m => m.macs },
  { header: 'FIRMWARE', get: m => m.firmware },
  { header: 'IP', get: m => m.ip },
  { header: 'LAST SEEN', get: m => m.lastSeenAt.replace(/\.\d+Z$/, 'Z') }
]

const EVENT_COLUMNS: Column<EventView>[] = [
  { header: 'TIME', get: e => e.at.replace('T', ' ').replace(/Z$/, '') },
  { header: 'SOURCE', get: e => e.source },
  { header: 'EVENT', get: e => e.type },
  { header: 'WHAT AND WHY', get: e => e.message }
]

export type CliContext = { client: () => ApiClient, output: () => OutputFormat, print: (text: string) => void }

/** `anvil machines list|show|timeline`. */
export function registerMachineCommands (program: Command, ctx: CliContext): void {
  const machines = program.command('machines').alias('machine').description('the machine inventory')

  machines.command('list').alias('ls').description('list every machine Anvil knows')
    .option('--state <state>', 'only machines in this state')
    .action(async (opts: { state?: string }) => {
      const q = opts.state === undefined ? '' : `?state=${encodeURIComponent(opts.state)}`
      const { items } = await ctx.client().get<{ items: MachineView[] }>(`/api/v1/machines${q}`)
      const format = ctx.output()
      ctx.print(format === 'table' ? renderTable(items, MACHINE_COLUMNS) : renderData(items, format))
    })

  machines.command('show').description('one machine: identity, NICs, state, BMC and hardware (ID may be an id, MAC, UUID or serial)')
    .argument('<id>')
    .action(async (id: string) => {
      const client = ctx.client()
      const m = await client.get<MachineView>(`/api/v1/machines/${encodeURIComponent(id)}`)
      const hw = await client.get<HardwareView>(`/api/v1/machines/${encodeURIComponent(m.id)}/hardware`).catch((err: unknown) => {
        if (isCodedError(err) && (err.code === 'ERR_NO_HARDWARE' || err.code === 'ERR_ROUTE_NOT_FOUND')) return undefined
        throw err
      })
      const format = ctx.output()
      ctx.print(format === 'table'
        ? renderFields([
          ['id', m.id], ['state', m.state], ['state reason', m.stateReason],
          ['uuid', m.uuid], ['reported uuid', m.reportedUuid], ['uuid status', m.uuidStatus],
          ['serial', m.serial], ['manufacturer', m.manufacturer], ['product', m.product],
          ['firmware', m.firmware], ['arch', m.arch], ['ip', m.ip], ['macs', m.macs],
          ['bmc', m.bmc === null ? null : `${m.bmc.user}@${m.bmc.address}:${m.bmc.port} (cipher suite ${m.bmc.cipherSuite})`],
          ['first seen', m.createdAt], ['last seen', m.lastSeenAt],
          ...installFields(m.install),
          ...(hw === undefined ? [['hardware', 'not reported yet (the discovery agent reports it at boot)'] as const] : hardwareFields(hw))
        ])
        : renderData({ ...m, hardware: hw?.hardware ?? null, hardwareReportedAt: hw?.reportedAt ?? null }, format))
    })

  machines.command('add').description('enrol a machine before it boots; its first PXE boot is matched to this record')
    .requiredOption('--mac <mac>', 'a MAC address of the machine (the one it PXE boots from)')
    .option('--uuid <uuid>', 'its SMBIOS system UUID')
    .option('--serial <serial>', 'its serial number')
    .option('--bmc-address <host>', 'BMC IPv4 address or host name')
    .option('--bmc-port <port>', 'BMC RMCP+ UDP port', parsePort)
    .option('--bmc-user <name>', 'BMC user')
    .option('--bmc-password-stdin', 'read the BMC password from standard input')
    .addOption(new Option('--bmc-cipher-suite <suite>', 'auto (strongest offered), 3 or 17').argParser(parseCipherSuite))
    .action(async (o: { mac: string, uuid?: string, serial?: string, bmcAddress?: string, bmcPort?: number, bmcUser?: string, bmcPasswordStdin?: boolean, bmcCipherSuite?: 'auto' | 3 | 17 }) => {
      const bmcGiven = o.bmcAddress !== undefined || o.bmcUser !== undefined || o.bmcPasswordStdin === true || o.bmcPort !== undefined
      if (bmcGiven && (o.bmcAddress === undefined || o.bmcUser === undefined || o.bmcPasswordStdin !== true)) {
        throw new CodedError('ERR_USAGE', 'a BMC needs --bmc-address, --bmc-user and --bmc-password-stdin together')
      }
      const bmc = bmcGiven
        ? { address: o.bmcAddress, user: o.bmcUser, password: await readSecretFromStdin('--bmc-password-stdin'), ...(o.bmcPort === undefined ? {} : { port: o.bmcPort }), ...(o.bmcCipherSuite === undefined ? {} : { cipherSuite: o.bmcCipherSuite }) }
        : undefined
      const m = await ctx.client().post<MachineView>('/api/v1/machines', { mac: o.mac, ...(o.uuid === undefined ? {} : { uuid: o.uuid }), ...(o.serial === undefined ? {} : { serial: o.serial }), ...(bmc === undefined ? {} : { bmc }) })
      const format = ctx.output()
      ctx.print(format === 'table' ? `enrolled ${m.id} (MAC ${m.macs.join(', ')}${m.bmc === null ? '' : `, BMC ${m.bmc.address}:${m.bmc.port}`})\n` : renderData(m, format))
    })

  registerDiscoveryCommands(machines, ctx)
  registerProvisionCommand(machines, ctx)
  registerMachineReset(machines, ctx)
  registerRolloutCommand(machines, ctx)

  machines.command('timeline').alias('events').description('every step of the machine\'s boots, with the reason for each decision')
    .argument('<id>')
    .option('--limit <n>', 'at most this many events', '1000')
    .action(async (id: string, opts: { limit: string }) => {
      const { items } = await ctx.client().get<{ items: EventView[] }>(`/api/v1/machines/${encodeURIComponent(id)}/events?limit=${encodeURIComponent(opts.limit)}`)
      const format = ctx.output()
      ctx.print(format === 'table' ? renderTable(items, EVENT_COLUMNS) : renderData(items, format))
    })
}
