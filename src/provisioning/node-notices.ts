/**
 * Anvil's side of NodeNotice (issue 11): a provisioned node tells Anvil what it does to its own
 * life: it is resetting itself, a new slot was committed, or an upgrade's trial boot failed and
 * the old slot runs again. The call is unauthenticated until the signature is checked, so it is
 * verified exactly as IssueNodeCertificate's requests are (src/provisioning/node-certificates.ts),
 * each refusal a bounded `node.refused` event:
 *   1. fields within bounds, no control characters, a known kind (ERR_VALIDATION)
 *   2. the node's clock within 5 minutes of Anvil's (ERR_NODE_PROOF_INVALID)
 *   3. a node key registered for the machine, and the Ed25519 signature over nodeNoticeProof
 *      verifies with it (ERR_NODE_PROOF_INVALID)
 *   4. the machine is provisioned (ERR_INVALID_STATE); a reset notice for a machine already
 *      resetting is answered with that state and changes nothing (a repeated notice)
 * Then by kind: `reset` steps the lifecycle (provisioned → resetting, a wipe queued for its agent
 * and the machine booted into it: DiscoveryService.reset), `upgraded` and `rolled_back` record the
 * image the node now runs on its node record; each with its event (node.reset, node.upgraded,
 * node.rolled_back). The detail is free text from the node: bounded, and sanitised before it is
 * stored, never refused for a newline in a panic message.
 */
import { createPublicKey, verify } from 'node:crypto'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { sanitizeText } from '../lib/text.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import { MachineState } from '../inventory/machine.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Clock } from '../inventory/ports.ts'
import { NODE_NOTICE_KINDS, nodeNoticeProof, type NodeNoticeKind } from '../node-state/notice-proof.ts'
import type { NodeNoticeRequest } from '../proto/generated/anvil/provisioning/v1/NodeNoticeRequest.ts'
import type { RegisteredNodes } from './node-certificates.ts'
import { NodeRefusals } from './refusal-events.ts'

export type { NodeNoticeRequest }

export const NODE_NOTICE_LIMITS = {
  text: 253,
  /** provisioning.proto: "a short reason … at most 512 characters". */
  detail: 512,
  signatureBytes: 64,
  clockSkewMs: 5 * 60_000
} as const

/** The image a node runs now, as a notice names it. */
export type RunningImage = { readonly imageName: string, readonly imageVersion: string, readonly slot: 'A' | 'B', readonly at: number }

/** The node records (src/db/node-report-store.ts). */
export interface NodeNoticeStore extends RegisteredNodes {
  /** Records the running image on the machine's node record; false when it has none. */
  recordRunning (machineId: string, running: RunningImage): Promise<boolean>
}

export type NodeNoticeServiceOptions = {
  readonly nodes: NodeNoticeStore
  readonly machines: Pick<MachineService, 'get'>
  /** The lifecycle's reset with its wipe task (DiscoveryService.reset); resolves with the state and the task. */
  readonly reset: (machineId: string, requestedBy: string) => Promise<{ readonly state: string, readonly taskId: string }>
  readonly events: BootEventSink & { flush (): Promise<void> }
  readonly clock: Clock
  /** `node.refused` events per minute at most (default 30). */
  readonly refusalsPerMinute?: number
}

const CONTROL = /\p{Cc}/u

type Checked = {
  readonly machineId: string
  readonly kind: NodeNoticeKind
  readonly operationId: string
  readonly imageName: string
  readonly imageVersion: string
  readonly slot: string
  readonly detail: string
  readonly requestedAtMs: number
}

/** NodeNotice over its ports: what the gRPC transport calls. */
export class NodeNoticeService {
  readonly #o: NodeNoticeServiceOptions
  readonly #refusals: NodeRefusals

  constructor (options: NodeNoticeServiceOptions) {
    this.#o = options
    this.#refusals = new NodeRefusals({ events: options.events, clock: options.clock, what: 'a node notice', ...(options.refusalsPerMinute === undefined ? {} : { perMinute: options.refusalsPerMinute }) })
  }

  async notice (r: NodeNoticeRequest, peer: string): Promise<{ machineState: string }> {
    let machineId: string | undefined
    try {
      const f = checkFields(r)
      const skew = f.requestedAtMs - this.#o.clock.now()
      if (Math.abs(skew) > NODE_NOTICE_LIMITS.clockSkewMs) {
        throw new CodedError('ERR_NODE_PROOF_INVALID', `the notice is dated ${Math.round(skew / 1000)} s from Anvil's clock (at most ${NODE_NOTICE_LIMITS.clockSkewMs / 1000} s): set the node's time`)
      }
      const node = await this.#o.nodes.registeredNode(f.machineId)
      if (node === undefined) throw new CodedError('ERR_NODE_PROOF_INVALID', 'no node key is registered for this machine: it has not reported in')
      const identity = createPublicKey({ key: Buffer.from(node.publicKey, 'base64'), format: 'der', type: 'spki' })
      if (r.signature.length !== NODE_NOTICE_LIMITS.signatureBytes || !verify(null, nodeNoticeProof(f), identity, r.signature)) {
        throw new CodedError('ERR_NODE_PROOF_INVALID', 'the notice\'s signature does not verify with the node key this machine registered')
      }
      machineId = f.machineId
      const machine = await this.#o.machines.get(f.machineId)
      if (f.kind === 'reset' && machine.state === MachineState.resetting) return { machineState: machine.state }
      if (machine.state !== MachineState.provisioned) {
        throw new CodedError('ERR_INVALID_STATE', `machine ${f.machineId} is ${machine.state}, not provisioned: its ${f.kind} notice is not taken`, { id: f.machineId, state: machine.state })
      }
      const machineState = f.kind === 'reset' ? await this.#reset(f, peer) : await this.#running(f, peer, machine.state)
      await this.#o.events.flush()
      return { machineState }
    } catch (err) {
      if (isCodedError(err)) await this.#refusals.record(machineId, peer, err.code, err.message)
      throw err
    }
  }

  async #reset (f: Checked, peer: string): Promise<string> {
    const detail = noticeDetail(f.detail)
    const { state, taskId } = await this.#o.reset(f.machineId, `the node itself (its operation ${f.operationId})`)
    this.#o.events.record({
      source: 'api',
      type: EventType.nodeReset,
      machineId: f.machineId,
      ip: peer,
      message: `the node is resetting itself (operation ${f.operationId}${detail === '' ? '' : `: ${detail}`}): wipe task ${taskId} queued for its agent, the machine goes ${state}`,
      data: { operationId: f.operationId, taskId, detail }
    })
    return state
  }

  async #running (f: Checked, peer: string, state: string): Promise<string> {
    const slot = f.slot as 'A' | 'B'
    if (!await this.#o.nodes.recordRunning(f.machineId, { imageName: f.imageName, imageVersion: f.imageVersion, slot, at: this.#o.clock.now() })) {
      throw new CodedError('ERR_NODE_PROOF_INVALID', 'no node record for this machine: it has not reported in')
    }
    const upgraded = f.kind === 'upgraded'
    const detail = noticeDetail(f.detail)
    this.#o.events.record({
      source: 'api',
      type: upgraded ? EventType.nodeUpgraded : EventType.nodeRolledBack,
      machineId: f.machineId,
      ip: peer,
      message: upgraded
        ? `the node committed ${f.imageName} ${f.imageVersion} in slot ${slot} (operation ${f.operationId})`
        : `the node rolled back to ${f.imageName} ${f.imageVersion} in slot ${slot} (operation ${f.operationId})${detail === '' ? '' : `: ${detail}`}`,
      data: { operationId: f.operationId, image: f.imageName, version: f.imageVersion, slot, detail }
    })
    return state
  }
}

/** Bounds before anything is looked up; the strings as they came (the proof signs them: the timeline gets a sanitised copy of the detail). */
function checkFields (r: NodeNoticeRequest): Checked {
  const L = NODE_NOTICE_LIMITS
  const text = (name: string, v: string, required: boolean): string => {
    if (required && v === '') throw invalid(`${name} is empty`)
    if (v.length > L.text) throw invalid(`${name} is longer than ${L.text} characters`)
    if (CONTROL.test(v)) throw invalid(`${name} contains a control character`)
    return v
  }
  const machineId = text('machineId', r.machineId, true)
  const kind = text('kind', r.kind, true)
  if (!(NODE_NOTICE_KINDS as readonly string[]).includes(kind)) throw invalid(`kind ${JSON.stringify(kind.slice(0, 32))} is not one of ${NODE_NOTICE_KINDS.join(', ')}`)
  const running = kind !== 'reset'
  const operationId = text('operationId', r.operationId, true)
  const imageName = text('imageName', r.imageName, running)
  const imageVersion = text('imageVersion', r.imageVersion, running)
  const slot = text('slot', r.slot, running)
  if ((running || slot !== '') && slot !== 'A' && slot !== 'B') throw invalid('slot is not A or B')
  if (r.detail.length > L.detail) throw invalid(`detail is longer than ${L.detail} characters`)
  if (!Number.isSafeInteger(r.requestedAtMs)) throw invalid('requestedAtMs is not a time')
  return { machineId, kind: kind as NodeNoticeKind, operationId, imageName, imageVersion, slot, detail: r.detail, requestedAtMs: r.requestedAtMs }
}

function invalid (message: string): CodedError {
  return new CodedError('ERR_VALIDATION', `node notice: ${message}`)
}

/** The detail as the timeline keeps it: controls removed, trimmed. */
export function noticeDetail (detail: string): string {
  return sanitizeText(detail).trim()
}
