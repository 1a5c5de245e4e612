/**
 * The node's Reset (node.proto): the node leaves its installed life and ends where Anvil takes it
 * back. An operation with an id, answered before it happens (as Reboot), then:
 *   plan      the partitions found by their GPT name (never a device name), and what to erase;
 *             a plan that cannot be carried out fails here, before anything is told or wiped
 *   notice    Anvil told (NodeNotice kind reset: provisioned → resetting, a wipe queued for its
 *             agent, PXE next through the BMC). Graceful: a failed notice fails the reset with
 *             nothing wiped and the node still serving (so the failure can be read back and the
 *             reset asked again, or forced). Not graceful: tried once, its failure logged, on.
 *   stopping-services (graceful only; after the notice, so a refused notice leaves apid up)
 *   wiping    "state": both STATE copies (the whole partition) zeroed, so the identity and the
 *             signed config are gone; "ephemeral": EPHEMERAL's first and last MiB (its file
 *             system's superblock, journal and GPT-adjacent ends), the whole of it when small;
 *             "all" (and ""): grubenv first with no slot committed and no tries left, so GRUB
 *             exits to the firmware, whose next device is the network (an interrupted reset
 *             then still ends with Anvil's agent), then STATE and EPHEMERAL
 *   syncing, rebooting  through the power path Reboot uses.
 * ERR_NODE_BUSY while another reset, upgrade or rollback holds the node (busy.ts); ERR_VALIDATION
 * for a wipe mode it does not know.
 */
import { randomUUID } from 'node:crypto'
import { setTimeout as delay } from 'node:timers/promises'
import { PartitionName } from '../../image/layout.ts'
import { CodedError, isCodedError } from '../../lib/errors.ts'
import { sanitizeText } from '../../lib/text.ts'
import type { OperationInput } from '../../proto/generated/anvil/node/v1/Operation.ts'
import type { PowerPath } from './api/power.ts'
import type { BusyGuard } from './busy.ts'
import type { Partition } from './disk-io.ts'
import type { NodeNotice, NodeNoticePort } from './node-notice.ts'

export const RESET_WIPES = ['state', 'ephemeral', 'all'] as const
export type ResetWipe = typeof RESET_WIPES[number]

const MiB = 1 << 20
/** EPHEMERAL up to this size is zeroed whole (there is no "first and last MiB" to speak of). */
export const SMALL_EPHEMERAL_BYTES = 4 * MiB

/** The grubenv of a node with no bootable slot: grub.cfg finds none and exits to the firmware. */
export const NO_BOOTABLE_SLOT = { A_OK: '0', A_LEFT: '0', B_OK: '0', B_LEFT: '0' } as const

/** The request's wipe; "" is "all". ERR_VALIDATION otherwise. */
export function parseResetWipe (wipe: string): ResetWipe {
  if (wipe === '') return 'all'
  if ((RESET_WIPES as readonly string[]).includes(wipe)) return wipe as ResetWipe
  throw new CodedError('ERR_VALIDATION', `reset wipe ${JSON.stringify(sanitizeText(wipe).slice(0, 32))}: expected state, ephemeral or all`, { field: 'wipe' })
}

/** One thing the reset erases. */
export type ResetStep =
  | { readonly kind: 'grubenv', readonly device: string }
  | { readonly kind: 'zero', readonly what: string, readonly device: string, readonly ranges: ReadonlyArray<{ readonly offset: number, readonly length: number }> }

/** The partitions the plan looks at, by GPT name (findPartition). */
export type ResetDisk = { readonly state?: Partition, readonly ephemeral?: Partition, readonly esp?: Partition }

/**
 * What `wipe` erases on this disk, in order, and what it leaves out and why. Pure. A missing STATE
 * or EPHEMERAL is nothing to erase (a node that never made EPHEMERAL); for "all", a missing ESP
 * is an error: the slots would stay bootable, and nothing is erased.
 */
export function resetPlan (wipe: ResetWipe, disk: ResetDisk): { steps: ResetStep[], notes: string[] } {
  const steps: ResetStep[] = []
  const notes: string[] = []
  if (wipe === 'all') {
    if (disk.esp === undefined) throw new CodedError('ERR_STATE_INVALID', `no ${PartitionName.efi} partition: the boot slots cannot be made unbootable, so nothing is wiped`)
    steps.push({ kind: 'grubenv', device: disk.esp.device })
  }
  if (wipe === 'all' || wipe === 'state') {
    if (disk.state === undefined) notes.push(`no ${PartitionName.state} partition: nothing of it to erase`)
    else steps.push({ kind: 'zero', what: PartitionName.state, device: disk.state.device, ranges: [{ offset: 0, length: disk.state.bytes }] })
  }
  if (wipe === 'all' || wipe === 'ephemeral') {
    const e = disk.ephemeral
    if (e === undefined) notes.push(`no ${PartitionName.ephemeral} partition: nothing of it to erase`)
    else steps.push({ kind: 'zero', what: PartitionName.ephemeral, device: e.device, ranges: e.bytes <= SMALL_EPHEMERAL_BYTES ? [{ offset: 0, length: e.bytes }] : [{ offset: 0, length: MiB }, { offset: e.bytes - MiB, length: MiB }] })
  }
  return { steps, notes }
}

export type ResetOptions = PowerPath & {
  readonly busy: BusyGuard
  /** The partition with this GPT name (disk-io.ts findPartition over the node's roots). */
  readonly findPartition: (name: string) => Promise<Partition | undefined>
  readonly notice: NodeNoticePort
  /** What runs now, for the notice: image, version, slot. */
  readonly running: () => Promise<Pick<NodeNotice, 'imageName' | 'imageVersion' | 'slot'>>
  readonly zero: (device: string, offset: number, length: number) => Promise<void>
  readonly disableSlots: (esp: string) => Promise<void>
}

type Op = OperationInput & { id: string, phase: string, state: string }

/** Reset as an operation: begin() answers at once, the work runs after. */
export class ResetOperations {
  readonly #o: ResetOptions
  #last: Op | undefined
  #running: Promise<void> = Promise.resolve()

  constructor (o: ResetOptions) { this.#o = o }

  /** The last reset begun on this boot (its phase, state and error as they are now). */
  current (): OperationInput | undefined { return this.#last === undefined ? undefined : { ...this.#last } }

  /** Settles when the last run has ended (failed, or handed to the power port). */
  async settled (): Promise<void> { await this.#running }

  /** Validates, takes the busy guard and answers with the operation (running); throws ERR_VALIDATION, ERR_NODE_BUSY. */
  async begin (req: { readonly graceful: boolean, readonly wipe: string }): Promise<OperationInput> {
    const wipe = parseResetWipe(req.wipe)
    const op: Op = { id: `op-${randomUUID()}`, kind: 'reset', state: 'running', phase: 'plan', startedAtMs: this.#now() }
    const release = this.#o.busy.take({ id: op.id, kind: 'reset' })
    op.bootIdBefore = await this.#o.bootId().catch(() => '')
    this.#last = op
    this.#running = delay(this.#o.settleMs ?? 250).then(async () => { await this.#run(op, wipe, req.graceful, release) })
    return { ...op }
  }

  #now (): number { return (this.#o.now ?? Date.now)() }

  async #run (op: Op, wipe: ResetWipe, graceful: boolean, release: () => void): Promise<void> {
    const say = (line: string): void => { this.#o.log(`anvil-node: reset ${op.id}: ${line}`) }
    const fail = (code: string, why: string): void => {
      Object.assign(op, { state: 'failed', error: why, errorCode: code, finishedAtMs: this.#now() })
      say(`failed: ${why}`)
      release()
    }
    say(`${graceful ? 'graceful' : 'forced'}, wipe ${wipe}`)
    let plan: ReturnType<typeof resetPlan>
    try {
      const [state, ephemeral, esp] = await Promise.all([PartitionName.state, PartitionName.ephemeral, PartitionName.efi].map(async n => await this.#o.findPartition(n)))
      plan = resetPlan(wipe, { ...(state === undefined ? {} : { state }), ...(ephemeral === undefined ? {} : { ephemeral }), ...(esp === undefined ? {} : { esp }) })
    } catch (err) {
      fail(codeOf(err), `${messageOf(err)} (nothing told, nothing wiped)`)
      return
    }
    for (const note of plan.notes) say(note)
    op.phase = 'notice'
    try {
      const r = await this.#o.notice({ kind: 'reset', operationId: op.id, ...(await this.#o.running()), detail: `${graceful ? 'graceful' : 'forced'} reset, wipe ${wipe}` })
      say(`Anvil was told; the machine is ${sanitizeText(r.machineState).slice(0, 32)} there`)
    } catch (err) {
      if (graceful) {
        fail(codeOf(err, 'ERR_NODE_UNREACHABLE'), `Anvil was not told (${messageOf(err)}): nothing wiped and the node keeps running; ask again, reset it without --graceful, or reset it through Anvil (anvil machines reset)`)
        return
      }
      say(`Anvil was not told (${messageOf(err)}); going on, as the reset is forced`)
    }
    try {
      if (graceful) {
        op.phase = 'stopping-services'
        say('stopping services')
        await this.#o.stopServices()
      }
      op.phase = 'wiping'
      for (const step of plan.steps) {
        if (step.kind === 'grubenv') {
          await this.#o.disableSlots(step.device)
          say(`grubenv on ${step.device}: no slot committed, no tries left (the firmware boots from the network next)`)
        } else {
          for (const r of step.ranges) await this.#o.zero(step.device, r.offset, r.length)
          say(`${step.what} (${step.device}): ${step.ranges.map(r => `${r.length} bytes at ${r.offset}`).join(', ')} zeroed`)
        }
      }
    } catch (err) {
      fail(codeOf(err), `${op.phase === 'wiping' ? 'the wipe stopped part way' : 'stopping the services failed'}: ${messageOf(err)}; the node is not rebooted`)
      return
    }
    op.phase = 'syncing'
    await this.#o.sync().catch((err: unknown) => { say(`sync failed (${messageOf(err)}); going on (each wipe write was fdatasync'ed)`) })
    op.phase = 'rebooting'
    say('rebooting')
    try {
      await this.#o.power.reboot()
    } catch (err) {
      fail(codeOf(err), `the reboot failed: ${messageOf(err)}; the disk is wiped, reboot the node (anvil power cycle)`)
    }
  }
}

function messageOf (err: unknown): string {
  return sanitizeText(err instanceof Error ? err.message : String(err)).slice(0, 400)
}

/** A stable code: the error's own, the code Anvil sent (AnvilCallError), else `fallback`. */
function codeOf (err: unknown, fallback = 'ERR_INTERNAL'): string {
  if (isCodedError(err)) return err.code
  const code = (err as { code?: unknown }).code
  return typeof code === 'string' && /^ERR_[A-Z_]+$/.test(code) ? code : fallback
}
