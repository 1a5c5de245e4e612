/**
 * The power domain's vocabulary and the ports it depends on. The IPMI adapter
 * (src/power/ipmi-bmc-client.ts) implements BmcClient; SQLite (src/db/bmc-store.ts) implements BmcStore.
 */

/** What a chassis can be. */
export type PowerState = 'on' | 'off'

/** IPMI v2.0 §28.3 chassis control, by the names operators use (ipmitool's). */
export const PowerAction = { on: 'on', off: 'off', cycle: 'cycle', reset: 'reset', soft: 'soft' } as const
export type PowerAction = typeof PowerAction[keyof typeof PowerAction]

/** Where the next boot goes (IPMI v2.0 §28.13 boot flags, parameter 5). */
export type BootDevice = 'pxe' | 'disk'

export type BootDeviceSetting = {
  readonly device: BootDevice
  /** Every boot, not only the next one. */
  readonly persistent: boolean
  /** EFI rather than legacy BIOS boot. */
  readonly efi: boolean
}

/** The boot flags as a BMC reports them back. `valid` false: the BMC does not vouch for the flags. */
export type BootDeviceReading = { readonly device: BootDevice | 'none' | 'other', readonly persistent: boolean, readonly efi: boolean, readonly valid: boolean }

/** IPMI cipher suite choice: auto picks the strongest the BMC offers (17, then 3). */
export type CipherSuiteChoice = 'auto' | 3 | 17

/** How to reach and log in to a BMC. The password is plaintext here: it exists only in memory. */
export type BmcEndpoint = {
  readonly address: string
  readonly port: number
  readonly username: string
  readonly password: string
  readonly cipherSuite: CipherSuiteChoice
}

/** A machine's BMC as stored: the password sealed. */
export type StoredBmc = {
  readonly machineId: string
  readonly address: string
  readonly port: number
  readonly username: string
  readonly passwordSealed: string
  readonly cipherSuite: CipherSuiteChoice
  readonly updatedAt: number
}

/** Talks to BMCs. Implementations keep sessions open and reuse them; no policy (retries, read-back) here. */
export interface BmcClient {
  powerState (bmc: BmcEndpoint): Promise<PowerState>
  powerAction (bmc: BmcEndpoint, action: PowerAction): Promise<void>
  setBootDevice (bmc: BmcEndpoint, setting: BootDeviceSetting): Promise<void>
  bootDevice (bmc: BmcEndpoint): Promise<BootDeviceReading>
  /** Closes every open session. */
  close (): Promise<void>
}

/** Persistence of BMC records. */
export interface BmcStore {
  get (machineId: string): Promise<StoredBmc | undefined>
  list (): Promise<StoredBmc[]>
  put (bmc: StoredBmc): Promise<void>
  /** True when there was one to delete. */
  delete (machineId: string): Promise<boolean>
}
