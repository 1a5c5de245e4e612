/** Lifecycle states (PRODUCT.md, "The machine lifecycle"). */
export const MachineState = {
  /** Registered by an operator (with its BMC, say) before it ever network-booted. */
  enrolled: 'enrolled',
  discovered: 'discovered',
  accepted: 'accepted',
  wiping: 'wiping',
  ready: 'ready',
  installing: 'installing',
  provisioned: 'provisioned',
  resetting: 'resetting',
  rejected: 'rejected',
  maintenance: 'maintenance',
  error: 'error'
} as const
export type MachineState = typeof MachineState[keyof typeof MachineState]

/** How far the SMBIOS UUID can be trusted as the machine's identity. */
export const UuidStatus = {
  /** Well formed and not seen on other hardware: the machine's key. */
  valid: 'valid',
  /** The firmware reported none. */
  missing: 'missing',
  /** Malformed, all-zero, all-FF or a known vendor placeholder. */
  invalid: 'invalid',
  /** Seen on different hardware (other MACs and serial): not an identity. */
  duplicate: 'duplicate'
} as const
export type UuidStatus = typeof UuidStatus[keyof typeof UuidStatus]

/** A machine as the inventory knows it. Times are epoch milliseconds. */
export type Machine = {
  readonly id: string
  readonly uuid: string | null
  readonly reportedUuid: string | null
  readonly uuidStatus: UuidStatus
  readonly serial: string | null
  readonly manufacturer: string | null
  readonly product: string | null
  readonly firmware: string | null
  readonly arch: string | null
  readonly ip: string | null
  readonly macs: readonly string[]
  readonly state: MachineState
  readonly stateReason: string | null
  /** In maintenance: the state it returns to when maintenance ends; null otherwise. */
  readonly heldState: MachineState | null
  readonly createdAt: number
  readonly updatedAt: number
  readonly lastSeenAt: number
}

/** What an operator knows of a machine before it boots (`anvil machines add`). */
export type Enrollment = {
  readonly mac: string
  readonly uuid?: string | undefined
  readonly serial?: string | undefined
}

/** What a machine tells us about itself when it asks for its boot script (iPXE variables). */
export type BootReport = {
  readonly mac: string
  readonly uuid?: string | undefined
  readonly serial?: string | undefined
  readonly manufacturer?: string | undefined
  readonly product?: string | undefined
  readonly platform?: string | undefined
  readonly buildarch?: string | undefined
  readonly ip?: string | undefined
}

/** A stored timeline event. */
export type MachineEvent = {
  readonly id: number
  readonly machineId: string | null
  readonly mac: string | null
  readonly at: number
  readonly source: string
  readonly type: string
  readonly message: string
  readonly data: Record<string, unknown> | null
}
