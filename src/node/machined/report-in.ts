/**
 * The node's ReportIn call: pinned TLS to the server STATE names (the fingerprint of its
 * certificate, as the agent pins it: src/grpc/agent-credentials.ts), `authorization: Node <token>`,
 * retried with capped exponential backoff for a bounded time, since the network may come up late
 * (a switch port in STP listening, a slow DHCP server). Refusals (token, proof, pin) are final.
 */
import { Metadata, status, type ServiceError } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../grpc/agent-credentials.ts'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadProvisioningProto } from '../../grpc/proto.ts'
import { isCodedError } from '../../lib/errors.ts'
import type { NodeReportInput } from '../../proto/generated/anvil/provisioning/v1/NodeReport.ts'
import type { NodeReportReply } from '../../proto/generated/anvil/provisioning/v1/NodeReportReply.ts'

export type ReportTarget = { readonly host: string, readonly port: number, readonly fingerprint: string }

export type ReportOptions = {
  readonly protoFile: string
  /** How long to keep trying (default 5 min). */
  readonly budgetMs?: number
  readonly log: (line: string) => void
  readonly sleep?: (ms: number) => Promise<void>
}

/** Why the report did not get through: the server's stable code when it gave one. */
export class ReportError extends Error {
  readonly code: string
  readonly retryable: boolean
  constructor (code: string, message: string, retryable: boolean) {
    super(message)
    this.code = code
    this.retryable = retryable
  }
}

const CALL_TIMEOUT_MS = 15_000
const BACKOFF_CAP_MS = 10_000
/** Statuses worth another try: the server is away, slow, or its machine not yet in a state to take the report. */
const RETRYABLE = new Set<number>([status.UNAVAILABLE, status.DEADLINE_EXCEEDED, status.FAILED_PRECONDITION, status.RESOURCE_EXHAUSTED, status.INTERNAL, status.UNKNOWN])

/** Sends the report until it is taken, refused for good, or the budget is spent (then the last error). */
export async function reportIn (target: ReportTarget, token: string, report: NodeReportInput, o: ReportOptions): Promise<NodeReportReply> {
  const proto = await loadProvisioningProto(o.protoFile)
  const sleep = o.sleep ?? (async (ms: number) => { await new Promise(resolve => setTimeout(resolve, ms)) })
  const deadline = Date.now() + (o.budgetMs ?? 300_000)
  for (let attempt = 1; ; attempt++) {
    try {
      const creds = await pinnedChannelCredentials(target.host, target.port, target.fingerprint, { timeoutMs: 5_000 })
      const client = new proto.anvil.provisioning.v1.Provisioning(`${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, creds, agentChannelOptions)
      try {
        return await new Promise<NodeReportReply>((resolve, reject) => {
          const md = new Metadata()
          md.set('authorization', `Node ${token}`)
          client.ReportIn(report, md, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, reply) => {
            if (err !== null) reject(fromStatus(err))
            else if (reply === undefined) reject(new ReportError('ERR_INTERNAL', 'empty reply', true))
            else resolve(reply)
          })
        })
      } finally {
        client.close()
      }
    } catch (err) {
      const e = err instanceof ReportError
        ? err
        : isCodedError(err) ? new ReportError(err.code, err.message, err.code === 'ERR_TLS_HANDSHAKE') : new ReportError('ERR_INTERNAL', String(err), true)
      const wait = Math.min(BACKOFF_CAP_MS, 1000 * 2 ** (attempt - 1))
      if (!e.retryable || Date.now() + wait > deadline) throw e
      o.log(`report: attempt ${attempt} failed (${e.code}: ${e.message}); again in ${Math.round(wait / 1000)} s`)
      await sleep(wait)
    }
  }
}

function fromStatus (err: ServiceError): ReportError {
  const trailer = err.metadata?.get(ERROR_CODE_TRAILER)[0]
  const code = typeof trailer === 'string' ? trailer : `grpc ${status[err.code] ?? err.code}`
  return new ReportError(code, err.details, RETRYABLE.has(err.code))
}
