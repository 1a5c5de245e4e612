import { MachineState, type Machine } from '../inventory/machine.ts'

/** What a machine's network boot should do now. */
export type BootDecision =
  | { readonly kind: 'wait', readonly reason: string, readonly recheckSeconds: number }
  | { readonly kind: 'local-disk', readonly reason: string }

/** What the server can offer; grows as the discovery environment and installer land. */
export type BootCapabilities = {
  /** Seconds between re-checks while a machine waits for something. */
  readonly recheckSeconds: number
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
    case MachineState.installing:
    case MachineState.resetting:
    case MachineState.deprovisioning:
      return { kind: 'wait', reason: `the machine is ${machine.state} and this server has no discovery environment yet (boot-assets/bootenv/ is not built): waiting`, recheckSeconds: caps.recheckSeconds }
    case MachineState.error:
      return { kind: 'wait', reason: `the machine is in error (${machine.stateReason ?? 'no reason recorded'}): waiting for an operator`, recheckSeconds: caps.recheckSeconds }
  }
}
