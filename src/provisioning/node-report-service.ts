/**
 * The server's side of an installed node's first report (ReportIn, issue 10): the proof that the
 * install booted. The node presents the one-time token its install task wrote to STATE and its
 * own identity key (made on the node; only the public half travels), with a signature over
 * nodeReportProof(machineId, generation, token) that shows it holds the private half.
 *
 * Checks, in this order (each refusal a bounded `node.refused` event, never with the token):
 *   1. every field within bounds (the call is unauthenticated until the token is checked)
 *   2. the token: known by its SHA-256, unexpired, for this machine (ERR_NODE_TOKEN_INVALID),
 *      unused (ERR_NODE_TOKEN_USED), for the generation the report names (ERR_NODE_TOKEN_INVALID)
 *   3. the proof: an Ed25519 SPKI key and a signature that verifies (ERR_NODE_PROOF_INVALID)
 *   4. the machine is installing (or already provisioned: a repeat is idempotent), ERR_INVALID_STATE
 * Then: the token is spent compare-and-set together with the machine_nodes upsert (one
 * transaction: a second report with the same token loses the race and is ERR_NODE_TOKEN_USED),
 * the lifecycle moves installing → provisioned, and `node.reported` goes to the timeline.
 */
import { createHash, createPublicKey, verify, type KeyObject } from 'node:crypto'
import { CodedError, isCodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import { MachineState } from '../inventory/machine.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Clock } from '../inventory/ports.ts'
import { formatPrefix, parsePrefix } from '../machine-config/ip.ts'
import { nodeReportProof } from '../node-state/report-proof.ts'
import type { NodeReport } from '../proto/generated/anvil/provisioning/v1/NodeReport.ts'
import type { LifecycleService } from './lifecycle-service.ts'
import { NodeRefusals } from './refusal-events.ts'

export type { NodeReport }

/** Bounds on what arrives before the token is checked. */
export const NODE_REPORT_LIMITS = {
  token: 512,
  text: 253,
  addresses: 16,
  /** An Ed25519 SPKI DER is 44 bytes; anything much longer is not one. */
  publicKeyBytes: 128,
  proofBytes: 64
} as const

/** A node token as the store holds it (times in ms since the epoch). */
export type NodeTokenRecord = {
  readonly machineId: string
  readonly taskId: string
  readonly configGeneration: number
  readonly issuedAt: number
  readonly expiresAt: number
  readonly usedAt: number | null
}

/** What the node said of itself, as stored in machine_nodes. */
export type NodeRecord = {
  readonly machineId: string
  /** Ed25519 SPKI DER, base64. */
  readonly publicKey: string
  readonly imageName: string
  readonly imageVersion: string
  readonly slot: 'A' | 'B'
  readonly configGeneration: number
  readonly addresses: readonly string[]
  readonly hostname: string | null
  readonly bootId: string | null
  readonly reportedAt: number
}

/** The persistence the service needs (src/db/node-report-store.ts). */
export interface NodeReportStore {
  /** The token with this SHA-256 (hex), or undefined. */
  findToken (tokenHash: string): Promise<NodeTokenRecord | undefined>
  /**
   * In one transaction: spends the token (used_at set where it is still null) and upserts the
   * node (first_reported_at kept). False, with nothing written, when the token was already spent.
   */
  recordReport (tokenHash: string, node: NodeRecord): Promise<boolean>
}

/** What the gRPC transport calls. */
export interface NodeReports {
  /** `token` from `authorization: Node <token>` (undefined when absent); `peer` the connection's IP. */
  report (token: string | undefined, report: NodeReport, peer: string): Promise<{ machineId: string, state: string }>
}

export type NodeReportServiceOptions = {
  readonly store: NodeReportStore
  readonly machines: Pick<MachineService, 'get'>
  readonly lifecycle: Pick<LifecycleService, 'apply'>
  readonly events: BootEventSink & { flush (): Promise<void> }
  readonly clock: Clock
  /** `node.refused` events per minute at most (default 30); the rest are counted into the next one. */
  readonly refusalsPerMinute?: number
}

// Refused anywhere in a string: C0/C1 controls, so nothing from a node can forge a log or timeline line.
const CONTROL = /\p{Cc}/u

/** The node side of ReportIn, over its ports. */
export class NodeReportService implements NodeReports {
  readonly #o: NodeReportServiceOptions
  readonly #refusals: NodeRefusals

  constructor (options: NodeReportServiceOptions) {
    this.#o = options
    this.#refusals = new NodeRefusals({ events: options.events, clock: options.clock, what: 'a node report', ...(options.refusalsPerMinute === undefined ? {} : { perMinute: options.refusalsPerMinute }) })
  }

  async report (token: string | undefined, report: NodeReport, peer: string): Promise<{ machineId: string, state: string }> {
    let machineId: string | undefined
    try {
      const fields = checkFields(report)
      if (token === undefined || token === '' || token.length > NODE_REPORT_LIMITS.token) {
        throw new CodedError('ERR_NODE_TOKEN_INVALID', 'the call carries no valid "authorization: Node <token>"')
      }
      const tokenHash = createHash('sha256').update(token, 'utf8').digest('hex')
      const record = await this.#o.store.findToken(tokenHash)
      const now = this.#o.clock.now()
      if (record === undefined || record.expiresAt <= now || record.machineId !== fields.machineId) {
        throw new CodedError('ERR_NODE_TOKEN_INVALID', 'the node token is unknown, expired or not for this machine')
      }
      machineId = record.machineId
      if (record.usedAt !== null) throw new CodedError('ERR_NODE_TOKEN_USED', 'the node token was already used')
      if (record.configGeneration !== fields.configGeneration) {
        throw new CodedError('ERR_NODE_TOKEN_INVALID', `the node token is for config generation ${record.configGeneration}, not ${fields.configGeneration}`)
      }
      checkProof(fields.publicKey, report.proof, nodeReportProof(fields.machineId, fields.configGeneration, token))
      const before = await this.#o.machines.get(machineId)
      if (before.state !== MachineState.installing && before.state !== MachineState.provisioned) {
        throw new CodedError('ERR_INVALID_STATE', `machine ${machineId} is ${before.state}, not installing: its report is not taken`, { id: machineId, state: before.state })
      }
      const node: NodeRecord = { ...fields, publicKey: fields.publicKey.toString('base64'), reportedAt: now }
      if (!await this.#o.store.recordReport(tokenHash, node)) throw new CodedError('ERR_NODE_TOKEN_USED', 'the node token was already used')
      const state = await this.#advance(machineId)
      this.#o.events.record({
        source: 'api',
        type: EventType.nodeReported,
        machineId,
        ip: peer,
        message: `the installed node reported in from its disk: ${fields.imageName} ${fields.imageVersion}, slot ${fields.slot}, config generation ${fields.configGeneration}${fields.addresses.length > 0 ? `, addresses ${fields.addresses.join(' ')}` : ''}`,
        data: { slot: fields.slot, image: fields.imageName, version: fields.imageVersion, configGeneration: fields.configGeneration, addresses: fields.addresses, hostname: fields.hostname, bootId: fields.bootId, taskId: record.taskId, state }
      })
      await this.#o.events.flush()
      return { machineId, state }
    } catch (err) {
      if (isCodedError(err)) await this.#refusals.record(machineId, peer, err.code, err.message)
      throw err
    }
  }

  /** installing → provisioned; an already provisioned machine stays (a repeat report, a race). */
  async #advance (machineId: string): Promise<string> {
    try {
      return (await this.#o.lifecycle.apply(machineId, { type: 'nodeReported' }, { source: 'api' })).machine.state
    } catch (err) {
      if (!isCodedError(err) || err.code !== 'ERR_INVALID_STATE') throw err
      // The report is stored; whatever state another request moved the machine to stands.
      return (await this.#o.machines.get(machineId)).state
    }
  }
}

type CheckedFields = Omit<NodeRecord, 'publicKey' | 'reportedAt'> & { readonly publicKey: Buffer }

/** The report's fields within NODE_REPORT_LIMITS, addresses canonical; ERR_VALIDATION otherwise. */
function checkFields (r: NodeReport): CheckedFields {
  const text = (name: string, v: string, required: boolean): string => {
    if (required && v === '') throw invalid(`${name} is empty`)
    if (v.length > NODE_REPORT_LIMITS.text) throw invalid(`${name} is longer than ${NODE_REPORT_LIMITS.text} characters`)
    if (CONTROL.test(v)) throw invalid(`${name} contains a control character`)
    return v
  }
  const machineId = text('machineId', r.machineId, true)
  const imageName = text('imageName', r.imageName, true)
  const imageVersion = text('imageVersion', r.imageVersion, true)
  const hostname = text('hostname', r.hostname, false)
  const bootId = text('bootId', r.bootId, false)
  if (r.slot !== 'A' && r.slot !== 'B') throw invalid('slot is not A or B')
  if (!Number.isSafeInteger(r.configGeneration) || r.configGeneration < 0) throw invalid('configGeneration is not a whole number')
  if (r.addresses.length > NODE_REPORT_LIMITS.addresses) throw invalid(`more than ${NODE_REPORT_LIMITS.addresses} addresses`)
  const addresses = r.addresses.map((a, i) => {
    const p = a.length <= NODE_REPORT_LIMITS.text ? parsePrefix(a) : undefined
    if (p === undefined) throw invalid(`addresses[${i}] is not an address in CIDR notation`)
    return formatPrefix(p)
  })
  if (r.publicKey.length === 0 || r.publicKey.length > NODE_REPORT_LIMITS.publicKeyBytes) throw new CodedError('ERR_NODE_PROOF_INVALID', 'the public key is not an Ed25519 SPKI key')
  return { machineId, imageName, imageVersion, slot: r.slot, configGeneration: r.configGeneration, addresses, hostname: hostname === '' ? null : hostname, bootId: bootId === '' ? null : bootId, publicKey: r.publicKey }
}

const invalid = (why: string): CodedError => new CodedError('ERR_VALIDATION', `node report: ${why}`)

/** Ed25519 over the proof bytes with the reported key (RFC 8032 §5.1.7 via OpenSSL). */
function checkProof (spki: Buffer, signature: Buffer, message: Buffer): void {
  let key: KeyObject
  try {
    key = createPublicKey({ key: spki, format: 'der', type: 'spki' })
  } catch {
    throw new CodedError('ERR_NODE_PROOF_INVALID', 'the public key is not an SPKI DER key')
  }
  if (key.asymmetricKeyType !== 'ed25519') throw new CodedError('ERR_NODE_PROOF_INVALID', `the public key is ${String(key.asymmetricKeyType)}, not Ed25519`)
  if (signature.length !== NODE_REPORT_LIMITS.proofBytes || !verify(null, message, key, signature)) {
    throw new CodedError('ERR_NODE_PROOF_INVALID', 'the proof does not verify with the reported key')
  }
}
