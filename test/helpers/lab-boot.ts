import { existsSync, readFileSync } from 'node:fs'
import type { ApiEvent, ApiMachine } from '../../lab/api.ts'
import { waitFor } from '../../lab/proc.ts'
import type { DhcpMode } from '../../lab/anvil.ts'
import type { Lab } from '../../lab/start-lab.ts'
import type { VmIdentity } from '../../lab/qemu.ts'

/** The last `bytes` of a log file, printable, for failure messages. */
export function tail (file: string, bytes = 1500): string {
  if (!existsSync(file)) return `(no ${file})`
  const text = readFileSync(file).toString('latin1')
  // Firmware consoles are full of ANSI escapes; drop them and everything else unprintable.
  const esc = String.fromCharCode(27)
  return text.slice(-bytes).split(esc).join('^[').replace(/[^\n\t\x20-\x7e]/g, '')
}

/** What a booted VM looks like through the API. */
export type Booted = { readonly machine: ApiMachine, readonly events: readonly ApiEvent[] }

/**
 * Waits (bounded) until the VM's MAC is in the inventory and its timeline holds every event type
 * in `types`. On timeout the error carries the VM's console and the server's log tail.
 */
export async function waitForBoot (lab: Lab, vm: VmIdentity, types: readonly string[], timeoutMs = 120_000): Promise<Booted> {
  const running = lab.vms.get(vm.name)
  let last: Booted | undefined
  try {
    return await waitFor(`${vm.name} (${vm.firmware}) in the inventory with ${types.join(', ')}`, timeoutMs, async () => {
      const machine = await lab.api.machineByMac(vm.mac)
      if (machine === undefined) return undefined
      const events = await lab.api.events(machine.id)
      last = { machine, events }
      return types.every(t => events.some(e => e.type === t)) ? last : undefined
    }, {
      intervalMs: 1_000,
      giveUp: () => running !== undefined && !running.daemon.alive() ? `QEMU for ${vm.name} exited` : undefined
    })
  } catch (err) {
    const seen = last === undefined ? 'machine never appeared' : `timeline so far: ${last.events.map(e => e.type).join(', ')}`
    throw new Error(`${(err as Error).message}\n${seen}\n--- ${vm.name} console ---\n${tail(running?.serialLog ?? '')}\n--- anvil log ---\n${tail(lab.anvil.daemon.logFile, 3000)}`)
  }
}

/**
 * Event types a VM's timeline must hold: Anvil's DHCP offer and the HTTP script always; the TFTP
 * transfer of the first stage for UEFI; Anvil's ACK of the lease in authoritative mode.
 * No ACK in proxy mode: when the ProxyDHCPOFFER already names the boot file, neither iPXE nor
 * OVMF sends the port 4011 request (seen on the wire in the lab), and the site server ACKs the
 * address, so Anvil has no ACK to record.
 */
export function expectedEventTypes (vm: VmIdentity, mode: DhcpMode): string[] {
  const types = ['dhcp.offer', 'http.script']
  if (mode === 'authoritative') types.push('dhcp.ack')
  if (vm.firmware === 'uefi') types.push('tftp.transfer')
  return types
}
