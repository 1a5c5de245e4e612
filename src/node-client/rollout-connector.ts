import { generateKeyPairSync } from 'node:crypto'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { CLIENT_TTL, type ClientCertificateRequest, type IssuedCertificate } from '../pki/node-ca.ts'
import type { ProtoGrpcType } from '../proto/generated/node.ts'
import type { OperationReply } from '../proto/generated/anvil/node/v1/OperationReply.ts'
import type { NodeConnector, NodeOperationView, NodeSession, UpgradeOrder } from '../provisioning/rollout-ports.ts'
import { endpointLabel, NodeUpgradeClient, type NodeEndpoint, type NodeTlsCredential } from './node-api-client.ts'

/** The CN of the client certificates Anvil's server presents to nodes (their audit names it). */
export const ROLLOUT_CLIENT_NAME = 'anvil-rollout'

export type RolloutConnectorOptions = {
  readonly proto: ProtoGrpcType
  /** Anvil's node CA: it issues the client certificate, and its certificate is the only root a node's must chain to. */
  readonly ca: { readonly certPem: string, issueClient (req: ClientCertificateRequest): IssuedCertificate }
  /** Per call (default 10 s). */
  readonly deadlineMs?: number
}

function operationOf (reply: OperationReply, node: string): NodeOperationView {
  const op = reply.operation
  if (op === null || op === undefined || op.id === '') throw new CodedError('ERR_INTERNAL', `the node API at ${node} answered no operation`)
  return { id: op.id, state: op.state, phase: op.phase, error: op.error, errorCode: op.errorCode, fromVersion: op.fromVersion, toVersion: op.toVersion }
}

/**
 * One machine's session: a fresh Ed25519 key and an admin client certificate from Anvil's node CA
 * for it (the key never leaves this process, nor is it written anywhere), living as long as the
 * machine's follow may last. A call that finds the node unreachable drops the channel, so the
 * next one dials afresh (a rebooted node is reached at once, not after grpc-js's reconnect backoff).
 */
class RolloutSession implements NodeSession {
  readonly #o: RolloutConnectorOptions
  readonly #address: NodeEndpoint
  readonly #tls: NodeTlsCredential
  #client: NodeUpgradeClient | undefined

  constructor (o: RolloutConnectorOptions, address: NodeEndpoint, ttlMs: number) {
    this.#o = o
    this.#address = address
    const { privateKey, publicKey } = generateKeyPairSync('ed25519')
    const ttl = Math.min(CLIENT_TTL.maxMs, Math.max(CLIENT_TTL.minMs, ttlMs))
    const cert = o.ca.issueClient({ publicKey, role: 'admin', name: ROLLOUT_CLIENT_NAME, ttlMs: ttl })
    this.#tls = { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem: cert.certPem, caPem: o.ca.certPem }
  }

  async #call<T> (fn: (c: NodeUpgradeClient) => Promise<T>): Promise<T> {
    this.#client ??= new NodeUpgradeClient({ proto: this.#o.proto, address: this.#address, tls: this.#tls, ...(this.#o.deadlineMs === undefined ? {} : { deadlineMs: this.#o.deadlineMs }) })
    try {
      return await fn(this.#client)
    } catch (err) {
      if (isCodedError(err) && err.code === 'ERR_NODE_UNREACHABLE') this.close()
      throw err
    }
  }

  async upgrade (order: UpgradeOrder): Promise<NodeOperationView> {
    const reply = await this.#call(async c => await c.upgrade({ ...order, manifest: Buffer.from(order.manifest, 'utf8') }))
    return operationOf(reply, endpointLabel(this.#address))
  }

  async operation (id: string): Promise<NodeOperationView> {
    return operationOf(await this.#call(async c => await c.getOperation(id)), endpointLabel(this.#address))
  }

  async version (): Promise<{ imageName: string, imageVersion: string, slot: string }> {
    const v = await this.#call(async c => await c.version())
    return { imageName: v.imageName, imageVersion: v.imageVersion, slot: v.slot }
  }

  close (): void {
    this.#client?.close()
    this.#client = undefined
  }
}

/** The NodeConnector of Anvil's server: mutual TLS to apid, Anvil as an admin client of its own node CA. */
export function rolloutConnector (options: RolloutConnectorOptions): NodeConnector {
  return { connect: (t) => new RolloutSession(options, { host: t.host, port: t.port }, t.ttlMs) }
}
