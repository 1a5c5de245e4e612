import { closeSync, fstatSync, openSync, readSync } from 'node:fs'
import type { Command } from 'commander'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { describeSelector } from '../machine-config/install-disk.ts'
import { invalidMachineConfig, type MachineConfigIssue } from '../machine-config/issues.ts'
import { MAX_DOCUMENT_BYTES, parseMachineConfig, tooLarge } from '../machine-config/parse.ts'
import { renderMachineConfig } from '../machine-config/render.ts'
import type { MachineConfig } from '../machine-config/schema.ts'
import type { CliContext } from './machines.ts'
import { renderData } from './output.ts'

/** The file's text, refused unread past MAX_DOCUMENT_BYTES, and only as UTF-8 (a leading BOM dropped). */
export function readConfigFile (file: string): string {
  let fd: number | undefined
  try {
    fd = openSync(file, 'r')
    const size = fstatSync(fd).size
    if (size > MAX_DOCUMENT_BYTES) throw invalidMachineConfig([tooLarge(size)])
    const buf = Buffer.alloc(MAX_DOCUMENT_BYTES + 1)
    let length = 0
    for (let n = -1; n !== 0 && length < buf.length;) {
      n = readSync(fd, buf, length, buf.length - length, null)
      length += n
    }
    if (length > MAX_DOCUMENT_BYTES) throw invalidMachineConfig([tooLarge(length)]) // it grew while read
    return new TextDecoder('utf-8', { fatal: true }).decode(buf.subarray(0, length))
  } catch (err) {
    if (isCodedError(err)) throw err
    const why = err instanceof TypeError ? 'it is not UTF-8 text' : (err as Error).message
    throw new CodedError('ERR_MACHINE_CONFIG_UNREADABLE', `cannot read machine config ${file}: ${why}`)
  } finally {
    if (fd !== undefined) closeSync(fd)
  }
}

const plural = (n: number, one: string, many = `${one}s`): string => `${n} ${n === 1 ? one : many}`

/** One line: what the config will make of the machine. */
export function summarize (c: MachineConfig): string {
  const links = c.network.interfaces.flatMap(i => [i, ...i.vlans])
  const vlans = links.length - c.network.interfaces.length
  const addresses = links.reduce((n, l) => n + l.addresses.length, 0)
  const dhcp = links.filter(l => l.dhcp).length
  const net = [plural(c.network.interfaces.length, 'interface'), ...(vlans > 0 ? [plural(vlans, 'VLAN')] : []), plural(addresses, 'static address', 'static addresses'), ...(dhcp > 0 ? [`DHCP on ${dhcp}`] : [])]
  const services = [`apid :${c.services.apid.port}`, `trustd :${c.services.trustd.port}`, ...(c.services.ntp?.enabled === true ? [`ntp (${plural(c.services.ntp.servers.length, 'server')})`] : [])]
  return `${c.hostname}: ${net.join(', ')}; install disk by ${describeSelector(c.install.disk)}; services ${services.join(', ')}; ` +
    `${plural(c.kernelArgs.length, 'kernel arg')}, ${plural(Object.keys(c.sysctls).length, 'sysctl')}`
}

/** `anvil config validate FILE`: offline, no server. */
export function registerConfigCommands (program: Command, ctx: CliContext): void {
  const config = program.command('config').description('machine configs (docs/machine-config.md), checked here without a server')

  config.command('validate').description('check a machine config file: prints it valid with a summary, or every issue with its key path (exit 1). ' +
    '-o json/yaml prints the normalized config (yaml: the canonical text that gets signed) or the issues')
    .argument('<file>', 'machine config YAML')
    .action((file: string) => {
      const format = ctx.output()
      const text = readConfigFile(file)
      let parsed: MachineConfig
      try {
        parsed = parseMachineConfig(text)
      } catch (err) {
        if (!isCodedError(err) || err.code !== 'ERR_MACHINE_CONFIG_INVALID') throw err
        const issues = (err.details?.issues ?? []) as MachineConfigIssue[]
        ctx.print(format === 'table'
          ? `${file}: invalid (${plural(issues.length, 'issue')})\n${issues.map(i => `  ${i.path}: ${i.message}\n`).join('')}`
          : renderData(issues, format))
        throw new CodedError('ERR_MACHINE_CONFIG_INVALID', `${file}: ${plural(issues.length, 'issue')}`, { issues })
      }
      if (format === 'json') ctx.print(renderData(parsed, 'json'))
      else if (format === 'yaml') ctx.print(renderMachineConfig(parsed))
      else ctx.print(`${file}: valid\n${summarize(parsed)}\n`)
    })
}
