import { randomUUID } from 'node:crypto'
import { isIP } from 'node:net'
import { setTimeout as delay } from 'node:timers/promises'
import { CodedError } from '../lib/errors.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Clock } from '../inventory/ports.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import { machineMatches, parseMachineSelector } from './machine-selector.ts'
import { DEFAULT_FOLLOW, runRollout, type FollowTimings } from './rollout-runner.ts'
import type { NodeConnector, RolloutNodeInfo, RolloutRecord, RolloutRelease, RolloutStore, StoredRolloutMachine } from './rollout-ports.ts'

export const ROLLOUT_LIMITS = {
  maxMachines: 1000,
  maxParallel: 64,
  healthTimeoutS: { min: 30, max: 3600, default: 300 }
} as const

/** POST /api/v1/machines/upgrade. */
export type RolloutRequest = {
  readonly selector: string
  /** `name:version` or `name` (its newest ready version). */
  readonly image: string
  readonly maxParallel?: number
  readonly healthTimeoutS?: number
  readonly force?: boolean
}

export type RolloutServiceOptions = {
  readonly store: RolloutStore
  readonly machines: Pick<MachineService, 'list'>
  /** What the machine's node last reported (machine_nodes); undefined when it never did. */
  readonly node: (machineId: string) => Promise<RolloutNodeInfo | undefined>
  /** A ready image's release (ImageService.release plus the boot listener's artifact URL). */
  readonly release: (ref: string) => Promise<RolloutRelease>
  readonly connector: NodeConnector
  readonly events: BootEventSink & { flush (): Promise<void> }
  readonly clock: Clock
  /** Where apid listens on every node (50000). */
  readonly nodePort?: number
  readonly follow?: Partial<FollowTimings>
  readonly sleep?: (ms: number, signal: AbortSignal) => Promise<void>
  /** A runner that failed outside a machine (the store): logged by the caller. */
  readonly onError: (err: unknown, rolloutId: string) => void
}

const sleepFor = async (ms: number, signal: AbortSignal): Promise<void> => { await delay(ms, undefined, { signal }) }

/**
 * The first of a node's reported addresses that can be dialled from Anvil: IPv6 link-local ones
 * need a zone only a host on the node's own link knows (as the CLI's nodeAddressOf).
 */
export function dialAddress (cidrs: readonly string[]): string | undefined {
  for (const cidr of cidrs) {
    const ip = cidr.split('/')[0] ?? ''
    const family = isIP(ip)
    if (family === 0 || (family === 6 && /^fe[89ab]/i.test(ip))) continue
    return family === 6 ? `[${ip}]` : ip
  }
  return undefined
}

function intIn (field: string, value: number | undefined, min: number, max: number, dflt: number): number {
  const v = value ?? dflt
  if (!Number.isInteger(v) || v < min || v > max) throw new CodedError('ERR_VALIDATION', `${field} must be an integer from ${min} to ${max}`, { field })
  return v
}

const list = (ids: readonly string[]): string => ids.slice(0, 5).join(', ') + (ids.length > 5 ? ` and ${ids.length - 5} more` : '')

/** Fleet upgrades: checks and records a rollout, runs it in the background, ends what a restart left. */
export class RolloutService {
  readonly #o: RolloutServiceOptions
  readonly #follow: FollowTimings
  readonly #ctl = new AbortController()
  readonly #running = new Map<string, Promise<void>>()
  /** Starts one at a time: two requests selecting the same machine cannot both pass the busy check. */
  #starting: Promise<unknown> = Promise.resolve()

  constructor (options: RolloutServiceOptions) {
    this.#o = options
    this.#follow = { ...DEFAULT_FOLLOW, ...options.follow }
  }

  /**
   * Selects the machines, resolves the image to a ready release, records the rollout and starts
   * it. Everything is checked before anything is written: nothing selected, an image not ready, a
   * selected machine that is no running node or is in another running rollout: a precise error.
   */
  async start (req: RolloutRequest): Promise<RolloutRecord> {
    const turn = this.#starting.then(async () => await this.#start(req))
    this.#starting = turn.catch(() => {})
    return await turn
  }

  async #start (req: RolloutRequest): Promise<RolloutRecord> {
    const selector = parseMachineSelector(req.selector)
    const maxParallel = intIn('maxParallel', req.maxParallel, 1, ROLLOUT_LIMITS.maxParallel, 1)
    const h = ROLLOUT_LIMITS.healthTimeoutS
    const healthTimeoutS = intIn('healthTimeoutS', req.healthTimeoutS, h.min, h.max, h.default)
    const force = req.force === true
    const release = await this.#o.release(req.image)
    const selected = (await this.#o.machines.list(selector.filter)).filter(m => machineMatches(selector, m)).sort((a, b) => a.id < b.id ? -1 : 1)
    if (selected.length === 0) throw new CodedError('ERR_MACHINE_NOT_FOUND', `no machine matches the selector ${JSON.stringify(req.selector)}: nothing started`, { selector: req.selector })
    if (selected.length > ROLLOUT_LIMITS.maxMachines) throw new CodedError('ERR_VALIDATION', `the selector matches ${selected.length} machines; a rollout takes at most ${ROLLOUT_LIMITS.maxMachines}`, { field: 'selector' })
    const notProvisioned = selected.filter(m => m.state !== 'provisioned').map(m => `${m.id} (${m.state})`)
    if (notProvisioned.length > 0) throw new CodedError('ERR_INVALID_STATE', `only provisioned machines are upgraded; the selector also matches ${list(notProvisioned)}: nothing started`, { machines: notProvisioned })
    const busy = new Map((await this.#o.store.running()).flatMap(r => r.machines.filter(m => m.state === 'pending' || m.state === 'running').map(m => [m.machineId, r.rollout.id] as const)))
    const inOther = selected.flatMap(m => busy.has(m.id) ? [`${m.id} (rollout ${busy.get(m.id) ?? ''})`] : [])
    if (inOther.length > 0) throw new CodedError('ERR_NODE_BUSY', `already being upgraded by a running rollout: ${list(inOther)}: nothing started`, { machines: inOther })

    const now = this.#o.clock.now()
    const id = `r-${randomUUID()}`
    const machines: StoredRolloutMachine[] = []
    const noAddress: string[] = []
    for (const [position, m] of selected.entries()) {
      const node = await this.#o.node(m.id)
      const host = node === undefined ? undefined : dialAddress(node.addresses)
      if (node === undefined || host === undefined) { noAddress.push(m.id); continue }
      const current = node.imageName === release.name && node.imageVersion === release.version
      const skip = current && !force
      machines.push({
        rolloutId: id,
        machineId: m.id,
        position,
        state: skip ? 'skipped' : 'pending',
        address: `${host}:${this.#o.nodePort ?? 50000}`,
        fromVersion: node.imageVersion,
        toVersion: release.version,
        nodeOperationId: null,
        phase: null,
        error: skip ? `already runs ${release.name}:${release.version}` : null,
        errorCode: null,
        startedAt: null,
        finishedAt: skip ? now : null
      })
    }
    if (noAddress.length > 0) throw new CodedError('ERR_NODE_UNREACHABLE', `no node address reported by ${list(noAddress)} (a node reports its addresses once it runs from its disk): nothing started`, { machines: noAddress })
    const record: RolloutRecord = {
      rollout: { id, selector: req.selector, imageName: release.name, imageVersion: release.version, maxParallel, healthTimeoutS, force, state: 'running', phase: 'upgrading', error: null, errorCode: null, createdAt: now, startedAt: now, finishedAt: null, updatedAt: now },
      machines
    }
    await this.#o.store.create(record)
    for (const m of machines) {
      this.#o.events.record({ source: 'api', type: EventType.rolloutStarted, machineId: m.machineId, message: `rollout ${id} to ${release.name}:${release.version} started (${machines.length} machines, ${maxParallel} at a time)${m.state === 'skipped' ? `; this one is skipped: ${m.error ?? ''}` : ''}`, data: { rolloutId: id, selector: req.selector, image: `${release.name}:${release.version}`, maxParallel, machines: machines.length } })
    }
    await this.#o.events.flush()
    this.#launch(record, release)
    return record
  }

  #launch (record: RolloutRecord, release: RolloutRelease): void {
    const id = record.rollout.id
    const run = runRollout({ store: this.#o.store, connector: this.#o.connector, events: this.#o.events, clock: this.#o.clock, sleep: this.#o.sleep ?? sleepFor, follow: this.#follow }, record, release, this.#ctl.signal)
      .catch((err: unknown) => { this.#o.onError(err, id) })
      .finally(() => { this.#running.delete(id) })
    this.#running.set(id, run)
  }

  /** Resolves once the rollout's runner in this process is over (at once if none runs). */
  async settled (id: string): Promise<void> {
    await this.#running.get(id)
  }

  /**
   * At start-up: a rollout a previous process left running is ended failed, never resumed. The
   * machines it was upgrading go on by themselves (each node carries its operation across its
   * reboot), but Anvil cannot tell whether an Upgrade it was sending reached its node, and
   * starting more machines without anyone having looked is how a fleet gets bricked
   * (omni#1552: never auto-retry). Running the same command again skips the machines already
   * on the target version. Returns how many it ended.
   */
  async recover (): Promise<number> {
    const left = await this.#o.store.running()
    const now = this.#o.clock.now()
    for (const { rollout, machines } of left) {
      const inFlight = machines.filter(m => m.state === 'running')
      for (const m of inFlight) await this.#o.store.updateMachine(rollout.id, m.machineId, { state: 'interrupted', error: `Anvil restarted while following it${m.nodeOperationId === null ? ' (no node operation recorded: the Upgrade may not have reached the node)' : `; the node's operation ${m.nodeOperationId} says how it ended`}`, finishedAt: now })
      for (const m of machines.filter(x => x.state === 'pending')) await this.#o.store.updateMachine(rollout.id, m.machineId, { state: 'not_started' })
      const follow = inFlight.map(m => `${m.machineId}${m.nodeOperationId === null ? '' : ` (node operation ${m.nodeOperationId})`}`)
      const error = `Anvil restarted during the rollout; it was not resumed${follow.length === 0 ? '' : `: check ${list(follow)} with anvil -n MACHINE operations`}`
      await this.#o.store.updateRollout(rollout.id, { state: 'failed', phase: 'stopped', error, errorCode: 'ERR_ROLLOUT_FAILED', finishedAt: now, updatedAt: now })
      for (const m of machines) this.#o.events.record({ source: 'api', type: EventType.rolloutDone, machineId: m.machineId, message: `rollout ${rollout.id} ended failed: ${error}`, data: { rolloutId: rollout.id, state: 'failed', reason: 'restart' } })
    }
    if (left.length > 0) await this.#o.events.flush()
    return left.length
  }

  /** Stops following (server shutdown): the rollouts stay running in the store for recover(). */
  async stop (): Promise<void> {
    this.#ctl.abort()
    await Promise.allSettled([...this.#running.values()])
  }
}
