import { randomBytes } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'
import { normalizeMac, isMac } from '../lib/mac.ts'
import { judgeUuid, cleanSmbiosString, canonicalUuid } from './identity.ts'
import { MachineState, UuidStatus, type BootReport, type Enrollment, type Machine, type MachineEvent } from './machine.ts'
import type { Clock, MachineFilter, MachinePatch, MachineStore } from './ports.ts'
import type { Timeline } from './timeline.ts'

export type MachineServiceOptions = {
  readonly store: MachineStore
  readonly timeline: Timeline
  readonly clock: Clock
  /**
   * The MACs of every NIC the machine's discovery agent reported (its hardware inventory). A NIC
   * Anvil has not seen boot yet joins a machine by SMBIOS UUID only when it is one of these.
   */
  readonly reportedMacs?: (machineId: string) => Promise<readonly string[]>
  /** Bounds how fast unknown MACs become machines (discovery.newMachinesPerMinute). */
  readonly newMachines?: { take (now: number): boolean }
}

/** At most one rate-limit event a minute: the flood must not become a flood of events. */
const LIMIT_EVENT_INTERVAL_MS = 60_000

/** The result of a boot-time registration: the machine and whether this boot created it. */
export type Registration = { readonly machine: Machine, readonly created: boolean }

const FIRMWARES = new Set(['pcbios', 'efi'])

function newMachineId (): string {
  // 40 random bits in base32: short enough to type, collisions negligible at rack scale.
  return 'm-' + randomBytes(5).readUIntBE(0, 5).toString(32).padStart(8, '0')
}

/** Two serials can belong to one machine unless both are known and differ. */
function serialsCompatible (a: string | null, b: string | null): boolean {
  return a === null || b === null || a === b
}

/**
 * The inventory's rules: how a booting machine is recognised (composite identity), how its
 * facts are updated, and the timeline that explains each decision.
 */
export class MachineService {
  readonly #store: MachineStore
  readonly #timeline: Timeline
  readonly #clock: Clock
  readonly #reportedMacs: ((machineId: string) => Promise<readonly string[]>) | undefined
  readonly #newMachines: { take (now: number): boolean } | undefined
  #limited = 0
  #limitedSinceEvent = 0
  #lastLimitEvent = -Infinity

  constructor (options: MachineServiceOptions) {
    this.#store = options.store
    this.#timeline = options.timeline
    this.#clock = options.clock
    this.#reportedMacs = options.reportedMacs
    this.#newMachines = options.newMachines
  }

  /** Boots of unknown MACs refused by the new-machine rate limit since start (a metric). */
  get rateLimited (): number {
    return this.#limited
  }

  async get (idOrKey: string): Promise<Machine> {
    const m = await this.#lookup(idOrKey)
    if (m === undefined) throw new CodedError('ERR_MACHINE_NOT_FOUND', `no machine ${JSON.stringify(idOrKey)}`, { id: idOrKey })
    return m
  }

  /** Finds a machine by id, MAC, SMBIOS UUID or serial (the CLI accepts any of them). */
  async #lookup (key: string): Promise<Machine | undefined> {
    const byId = await this.#store.get(key)
    if (byId !== undefined) return byId
    if (isMac(key)) return await this.#store.findByMac(normalizeMac(key))
    const uuid = canonicalUuid(key)
    const matches = uuid !== null ? await this.#store.findByUuid(uuid) : await this.#store.findBySerial(key)
    if (matches.length > 1) throw new CodedError('ERR_AMBIGUOUS_MACHINE', `${JSON.stringify(key)} matches ${matches.length} machines; use a machine id`, { ids: matches.map(m => m.id) })
    return matches[0]
  }

  async list (filter?: MachineFilter): Promise<Machine[]> {
    return await this.#store.list(filter)
  }

  async events (id: string, options?: { afterId?: number, limit?: number }): Promise<MachineEvent[]> {
    const m = await this.get(id)
    await this.#timeline.flush()
    return await this.#store.listEvents(m.id, options)
  }

  /**
   * Registers a machine before it boots (`anvil machines add`). Its first network boot is then
   * matched to this record by MAC or SMBIOS UUID, never duplicated (a MAC belongs to one machine:
   * the store refuses a second with ERR_MACHINE_EXISTS, whichever process tries).
   */
  async enroll (enrollment: Enrollment): Promise<Machine> {
    const m = await this.#enroll(enrollment)
    await this.#timeline.flush()
    return m
  }

  async #enroll (e: Enrollment): Promise<Machine> {
    if (!isMac(e.mac)) throw new CodedError('ERR_INVALID_MAC', `not a MAC address: ${JSON.stringify(e.mac)}`)
    const mac = normalizeMac(e.mac)
    const holder = await this.#store.findByMac(mac)
    if (holder !== undefined) throw new CodedError('ERR_MACHINE_EXISTS', `MAC ${mac} already belongs to machine ${holder.id}`, { id: holder.id })
    let uuid: string | null = null
    if (e.uuid !== undefined) {
      const verdict = judgeUuid(e.uuid)
      if (verdict.uuid === null || verdict.status !== UuidStatus.valid) {
        throw new CodedError('ERR_INVALID_UUID', `${JSON.stringify(e.uuid)} cannot identify a machine: ${verdict.reason}`)
      }
      const holders = await this.#store.findByUuid(verdict.uuid)
      if (holders.length > 0) throw new CodedError('ERR_MACHINE_EXISTS', `SMBIOS UUID ${verdict.uuid} already belongs to machine ${holders.map(h => h.id).join(', ')}`, { id: holders[0]?.id })
      uuid = verdict.uuid
    }
    const now = this.#clock.now()
    const machine = await this.#store.create({
      id: newMachineId(),
      uuid,
      reportedUuid: uuid,
      uuidStatus: uuid === null ? UuidStatus.missing : UuidStatus.valid,
      serial: cleanSmbiosString(e.serial),
      manufacturer: null,
      product: null,
      firmware: null,
      arch: null,
      ip: null,
      state: MachineState.enrolled,
      stateReason: 'enrolled by an operator; has not network-booted yet',
      heldState: null,
      createdAt: now,
      updatedAt: now,
      lastSeenAt: now
    }, [mac])
    this.#timeline.record({ source: 'api', type: 'machine.enrolled', machineId: machine.id, message: `enrolled by an operator with MAC ${mac}${uuid === null ? '' : ` and SMBIOS UUID ${uuid}`}`, data: { mac, uuid, serial: machine.serial } })
    return machine
  }

  /**
   * Records (or recognises) a machine from what iPXE reported. Two requests racing to create the
   * same machine (two processes, or one machine's two NICs) meet at the store's unique MAC: the
   * loser finds the winner's row and updates it instead. Its lifecycle state is not touched here:
   * the boot path applies the lifecycle's `boot` event.
   */
  async registerBoot (report: BootReport): Promise<Registration> {
    let r: Registration
    try {
      r = await this.#register(report)
    } catch (err) {
      if (!(err instanceof CodedError && err.code === 'ERR_MACHINE_EXISTS')) throw err
      r = await this.#register(report)
    }
    // The machine's own events are as durable as the machine: on disk before we answer.
    await this.#timeline.flush()
    return r
  }

  /** Throws ERR_RATE_LIMITED when unknown MACs arrive faster than the limit allows. */
  #admitNewMachine (mac: string, now: number): void {
    if (this.#newMachines === undefined || this.#newMachines.take(now)) return
    this.#limited++
    this.#limitedSinceEvent++
    if (now - this.#lastLimitEvent >= LIMIT_EVENT_INTERVAL_MS) {
      this.#timeline.record({ source: 'inventory', type: 'machine.rate-limited', mac, message: `new machines are arriving faster than discovery.newMachinesPerMinute allows: ${this.#limitedSinceEvent} boot(s) of unknown MACs refused since the last such event (latest ${mac}); they are told to wait and retry`, data: { refused: this.#limitedSinceEvent, mac } })
      this.#lastLimitEvent = now
      this.#limitedSinceEvent = 0
    }
    throw new CodedError('ERR_RATE_LIMITED', 'too many new machines at once; retry shortly', { mac })
  }

  /**
   * May a NIC we never saw boot join `m` on the strength of its UUID? A UUID is free text anyone on
   * the provisioning network can send; the composite identity asks for more: the MAC is one of the
   * NICs the machine's own agent reported, or the machine is enrolled with this UUID by an operator
   * and has not booted yet. Otherwise the claim is a conflict, flagged like a duplicate UUID.
   */
  async #nicBelongs (m: Machine, mac: string): Promise<boolean> {
    if (m.state === MachineState.enrolled) return true
    const known = await this.#reportedMacs?.(m.id) ?? []
    return known.includes(mac)
  }

  async #register (report: BootReport): Promise<Registration> {
    if (!isMac(report.mac)) throw new CodedError('ERR_INVALID_MAC', `not a MAC address: ${JSON.stringify(report.mac)}`)
    const mac = normalizeMac(report.mac)
    const now = this.#clock.now()
    const verdict = judgeUuid(report.uuid)
    const serial = cleanSmbiosString(report.serial)
    // Earlier DHCP/TFTP events of this boot must be on disk before they are attached.
    await this.#timeline.flush()

    const byMac = await this.#store.findByMac(mac)
    const reported = report.uuid === undefined ? null : (canonicalUuid(report.uuid) ?? report.uuid.trim())
    let uuidStatus = verdict.status
    let uuidReason = verdict.reason
    let target = byMac
    if (verdict.uuid !== null) {
      const holders = (await this.#store.findByUuid(verdict.uuid)).filter(m => m.id !== byMac?.id)
      const sole = holders[0]
      if (byMac === undefined && holders.length === 1 && sole !== undefined && sole.uuidStatus === UuidStatus.valid && serialsCompatible(sole.serial, serial) &&
          await this.#nicBelongs(sole, mac)) {
        target = sole // the same board booting from another NIC
      } else if (holders.length > 0) {
        uuidStatus = UuidStatus.duplicate
        uuidReason = `SMBIOS UUID ${verdict.uuid} is also reported by ${holders.map(h => h.id).join(', ')} from a NIC that machine never reported, or with another serial; identifying by MAC instead`
        for (const h of holders.filter(h => h.uuidStatus !== UuidStatus.duplicate)) {
          await this.#store.update(h.id, { uuid: null, uuidStatus: UuidStatus.duplicate, updatedAt: now })
          this.#timeline.record({ source: 'inventory', type: 'machine.identity', machineId: h.id, message: `SMBIOS UUID ${verdict.uuid} seen on other hardware (MAC ${mac}); this machine is now identified by its MACs`, data: { uuid: verdict.uuid, otherMac: mac } })
        }
      }
    }
    const trusted = uuidStatus === UuidStatus.valid ? verdict.uuid : null
    const facts: MachinePatch = {
      reportedUuid: reported,
      uuidStatus,
      uuid: trusted,
      serial,
      manufacturer: cleanSmbiosString(report.manufacturer),
      product: cleanSmbiosString(report.product),
      firmware: report.platform !== undefined && FIRMWARES.has(report.platform) ? report.platform : null,
      arch: cleanSmbiosString(report.buildarch),
      ip: report.ip ?? null,
      updatedAt: now,
      lastSeenAt: now
    }

    if (target === undefined) {
      this.#admitNewMachine(mac, now)
      const machine = await this.#store.create({
        id: newMachineId(),
        uuid: trusted,
        reportedUuid: reported,
        uuidStatus,
        serial: facts.serial ?? null,
        manufacturer: facts.manufacturer ?? null,
        product: facts.product ?? null,
        firmware: facts.firmware ?? null,
        arch: facts.arch ?? null,
        ip: facts.ip ?? null,
        state: MachineState.discovered,
        stateReason: 'first network boot',
        heldState: null,
        createdAt: now,
        updatedAt: now,
        lastSeenAt: now
      }, [mac])
      const by = trusted !== null ? `SMBIOS UUID ${trusted}` : `MAC ${mac} (${uuidReason})`
      this.#timeline.record({ source: 'inventory', type: 'machine.discovered', machineId: machine.id, message: `new machine discovered, identified by ${by}`, data: { mac, uuid: trusted, uuidStatus, serial } })
      return { machine, created: true }
    }

    // Keep facts we knew when this boot reports nothing better (an iPXE without SMBIOS, say).
    const patch: MachinePatch = Object.fromEntries(Object.entries(facts).filter(([k, v]) => v !== null || k === 'uuid')) as MachinePatch
    if (trusted === null && target.uuid !== null && uuidStatus !== UuidStatus.duplicate) {
      delete (patch as { uuid?: unknown }).uuid
      delete (patch as { uuidStatus?: unknown }).uuidStatus
    }
    if (target.uuid !== null && trusted !== null && target.uuid !== trusted) {
      this.#timeline.record({ source: 'inventory', type: 'machine.identity', machineId: target.id, message: `SMBIOS UUID changed from ${target.uuid} to ${trusted} on MAC ${mac} (board replaced?)`, data: { from: target.uuid, to: trusted } })
    }
    if (target.state === MachineState.enrolled) {
      this.#timeline.record({ source: 'inventory', type: 'machine.discovered', machineId: target.id, message: `first network boot of this enrolled machine, recognised by ${byMac === undefined ? `its SMBIOS UUID ${trusted ?? ''}` : `MAC ${mac}`}`, data: { mac, uuid: trusted } })
    }
    const addMacs = target.macs.includes(mac) ? [] : [mac]
    if (addMacs.length > 0) {
      this.#timeline.record({ source: 'inventory', type: 'machine.nic', machineId: target.id, message: `new NIC ${mac} recognised as this machine's by ${byMac === undefined ? 'its SMBIOS UUID' : 'MAC'}`, data: { mac } })
    }
    const machine = await this.#store.update(target.id, patch, addMacs)
    return { machine, created: false }
  }
}
