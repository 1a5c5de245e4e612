/**
 * apid: the node's only network API. A grpc-js server with mutual TLS on TCP 50000 that checks the
 * caller's role per method (roles.ts) and forwards every call of anvil.node.v1.Node unchanged to
 * machined's unix socket (proxy.ts). Its certificate rotates without a restart (credentials.ts).
 */
import { Client, Server, credentials as channelCredentials, type ChannelOptions, type ServiceDefinition } from '@grpc/grpc-js'
import type { X509Certificate } from 'node:crypto'
import { loadNodeProto } from '../../grpc/proto.ts'
import { CodedError } from '../../lib/errors.ts'
import type { Logger } from '../../log/logger.ts'
import { RotatingServerCredentials, type ApidPems, type CertificateProvider, type IdentityUpdate } from './credentials.ts'
import { passThroughDefinition, proxyImplementation } from './proxy.ts'

export type ApidOptions = {
  /** "host:port" (default port 50000); port 0 picks a free port, see address(). */
  readonly listen: string
  /** The node CA (client certificates must chain to it) and apid's own key and certificate, or a provider of both. */
  readonly credentials: ApidPems | CertificateProvider
  /** machined's node API socket (default /run/anvil/machined.sock). */
  readonly machinedSocket?: string
  readonly log: Logger
  /** The node.proto to load (the node image bundles a copy beside apid). */
  readonly protoFile?: string
  readonly limits?: Partial<ApidLimits>
}

/** What one peer can cost apid. Every peer has passed the TLS handshake, but bound it anyway. */
export type ApidLimits = {
  /** A TLS handshake not finished in this time is cut (Node's default is 120 s). */
  readonly handshakeTimeoutMs: number
  /** Streams per connection (HTTP/2 SETTINGS_MAX_CONCURRENT_STREAMS). */
  readonly maxConcurrentStreams: number
  /** The biggest request is ApplyConfig's: a machine config (at most 256 KiB) and its signature. */
  readonly maxRequestBytes: number
  /** A Processes reply of a busy node (64 arguments of 256 characters each per process) fits. */
  readonly maxResponseBytes: number
  /** A unary call's upstream deadline is at most this, whatever the client asked. */
  readonly maxUnaryMs: number
  /** HTTP/2 memory per connection, in MB (grpc-js leaves it unbounded by default). */
  readonly maxSessionMemoryMb: number
}

export const DEFAULT_LIMITS: ApidLimits = {
  handshakeTimeoutMs: 10_000,
  maxConcurrentStreams: 32,
  maxRequestBytes: 320 * 1024,
  maxResponseBytes: 16 * 1024 * 1024,
  maxUnaryMs: 120_000,
  maxSessionMemoryMb: 32
}

export const DEFAULT_MACHINED_SOCKET = '/run/anvil/machined.sock'

/** A running apid. */
export type Apid = {
  address (): { host: string, port: number }
  /** Swaps the server certificate (and the CA if given) for new connections; open streams continue. Throws ERR_CERT_KEY_INVALID and keeps the old one if the pair is unusable. */
  rotate (update: IdentityUpdate): void
  /** The certificate new connections are offered (undefined while a provider has delivered none). */
  currentCertificate (): X509Certificate | undefined
  /** Stops accepting calls, lets open ones finish for graceMs (default 5 s), then cuts them. */
  stop (graceMs?: number): Promise<void>
}

/** "host:port", "[v6]:port" or ":port" into host and port. */
export function splitListen (listen: string): { host: string, port: number } {
  const m = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen)
  const port = Number(m?.[3])
  if (m === null || port > 65535) throw new CodedError('ERR_INVALID_CONFIG', `apid: listen must be host:port, not ${JSON.stringify(listen)}`)
  return { host: m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2]), port }
}

/** Starts apid: listening and serving when the promise resolves. */
export async function startApid (opts: ApidOptions): Promise<Apid> {
  const log = opts.log.child({ component: 'apid' })
  const limits: ApidLimits = { ...DEFAULT_LIMITS, ...opts.limits }
  const proto = await loadNodeProto(opts.protoFile)
  const service: ServiceDefinition = proto.anvil.node.v1.Node.service
  const socket = opts.machinedSocket ?? DEFAULT_MACHINED_SOCKET
  // First, so that an unusable key or certificate fails the start before anything is opened.
  const creds = new RotatingServerCredentials(opts.credentials, {
    handshakeTimeoutMs: limits.handshakeTimeoutMs,
    onRejectedUpdate: (err) => { log.error({ err }, 'certificate update refused; the previous certificate stays in use') }
  })
  const upstream = new Client(`unix:${socket}`, channelCredentials.createInsecure(), upstreamOptions(limits))
  const server = new Server(serverOptions(limits))
  server.addService(passThroughDefinition(service), proxyImplementation({ service, upstream, log, maxUnaryMs: limits.maxUnaryMs }))
  const { host, port } = splitListen(opts.listen)
  let bound: number
  try {
    bound = await new Promise<number>((resolve, reject) => {
      server.bindAsync(`${host.includes(':') ? `[${host}]` : host}:${port}`, creds, (err, p) => {
        if (err === null) resolve(p)
        else reject(new CodedError('ERR_LISTEN', `apid: cannot listen on ${opts.listen}: ${err.message}`, undefined, { cause: err }))
      })
    })
  } catch (err) {
    upstream.close()
    throw err
  }
  const address = { host, port: bound }
  log.info({ address, machinedSocket: socket, certificate: creds.currentCertificate()?.fingerprint256 }, 'apid listening (mutual TLS)')
  let stopping: Promise<void> | undefined
  return {
    address: () => address,
    rotate: (update) => {
      creds.rotate(update)
      const cert = creds.currentCertificate()
      log.info({ fingerprint: cert?.fingerprint256, serial: cert?.serialNumber, validTo: cert?.validTo }, 'apid certificate rotated')
    },
    currentCertificate: () => creds.currentCertificate(),
    stop: async (graceMs = 5_000) => {
      stopping ??= shutdown(server, upstream, graceMs, log)
      await stopping
    }
  }
}

function serverOptions (limits: ApidLimits): ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxRequestBytes,
    'grpc.max_send_message_length': limits.maxResponseBytes,
    'grpc.max_concurrent_streams': limits.maxConcurrentStreams,
    'grpc-node.max_session_memory': limits.maxSessionMemoryMb,
    // A vanished client's follow stream is noticed within ~40 s instead of TCP's hours.
    'grpc.keepalive_time_ms': 30_000,
    'grpc.keepalive_timeout_ms': 10_000,
    'grpc.max_connection_idle_ms': 5 * 60_000
  }
}

function upstreamOptions (limits: ApidLimits): ChannelOptions {
  return {
    'grpc.max_receive_message_length': limits.maxResponseBytes,
    'grpc.max_send_message_length': limits.maxRequestBytes,
    // machined restarts under supervision; over a local socket a quick retry costs nothing,
    // and grpc-js's default backoff (up to 120 s) would keep apid answering UNAVAILABLE long after.
    'grpc.initial_reconnect_backoff_ms': 100,
    'grpc.max_reconnect_backoff_ms': 2_000
  }
}

async function shutdown (server: Server, upstream: Client, graceMs: number, log: Logger): Promise<void> {
  await new Promise<void>((resolve) => {
    const timer = setTimeout(() => {
      log.warn({ graceMs }, 'apid calls did not finish in time; closing their connections')
      server.forceShutdown()
      resolve()
    }, graceMs)
    server.tryShutdown(() => { clearTimeout(timer); resolve() })
  })
  upstream.close()
}
