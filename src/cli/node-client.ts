import { status, type ClientReadableStream, type ServiceError } from '@grpc/grpc-js'
import { createNodeGrpcClient, DEFAULT_NODE_DEADLINE_MS, NODE_TLS_SERVER_NAME, nodeError, unaryCall, type UnaryMethod } from '../node-client/node-api-client.ts'
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
import type { OperationsReply } from '../proto/generated/anvil/node/v1/OperationsReply.ts'
import type { UpgradeRequest } from '../proto/generated/anvil/node/v1/UpgradeRequest.ts'
import type { LogLine } from '../proto/generated/anvil/node/v1/LogLine.ts'
import type { NodeBundle } from './node-bundle.ts'
import { formatAddress, type NodeAddress } from './node-targets.ts'

// The shared part (credentials, errors, the channel) lives in src/node-client/, which Anvil's server uses too.
export { DEFAULT_NODE_DEADLINE_MS, NODE_TLS_SERVER_NAME, nodeError }

/** An Upgrade answers once its slot is written and read back: minutes on a slow disk or link. */
export const UPGRADE_DEADLINE_MS = 30 * 60_000

export type NodeClientOptions = {
  readonly proto: ProtoGrpcType
  readonly address: NodeAddress
  readonly bundle: NodeBundle
  readonly deadlineMs?: number
  /** More grpc-js channel options (a benchmark's own subchannel pool, so clients do not share a connection). */
  readonly channelOptions?: Readonly<Record<string, number | string>>
}

/** A client of anvil.node.v1.Node on one node; close() it when done. */
export class NodeApiClient {
  readonly #client: GrpcNodeClient
  readonly #label: string
  readonly #deadlineMs: number

  constructor (options: NodeClientOptions) {
    const { address } = options
    this.#label = formatAddress(address)
    this.#deadlineMs = options.deadlineMs ?? DEFAULT_NODE_DEADLINE_MS
    this.#client = createNodeGrpcClient(options.proto, address, options.bundle, options.channelOptions)
  }

  async #unary<Req, Res> (call: UnaryMethod<Req, Res>, req: Req): Promise<Res> {
    return await unaryCall(call, req, this.#label, this.#deadlineMs)
  }

  async version (): Promise<VersionReply> { return await this.#unary((r, m, o, cb) => this.#client.version(r, m, o, cb), {}) }
  async services (): Promise<ServicesReply> { return await this.#unary((r, m, o, cb) => this.#client.services(r, m, o, cb), {}) }
  async memory (): Promise<MemoryReply> { return await this.#unary((r, m, o, cb) => this.#client.memory(r, m, o, cb), {}) }
  async disks (): Promise<DisksReply> { return await this.#unary((r, m, o, cb) => this.#client.disks(r, m, o, cb), {}) }
  async mounts (): Promise<MountsReply> { return await this.#unary((r, m, o, cb) => this.#client.mounts(r, m, o, cb), {}) }
  async processes (): Promise<ProcessesReply> { return await this.#unary((r, m, o, cb) => this.#client.processes(r, m, o, cb), {}) }
  async reboot (mode: 'default' | 'force'): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.reboot(r, m, o, cb), { mode }) }
  /** Upgrade: the node fetches, writes and verifies the slot before it answers, hence its own deadline. */
  async upgrade (req: UpgradeRequest, deadlineMs = UPGRADE_DEADLINE_MS): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.upgrade(r, m, { ...o, deadline: Date.now() + deadlineMs }, cb), req) }
  async rollback (): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.rollback(r, m, o, cb), {}) }
  async operations (): Promise<OperationsReply> { return await this.#unary((r, m, o, cb) => this.#client.operations(r, m, o, cb), {}) }
  async getOperation (id: string): Promise<OperationReply> { return await this.#unary((r, m, o, cb) => this.#client.getOperation(r, m, o, cb), { id }) }
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
