import { createHash, randomBytes } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import { isMac, normalizeMac } from '../lib/mac.ts'
import { normalizeIp } from '../lib/peer-address.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { Machine } from '../inventory/machine.ts'
import type { Hello } from './agent-gateway.ts'

/** Bounds on the hello, which arrives before anything is authenticated. */
export const HELLO_LIMITS = { agentVersion: 64, bootMac: 32, bootDisk: 64 } as const

/** SHA-256 hex: what the database keeps of a token or credential (the database alone cannot impersonate). */
export const secretHash = (secret: string): string => createHash('sha256').update(secret).digest('hex')

/** A fresh 256-bit secret, base64url. */
export const newSecret = (): string => randomBytes(32).toString('base64url')

/** Where the address check looks: the address the secret is bound to, and the machine's DHCP lease. */
export type AddressBinding = {
  readonly bound: string | null
  readonly leasedAddress: ((machineId: string) => Promise<string | undefined>) | undefined
}

/**
 * The checks a stream passes before it gets anything, each refusal an `agent.refused` event in the
 * machine's timeline (never with the secret in it). The messages thrown reach the peer: they name
 * no address it did not already know.
 */
export class AgentChecks {
  readonly #events: BootEventSink

  constructor (events: BootEventSink) {
    this.#events = events
  }

  /** The hello's fields within bounds and its boot MAC in canonical form; ERR_AGENT_HELLO_INVALID otherwise. */
  hello (hello: Hello, peer: string): Hello {
    for (const key of ['agentVersion', 'bootMac', 'bootDisk'] as const) {
      if (hello[key].length > HELLO_LIMITS[key]) {
        this.refused(undefined, peer, 'ERR_AGENT_HELLO_INVALID', `its hello's ${key} is ${hello[key].length} characters long (at most ${HELLO_LIMITS[key]})`)
        throw new CodedError('ERR_AGENT_HELLO_INVALID', `hello.${key} is longer than ${HELLO_LIMITS[key]} characters`)
      }
    }
    return isMac(hello.bootMac) ? { ...hello, bootMac: normalizeMac(hello.bootMac) } : hello
  }

  /** The connection's address in canonical form; ERR_AGENT_ADDRESS when it has none. */
  peer (peer: string): string {
    const ip = normalizeIp(peer)
    if (ip !== undefined) return ip
    this.refused(undefined, peer, 'ERR_AGENT_ADDRESS', 'its connection has no IP address to check')
    throw new CodedError('ERR_AGENT_ADDRESS', 'the connection has no IP address')
  }

  /**
   * The stream comes from the address its secret is bound to (the one that fetched the boot script,
   * or that the session started from), or from the address Anvil's DHCP leased to the machine.
   */
  async address (machine: Machine, ip: string, what: 'token' | 'session credential', binding: AddressBinding): Promise<void> {
    if (binding.bound !== null && normalizeIp(binding.bound) === ip) return
    const leased = await binding.leasedAddress?.(machine.id)
    if (leased !== undefined && normalizeIp(leased) === ip) return
    const allowed = [binding.bound === null ? undefined : `${binding.bound} (${what === 'token' ? 'which fetched its boot script' : 'where its session started'})`, leased === undefined ? undefined : `${leased} (its DHCP lease)`]
      .filter(a => a !== undefined)
    this.refused(machine.id, ip, 'ERR_AGENT_ADDRESS', `its ${what} works only from ${allowed.join(' or ') || 'no address'}`)
    throw new CodedError('ERR_AGENT_ADDRESS', `this ${what} does not work from ${ip}`)
  }

  /** The hello names a MAC of the machine the secret is bound to. */
  bootMac (machine: Machine, ip: string, bootMac: string): void {
    if (isMac(bootMac) && machine.macs.includes(normalizeMac(bootMac))) return
    this.refused(machine.id, ip, 'ERR_AGENT_BOOT_MAC', `its hello names boot MAC ${JSON.stringify(bootMac)}, not one of the machine's (${machine.macs.join(', ')})`)
    throw new CodedError('ERR_AGENT_BOOT_MAC', `boot MAC ${JSON.stringify(bootMac)} is not this machine's`)
  }

  /** An `agent.refused` event: who was refused, why, with the stable code. */
  refused (machineId: string | undefined, ip: string, code: string, why: string): void {
    this.#events.record({
      source: 'api',
      type: EventType.agentRefused,
      ...(machineId === undefined ? {} : { machineId }),
      ip,
      message: `refused an agent session from ${ip}: ${why}`,
      data: { code, peer: ip }
    })
  }
}
