import { existsSync, readFileSync, statSync } from 'node:fs'
import type { ApiEvent } from '../../lab/api.ts'
import type { LabBmc } from '../../lab/bmc.ts'
import { waitFor } from '../../lab/proc.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { tail } from './lab-boot.ts'
import { labSkipReason } from './lab-env.ts'
import { skipReason } from './requirements.ts'

/** Why the lab power tests cannot run here: the lab tier's needs plus the BMC's programs. */
export function labPowerSkipReason (): string | undefined {
  // setsid and busybox (nc) are what lab/chassis-control.sh runs to start and reset QEMU.
  return labSkipReason() ?? skipReason('the lab power tier', { root: true, programs: ['ipmi_sim', 'ipmitool', 'setsid', 'busybox'] })
}

/** The size of a console log now, so a later wait looks only at what comes after. */
export function consoleOffset (file: string): number {
  return existsSync(file) ? statSync(file).size : 0
}

/** What a console printed since `offset`, printable only. */
export function consoleSince (file: string, offset: number): string {
  if (!existsSync(file)) return ''
  const esc = String.fromCharCode(27)
  return readFileSync(file).subarray(offset).toString('latin1').split(esc).join('^[').replace(/[^\n\t\x20-\x7e]/g, '')
}

/** The failure text for a BMC VM: its console, its chassis log and Anvil's log tail. */
export function bmcDiagnostics (lab: Lab, bmc: LabBmc): string {
  return [
    `--- ${bmc.vm.name} console ---`, tail(bmc.serialLog),
    `--- ${bmc.vm.name} chassis log ---`, tail(`${bmc.dir}/chassis.log`, 800),
    '--- anvil log ---', tail(lab.anvil.daemon.logFile, 3000)
  ].join('\n')
}

/**
 * Waits (bounded) until machine `id`'s timeline holds every event type in `types`, giving up as
 * soon as the VM's chassis reads powered off. On failure the error carries the diagnostics.
 */
export async function waitForTimeline (lab: Lab, bmc: LabBmc, id: string, types: readonly string[], timeoutMs: number): Promise<ApiEvent[]> {
  let last: ApiEvent[] = []
  let off = false
  try {
    return await waitFor(`${bmc.vm.name}'s timeline with ${types.join(', ')}`, timeoutMs, async () => {
      off = (await bmc.chassis()).power === 'off'
      last = await lab.api.events(id)
      return types.every(t => last.some(e => e.type === t)) ? last : undefined
    }, { intervalMs: 1_000, giveUp: () => off ? `the QEMU of ${bmc.vm.name} is not running` : undefined })
  } catch (err) {
    throw new Error(`${(err as Error).message}\ntimeline so far: ${last.map(e => e.type).join(', ')}\n${bmcDiagnostics(lab, bmc)}`)
  }
}

/** Waits (bounded) until the VM's console prints `text` after `offset`. */
export async function waitForConsole (lab: Lab, bmc: LabBmc, text: string, offset: number, timeoutMs: number): Promise<void> {
  try {
    await waitFor(`"${text}" on ${bmc.vm.name}'s console`, timeoutMs, () => consoleSince(bmc.serialLog, offset).includes(text) ? true : undefined, { intervalMs: 500 })
  } catch (err) {
    throw new Error(`${(err as Error).message}\n${bmcDiagnostics(lab, bmc)}`)
  }
}
