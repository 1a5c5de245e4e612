/**
 * Upgrade and Rollback on the node, and what the next boot makes of them (node.proto; docs/node-api.md
 * "Upgrade and rollback"). The order is the one that keeps a node bootable at every instant:
 *   checks (signature with the node's own image keys, versions, the running slot committed), then
 *   the target slot disabled in grubenv (it must not boot while half-written), written and read
 *   back, then grubenv selects it for ONE try (one sector write), STATE records the pending switch,
 *   the RPC is answered and the node reboots. On the next boot, afterBoot():
 *   - on the new slot: the health gate; healthy in time → commit; else "failed" and a reboot (the
 *     try is spent: GRUB boots the old, committed slot);
 *   - back on the old slot: rolled_back with the reason, the old slot first in grubenv again.
 * The running slot is always anvil.slot on the kernel command line, never grubenv's order.
 */
import { createHash, randomUUID } from 'node:crypto'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { checkSignedManifest } from '../../../agent/install.ts'
import type { Decompress } from '../../../agent/install-decompress.ts'
import type { FetchOptions } from '../../../agent/install-fetch.ts'
import type { ZeroOut } from '../../../agent/install-zero.ts'
import { PartitionName } from '../../../image/layout.ts'
import { CodedError, isCodedError } from '../../../lib/errors.ts'
import type { NodeNoticeKind } from '../../../node-state/notice-proof.ts'
import type { PendingSwitch, SlotImage, StatePayload, StoredOperation } from '../../../node-state/record.ts'
import { decodePublicKey, type PublicKey } from '../../../signing/minisign.ts'
import type { UpgradeRequest } from '../../../proto/generated/anvil/node/v1/UpgradeRequest.ts'
import type { NodeCmdline } from '../cmdline.ts'
import { findPartition, readGrubenv, rewriteGrubenv, type DiskRoots } from '../disk-io.ts'
import { upsert, type NodeOperations } from '../operations.ts'
import { bootOutcome, checkUpgradeVersion, commitTrial, disableSlot, isCommitted, otherSlot, preferSlot, selectTrial, slotImageRange, type Slot } from './plan.ts'
import type { NodeNotice } from '../node-notice.ts'
import { armWatchdog, type Watchdog } from './watchdog.ts'
import { writeSlot } from './write-slot.ts'

/** What the node tells Anvil of the upgrade's end (node-notice.ts signs and sends it). */
export type { NodeNotice } from '../node-notice.ts'

export type UpgraderOptions = {
  readonly roots: DiskRoots & { readonly etcAnvil: string }
  readonly cmdline: NodeCmdline
  readonly operations: NodeOperations
  /** Reboots through machined's power path (services stopped, disks synced). */
  readonly reboot: () => Promise<void>
  /** Undefined when healthy, else what is missing ("apid is backoff"). */
  readonly health: () => Promise<string | undefined>
  readonly notify?: (n: NodeNotice) => Promise<void>
  readonly decompress: Decompress
  readonly zeroOut?: ZeroOut | undefined
  readonly fetch?: Pick<FetchOptions, 'backoff' | 'maxAttempts' | 'idleTimeoutMs'>
  readonly log: (line: string) => void
  readonly bootId: () => Promise<string>
  readonly now?: () => number
  /** How often the health gate looks (default 2 s). */
  readonly healthPollMs?: number
  /** Armed while a trial boot is pending (default: /dev/watchdog when it exists); null: none. */
  readonly watchdog?: (() => Promise<Watchdog | undefined>) | null
}

export const DEFAULT_HEALTH_TIMEOUT_S = 300
/** A client cannot make a node wait for a day before it falls back. */
const MAX_HEALTH_TIMEOUT_S = 3600

/** The node's upgrades and rollbacks; one at a time. */
export class Upgrader {
  readonly #o: UpgraderOptions
  #busy: string | undefined

  constructor (o: UpgraderOptions) { this.#o = o }

  get #now (): number { return (this.#o.now ?? Date.now)() }

  #say (line: string): void { this.#o.log(`anvil-node: ${line}`) }

  /** Refuses while an upgrade, rollback (or a switch awaiting its boot) is under way. */
  #claim (what: string): void {
    const pending = this.#o.operations.state.pending
    if (this.#busy !== undefined) throw new CodedError('ERR_NODE_BUSY', `${this.#busy} is under way; ${what} refused`)
    if (pending !== undefined) throw new CodedError('ERR_NODE_BUSY', `the ${pending.kind} ${pending.operationId} to slot ${pending.toSlot} is not settled yet; ${what} refused`)
    this.#busy = what
  }

  #running (): Slot {
    const slot = this.#o.cmdline.slot
    if (slot === undefined) throw new CodedError('ERR_INVALID_STATE', 'no anvil.slot on the kernel command line: which slot runs is unknown')
    return slot
  }

  /**
   * Upgrade: resolves once the slot is written, verified and selected, with the operation (phase
   * reboot); the reboot follows. `onBegun` gets the operation once the checks passed and it is
   * recorded (the node API answers with it when the write outlasts apid's unary deadline).
   */
  async upgrade (req: UpgradeRequest, onBegun?: (op: StoredOperation) => void): Promise<StoredOperation> {
    this.#claim('an upgrade')
    let op: StoredOperation | undefined
    try {
      const from = this.#running()
      const to = otherSlot(from)
      const state = this.#o.operations.state
      const running = slotImage(state, from)
      const manifest = checkSignedManifest(req.manifest, req.manifestSignature, await this.#imageKeys(state), req.imageName, req.imageVersion)
      checkUpgradeVersion({ version: running.imageVersion, securityVersion: running.securityVersion }, { version: manifest.version, securityVersion: manifest.securityVersion }, req.force)
      const esp = await this.#partition(PartitionName.efi)
      if (!req.force && !isCommitted(await readGrubenv(esp.device), from)) throw new CodedError('ERR_INVALID_STATE', `the running slot ${from} is not committed: upgrading now could overwrite the last good slot (force allows it)`)
      const target = await this.#partition(to === 'A' ? PartitionName.slotA : PartitionName.slotB)
      const window = slotImageRange(manifest)
      const healthTimeoutS = req.healthTimeoutS === 0 ? DEFAULT_HEALTH_TIMEOUT_S : Math.min(req.healthTimeoutS, MAX_HEALTH_TIMEOUT_S)
      op = { id: `op-${randomUUID()}`, kind: 'upgrade', state: 'running', phase: 'fetch', startedAtMs: this.#now, bootIdBefore: await this.#o.bootId().catch(() => ''), fromSlot: from, toSlot: to, fromVersion: running.imageVersion, toVersion: manifest.version, bytesDone: 0, bytesTotal: window.end - window.start }
      await this.#o.operations.put(op)
      this.#memo(op)
      onBegun?.(op)
      this.#say(`upgrade ${op.id}: ${manifest.name} ${running.imageVersion} → ${manifest.version} into slot ${to} (${target.device}); slot ${from} keeps running`)
      // Half-written, the target must never boot: not even as a committed fallback.
      await rewriteGrubenv(esp.device, env => disableSlot(env, to))
      await this.#o.operations.update(p => ({ ...p, slots: withoutSlot(p.slots, to) }))
      let current: StoredOperation = op
      await writeSlot({
        manifest,
        window,
        url: req.imageUrl,
        device: target.device,
        deviceBytes: target.bytes,
        decompress: this.#o.decompress,
        zeroOut: this.#o.zeroOut,
        fetch: this.#o.fetch,
        log: (line) => { this.#say(line.replace(/^install: /, `upgrade ${current.id}: `)) },
        // In memory between phases: STATE is written at the phase changes only.
        progress: (phase, done, total) => { current = { ...current, phase, bytesDone: done, bytesTotal: total }; this.#memo(current) }
      })
      this.#say(`upgrade ${op.id}: slot ${to} written and read back, every chunk as signed`)
      await rewriteGrubenv(esp.device, env => selectTrial(env, to))
      const manifestSha256 = createHash('sha256').update(req.manifest).digest('hex')
      const pending: PendingSwitch = { kind: 'upgrade', operationId: op.id, fromSlot: from, toSlot: to, fromVersion: running.imageVersion, toVersion: manifest.version, imageName: manifest.name, healthTimeoutS }
      const image: SlotImage = { imageName: manifest.name, imageVersion: manifest.version, manifestSha256, securityVersion: manifest.securityVersion, committed: false }
      op = { ...current, phase: 'reboot', bytesDone: window.end - window.start, bytesTotal: window.end - window.start }
      const recorded = op
      await this.#o.operations.update(p => ({ ...p, pending, slots: { ...p.slots, [to]: image }, operations: upsert(p.operations ?? [], recorded) }))
      this.#say(`upgrade ${op.id}: slot ${to} selected for one try (ORDER ${to} ${from}, ${to}_OK=0, ${to}_LEFT=1); rebooting`)
      this.#rebootSoon(op.id)
      return op
    } catch (err) {
      if (op !== undefined) await this.#fail(op, err)
      throw err
    } finally {
      this.#busy = undefined
    }
  }

  /** Rollback: the other slot, committed and holding an image, boots from the next boot on. */
  async rollback (): Promise<StoredOperation> {
    this.#claim('a rollback')
    try {
      const from = this.#running()
      const to = otherSlot(from)
      const esp = await this.#partition(PartitionName.efi)
      const env = await readGrubenv(esp.device)
      const state = this.#o.operations.state
      const held = knownSlotImage(state, to)
      if (!isCommitted(env, to) || held === undefined) throw new CodedError('ERR_NODE_NO_ROLLBACK', `slot ${to} was never committed${held === undefined ? ' and holds no known image' : ''}: nothing to roll back to`)
      const fromVersion = slotImage(state, from).imageVersion
      const op: StoredOperation = { id: `op-${randomUUID()}`, kind: 'rollback', state: 'running', phase: 'reboot', startedAtMs: this.#now, bootIdBefore: await this.#o.bootId().catch(() => ''), fromSlot: from, toSlot: to, fromVersion, toVersion: held.imageVersion }
      await rewriteGrubenv(esp.device, e => preferSlot(e, to))
      const pending: PendingSwitch = { kind: 'rollback', operationId: op.id, fromSlot: from, toSlot: to, fromVersion, toVersion: held.imageVersion, imageName: held.imageName, healthTimeoutS: DEFAULT_HEALTH_TIMEOUT_S }
      await this.#o.operations.update(p => ({ ...p, pending, operations: upsert(p.operations ?? [], op) }))
      this.#say(`rollback ${op.id}: slot ${to} (${held.imageName} ${held.imageVersion}) first in grubenv; rebooting`)
      this.#rebootSoon(op.id)
      return op
    } finally {
      this.#busy = undefined
    }
  }

  /** The operation as the API answers it now (the running one's progress is in memory). */
  operation (id: string): StoredOperation | undefined {
    return this.#live?.id === id ? this.#live : this.#o.operations.get(id)
  }

  /** Newest first, the running one with its progress. */
  operations (): StoredOperation[] {
    return this.#o.operations.list().map(op => op.id === this.#live?.id ? this.#live : op)
  }

  #live: StoredOperation | undefined
  #memo (op: StoredOperation): void { this.#live = op }

  /**
   * At machined's start: settles a pending switch. On the new slot the health gate runs (resolves
   * once it decided); back on the old slot the switch ended rolled_back. `signal` stops the gate.
   */
  async afterBoot (signal?: AbortSignal): Promise<void> {
    const pending = this.#o.operations.state.pending
    const running = this.#o.cmdline.slot
    const outcome = bootOutcome(pending, running)
    if (pending === undefined || outcome === 'none') return
    if (outcome === 'fell-back') {
      await this.#fellBack(pending)
      return
    }
    if (pending.kind === 'rollback') {
      await this.#finish(pending, { state: 'succeeded', phase: 'done' }, p => p)
      await this.#tell('rolled_back', pending, `rolled back from slot ${pending.fromSlot} (${pending.fromVersion}) by request`)
      return
    }
    this.#say(`upgrade ${pending.operationId}: booted slot ${pending.toSlot} (${pending.toVersion}) on trial; health gate for ${pending.healthTimeoutS} s`)
    this.#memo({ ...this.#o.operations.get(pending.operationId) ?? stub(pending, this.#now), phase: 'health' })
    const dog = this.#o.watchdog === null ? undefined : await (this.#o.watchdog ?? (async () => await armWatchdog(undefined, undefined, (l) => { this.#say(l) })))()
    if (dog !== undefined) this.#say(`watchdog ${dog.device} armed for the trial boot`)
    const why = await this.#gate(pending.healthTimeoutS * 1000, signal)
    if (signal?.aborted === true) return
    if (why === undefined) {
      const esp = await this.#partition(PartitionName.efi)
      await rewriteGrubenv(esp.device, env => commitTrial(env, pending.toSlot))
      await dog?.disarm().catch((err: unknown) => { this.#say(`watchdog: ${(err as Error).message}`) })
      await this.#finish(pending, { state: 'succeeded', phase: 'commit' }, p => ({ ...p, slots: commitImage(p.slots, pending.toSlot) }))
      this.#say(`upgrade ${pending.operationId}: healthy; slot ${pending.toSlot} committed (${pending.toSlot}_OK=1)`)
      await this.#tell('upgraded', pending, `committed slot ${pending.toSlot} after the health gate`)
      return
    }
    const failure = `health gate: ${why} after ${pending.healthTimeoutS} s`
    const op = this.#o.operations.get(pending.operationId) ?? stub(pending, this.#now)
    const failed: StoredOperation = { ...op, state: 'failed', phase: 'health', error: failure, errorCode: 'ERR_ROLLOUT_FAILED', finishedAtMs: this.#now }
    await this.#o.operations.update(p => ({ ...p, pending: { ...pending, failure }, operations: upsert(p.operations ?? [], failed) }))
    this.#live = undefined
    this.#say(`upgrade ${pending.operationId}: ${failure}; rebooting (the try is spent: GRUB boots slot ${pending.fromSlot})`)
    await this.#o.reboot()
  }

  /** Polls health until healthy (undefined) or the deadline (the last reason). */
  async #gate (ms: number, signal: AbortSignal | undefined): Promise<string | undefined> {
    const deadline = this.#now + ms
    const poll = this.#o.healthPollMs ?? 2000
    let why: string | undefined = 'not checked'
    while (signal?.aborted !== true) {
      why = await this.#o.health().catch((err: unknown) => `health check failed: ${(err as Error).message}`)
      if (why === undefined || this.#now >= deadline) return why
      await new Promise(resolve => setTimeout(resolve, Math.min(poll, Math.max(1, deadline - this.#now))))
    }
    return why
  }

  async #fellBack (pending: PendingSwitch): Promise<void> {
    const reason = pending.failure ?? `slot ${pending.toSlot} did not come up healthy on its one try (it crashed, hung or panicked before the health gate); GRUB booted slot ${pending.fromSlot}`
    const esp = await this.#partition(PartitionName.efi)
    await rewriteGrubenv(esp.device, env => preferSlot(env, pending.fromSlot))
    if (pending.kind === 'rollback') {
      await this.#finish(pending, { state: 'failed', phase: 'reboot', error: `the node booted slot ${pending.fromSlot} again, not ${pending.toSlot}`, errorCode: 'ERR_NODE_NO_ROLLBACK' }, p => p)
      return
    }
    await this.#finish(pending, { state: 'rolled_back', phase: 'health', error: reason, errorCode: 'ERR_ROLLOUT_FAILED' }, p => ({ ...p, slots: withoutSlot(p.slots, pending.toSlot) }))
    this.#say(`upgrade ${pending.operationId}: rolled back to slot ${pending.fromSlot} (${pending.fromVersion}): ${reason}`)
    await this.#tell('rolled_back', pending, reason)
  }

  async #finish (pending: PendingSwitch, end: Pick<StoredOperation, 'state' | 'phase' | 'error' | 'errorCode'>, change: (p: StatePayload) => StatePayload): Promise<void> {
    const op = this.#o.operations.get(pending.operationId) ?? stub(pending, this.#now)
    const done: StoredOperation = { ...op, ...end, finishedAtMs: this.#now }
    await this.#o.operations.update(p => {
      const { pending: _settled, ...rest } = change(p)
      return { ...rest, operations: upsert(p.operations ?? [], done) }
    })
    this.#live = undefined
  }

  /** Tells Anvil; its failure is logged and ignored (Anvil being down must not undo a healthy node). */
  async #tell (kind: NodeNoticeKind, pending: PendingSwitch, detail: string): Promise<void> {
    if (this.#o.notify === undefined) return
    const slot = kind === 'upgraded' ? pending.toSlot : pending.fromSlot
    const image = slotImage(this.#o.operations.state, kind === 'rolled_back' && pending.kind === 'rollback' ? pending.toSlot : slot)
    try {
      await this.#o.notify({ kind, operationId: pending.operationId, imageName: image.imageName, imageVersion: image.imageVersion, slot: kind === 'rolled_back' && pending.kind === 'rollback' ? pending.toSlot : slot, detail })
    } catch (err) {
      this.#say(`telling Anvil "${kind}" failed (${(err as Error).message}); the node goes on`)
    }
  }

  async #fail (op: StoredOperation, err: unknown): Promise<void> {
    const failed: StoredOperation = { ...(this.#live?.id === op.id ? this.#live : op), state: 'failed', error: (err as Error).message.slice(0, 500), errorCode: isCodedError(err) ? err.code : 'ERR_INTERNAL', finishedAtMs: this.#now }
    this.#live = undefined
    this.#say(`upgrade ${op.id} failed in ${failed.phase}: ${failed.errorCode} ${failed.error ?? ''}`)
    await this.#o.operations.put(failed).catch((e: unknown) => { this.#say(`STATE: the failure could not be recorded: ${(e as Error).message}`) })
  }

  #rebootSoon (id: string): void {
    this.#o.reboot().catch((err: unknown) => { this.#say(`${id}: reboot failed: ${(err as Error).message}`) })
  }

  async #partition (name: string): Promise<{ device: string, bytes: number }> {
    const p = await findPartition(this.#o.roots, name)
    if (p === undefined) throw new CodedError('ERR_INVALID_STATE', `no ${name} partition on this node`)
    return p
  }

  /** The image keys baked into the running image when it has them (/etc/anvil/keys/image.pub), else STATE's. */
  async #imageKeys (state: StatePayload): Promise<PublicKey[]> {
    const baked = await readFile(join(this.#o.roots.etcAnvil, 'keys/image.pub'), 'utf8').catch(() => undefined)
    const keys = baked === undefined ? [...state.trust.imageKeys] : [baked]
    if (keys.length === 0) throw new CodedError('ERR_INVALID_STATE', 'this node trusts no image key')
    return keys.map(k => decodePublicKey(k))
  }
}

/** What a slot holds: STATE.slots, else the installer's record for its slot. */
export function knownSlotImage (state: StatePayload, slot: Slot): SlotImage | undefined {
  const s = state.slots?.[slot]
  if (s !== undefined) return s
  if (state.install.slot === slot) return { imageName: state.install.imageName, imageVersion: state.install.imageVersion, manifestSha256: state.install.manifestSha256, securityVersion: 0, committed: true }
  return undefined
}

function slotImage (state: StatePayload, slot: Slot): SlotImage {
  return knownSlotImage(state, slot) ?? { imageName: state.install.imageName, imageVersion: '0.0.0', manifestSha256: '', securityVersion: 0, committed: false }
}

function withoutSlot (slots: StatePayload['slots'], slot: Slot): NonNullable<StatePayload['slots']> {
  const { [slot]: _gone, ...rest } = slots ?? {}
  return rest
}

function commitImage (slots: StatePayload['slots'], slot: Slot): NonNullable<StatePayload['slots']> {
  const s = slots?.[slot]
  return s === undefined ? { ...slots } : { ...slots, [slot]: { ...s, committed: true } }
}

/** The operation when STATE lost it (never expected): rebuilt from the pending switch. */
function stub (p: PendingSwitch, now: number): StoredOperation {
  return { id: p.operationId, kind: p.kind, state: 'running', phase: 'reboot', startedAtMs: now, fromSlot: p.fromSlot, toSlot: p.toSlot, fromVersion: p.fromVersion, toVersion: p.toVersion }
}
