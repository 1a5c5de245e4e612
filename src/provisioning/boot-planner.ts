import { MachineState, type Machine } from '../inventory/machine.ts'

/**
 * What a machine's network boot gets now. DHCP, TFTP and HTTP all ask this one planner; no other
 * module decides what a machine boots.
 */
export type BootPlanKind = 'bootenv' | 'wait' | 'local-disk' | 'install'

/**
 * The fixed vocabulary a boot script may print: one sentence per situation, written here, never
 * built from text a machine, a packet or a URL supplied (an agent's error, a serial, a query
 * parameter). iPXE treats `;`, `&&`, `||` and `${…}` specially, so nothing else ever reaches it.
 */
export const BootMessage = {
  discover: 'booting the discovery environment to report this machine\'s hardware',
  awaitAcceptance: 'booting the discovery environment to wait for acceptance',
  takeTasks: 'booting the discovery environment to take its tasks',
  wipe: 'booting the discovery environment to wipe this machine',
  awaitAssignment: 'booting the discovery environment to wait for an assignment',
  install: 'booting the discovery environment to install this machine',
  reset: 'booting the discovery environment to reset this machine',
  noBootenv: 'this server has no discovery environment yet, so this machine waits',
  rejected: 'this machine was rejected: booting from its local disk',
  provisioned: 'this machine is provisioned: booting from its local disk',
  installed: 'this machine\'s image is written: booting from its local disk',
  maintenance: 'this machine is in maintenance: booting from its local disk',
  error: 'this machine is in error and waits for an operator',
  busy: 'this server is taking on too many new machines at once, so this machine waits',
  addressMismatch: 'this request did not come from the address DHCP gave this machine, so it gets no agent token'
} as const
export type BootMessage = typeof BootMessage[keyof typeof BootMessage]

export type BootPlan =
  | { readonly kind: 'bootenv', readonly message: BootMessage }
  | { readonly kind: 'install', readonly message: BootMessage }
  | { readonly kind: 'local-disk', readonly message: BootMessage }
  | { readonly kind: 'wait', readonly message: BootMessage, readonly recheckSeconds: number }

/** What the server can offer. */
export type BootCapabilities = {
  /** Seconds between re-checks while a machine waits. */
  readonly recheckSeconds: number
  /** The discovery environment (boot-assets/bootenv/) is built and can be served. */
  readonly bootenv: boolean
}

/** What the planner knows of a machine besides its state (asked only for the states that need it). */
export type BootFacts = {
  /** Its newest install task is done: the image is on its disk (InstallFacts.installWritten). */
  readonly installWritten?: boolean
}

/** The discovery environment for `message`, or a wait while it is not built. */
function bootenv (message: BootMessage, caps: BootCapabilities): BootPlan {
  return caps.bootenv ? { kind: 'bootenv', message } : { kind: 'wait', message: BootMessage.noBootenv, recheckSeconds: caps.recheckSeconds }
}

/**
 * Decides, from the machine's lifecycle state alone, what its network boot gets (PRODUCT.md, "The
 * server decides what each PXE request gets from this state"). `undefined` is a machine the
 * inventory does not know yet: it boots the discovery environment to be discovered. Pure.
 */
export function planBoot (machine: Pick<Machine, 'state'> | undefined, caps: BootCapabilities, facts: BootFacts = {}): BootPlan {
  if (machine === undefined) return bootenv(BootMessage.discover, caps)
  switch (machine.state) {
    case MachineState.enrolled: return bootenv(BootMessage.discover, caps)
    case MachineState.discovered: return bootenv(BootMessage.awaitAcceptance, caps)
    case MachineState.accepted: return bootenv(BootMessage.takeTasks, caps)
    case MachineState.wiping: return bootenv(BootMessage.wipe, caps)
    case MachineState.ready: return bootenv(BootMessage.awaitAssignment, caps)
    // The install runs in the discovery environment (its agent writes the image): same kernel.
    // Once the image is written, booting the environment again would be wrong: its disk boots
    // (the firmware network-boots it anyway when its BMC could not be set to the disk).
    case MachineState.installing:
      if (facts.installWritten === true) return { kind: 'local-disk', message: BootMessage.installed }
      return caps.bootenv ? { kind: 'install', message: BootMessage.install } : bootenv(BootMessage.install, caps)
    case MachineState.resetting: return bootenv(BootMessage.reset, caps)
    case MachineState.rejected: return { kind: 'local-disk', message: BootMessage.rejected }
    case MachineState.provisioned: return { kind: 'local-disk', message: BootMessage.provisioned }
    case MachineState.maintenance: return { kind: 'local-disk', message: BootMessage.maintenance }
    case MachineState.error: return { kind: 'wait', message: BootMessage.error, recheckSeconds: caps.recheckSeconds }
  }
}

/** True when planBoot needs BootFacts for this machine (so callers ask the database only then). */
export function needsFacts (machine: Pick<Machine, 'state'> | undefined): boolean {
  return machine?.state === MachineState.installing
}

/** True when the plan has the machine run Anvil's agent (it needs a token in its script). */
export function runsAgent (plan: BootPlan): boolean {
  return plan.kind === 'bootenv' || plan.kind === 'install'
}
