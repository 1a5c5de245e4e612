import { Argument, InvalidArgumentError, Option, type Command } from 'commander'
import { IpmiBmc } from '../ipmi/bmc.ts'
import { IpmiSession } from '../ipmi/client.ts'
import { systemClock } from '../inventory/ports.ts'
import { checkBootReadBack, readBackPower } from '../power/read-back.ts'
import type { PowerAction } from '../power/bmc.ts'
import type { CliContext } from './machines.ts'
import { renderData, renderFields } from './output.ts'
import { parseCipherSuite, parsePort } from './power.ts'
import { readSecretFromStdin } from './stdin.ts'

type IpmiOptions = { host: string, port: number, user: string, passwordStdin: true, cipherSuite: 'auto' | 3 | 17, timeout: number, readBackTimeout: number }

/** A number > 0 for --timeout and --read-back-timeout (Number('x') would silently be NaN). */
function positiveNumber (v: string, unit: string): number {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new InvalidArgumentError(`expected a positive number of ${unit}`)
  return n
}

const sleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/** Opens one session for the command, runs it, and always closes the session. */
async function withBmc<T> (o: IpmiOptions, run: (bmc: IpmiBmc) => Promise<T>): Promise<T> {
  const password = await readSecretFromStdin('--password-stdin')
  const session = await IpmiSession.open({ host: o.host, port: o.port, username: o.user, password, cipherSuite: o.cipherSuite, timeoutMs: o.timeout })
  try {
    return await run(new IpmiBmc(session))
  } finally {
    await session.close()
  }
}

/**
 * `anvil ipmi --host H [--port P] --user U --password-stdin power|bootdev|info ...`: the ad-hoc
 * tool for any BMC, no server needed. Writes are read back, as in the product.
 */
export function registerIpmiCommand (program: Command, ctx: CliContext): void {
  const ipmi = program.command('ipmi').description('talk to any BMC directly over IPMI v2.0 RMCP+ (like ipmitool -I lanplus)')
    .requiredOption('--host <host>', 'BMC address')
    .option('--port <port>', 'RMCP+ UDP port', parsePort, 623)
    .requiredOption('--user <name>', 'BMC user')
    .requiredOption('--password-stdin', 'read the password from standard input')
    .addOption(new Option('--cipher-suite <suite>', 'auto (strongest offered), 3 or 17').argParser(parseCipherSuite).default('auto'))
    .option('--timeout <ms>', 'milliseconds to wait per request before resending', (v) => positiveNumber(v, 'milliseconds'), 1000)
    .option('--read-back-timeout <s>', 'seconds a power change may take to read back', (v) => positiveNumber(v, 'seconds'), 15)
  const opts = (): IpmiOptions => ipmi.opts<IpmiOptions>()

  ipmi.command('power').description('power status, or on|off|cycle|reset|soft and wait for the read-back')
    .addArgument(new Argument('<action>').choices(['status', 'on', 'off', 'cycle', 'reset', 'soft']))
    .action(async (action: PowerAction | 'status') => {
      const o = opts()
      const state = await withBmc(o, async (bmc) => {
        if (action === 'status') return await bmc.powerState()
        await bmc.chassisControl(action)
        const timeoutMs = o.readBackTimeout * 1000
        return await readBackPower(async () => await bmc.powerState(), action, { timeoutMs, pollMs: 250, sleep, clock: systemClock })
      })
      const format = ctx.output()
      ctx.print(format === 'table' ? `Chassis power is ${state}\n` : renderData({ state }, format))
    })

  ipmi.command('bootdev').description('set the next boot device and read it back')
    .addArgument(new Argument('<device>').choices(['pxe', 'disk']))
    .option('--persistent', 'every boot, not only the next one')
    .option('--efi', 'EFI boot rather than legacy BIOS')
    .action(async (device: 'pxe' | 'disk', f: { persistent?: boolean, efi?: boolean }) => {
      const setting = { device, persistent: f.persistent === true, efi: f.efi === true }
      const back = await withBmc(opts(), async (bmc) => {
        await bmc.setBootDevice(setting)
        const reading = await bmc.bootDevice()
        checkBootReadBack(setting, { device: reading.device, persistent: reading.persistent, efi: reading.efi, valid: reading.valid })
        return reading
      })
      const format = ctx.output()
      ctx.print(format === 'table' ? `Boot device is ${back.device}${back.valid ? ` (${back.persistent ? 'persistent' : 'next boot only'}, ${back.efi ? 'EFI' : 'legacy'})` : ''}\n` : renderData(back, format))
    })

  ipmi.command('info').description('the BMC: Get Device ID, its LAN address and MAC')
    .action(async () => {
      const info = await withBmc(opts(), async (bmc) => ({ device: await bmc.deviceId(), lan: await bmc.lanConfig().catch((err: Error) => ({ error: err.message })) }))
      const format = ctx.output()
      ctx.print(format === 'table' ? renderFields(Object.entries({ ...info.device, ...info.lan })) : renderData(info, format))
    })
}
