import { CodedError } from '../lib/errors.ts'
import { isIpv4 } from '../lib/ipv4.ts'
import type { SecretBox } from '../lib/secret-box.ts'
import type { BootEventSink } from '../inventory/events.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Clock } from '../inventory/ports.ts'
import type { BmcEndpoint, BmcStore, CipherSuiteChoice, StoredBmc } from './bmc.ts'

/** What an operator gives to set a machine's BMC. */
export type BmcInput = {
  readonly address: string
  readonly port?: number | undefined
  readonly username: string
  readonly password: string
  readonly cipherSuite?: CipherSuiteChoice | undefined
}

/** A BMC as the API shows it: everything but the password. */
export type BmcView = {
  readonly address: string
  readonly port: number
  readonly username: string
  readonly cipherSuite: CipherSuiteChoice
  readonly updatedAt: number
}

export type BmcRegistryOptions = {
  readonly machines: MachineService
  readonly store: BmcStore
  readonly secrets: SecretBox
  readonly events: BootEventSink
  readonly clock: Clock
}

const HOSTNAME = /^(?=.{1,253}$)[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i

/** Checks what an operator typed; IPMI v2.0 §13.17 and §22.26 bound user names to 16 bytes and passwords to 20. */
export function validateBmcInput (input: BmcInput): void {
  const problems: string[] = []
  if (!isIpv4(input.address) && !HOSTNAME.test(input.address)) problems.push(`address ${JSON.stringify(input.address)} is not an IPv4 address or host name`)
  if (input.port !== undefined && (!Number.isInteger(input.port) || input.port < 1 || input.port > 65535)) problems.push(`port ${input.port} is not 1–65535`)
  if (Buffer.byteLength(input.username) > 16) problems.push('the user name is longer than IPMI\'s 16 bytes')
  if (Buffer.byteLength(input.password) > 20) problems.push('the password is longer than IPMI v2.0\'s 20 bytes')
  if (input.cipherSuite !== undefined && !['auto', 3, 17].includes(input.cipherSuite)) problems.push('cipher suite must be auto, 3 or 17')
  if (problems.length > 0) throw new CodedError('ERR_INVALID_BMC', `invalid BMC: ${problems.join('; ')}`, { problems })
}

/** Machines' BMCs: stored with the password sealed, shown without it, opened only to talk to the BMC. */
export class BmcRegistry {
  readonly #o: BmcRegistryOptions

  constructor (options: BmcRegistryOptions) {
    this.#o = options
  }

  /** Sets (or replaces) a machine's BMC; returns it without the password. */
  async set (machineKey: string, input: BmcInput): Promise<BmcView> {
    validateBmcInput(input)
    const machine = await this.#o.machines.get(machineKey)
    const stored: StoredBmc = {
      machineId: machine.id,
      address: input.address,
      port: input.port ?? 623,
      username: input.username,
      passwordSealed: this.#o.secrets.seal(input.password, machine.id),
      cipherSuite: input.cipherSuite ?? 'auto',
      updatedAt: this.#o.clock.now()
    }
    await this.#o.store.put(stored)
    this.#o.events.record({ source: 'api', type: 'bmc.set', machineId: machine.id, message: `BMC set to ${stored.username}@${stored.address}:${stored.port} (cipher suite ${stored.cipherSuite})`, data: { address: stored.address, port: stored.port, username: stored.username, cipherSuite: stored.cipherSuite } })
    return view(stored)
  }

  async remove (machineKey: string): Promise<void> {
    const machine = await this.#o.machines.get(machineKey)
    if (!await this.#o.store.delete(machine.id)) throw noBmc(machine.id)
    this.#o.events.record({ source: 'api', type: 'bmc.removed', machineId: machine.id, message: 'BMC removed' })
  }

  /** The machine's BMC without its password, or undefined. */
  async view (machineId: string): Promise<BmcView | undefined> {
    const stored = await this.#o.store.get(machineId)
    return stored === undefined ? undefined : view(stored)
  }

  /** Every BMC without passwords, by machine id (one query for a machine list). */
  async views (): Promise<Map<string, BmcView>> {
    return new Map((await this.#o.store.list()).map(s => [s.machineId, view(s)]))
  }

  /** Resolves a machine key to its id and opened BMC endpoint (ERR_NO_BMC when it has none). */
  async endpoint (machineKey: string, defaultSuite: CipherSuiteChoice): Promise<{ machineId: string, bmc: BmcEndpoint }> {
    const machine = await this.#o.machines.get(machineKey)
    const stored = await this.#o.store.get(machine.id)
    if (stored === undefined) throw noBmc(machine.id)
    return { machineId: machine.id, bmc: this.#open(stored, defaultSuite) }
  }

  /** Every machine with a BMC, opened. A password that does not open is reported per machine. */
  async all (defaultSuite: CipherSuiteChoice): Promise<{ machineId: string, bmc?: BmcEndpoint, error?: CodedError }[]> {
    return (await this.#o.store.list()).map((s) => {
      try {
        return { machineId: s.machineId, bmc: this.#open(s, defaultSuite) }
      } catch (err) {
        return { machineId: s.machineId, error: err as CodedError }
      }
    })
  }

  #open (s: StoredBmc, defaultSuite: CipherSuiteChoice): BmcEndpoint {
    return {
      address: s.address,
      port: s.port,
      username: s.username,
      password: this.#o.secrets.open(s.passwordSealed, s.machineId),
      cipherSuite: s.cipherSuite === 'auto' ? defaultSuite : s.cipherSuite
    }
  }
}

function view (s: StoredBmc): BmcView {
  return { address: s.address, port: s.port, username: s.username, cipherSuite: s.cipherSuite, updatedAt: s.updatedAt }
}

function noBmc (id: string): CodedError {
  return new CodedError('ERR_NO_BMC', `machine ${id} has no BMC; set one with \`anvil bmc set ${id} ...\``, { id })
}
