import { MachineState, type Machine } from '../inventory/machine.ts'

/** What a machine's network boot should do now. */
export type BootDecision =
  | { readonly kind: 'wait', readonly reason: string, readonly recheckSeconds: number }
  | { readonly kind: 'local-disk', readonly reason: string }
  | { readonly kind: 'bootenv', readonly reason: string }

/** What the server can offer; grows as the discovery environment and installer land. */
export type BootCapabilities = {
  /** Seconds between re-checks while a machine waits for something. */
  readonly recheckSeconds: number
  /** The discovery environment (boot-assets/bootenv/) is built and can be served. */
  readonly bootenv: boolean
}

/** Why each state boots the discovery environment (the reason goes into the timeline). */
const BOOTENV_REASON: Partial<Record<MachineState, string>> = {
  [MachineState.enrolled]: 'first boot of an enrolled machine: booting the discovery environment to report its hardware',
  [MachineState.discovered]: 'the machine is discovered: booting the discovery environment to report its hardware and wait for acceptance',
  [MachineState.accepted]: 'the machine is accepted: booting the discovery environment to take its tasks (wipe)',
  [MachineState.wiping]: 'a wipe is pending: booting the discovery environment to run it',
  [MachineState.ready]: 'the machine is ready: booting the discovery environment to wait for an assignment',
  [MachineState.resetting]: 'the machine is resetting: booting the discovery environment to wipe it'
}

/**
 * Decides, from the machine's lifecycle state alone, what its network boot gets (PRODUCT.md,
 * "The server decides what each PXE request gets from this state"). Pure: the reason it returns
 * goes into the timeline verbatim.
 */
export function decideBoot (machine: Machine, caps: BootCapabilities): BootDecision {
  switch (machine.state) {
    case MachineState.rejected:
      return { kind: 'local-disk', reason: 'the machine was rejected: it boots from its local disk and is left alone' }
    case MachineState.provisioned:
      return { kind: 'local-disk', reason: 'the machine is provisioned: it boots its installed system from disk' }
    case MachineState.maintenance:
      return { kind: 'wait', reason: 'the machine is in maintenance: holding it at the network boot prompt', recheckSeconds: caps.recheckSeconds }
    case MachineState.enrolled:
    case MachineState.discovered:
    case MachineState.accepted:
    case MachineState.wiping:
    case MachineState.ready:
    case MachineState.resetting:
      if (caps.bootenv) return { kind: 'bootenv', reason: BOOTENV_REASON[machine.state] as string }
      return { kind: 'wait', reason: `the machine is ${machine.state} and this server has no discovery environment yet (boot-assets/bootenv/ is not built: npm run build:bootenv): waiting`, recheckSeconds: caps.recheckSeconds }
    case MachineState.installing:
    case MachineState.deprovisioning:
      return { kind: 'wait', reason: `the machine is ${machine.state}, which this server does not drive yet: waiting`, recheckSeconds: caps.recheckSeconds }
    case MachineState.error:
      return { kind: 'wait', reason: `the machine is in error (${machine.stateReason ?? 'no reason recorded'}): waiting for an operator`, recheckSeconds: caps.recheckSeconds }
  }
}
