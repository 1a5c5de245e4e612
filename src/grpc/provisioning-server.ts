/**
 * The provisioning gRPC listener (TLS only): serves `anvil.provisioning.v1.Provisioning/Session`
 * to discovery agents, one AgentSession per stream, everything else through the AgentGateway;
 * and `ReportIn`, an installed node's first report, straight to the NodeReports domain.
 */
import { Server, ServerCredentials, status, type ChannelOptions, type Metadata, type sendUnaryData, type ServerUnaryCall } from '@grpc/grpc-js'
import { CodedError } from '../lib/errors.ts'
import { peerAddress } from '../lib/peer-address.ts'
import type { Service } from '../lib/service.ts'
import type { Logger } from '../log/logger.ts'
import type { AgentGateway } from '../provisioning/agent-gateway.ts'
import type { NodeReport, NodeReports } from '../provisioning/node-report-service.ts'
import type { NodeReportReplyInput } from '../proto/generated/anvil/provisioning/v1/NodeReportReply.ts'
import { AgentSession, type SessionCall } from './agent-session.ts'
import type { NodeCertificateReplyInput } from '../proto/generated/anvil/provisioning/v1/NodeCertificateReply.ts'
import type { NodeCertificateRequest } from '../proto/generated/anvil/provisioning/v1/NodeCertificateRequest.ts'
import type { NodeNoticeReplyInput } from '../proto/generated/anvil/provisioning/v1/NodeNoticeReply.ts'
import type { NodeNoticeRequest } from '../proto/generated/anvil/provisioning/v1/NodeNoticeRequest.ts'
import { toStatus } from './errors.ts'
import { loadProvisioningProto } from './proto.ts'

export type ProvisioningServiceOptions = {
  /** "IP:port"; port 0 picks a free port (see address()). */
  readonly listen: string
  readonly gateway: AgentGateway
  /** Installed nodes' first reports (ReportIn); absent: ReportIn answers UNIMPLEMENTED. */
  readonly nodeReports?: NodeReports
  /** Provisioned nodes' certificate requests (IssueNodeCertificate); absent: UNIMPLEMENTED. */
  readonly nodeCertificates?: { issue (r: NodeCertificateRequest, peer: string): Promise<NodeCertificateReplyInput> }
  /** Provisioned nodes' notices of their own reset, upgrade and rollback (NodeNotice); absent: UNIMPLEMENTED. */
  readonly nodeNotices?: { notice (r: NodeNoticeRequest, peer: string): Promise<NodeNoticeReplyInput> }
  /** PEM key and certificate, e.g. from ensureServerCertificate(). */
  readonly tls: { readonly keyPem: string, readonly certPem: string }
  readonly log: Logger
  /** The .proto to load (default: src/proto/provisioning.proto beside the sources). */
  readonly protoFile?: string
  /** Default 30 s. */
  readonly helloTimeoutMs?: number
  /** How long stop() lets streams finish before cutting connections (default 5 s). */
  readonly shutdownGraceMs?: number
  /** Ping interval and answer timeout (default 20 s each: a dead agent is noticed within ~40 s). */
  readonly keepalive?: { readonly timeMs: number, readonly timeoutMs: number }
}

/** The provisioning listener: a Service that reports its bound address once started. */
export type ProvisioningService = Service & { address (): { host: string, port: number } }

/**
 * Server channel options besides keepalive (see ProvisioningServiceOptions.keepalive: an
 * unanswered ping closes the connection, which cancels the agent's stream and tells the
 * gateway). Sizes: a hardware report is well under 1 MiB even for a large server;
 * 2 MiB leaves room without letting a peer make us buffer much.
 */
const SERVER_OPTIONS: ChannelOptions = {
  'grpc.max_receive_message_length': 2 * 1024 * 1024,
  'grpc.max_send_message_length': 1024 * 1024,
  // An agent opens one stream; a few more cover reconnect overlap, not a flood.
  'grpc.max_concurrent_streams': 8
}

/** Creates the provisioning service; nothing listens before start(). */
export function createProvisioningService (opts: ProvisioningServiceOptions): ProvisioningService {
  return new ProvisioningServer(opts)
}

class ProvisioningServer implements ProvisioningService {
  readonly name = 'grpc'
  readonly #opts: ProvisioningServiceOptions
  readonly #log: Logger
  readonly #sessions = new Map<AgentSession, Promise<void>>()
  #server: Server | undefined
  #address: { host: string, port: number } | undefined
  #stopping: Promise<void> | undefined

  constructor (opts: ProvisioningServiceOptions) {
    this.#opts = opts
    this.#log = opts.log.child({ component: 'grpc' })
  }

  async start (signal: AbortSignal): Promise<void> {
    const proto = await loadProvisioningProto(this.#opts.protoFile)
    const keepalive = this.#opts.keepalive ?? { timeMs: 20_000, timeoutMs: 20_000 }
    const server = new Server({ ...SERVER_OPTIONS, 'grpc.keepalive_time_ms': keepalive.timeMs, 'grpc.keepalive_timeout_ms': keepalive.timeoutMs })
    server.addService(proto.anvil.provisioning.v1.Provisioning.service, {
      Session: (call: SessionCall) => { this.#onSession(call) },
      ReportIn: (call: ServerUnaryCall<NodeReport, NodeReportReplyInput>, callback: sendUnaryData<NodeReportReplyInput>) => { this.#onReportIn(call, callback) },
      IssueNodeCertificate: (call: ServerUnaryCall<NodeCertificateRequest, NodeCertificateReplyInput>, callback: sendUnaryData<NodeCertificateReplyInput>) => { this.#onIssueNodeCertificate(call, callback) },
      NodeNotice: (call: ServerUnaryCall<NodeNoticeRequest, NodeNoticeReplyInput>, callback: sendUnaryData<NodeNoticeReplyInput>) => { this.#onNodeNotice(call, callback) }
    })
    const { host, port } = splitListen(this.#opts.listen)
    // No client certificates: agents authenticate with their token (checkClientCertificate false).
    const creds = ServerCredentials.createSsl(null, [{ private_key: Buffer.from(this.#opts.tls.keyPem), cert_chain: Buffer.from(this.#opts.tls.certPem) }], false)
    const bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, creds, (err, p) => {
        if (err === null) resolve(p)
        else reject(new Error(`grpc: cannot listen on ${this.#opts.listen} (grpc.listen): ${err.message}`, { cause: err }))
      })
    })
    this.#server = server
    this.#address = { host, port: bound }
    signal.addEventListener('abort', () => { this.stop().catch(() => {}) }, { once: true })
    this.#log.info({ address: this.#address }, 'grpc provisioning listening (TLS)')
  }

  address (): { host: string, port: number } {
    if (this.#address === undefined) throw new Error('the grpc server is not listening')
    return this.#address
  }

  /** Ends every session with UNAVAILABLE, lets them finish within the grace period, then cuts. */
  async stop (): Promise<void> {
    this.#stopping ??= this.#shutdown()
    await this.#stopping
  }

  async #shutdown (): Promise<void> {
    const server = this.#server
    if (server === undefined) return
    const graceMs = this.#opts.shutdownGraceMs ?? 5_000
    for (const session of this.#sessions.keys()) {
      session.abort(new CodedError('ERR_SERVER_STOPPING', 'the server is shutting down; reconnect later'))
    }
    await new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        this.#log.warn({ graceMs }, 'grpc streams did not finish in time; closing their connections')
        server.forceShutdown()
        resolve()
      }, graceMs)
      server.tryShutdown(() => { clearTimeout(timer); resolve() })
    })
    // Sessions settle (and tell the gateway) once their streams are gone; run() never rejects,
    // but one may still wait on a slow gateway call: bounded by the grace period again.
    await settleWithin(Promise.all(this.#sessions.values()), graceMs)
    this.#server = undefined
    this.#log.info('grpc provisioning stopped')
  }

  /** Thin: the token and peer from the call, the domain decides, its answer or its error's status back. */
  #onReportIn (call: ServerUnaryCall<NodeReport, NodeReportReplyInput>, callback: sendUnaryData<NodeReportReplyInput>): void {
    const reports = this.#opts.nodeReports
    if (reports === undefined) {
      callback({ code: status.UNIMPLEMENTED, details: 'this server takes no node reports' })
      return
    }
    const peer = peerAddress(call.getPeer()) ?? call.getPeer()
    reports.report(nodeToken(call.metadata), call.request, peer).then(
      (reply) => { callback(null, reply) },
      (err: unknown) => { callback(toStatus(err, this.#log, { call: 'ReportIn', peer })) })
  }

  #onIssueNodeCertificate (call: ServerUnaryCall<NodeCertificateRequest, NodeCertificateReplyInput>, callback: sendUnaryData<NodeCertificateReplyInput>): void {
    const certificates = this.#opts.nodeCertificates
    if (certificates === undefined) {
      callback({ code: status.UNIMPLEMENTED, details: 'this server issues no node certificates' })
      return
    }
    const peer = peerAddress(call.getPeer()) ?? call.getPeer()
    certificates.issue(call.request, peer).then(
      (reply) => { callback(null, reply) },
      (err: unknown) => { callback(toStatus(err, this.#log, { call: 'IssueNodeCertificate', peer })) })
  }

  #onNodeNotice (call: ServerUnaryCall<NodeNoticeRequest, NodeNoticeReplyInput>, callback: sendUnaryData<NodeNoticeReplyInput>): void {
    const notices = this.#opts.nodeNotices
    if (notices === undefined) {
      callback({ code: status.UNIMPLEMENTED, details: 'this server takes no node notices' })
      return
    }
    const peer = peerAddress(call.getPeer()) ?? call.getPeer()
    notices.notice(call.request, peer).then(
      (reply) => { callback(null, reply) },
      (err: unknown) => { callback(toStatus(err, this.#log, { call: 'NodeNotice', peer })) })
  }

  #onSession (call: SessionCall): void {
    const session = new AgentSession(call, {
      gateway: this.#opts.gateway,
      log: this.#log,
      helloTimeoutMs: this.#opts.helloTimeoutMs ?? 30_000
    })
    if (this.#stopping !== undefined) session.abort(new CodedError('ERR_SERVER_STOPPING', 'the server is shutting down; reconnect later'))
    const done = session.run().finally(() => { this.#sessions.delete(session) })
    this.#sessions.set(session, done)
  }
}

/** `Node <token>` from the call's `authorization` metadata; undefined when absent or another scheme. */
function nodeToken (metadata: Metadata): string | undefined {
  const value = metadata.get('authorization')[0]
  return typeof value === 'string' ? /^Node +(\S+)$/i.exec(value.trim())?.[1] : undefined
}

async function settleWithin (p: Promise<unknown>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  await Promise.race([p, new Promise((resolve) => { timer = setTimeout(resolve, ms) })])
  clearTimeout(timer)
}

/** "IP:port" (or "[v6]:port") to its parts. */
function splitListen (listen: string): { host: string, port: number } {
  const i = listen.lastIndexOf(':')
  const host = listen.slice(0, i).replace(/^\[(.*)\]$/, '$1')
  return { host, port: Number(listen.slice(i + 1)) }
}
