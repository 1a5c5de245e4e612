/**
 * Anvil's side of a node's certificate request (IssueNodeCertificate, issue 11): its trustd asks
 * for apid's server certificate at boot and at half of each certificate's lifetime. The caller is
 * unauthenticated until the signature is checked, so everything is bounded first; the signature
 * with the identity key its ReportIn registered is the only credential (no bearer secret a node
 * could leak), and the names are Anvil's to decide: only the addresses the node reported and its
 * hostname, never more. Checks, in order (each refusal a bounded `node.refused` event):
 *   1. fields within bounds; the TLS key an Ed25519 SPKI (ERR_VALIDATION, ERR_CERT_KEY_INVALID)
 *   2. the request's clock within 5 minutes of Anvil's (ERR_NODE_PROOF_INVALID)
 *   3. a node key registered for the machine, and the signature verifies with it (ERR_NODE_PROOF_INVALID)
 *   4. the machine is provisioned (ERR_INVALID_STATE)
 *   5. the names: only those that are the node's (an address it reported or the one it asks
 *      from, its hostname) go into the certificate, the rest are left out (and said so);
 *      none left: ERR_VALIDATION
 * Then the CA signs, and `node.certified` goes to the timeline.
 */
import { createPublicKey, verify, type KeyObject } from 'node:crypto'
import { CodedError, isCodedError } from '../lib/errors.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import { MachineState } from '../inventory/machine.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Clock } from '../inventory/ports.ts'
import { formatIp, parseIp, parsePrefix } from '../machine-config/ip.ts'
import { nodeCertificateProof } from '../node-state/certificate-proof.ts'
import type { NodeCertificateRequest } from '../proto/generated/anvil/provisioning/v1/NodeCertificateRequest.ts'
import { NodeRefusals } from './refusal-events.ts'

export type { NodeCertificateRequest }

export const NODE_CERTIFICATE_LIMITS = {
  text: 253,
  ips: 16,
  dnsNames: 4,
  publicKeyBytes: 128,
  signatureBytes: 64,
  /** How far the node's clock may be from Anvil's. */
  clockSkewMs: 5 * 60_000
} as const

/** What the store knows of a node that reported in (machine_nodes). */
export type RegisteredNode = {
  /** Ed25519 SPKI DER, base64. */
  readonly publicKey: string
  /** CIDR strings, as the node reported them. */
  readonly addresses: readonly string[]
  readonly hostname: string | null
}

export interface RegisteredNodes {
  registeredNode (machineId: string): Promise<RegisteredNode | undefined>
}

/** The CA port (src/pki/node-ca.ts): a server certificate for a node's TLS key. */
export interface NodeServerCa {
  readonly caPem: string
  issueServer (r: { publicKey: KeyObject, machineId: string, ips: readonly string[], dnsNames: readonly string[] }): { certificatePem: string, notAfter: Date }
}

/**
 * The port over Anvil's node CA (src/pki/node-ca.ts NodeCa, passed in structurally: the domain
 * does not import the CA's module).
 */
export function nodeServerCa (ca: { readonly certPem: string, issueServer (r: { publicKey: KeyObject, machineId: string, ips: readonly string[], dnsNames: readonly string[] }): { certPem: string, notAfter: Date } }): NodeServerCa {
  return {
    caPem: ca.certPem,
    issueServer: (r) => {
      const c = ca.issueServer(r)
      return { certificatePem: c.certPem, notAfter: c.notAfter }
    }
  }
}

export type NodeCertificateReply = { certificatePem: string, caPem: string, notAfterMs: number }

export type NodeCertificateServiceOptions = {
  readonly nodes: RegisteredNodes
  readonly machines: Pick<MachineService, 'get'>
  readonly ca: NodeServerCa
  readonly events: BootEventSink & { flush (): Promise<void> }
  readonly clock: Clock
  /** `node.refused` events per minute at most (default 30). */
  readonly refusalsPerMinute?: number
}

// Refused anywhere in a string: C0/C1 controls, so nothing from a node can forge a log or timeline line.
const CONTROL = /\p{Cc}/u

export class NodeCertificateService {
  readonly #o: NodeCertificateServiceOptions
  readonly #refusals: NodeRefusals

  constructor (options: NodeCertificateServiceOptions) {
    this.#o = options
    this.#refusals = new NodeRefusals({ events: options.events, clock: options.clock, what: 'a node certificate request', ...(options.refusalsPerMinute === undefined ? {} : { perMinute: options.refusalsPerMinute }) })
  }

  async issue (r: NodeCertificateRequest, peer: string): Promise<NodeCertificateReply> {
    let machineId: string | undefined
    try {
      const f = checkFields(r)
      const now = this.#o.clock.now()
      const skew = f.requestedAtMs - now
      if (Math.abs(skew) > NODE_CERTIFICATE_LIMITS.clockSkewMs) {
        throw new CodedError('ERR_NODE_PROOF_INVALID', `the request is dated ${Math.round(skew / 1000)} s from Anvil's clock (at most ${NODE_CERTIFICATE_LIMITS.clockSkewMs / 1000} s): set the node's time`)
      }
      const node = await this.#o.nodes.registeredNode(f.machineId)
      if (node === undefined) throw new CodedError('ERR_NODE_PROOF_INVALID', 'no node key is registered for this machine: it has not reported in')
      const identity = createPublicKey({ key: Buffer.from(node.publicKey, 'base64'), format: 'der', type: 'spki' })
      const proof = nodeCertificateProof({ machineId: f.machineId, tlsPublicKey: r.tlsPublicKey, ips: r.ips, dnsNames: r.dnsNames, requestedAtMs: f.requestedAtMs })
      if (r.signature.length !== NODE_CERTIFICATE_LIMITS.signatureBytes || !verify(null, proof, identity, r.signature)) {
        throw new CodedError('ERR_NODE_PROOF_INVALID', 'the request\'s signature does not verify with the node key this machine registered')
      }
      machineId = f.machineId
      const machine = await this.#o.machines.get(f.machineId)
      if (machine.state !== MachineState.provisioned) {
        throw new CodedError('ERR_INVALID_STATE', `machine ${f.machineId} is ${machine.state}, not provisioned: no node certificate`, { id: f.machineId, state: machine.state })
      }
      // Its own: what it reported, and the address this request came from (a TCP peer, which an
      // attacker off-path cannot choose); a lease renewed to another address stays usable.
      const own = new Set(node.addresses.map((a) => parsePrefix(a)).filter((p) => p !== undefined).map((p) => formatIp(p.ip)))
      const from = parseIp(peer)
      if (from !== undefined) own.add(formatIp(from))
      // The CA vouches for what it knows, and leaves the rest out (a SLAAC address the node got
      // after its report, say): the signature covers the request, a subset of it is no more.
      const ips = f.ips.filter((ip) => own.has(ip))
      const dnsNames = f.dnsNames.filter((name) => name === node.hostname)
      const left = [...f.ips.filter((ip) => !own.has(ip)), ...f.dnsNames.filter((name) => name !== node.hostname)]
      if (ips.length + dnsNames.length === 0) {
        throw new CodedError('ERR_VALIDATION', `none of ${left.join(' ')} is this node's: its reported addresses are ${[...own].join(' ') || 'none'}, its hostname ${node.hostname ?? 'none'}`)
      }
      const issued = this.#o.ca.issueServer({ publicKey: f.tlsKey, machineId: f.machineId, ips, dnsNames })
      this.#o.events.record({
        source: 'api',
        type: EventType.nodeCertified,
        machineId: f.machineId,
        ip: peer,
        message: `issued the node's apid certificate for ${[...ips, ...dnsNames].join(' ')}, valid until ${issued.notAfter.toISOString()}${left.length > 0 ? ` (left out, not known as the node's: ${left.join(' ')})` : ''}`,
        data: { ips, dnsNames, leftOut: left, notAfter: issued.notAfter.getTime() }
      })
      await this.#o.events.flush()
      return { certificatePem: issued.certificatePem, caPem: this.#o.ca.caPem, notAfterMs: issued.notAfter.getTime() }
    } catch (err) {
      if (isCodedError(err)) await this.#refusals.record(machineId, peer, err.code, err.message)
      throw err
    }
  }
}

type Checked = { machineId: string, tlsKey: KeyObject, ips: string[], dnsNames: string[], requestedAtMs: number }

/** Bounds, before anything is looked up; addresses canonical (the proof signs the request's own strings). */
function checkFields (r: NodeCertificateRequest): Checked {
  const L = NODE_CERTIFICATE_LIMITS
  const text = (name: string, v: string): string => {
    if (v === '') throw invalid(`${name} is empty`)
    if (v.length > L.text) throw invalid(`${name} is longer than ${L.text} characters`)
    if (CONTROL.test(v)) throw invalid(`${name} contains a control character`)
    return v
  }
  const machineId = text('machineId', r.machineId)
  if (r.ips.length > L.ips) throw invalid(`more than ${L.ips} addresses`)
  if (r.dnsNames.length > L.dnsNames) throw invalid(`more than ${L.dnsNames} DNS names`)
  if (r.ips.length + r.dnsNames.length === 0) throw invalid('no name asked for: a certificate needs an address or the hostname')
  const ips = r.ips.map((a, i) => {
    const ip = parseIp(text(`ips[${i}]`, a))
    if (ip === undefined || formatIp(ip) !== a) throw invalid(`ips[${i}] is not an address in canonical form`)
    return a
  })
  const dnsNames = r.dnsNames.map((d, i) => text(`dnsNames[${i}]`, d))
  if (!Number.isSafeInteger(r.requestedAtMs)) throw invalid('requestedAtMs is not a time')
  if (r.tlsPublicKey.length === 0 || r.tlsPublicKey.length > L.publicKeyBytes) throw new CodedError('ERR_CERT_KEY_INVALID', 'the TLS key is not an Ed25519 SPKI')
  let tlsKey: KeyObject
  try {
    tlsKey = createPublicKey({ key: r.tlsPublicKey, format: 'der', type: 'spki' })
  } catch {
    throw new CodedError('ERR_CERT_KEY_INVALID', 'the TLS key is not an Ed25519 SPKI')
  }
  if (tlsKey.asymmetricKeyType !== 'ed25519') throw new CodedError('ERR_CERT_KEY_INVALID', `the TLS key is ${tlsKey.asymmetricKeyType ?? 'of an unknown type'}, not Ed25519`)
  return { machineId, tlsKey, ips, dnsNames, requestedAtMs: r.requestedAtMs }
}

function invalid (message: string): CodedError {
  return new CodedError('ERR_VALIDATION', `node certificate request: ${message}`)
}
