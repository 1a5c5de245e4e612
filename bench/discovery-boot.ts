// Power-on to complete hardware report: lab VMs PXE boot from Anvil into the real boot environment
// (boot-assets/bootenv) and the agent reports over gRPC; timed from QEMU's start to the report's
// arrival at the server (GET /api/v1/machines/:id/hardware reportedAt), with the timeline's first
// DHCP offer, boot-environment script and agent connection as the breakdown. Each VM is a fresh
// identity (new MAC, new machine), so no round sees an earlier round's report.
import { readFileSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { stopDaemon } from '../lab/proc.ts'
import { vmIdentity, type Firmware } from '../lab/qemu.ts'
import type { Lab } from '../lab/start-lab.ts'
import type { Teardown } from '../lab/netns.ts'
import { DiscoveryApi, startDiscoveryVm, waitForHardware, type DiscoveryVm } from '../test/helpers/lab-discovery.ts'
import type { LabDisk } from '../test/helpers/lab-discovery-disks.ts'

/** The groups the benchmark boots: one BIOS VM alone, one UEFI VM alone, three VMs at once. */
export const BootGroup = { bios: 'bios', uefi: 'uefi', three: 'three' } as const
export type BootGroup = typeof BootGroup[keyof typeof BootGroup]

/** One VM's boot, in seconds from QEMU's start; undefined where the timeline has no such event. */
export type BootSample = {
  readonly group: BootGroup
  readonly round: number
  readonly vm: string
  readonly firmware: Firmware
  readonly report: number
  readonly offer: number | undefined
  readonly script: number | undefined
  readonly connected: number | undefined
  /** Guest side, from the console: kernel uptime when init started the agent (`anvil-init: [T] starting agent`). */
  readonly agentStartUptime: number | undefined
}

const MiB = 1 << 20
/** Each VM gets one sparse virtio disk, so the report has a disk in it, as a real machine's would. */
const DISK_BYTES = 64 * MiB

function firmwares (group: BootGroup): Firmware[] {
  if (group === 'three') return ['bios', 'uefi', 'bios']
  return [group]
}

function sparseDisk (runDir: string, name: string, serial: string): LabDisk {
  const file = join(runDir, `${name}.d1.raw`)
  writeFileSync(file, '')
  truncateSync(file, DISK_BYTES)
  return { id: 'd1', file, bus: 'virtio', serial, bytes: DISK_BYTES }
}

/** The kernel uptime on init's `starting agent` console line, if the console has it. */
function agentStartUptime (serialLog: string): number | undefined {
  try {
    const m = /anvil-init: \[(\d+(?:\.\d+)?)\] starting agent/.exec(readFileSync(serialLog, 'latin1'))
    return m?.[1] === undefined ? undefined : Number(m[1])
  } catch {
    return undefined
  }
}

/**
 * Boots one group in round `round` (VM indexes 10·round+1 …, so identities never repeat), waits
 * (bounded) for every report, stops the VMs, and returns one sample per VM.
 */
export async function bootGroup (lab: Lab, teardown: Teardown, group: BootGroup, round: number): Promise<BootSample[]> {
  const api = new DiscoveryApi(lab)
  const base = 10 * round + (group === 'bios' ? 1 : group === 'uefi' ? 2 : 3)
  const vms: DiscoveryVm[] = []
  try {
    for (const [i, firmware] of firmwares(group).entries()) {
      const identity = vmIdentity(base + i, firmware)
      vms.push(await startDiscoveryVm(lab, identity, [sparseDisk(lab.runDir, identity.name, `${identity.serial}-V`)], teardown))
    }
    const found = await Promise.all(vms.map(async vm => await waitForHardware(lab, api, vm, 240_000)))
    const samples: BootSample[] = []
    for (const [i, vm] of vms.entries()) {
      const f = found[i]
      if (f === undefined) continue
      const events = await lab.api.events(f.machine.id)
      const since = (ms: number): number | undefined => Number.isFinite(ms) ? (ms - vm.startedAt) / 1000 : undefined
      const first = (type: string, pred: (d: Record<string, unknown> | null) => boolean = () => true): number | undefined =>
        since(Date.parse(events.find(e => e.type === type && pred(e.data))?.at ?? ''))
      samples.push({
        group,
        round,
        vm: vm.identity.name,
        firmware: vm.identity.firmware,
        report: (Date.parse(f.hardware.reportedAt) - vm.startedAt) / 1000,
        offer: first('dhcp.offer'),
        script: first('http.script', d => d?.decision === 'bootenv'),
        connected: first('agent.connected'),
        agentStartUptime: agentStartUptime(vm.serialLog)
      })
    }
    return samples
  } finally {
    // Stopped at once, so an idle guest does not take CPU from the next measurement.
    for (const vm of vms) await stopDaemon(vm.daemon)
  }
}
