import { isCodedError, type CodedError } from '../lib/errors.ts'
import { KeyedSerializer, Semaphore } from '../lib/concurrency.ts'
import { BmcErrorCode } from './errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { Clock } from '../inventory/ports.ts'
import type { PowerConfig } from '../config/schema.ts'
import type { BmcRegistry } from './bmc-registry.ts'
import type { BmcClient, BmcEndpoint, BootDeviceReading, BootDeviceSetting, PowerAction, PowerState } from './bmc.ts'
import { checkBootReadBack, describeBootSetting, readBackPower } from './read-back.ts'

export type PowerServiceOptions = {
  readonly registry: BmcRegistry
  readonly client: BmcClient
  readonly events: BootEventSink
  readonly clock: Clock
  readonly config: PowerConfig
  /** Waits; injectable so tests run without real time. */
  readonly sleep?: (ms: number) => Promise<void>
  /** How often a read-back polls the power state. */
  readonly pollIntervalMs?: number
  /** Told after every power action that read back as done (discovery ends the agent sessions it cut off). */
  readonly onAction?: (machineId: string, action: PowerAction) => Promise<void>
}

/** The outcome of a power action, after read-back. */
export type PowerResult = { readonly machineId: string, readonly action: PowerAction, readonly state: PowerState, readonly tookMs: number }

/** One line of `GET /api/v1/power`. */
export type PowerStatusLine = { readonly machineId: string, readonly state?: PowerState, readonly error?: { code: string, message: string } }

/** Errors worth another try: the BMC did not answer, or dropped our session. Never wrong credentials. */
const TRANSIENT = new Set<string>([BmcErrorCode.unreachable, BmcErrorCode.sessionClosed, BmcErrorCode.protocol])

const defaultSleep = async (ms: number): Promise<void> => { await new Promise((resolve) => setTimeout(resolve, ms)) }

/**
 * Power policy over a BmcClient: one operation at a time per BMC, a global limit, retries with
 * backoff for a BMC that did not answer, a stagger between power-ons, and every write read back
 * (power converges within a deadline, boot flags read back as set). Every action is a timeline event.
 */
export class PowerService {
  readonly #o: PowerServiceOptions
  readonly #perBmc = new KeyedSerializer()
  readonly #limit: Semaphore
  readonly #sleep: (ms: number) => Promise<void>
  readonly #poll: number
  #nextPowerOnAt = 0

  constructor (options: PowerServiceOptions) {
    this.#o = options
    this.#limit = new Semaphore(options.config.concurrency)
    this.#sleep = options.sleep ?? defaultSleep
    this.#poll = options.pollIntervalMs ?? 250
  }

  async status (machineKey: string): Promise<{ machineId: string, state: PowerState }> {
    const { machineId, bmc } = await this.#o.registry.endpoint(machineKey, this.#o.config.ipmi.cipherSuite)
    return { machineId, state: await this.#op(bmc, async () => await this.#o.client.powerState(bmc)) }
  }

  /** Every machine with a BMC, queried concurrently (sessions reused); failures reported per machine. */
  async statusAll (): Promise<PowerStatusLine[]> {
    const all = await this.#o.registry.all(this.#o.config.ipmi.cipherSuite)
    return await Promise.all(all.map(async ({ machineId, bmc, error }): Promise<PowerStatusLine> => {
      if (bmc === undefined) return { machineId, error: errorJson(error) }
      try {
        return { machineId, state: await this.#op(bmc, async () => await this.#o.client.powerState(bmc)) }
      } catch (err) {
        return { machineId, error: errorJson(err) }
      }
    }))
  }

  /** Runs a chassis control action and waits until the power state reads back as it should. */
  async act (machineKey: string, action: PowerAction): Promise<PowerResult> {
    const { machineId, bmc } = await this.#o.registry.endpoint(machineKey, this.#o.config.ipmi.cipherSuite)
    const started = this.#o.clock.now()
    try {
      const state = await this.#perBmc.run(bmcKey(bmc), async () => {
        if (action === 'on' || action === 'cycle') await this.#staggerPowerOn()
        await this.#limited(async () => { await this.#o.client.powerAction(bmc, action) })
        return await this.#readBackPower(bmc, action)
      })
      const tookMs = this.#o.clock.now() - started
      this.#o.events.record({ source: 'power', type: 'power.action', machineId, message: `power ${action}: the BMC reads back ${state} after ${(tookMs / 1000).toFixed(1)} s`, data: { action, state, tookMs } })
      await this.#notify(machineId, action)
      return { machineId, action, state, tookMs }
    } catch (err) {
      this.#recordFailure(machineId, `power ${action}`, err)
      throw err
    }
  }

  /** Sets the next boot device and reads the boot flags back. */
  async setBootDevice (machineKey: string, setting: BootDeviceSetting): Promise<BootDeviceReading> {
    const { machineId, bmc } = await this.#o.registry.endpoint(machineKey, this.#o.config.ipmi.cipherSuite)
    const what = `boot device ${describeBootSetting(setting)}`
    try {
      const reading = await this.#perBmc.run(bmcKey(bmc), async () => {
        await this.#limited(async () => { await this.#o.client.setBootDevice(bmc, setting) })
        const back = await this.#limited(async () => await this.#o.client.bootDevice(bmc))
        checkBootReadBack(setting, back)
        return back
      })
      const flags = reading.valid ? '' : ' (the BMC marks its flags invalid, so only the device could be checked)'
      this.#o.events.record({ source: 'power', type: 'power.boot-device', machineId, message: `${what} set and read back${flags}`, data: { ...setting, readBack: reading } })
      return reading
    } catch (err) {
      this.#recordFailure(machineId, `set ${what}`, err)
      throw err
    }
  }

  async bootDevice (machineKey: string): Promise<{ machineId: string, reading: BootDeviceReading }> {
    const { machineId, bmc } = await this.#o.registry.endpoint(machineKey, this.#o.config.ipmi.cipherSuite)
    return { machineId, reading: await this.#op(bmc, async () => await this.#o.client.bootDevice(bmc)) }
  }

  /** One read-only call: serialized per BMC, within the global limit, retried. */
  async #op<T> (bmc: BmcEndpoint, call: () => Promise<T>): Promise<T> {
    return await this.#perBmc.run(bmcKey(bmc), async () => await this.#limited(call))
  }

  /** Within the global limit, retried with doubling backoff while the error is transient. */
  async #limited<T> (call: () => Promise<T>): Promise<T> {
    for (let attempt = 0; ; attempt++) {
      try {
        return await this.#limit.run(call)
      } catch (err) {
        if (attempt >= this.#o.config.retries || !isCodedError(err) || !TRANSIENT.has(err.code)) throw err
        await this.#sleep(this.#o.config.retryBackoff * 2 ** attempt)
      }
    }
  }

  async #staggerPowerOn (): Promise<void> {
    // Reserve a slot first, then wait for it: concurrent power-ons queue up one stagger apart.
    const now = this.#o.clock.now()
    const at = Math.max(now, this.#nextPowerOnAt)
    this.#nextPowerOnAt = at + this.#o.config.powerOnStagger
    if (at > now) await this.#sleep(at - now)
  }

  async #readBackPower (bmc: BmcEndpoint, action: PowerAction): Promise<PowerState> {
    return await readBackPower(async () => await this.#limited(async () => await this.#o.client.powerState(bmc)), action, {
      timeoutMs: action === 'soft' ? this.#o.config.softOffTimeout : this.#o.config.readBackTimeout,
      pollMs: this.#poll,
      sleep: this.#sleep,
      clock: this.#o.clock
    })
  }

  /** The action is done whatever a listener makes of it: a listener's failure is recorded, not thrown. */
  async #notify (machineId: string, action: PowerAction): Promise<void> {
    try {
      await this.#o.onAction?.(machineId, action)
    } catch (err) {
      this.#o.events.record({ source: 'power', type: 'power.error', machineId, message: `power ${action} done, but what follows from it failed: ${errorJson(err).message}`, data: { code: errorJson(err).code } })
    }
  }

  #recordFailure (machineId: string, what: string, err: unknown): void {
    const e = errorJson(err)
    this.#o.events.record({ source: 'power', type: 'power.error', machineId, message: `${what} failed: ${e.message}`, data: { code: e.code } })
  }
}

/** A BMC is one device whatever the credentials: serialize by where it lives. */
function bmcKey (bmc: BmcEndpoint): string {
  return `${bmc.address}:${bmc.port}`
}

function errorJson (err: unknown): { code: string, message: string } {
  if (isCodedError(err)) return { code: (err as CodedError).code, message: err.message }
  return { code: 'ERR_INTERNAL', message: 'internal error; see the server log' }
}
