import { isIP } from 'node:net'
import { checkServerIdentity, type PeerCertificate } from 'node:tls'
import { credentials, Metadata, status, type CallOptions, type ClientReadableStream, type ClientUnaryCall, type requestCallback, type ServiceError } from '@grpc/grpc-js'
import { isErrorCode } from '../lib/error-codes.ts'
import { CodedError } from '../lib/errors.ts'
import { ERROR_CODE_TRAILER } from '../grpc/errors.ts'
import type { ProtoGrpcType } from '../proto/generated/node.ts'
import type { NodeClient as GrpcNodeClient } from '../proto/generated/anvil/node/v1/Node.ts'
import type { VersionReply } from '../proto/generated/anvil/node/v1/VersionReply.ts'
import type { ServicesReply } from '../proto/generated/anvil/node/v1/ServicesReply.ts'
import type { MemoryReply } from '../proto/generated/anvil/node/v1/MemoryReply.ts'
import type { DisksReply } from '../proto/generated/anvil/node/v1/DisksReply.ts'
import type { MountsReply } from '../proto/generated/anvil/node/v1/MountsReply.ts'
import type { ProcessesReply } from '../proto/generated/anvil/node/v1/ProcessesReply.ts'
import type { ApplyConfigReply } from '../proto/generated/anvil/node/v1/ApplyConfigReply.ts'
import type { OperationReply } from '../proto/generated/anvil/node/v1/OperationReply.ts'
import type { LogLine } from '../proto/generated/anvil/node/v1/LogLine.ts'
import type { NodeBundle } from './node-bundle.ts'
import { formatAddress, type NodeAddress } from './node-targets.ts'

/** Unary calls end within this unless told otherwise (a node that accepts and never answers). */
export const DEFAULT_NODE_DEADLINE_MS = 10_000

/**
 * The SNI name sent when dialling an IP: grpc-js would send the IP itself, which RFC 6066 §3
 * forbids and Node warns about (DEP0123). It is not what is verified (see nodeCredentials).
 */
export const NODE_TLS_SERVER_NAME = 'anvil-node'

/** Node messages are short; a longer status detail is cut so a hostile node cannot flood the terminal. */
const MAX_DETAIL = 512

export type NodeClientOptions = {
  readonly proto: ProtoGrpcType
  readonly address: NodeAddress
  readonly bundle: NodeBundle
  readonly deadlineMs?: number
}

/**
 * Mutual TLS to one node: the client certificate and key of the bundle, and its CA certificates as
 * the only roots. The server certificate must chain to them and name the dialled host in its SAN
 * (the node's IP, issued by trustd). grpc-js checks the SNI name when an override is set, so the
 * check is ours: Node's own checkServerIdentity against the dialled host, whatever name was sent.
 * Node runs it only after the chain verified, and refuses the connection when it fails.
 */
function nodeCredentials (address: NodeAddress, bundle: NodeBundle): ReturnType<typeof credentials.createSsl> {
  return credentials.createSsl(Buffer.from(bundle.caPem), Buffer.from(bundle.keyPem), Buffer.from(bundle.certPem), {
    checkServerIdentity: (_sni: string, cert: PeerCertificate) => checkServerIdentity(address.host, cert)
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

type Unary<Req, Res> = (req: Req, md: Metadata, options: CallOptions, cb: requestCallback<Res>) => ClientUnaryCall

/** A client of anvil.node.v1.Node on one node; close() it when done. */
export class NodeApiClient {
  readonly #client: GrpcNodeClient
  readonly #label: string
  readonly #deadlineMs: number

  constructor (options: NodeClientOptions) {
    const { address } = options
    this.#label = formatAddress(address)
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_NODE_DEADLINE_MS
    this.#client = new options.proto.anvil.node.v1.Node(this.#label, nodeCredentials(address, options.bundle), {
      ...(isIP(address.host) !== 0 ? { 'grpc.ssl_target_name_override': NODE_TLS_SERVER_NAME } : {}),
      // No retry of a mutating call behind the operator's back (a Reboot sent twice).
      'grpc.enable_retries': 0
    })
  }

  async #unary<Req, Res> (call: Unary<Req, Res>, req: Req): Promise<Res> {
    return await new Promise<Res>((resolve, reject) => {
      call(req, new Metadata(), { deadline: Date.now() + this.#deadlineMs }, (err, res) => {
        if (err !== null || res === undefined) reject(err === null ? new CodedError('ERR_INTERNAL', `the node API at ${this.#label} answered nothing`) : nodeError(err, this.#label))
        else resolve(res)
      })
    })
  }

  async version (): Promise<VersionReply> { return await this.#unary((r, m, o, cb) => this.#client.version(r, m, o, cb), {}) }
  async services (): Promise<ServicesReply> { return await this.#unary((r, m, o, cb) => this.#client.services(r, m, o, cb), {}) }
  async memory (): Promise<MemoryReply> { return await this.#unary((r, m, o, cb) => this.#client.memory(r, m, o, cb), {}) }
  async disks (): Promise<DisksReply> { return await this.#unary((r, m, o, cb) => this.#client.disks(r, m, o, cb), {}) }
  async mounts (): Promise<MountsReply> { return await this.#unary((r, m, o, cb) => this.#client.mounts(r, m, o, cb), {}) }
  async processes (): Promise<ProcessesReply> { return await this.#unary((r, m, o, cb) => this.#client.processes(r, m, o, cb), {}) }
  async reboot (mode: 'default' | 'force'): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.reboot(r, m, o, cb), { mode }) }
  async shutdown (force: boolean): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.shutdown(r, m, o, cb), { force }) }
  async reset (req: { graceful: boolean, wipe: string }): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.reset(r, m, o, cb), req) }
  async applyConfig (req: { config: Buffer, configSignature: string, mode: string, tryTimeoutS: number, dryRun: boolean }): Promise<ApplyConfigReply> { return await this.#unary((r, m, o, cb) => this.#client.applyConfig(r, m, o, cb), req) }

  /** The kernel log: the last `tail` lines (0: all kept), then, with `follow`, new ones until `signal` aborts. */
  dmesg (req: { follow: boolean, tail: number }, signal?: AbortSignal): AsyncGenerator<LogLine> {
    return this.#stream(this.#client.dmesg(req), signal)
  }

  /** One service's output, as dmesg. */
  logs (req: { service: string, follow: boolean, tail: number }, signal?: AbortSignal): AsyncGenerator<LogLine> {
    return this.#stream(this.#client.logs(req), signal)
  }

  /**
   * A server stream as an async generator. Streams have no deadline (a follow lasts until Ctrl-C);
   * an unreachable node still fails at once (no wait-for-ready). Aborting `signal` cancels the call
   * and ends the generator without an error.
   */
  async * #stream (call: ClientReadableStream<LogLine>, signal?: AbortSignal): AsyncGenerator<LogLine> {
    const cancel = (): void => { call.cancel() }
    if (signal?.aborted === true) cancel()
    signal?.addEventListener('abort', cancel, { once: true })
    try {
      for await (const line of call) yield line as LogLine
    } catch (err) {
      const code = (err as Partial<ServiceError>).code
      if (typeof code !== 'number') throw err
      if (code === status.CANCELLED && signal?.aborted === true) return
      throw nodeError(err as ServiceError, this.#label)
    } finally {
      signal?.removeEventListener('abort', cancel)
      call.cancel()
    }
  }

  close (): void {
    this.#client.close()
  }
}
