import { isIP } from 'node:net'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { credentials, Metadata, status, type CallOptions, type ClientUnaryCall, type requestCallback, type ServiceError } from '@grpc/grpc-js'
import { isErrorCode } from '../lib/error-codes.ts'
import { CodedError } from '../lib/errors.ts'
import { ERROR_CODE_TRAILER } from '../grpc/errors.ts'
import type { ProtoGrpcType } from '../proto/generated/node.ts'
import type { NodeClient as GrpcNodeClient } from '../proto/generated/anvil/node/v1/Node.ts'
import type { VersionReply } from '../proto/generated/anvil/node/v1/VersionReply.ts'
import type { OperationReply } from '../proto/generated/anvil/node/v1/OperationReply.ts'
import type { UpgradeRequestInput } from '../proto/generated/anvil/node/v1/UpgradeRequest.ts'

/*
 * The client side of anvil.node.v1.Node shared by the CLI (`anvil -n NODE …`, src/cli/node-client.ts)
 * and Anvil's server (the rolling upgrade): mutual TLS to one node, errors as coded errors.
 */

/** Unary calls end within this unless told otherwise (a node that accepts and never answers). */
export const DEFAULT_NODE_DEADLINE_MS = 10_000

/**
 * The SNI name sent when dialling an IP: grpc-js would send the IP itself, which RFC 6066 §3
 * forbids and Node warns about (DEP0123). It is not what is verified (see nodeCredentials).
 */
export const NODE_TLS_SERVER_NAME = 'anvil-node'

/** Node messages are short; a longer status detail is cut so a hostile node cannot flood a terminal or a row. */
const MAX_DETAIL = 512

/** Where a node's apid listens. */
export type NodeEndpoint = { readonly host: string, readonly port: number }

/** A client credential for the node API: PEM key, client certificate, and the CA certificates that pin the node. */
export type NodeTlsCredential = { readonly keyPem: string, readonly certPem: string, readonly caPem: string }

/** `host:port`, IPv6 in brackets: a grpc-js target. */
export function endpointLabel (a: NodeEndpoint): string {
  return isIP(a.host) === 6 ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`
}

/**
 * Mutual TLS to one node: the client certificate and key, and the CA certificates as the only
 * roots. The server certificate must chain to them and name the dialled host in its SAN (the
 * node's IP, issued by trustd). grpc-js checks the SNI name when an override is set, so the check
 * is ours: Node's own checkServerIdentity against the dialled host, whatever name was sent. Node
 * runs it only after the chain verified, and refuses the connection when it fails.
 */
export function nodeCredentials (address: NodeEndpoint, tls: NodeTlsCredential): ReturnType<typeof credentials.createSsl> {
  return credentials.createSsl(Buffer.from(tls.caPem), Buffer.from(tls.keyPem), Buffer.from(tls.certPem), {
    checkServerIdentity: (_sni: string, cert: PeerCertificate) => checkServerIdentity(address.host, cert)
  })
}

/** A grpc-js client of the Node service on one node, with mutual TLS as nodeCredentials says. */
export function createNodeGrpcClient (proto: ProtoGrpcType, address: NodeEndpoint, tls: NodeTlsCredential, channelOptions: Readonly<Record<string, number | string>> = {}): GrpcNodeClient {
  return new proto.anvil.node.v1.Node(endpointLabel(address), nodeCredentials(address, tls), {
    ...(isIP(address.host) !== 0 ? { 'grpc.ssl_target_name_override': NODE_TLS_SERVER_NAME } : {}),
    // No retry of a mutating call behind the operator's back (a Reboot or an Upgrade sent twice).
    'grpc.enable_retries': 0,
    ...channelOptions
  })
}

/** A grpc-js failure as a coded error: the node's own code from the trailer when it sent one. */
export function nodeError (err: ServiceError, node: string): CodedError {
  // grpc-js appends "Resolution note: …" to a failed connection's details, often with nothing after it.
  const details = (err.details ?? '').replace(/\s*Resolution note:\s*$/, '').slice(0, MAX_DETAIL)
  const trailer = err.metadata?.get(ERROR_CODE_TRAILER)[0]
  if (typeof trailer === 'string' && isErrorCode(trailer)) return new CodedError(trailer, details, { node, grpcStatus: err.code })
  if (err.code === status.UNAVAILABLE || err.code === status.DEADLINE_EXCEEDED) {
    // A refused TLS handshake (a server certificate from another CA, a wrong SAN) lands here too:
    // the details say which.
    return new CodedError('ERR_NODE_UNREACHABLE', `cannot reach the node API at ${node}: ${details}`, { node, grpcStatus: err.code })
  }
  if (err.code === status.PERMISSION_DENIED) return new CodedError('ERR_NODE_ROLE_DENIED', details, { node })
  if (err.code === status.UNAUTHENTICATED) return new CodedError('ERR_NODE_CERT_INVALID', details, { node })
  return new CodedError('ERR_INTERNAL', `the node API at ${node} answered ${status[err.code] ?? err.code}: ${details}`, { node, grpcStatus: err.code })
}

/** One generated unary method, bound: (request, metadata, options, callback). */
export type UnaryMethod<Req, Res> = (req: Req, md: Metadata, options: CallOptions, cb: requestCallback<Res>) => ClientUnaryCall

/** A unary call as a promise, with a deadline; failures as nodeError says. */
export async function unaryCall<Req, Res> (call: UnaryMethod<Req, Res>, req: Req, node: string, deadlineMs: number): Promise<Res> {
  return await new Promise<Res>((resolve, reject) => {
    call(req, new Metadata(), { deadline: Date.now() + deadlineMs }, (err, res) => {
      if (err !== null || res === undefined) reject(err === null ? new CodedError('ERR_INTERNAL', `the node API at ${node} answered nothing`) : nodeError(err, node))
      else resolve(res)
    })
  })
}

/** What Anvil's server asks a node while it upgrades it: version, Upgrade, GetOperation. */
export class NodeUpgradeClient {
  readonly #client: GrpcNodeClient
  readonly #label: string
  readonly #deadlineMs: number

  constructor (options: { readonly proto: ProtoGrpcType, readonly address: NodeEndpoint, readonly tls: NodeTlsCredential, readonly deadlineMs?: number }) {
    this.#label = endpointLabel(options.address)
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_NODE_DEADLINE_MS
    this.#client = createNodeGrpcClient(options.proto, options.address, options.tls)
  }

  async version (): Promise<VersionReply> {
    return await unaryCall((r, m, o, cb) => this.#client.version(r, m, o, cb), {}, this.#label, this.#deadlineMs)
  }

  async upgrade (req: UpgradeRequestInput): Promise<OperationReply> {
    return await unaryCall((r, m, o, cb) => this.#client.upgrade(r, m, o, cb), req, this.#label, this.#deadlineMs)
  }

  async getOperation (id: string): Promise<OperationReply> {
    return await unaryCall((r, m, o, cb) => this.#client.getOperation(r, m, o, cb), { id }, this.#label, this.#deadlineMs)
  }

  close (): void {
    this.#client.close()
  }
}
