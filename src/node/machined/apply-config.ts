/**
 * The node's ApplyConfig (node.proto): a new signed machine config, verified as the first boot
 * verifies STATE's (trusted-config.ts: the config key, this machine, a generation above the
 * running one, not expired, the schema) before anything changes; then, by mode (config-changes.ts):
 *
 *   live    (auto, no-reboot) STATE written first (the other copy, seq + 1, as the first boot
 *           writes it), then hostname, network (live-network.ts: new before old, so the node stays
 *           reachable), resolvers, sysctls; a step that fails is reported and the rest goes on
 *   reboot  (reboot; auto when a change needs one) STATE written, services stopped, sync, reboot
 *   try     applied live with STATE left as it was: a reboot boots the old config. After the
 *           timeout the previous config is applied back by itself (state rolled_back), unless the
 *           same generation is applied again in another mode first: then it is written to STATE.
 *
 * The reply (the operation, the changes by key path, live or reboot) goes out first and the work
 * starts after settleMs, as Reset's does: a changed address may end the connection the call came
 * on. Nothing here logs a value of the config: key paths only (a sysctl may carry a secret).
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { CodedError, isCodedError } from '../../lib/errors.ts'
import { sanitizeText } from '../../lib/text.ts'
import { parseMachineConfig } from '../../machine-config/parse.ts'
import type { MachineConfig } from '../../machine-config/schema.ts'
import type { StatePayload } from '../../node-state/record.ts'
import type { OperationInput } from '../../proto/generated/anvil/node/v1/Operation.ts'
import type { PowerPath } from './api/power.ts'
import type { BusyGuard } from './busy.ts'
import { configChanges, decideApply, DEFAULT_TRY_TIMEOUT_S, MAX_TRY_TIMEOUT_S, parseApplyMode, type ApplyMode } from './config-changes.ts'
import { liveNetworkSteps } from './live-network.ts'
import { planNetwork, type Argv, type Link } from './network-plan.ts'
import { verifyNodeConfig } from './trusted-config.ts'

/** What the node changes live; files under the node's roots in production, a recorder in tests. */
export type LivePort = {
  /** Runs a program with an explicit argv (no shell); rejects when it fails or times out. */
  readonly exec: (argv: Argv, timeoutMs: number) => Promise<void>
  readonly links: () => Promise<Link[]>
  readonly writeHostname: (name: string) => Promise<void>
  readonly writeResolvConf: (text: string) => Promise<void>
  /** Writes one sysctl (its /proc/sys file). */
  readonly writeSysctl: (key: string, value: string) => Promise<void>
}

/** STATE as it is on the disk now, and a change of it written to the other copy (seq + 1). */
export type StatePort = {
  readonly read: () => Promise<StatePayload>
  readonly update: (change: (current: StatePayload) => StatePayload) => Promise<StatePayload>
}

export type ApplyConfigOptions = PowerPath & {
  readonly busy: BusyGuard
  readonly state: StatePort
  /** The config key baked into the image (/etc/anvil/keys/config.pub), undefined when it has none. */
  readonly bakedKey: () => Promise<string | undefined>
  readonly live: LivePort
  /** Runs `fn` after `ms` unless cancelled (default setTimeout, unref'ed). */
  readonly timer?: (fn: () => void, ms: number) => () => void
  /**
   * Keeps the operation where Operations/GetOperation read it (STATE's list, kept by the node's
   * STATE owner): called when it begins and whenever it ends; a failure is logged, never fatal.
   */
  readonly recordOperation?: (op: OperationInput) => Promise<void>
}

export type ApplyConfigRequest = {
  readonly config: Uint8Array
  readonly configSignature: string
  readonly mode: string
  readonly tryTimeoutS: number
  readonly dryRun: boolean
}

export type ApplyConfigAnswer = {
  readonly operation?: OperationInput
  readonly changes: string[]
  readonly appliedAs: 'live' | 'reboot' | 'dry-run'
  readonly generation: number
}

type Op = OperationInput & { id: string, phase: string, state: string }

/** A try under way: what it put live, what comes back, and its timer. */
type Trial = { readonly generation: number, readonly yaml: string, readonly signature: string, readonly config: MachineConfig, readonly previous: MachineConfig, readonly op: Op, readonly cancel: () => void }

/** The signed bytes as text; a config that is not UTF-8 cannot be the YAML that was signed. */
function decodeConfig (bytes: Uint8Array): string {
  try {
    return new TextDecoder('utf-8', { fatal: true }).decode(bytes)
  } catch {
    throw new CodedError('ERR_VALIDATION', 'the config is not UTF-8 text', { field: 'config' })
  }
}

function tryTimeoutMs (s: number): number {
  if (!Number.isInteger(s) || s < 0 || s > MAX_TRY_TIMEOUT_S) throw new CodedError('ERR_VALIDATION', `try_timeout_s ${s}: from 0 (${DEFAULT_TRY_TIMEOUT_S} s) to ${MAX_TRY_TIMEOUT_S}`, { field: 'try_timeout_s' })
  return (s === 0 ? DEFAULT_TRY_TIMEOUT_S : s) * 1000
}

const defaultTimer = (fn: () => void, ms: number): () => void => {
  const t = setTimeout(fn, ms)
  t.unref()
  return () => { clearTimeout(t) }
}

/** ApplyConfig as operations: begin() verifies and answers, the work runs after. */
export class ApplyConfigOperations {
  readonly #o: ApplyConfigOptions
  #last: Op | undefined
  #trial: Trial | undefined
  #running: Promise<void> = Promise.resolve()
  #written: StatePayload | undefined

  constructor (o: ApplyConfigOptions) { this.#o = o }

  /** The last apply begun on this boot, as it is now. */
  current (): OperationInput | undefined { return this.#last === undefined ? undefined : { ...this.#last } }

  /** STATE as this API last wrote it (Version's config generation), if it did. */
  writtenState (): StatePayload | undefined { return this.#written }

  /** The generation on trial, if a try is under way. */
  trialGeneration (): number | undefined { return this.#trial?.generation }

  /** Settles when the last run has ended (applied, failed, or handed to the power port); a try's timer aside. */
  async settled (): Promise<void> { await this.#running }

  /**
   * Verifies the config and answers with its changes and the operation (running), or throws:
   * ERR_VALIDATION (mode, timeout, not UTF-8, no-reboot or try with a change that needs a
   * reboot), the verification's codes (ERR_SIGNATURE_*, ERR_CONFIG_WRONG_MACHINE,
   * ERR_CONFIG_REPLAYED, ERR_CONFIG_EXPIRED, ERR_MACHINE_CONFIG_INVALID), ERR_NODE_BUSY.
   */
  async begin (req: ApplyConfigRequest): Promise<ApplyConfigAnswer> {
    const mode = parseApplyMode(req.mode)
    const timeoutMs = mode === 'try' ? tryTimeoutMs(req.tryTimeoutS) : 0
    const yaml = decodeConfig(req.config)
    const state = await this.#o.state.read()
    const runningGeneration = Math.max(state.config.generation, state.reported?.configGeneration ?? 0)
    const trusted = verifyNodeConfig(state, { yaml, signature: req.configSignature, minGeneration: runningGeneration + 1 }, await this.#o.bakedKey(), new Date(this.#now()))
    const trial = this.#trial
    const live = trial?.config ?? parseMachineConfig(state.config.yaml)
    const changes = configChanges(live, trusted.config)
    if (req.dryRun) return { changes, appliedAs: 'dry-run', generation: trusted.generation }
    if (trial !== undefined) {
      if (trial.generation !== trusted.generation || mode === 'try') {
        throw new CodedError('ERR_NODE_BUSY', `generation ${trial.generation} is on trial (operation ${trial.op.id}): apply it again with another mode to keep it, or wait for it to be reverted`, { id: trial.op.id, kind: 'apply-config' })
      }
      if (trial.yaml !== yaml) throw new CodedError('ERR_VALIDATION', `generation ${trusted.generation} on trial has other bytes than this one`, { field: 'config' })
    }
    const decision = decideApply(mode, changes)
    const op: Op = { id: `op-${randomUUID()}`, kind: 'apply-config', state: 'running', phase: 'verify', startedAtMs: this.#now() }
    const release = this.#o.busy.take({ id: op.id, kind: 'apply-config' })
    op.bootIdBefore = await this.#o.bootId().catch(() => '')
    this.#last = op
    await this.#record(op)
    const signed = { yaml, signature: req.configSignature, generation: trusted.generation }
    const confirming = trial !== undefined
    if (confirming) {
      trial.cancel()
      this.#trial = undefined
      Object.assign(trial.op, { state: 'succeeded', phase: 'confirmed', finishedAtMs: this.#now() })
      await this.#record(trial.op)
    }
    this.#running = delay(this.#o.settleMs ?? 250).then(async () => {
      try {
        await this.#run(op, mode, decision.appliedAs, { live, next: trusted.config, signed, changes, timeoutMs, confirming })
      } finally {
        release()
      }
    }).catch((err: unknown) => { this.#unexpected(op, err) })
    return { operation: { ...op }, changes, appliedAs: decision.appliedAs, generation: trusted.generation }
  }

  #now (): number { return (this.#o.now ?? Date.now)() }

  async #run (op: Op, mode: ApplyMode, appliedAs: 'live' | 'reboot', w: { live: MachineConfig, next: MachineConfig, signed: StatePayload['config'], changes: string[], timeoutMs: number, confirming: boolean }): Promise<void> {
    const say = (line: string): void => { this.#o.log(`anvil-node: apply-config ${op.id}: ${line}`) }
    const finish = (state: 'succeeded' | 'failed' | 'rolled_back', error?: { code: string, why: string }): void => {
      Object.assign(op, { state, finishedAtMs: this.#now() }, error === undefined ? {} : { error: error.why, errorCode: error.code })
      say(error === undefined ? state : `${state}: ${error.why}`)
      void this.#record(op)
    }
    say(`generation ${w.signed.generation}, mode ${mode}, ${appliedAs}${w.confirming ? ' (confirms the try)' : ''}; changes: ${w.changes.join(', ') || 'none'}`)
    if (mode !== 'try') {
      op.phase = 'write-state'
      try {
        this.#written = await this.#o.state.update(cur => ({ ...cur, config: w.signed }))
        say(`STATE: generation ${w.signed.generation} written`)
      } catch (err) {
        finish('failed', { code: codeOf(err), why: `STATE could not be written (${messageOf(err)}): nothing was applied` })
        return
      }
    }
    if (appliedAs === 'reboot') {
      try {
        op.phase = 'stopping-services'
        await this.#o.stopServices()
        op.phase = 'syncing'
        await this.#o.sync().catch((err: unknown) => { say(`sync failed (${messageOf(err)}); going on (STATE was fdatasync'ed)`) })
        op.phase = 'rebooting'
        say('rebooting into generation ' + String(w.signed.generation))
        await this.#o.power.reboot()
      } catch (err) {
        finish('failed', { code: codeOf(err), why: `${op.phase === 'rebooting' ? 'the reboot failed' : 'stopping the services failed'}: ${messageOf(err)}; STATE holds generation ${w.signed.generation}, which the next boot applies` })
      }
      return
    }
    op.phase = 'apply'
    const failures = await this.#applyLive(w.live, w.next, w.changes, say)
    if (failures.length > 0) {
      finish('failed', { code: 'ERR_OPERATION_FAILED', why: `${failures.length} live step(s) failed: ${failures.join('; ')}${mode === 'try' ? '' : `; STATE holds generation ${w.signed.generation}, which the next boot applies`}` })
      if (mode !== 'try') return
    }
    if (mode !== 'try') {
      finish('succeeded')
      return
    }
    op.phase = 'trying'
    say(`on trial for ${Math.round(w.timeoutMs / 1000)} s: apply generation ${w.signed.generation} again with another mode to keep it`)
    const cancel = (this.#o.timer ?? defaultTimer)(() => { this.#running = this.#revert().catch((err: unknown) => { this.#unexpected(op, err) }) }, w.timeoutMs)
    this.#trial = { generation: w.signed.generation, yaml: w.signed.yaml, signature: w.signed.signature, config: w.next, previous: w.live, op, cancel }
    await this.#record(op)
  }

  /** The try's timer fired: the previous config back live (STATE never changed). */
  async #revert (): Promise<void> {
    const trial = this.#trial
    if (trial === undefined) return
    this.#trial = undefined
    const op = trial.op
    const say = (line: string): void => { this.#o.log(`anvil-node: apply-config ${op.id}: ${line}`) }
    let release: () => void
    try {
      release = this.#o.busy.take({ id: op.id, kind: 'apply-config' })
    } catch (err) {
      // Another operation holds the disk (a reset, an upgrade): it ends this boot, and the next boots STATE's config.
      say(`not reverted live: ${messageOf(err)}; STATE still holds the previous config`)
      Object.assign(op, { state: 'rolled_back', phase: 'reverted', finishedAtMs: this.#now(), error: 'the try timed out; the revert waits for the next boot' })
      await this.#record(op)
      return
    }
    try {
      op.phase = 'reverting'
      say(`the try of generation ${trial.generation} timed out: the previous config comes back`)
      const failures = await this.#applyLive(trial.config, trial.previous, configChanges(trial.config, trial.previous), say)
      Object.assign(op, { state: 'rolled_back', phase: 'reverted', finishedAtMs: this.#now(), error: failures.length === 0 ? 'not confirmed in time: the previous config was restored' : `not confirmed in time; restoring the previous config: ${failures.join('; ')}` })
      say('rolled back')
      await this.#record(op)
    } finally {
      release()
    }
  }

  /** A failure no step caught (the NICs unreadable): the operation fails, machined goes on. */
  #unexpected (op: Op, err: unknown): void {
    Object.assign(op, { state: 'failed', finishedAtMs: this.#now(), error: messageOf(err), errorCode: codeOf(err) })
    this.#o.log(`anvil-node: apply-config ${op.id}: failed: ${messageOf(err)}`)
    void this.#record(op)
  }

  /** The operation as it is now, to the operations list (if there is one); never throws. */
  async #record (op: Op): Promise<void> {
    if (this.#o.recordOperation === undefined) return
    await this.#o.recordOperation({ ...op }).catch((err: unknown) => { this.#o.log(`anvil-node: apply-config ${op.id}: not recorded in the operations list: ${messageOf(err)}`) })
  }

  /** Applies live what changes from `from` to `to`; returns the steps that failed (never a value). */
  async #applyLive (from: MachineConfig, to: MachineConfig, changes: readonly string[], say: (line: string) => void): Promise<string[]> {
    const failures: string[] = []
    const step = async (what: string, fn: () => Promise<void>): Promise<void> => {
      try {
        await fn()
      } catch (err) {
        failures.push(`${what}: ${messageOf(err)}`)
        say(`${what}: ${messageOf(err)}`)
      }
    }
    const touches = (prefix: string): boolean => changes.some(c => c === prefix || c.startsWith(`${prefix}.`) || c.startsWith(`${prefix}[`))
    if (touches('hostname')) await step('hostname', async () => { await this.#o.live.writeHostname(to.hostname) })
    if (touches('network')) {
      const links = await this.#o.live.links()
      const before = planNetwork(from.network, links)
      const after = planNetwork(to.network, links)
      for (const p of after.problems) say(`network: ${p}`)
      const steps = liveNetworkSteps(before, after)
      const run = async (argv: Argv, timeoutMs: number): Promise<void> => { await step(argv.join(' '), async () => { await this.#o.live.exec(argv, timeoutMs) }) }
      for (const a of steps.add) await run(a, 10_000)
      await Promise.all(steps.dhcp.map(async a => { await run(a, 60_000) }))
      for (const a of steps.settle) await run(a, 10_000)
      const resolv = after.resolvConf
      if (resolv !== undefined && resolv !== before.resolvConf) await step('resolv.conf', async () => { await this.#o.live.writeResolvConf(resolv) })
      say(`network: ${steps.add.length + steps.dhcp.length + steps.settle.length} steps`)
    }
    if (touches('sysctls')) {
      for (const [k, v] of Object.entries(to.sysctls)) {
        if (from.sysctls[k] !== v) await step(`sysctl ${k}`, async () => { await this.#o.live.writeSysctl(k, v) })
      }
      const dropped = Object.keys(from.sysctls).filter(k => !(k in to.sysctls))
      if (dropped.length > 0) say(`sysctls no longer set keep their current value until the next boot: ${dropped.join(', ')}`)
    }
    if (touches('services.ntp')) say('services.ntp: taken; this image runs no SNTP client yet, so nothing is restarted')
    return failures
  }
}

function messageOf (err: unknown): string {
  return sanitizeText(err instanceof Error ? err.message : String(err)).slice(0, 400)
}

function codeOf (err: unknown): string {
  return isCodedError(err) ? err.code : 'ERR_INTERNAL'
}
