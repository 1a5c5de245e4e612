import type { BmcError } from '../../src/power/errors.ts'
import type { BmcClient, BmcEndpoint, BootDeviceReading, BootDeviceSetting, PowerAction, PowerState } from '../../src/power/bmc.ts'

/**
 * A scripted BMC for unit tests of the policy only (the real one is proven against ipmi_sim in
 * test/integration). Power changes take `lagPolls` status reads to show, like a real chassis.
 */
export class ScriptedBmc implements BmcClient {
  power: PowerState = 'off'
  boot: BootDeviceReading = { device: 'none', persistent: false, efi: false, valid: false }
  lagPolls = 0
  failNext: BmcError[] = []
  ignoreBootFlags = false
  readonly calls: string[] = []
  #pending: { state: PowerState, after: number } | undefined
  seenPasswords = new Set<string>()

  #enter (bmc: BmcEndpoint, what: string): void {
    this.seenPasswords.add(bmc.password)
    this.calls.push(`${bmc.address}:${what}`)
    const fail = this.failNext.shift()
    if (fail !== undefined) throw fail
  }

  async powerState (bmc: BmcEndpoint): Promise<PowerState> {
    this.#enter(bmc, 'status')
    if (this.#pending !== undefined && this.#pending.after-- <= 0) {
      this.power = this.#pending.state
      this.#pending = undefined
    }
    return this.power
  }

  async powerAction (bmc: BmcEndpoint, action: PowerAction): Promise<void> {
    this.#enter(bmc, action)
    const to: PowerState = action === 'off' || action === 'soft' ? 'off' : 'on'
    this.#pending = { state: to, after: this.lagPolls }
  }

  async setBootDevice (bmc: BmcEndpoint, s: BootDeviceSetting): Promise<void> {
    this.#enter(bmc, `bootdev ${s.device}`)
    this.boot = this.ignoreBootFlags ? { device: s.device, persistent: false, efi: false, valid: true } : { ...s, valid: true }
  }

  async bootDevice (bmc: BmcEndpoint): Promise<BootDeviceReading> {
    this.#enter(bmc, 'get bootdev')
    return this.boot
  }

  async close (): Promise<void> {}
}
