import { EventEmitter, once } from 'node:events'
import { Writable } from 'node:stream'
import { createProvisioningService, type ProvisioningService } from '../../src/grpc/provisioning-server.ts'
import type { ServerCertificate } from '../../src/grpc/tls.ts'
import { createLogger } from '../../src/log/logger.ts'
import type { AgentAuth, AgentDirective, AgentGateway, AgentStream, HardwareReport, Hello, OpenedStream, TaskProgress, TaskResult } from '../../src/provisioning/agent-gateway.ts'

/**
 * The real gateway (AgentService) with every call also emitted, so a test can wait for what the
 * server saw: 'opened' (OpenedStream), 'refused' (Error), 'result', 'closed' (AgentStream, reason).
 */
export class ObservedGateway extends EventEmitter implements AgentGateway {
  readonly #inner: AgentGateway
  readonly opened: OpenedStream[] = []

  constructor (inner: AgentGateway) {
    super()
    this.#inner = inner
  }

  async openSession (auth: AgentAuth, hello: Hello, peer: string): Promise<OpenedStream> {
    try {
      const s = await this.#inner.openSession(auth, hello, peer)
      this.opened.push(s)
      this.emit('opened', s)
      return s
    } catch (err) {
      this.emit('refused', err)
      throw err
    }
  }

  async hardwareReported (stream: AgentStream, report: HardwareReport): Promise<void> { await this.#inner.hardwareReported(stream, report) }
  tasks (stream: AgentStream, signal: AbortSignal): AsyncIterable<AgentDirective> { return this.#inner.tasks(stream, signal) }
  progress (stream: AgentStream, p: TaskProgress): void { this.#inner.progress(stream, p); this.emit('progress', stream, p) }
  async result (stream: AgentStream, r: TaskResult): Promise<void> { await this.#inner.result(stream, r); this.emit('result', stream, r) }
  async sessionClosed (stream: AgentStream, reason: string): Promise<void> {
    await this.#inner.sessionClosed(stream, reason)
    this.emit('closed', stream, reason)
  }

  /** Resolves with the next stream opened that satisfies `pred`. */
  async nextOpened (pred: (s: OpenedStream) => boolean = () => true): Promise<OpenedStream> {
    for (;;) {
      const [s] = await once(this, 'opened') as [OpenedStream]
      if (pred(s)) return s
    }
  }
}

/** The provisioning listener on 127.0.0.1:0 in front of a gateway, its log kept in memory. */
export async function startProvisioning (gateway: AgentGateway, cert: ServerCertificate): Promise<{ service: ProvisioningService, port: number, logs: string[] }> {
  const logs: string[] = []
  const sink = new Writable({ write (chunk: Buffer, _enc, cb) { logs.push(chunk.toString()); cb() } })
  const service = createProvisioningService({ listen: '127.0.0.1:0', gateway, tls: cert, log: createLogger('info', sink), shutdownGraceMs: 1_000 })
  await service.start(new AbortController().signal)
  return { service, port: service.address().port, logs }
}
