/**
 * trustd's call to Anvil's node CA (IssueNodeCertificate): pinned TLS to the server STATE names,
 * as the ReportIn call (src/node/machined/report-in.ts). One attempt per call: the renewer retries.
 * The channel (callAnvil) is shared with machined's NodeNotice (src/node/machined/node-notice.ts).
 */
import { status, type ServiceError } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../grpc/agent-credentials.ts'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadProvisioningProto } from '../../grpc/proto.ts'
import type { ProvisioningClient } from '../../proto/generated/anvil/provisioning/v1/Provisioning.ts'
import type { NodeCertificateReply } from '../../proto/generated/anvil/provisioning/v1/NodeCertificateReply.ts'
import type { NodeCertificateRequest } from '../../proto/generated/anvil/provisioning/v1/NodeCertificateRequest.ts'

export type AnvilTarget = { readonly host: string, readonly port: number, readonly fingerprint: string }

const CALL_TIMEOUT_MS = 15_000
const PIN_TIMEOUT_MS = 5_000

/** A refused or failed call: `code` is the server's stable code when it sent one, else `grpc <STATUS>`. */
export class AnvilCallError extends Error {
  readonly code: string
  constructor (code: string, message: string) {
    super(`${code}: ${message}`)
    this.code = code
  }
}

/**
 * One unary call to Anvil's provisioning listener over the pinned channel, closed after. The pin
 * is checked by a bare handshake first (bounded by the smaller of 5 s and `timeoutMs`), the call
 * by the deadline `timeoutMs` from now.
 */
export async function callAnvil<T> (target: AnvilTarget, protoFile: string | undefined, call: (client: ProvisioningClient, deadline: number, done: (err: ServiceError | null, reply?: T) => void) => void, timeoutMs = CALL_TIMEOUT_MS): Promise<T> {
  const started = Date.now()
  const proto = await loadProvisioningProto(protoFile)
  const creds = await pinnedChannelCredentials(target.host, target.port, target.fingerprint, { timeoutMs: Math.min(PIN_TIMEOUT_MS, timeoutMs) })
  const client = new proto.anvil.provisioning.v1.Provisioning(`${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, creds, agentChannelOptions)
  try {
    return await new Promise<T>((resolve, reject) => {
      call(client, started + timeoutMs, (err, reply) => {
        if (err !== null) reject(callError(err))
        else if (reply === undefined) reject(new AnvilCallError('ERR_INTERNAL', 'empty reply'))
        else resolve(reply)
      })
    })
  } finally {
    client.close()
  }
}

/** Asks Anvil once; rejects with the server's stable code in the message when it gave one. */
export async function requestNodeCertificate (target: AnvilTarget, request: NodeCertificateRequest, protoFile: string): Promise<NodeCertificateReply> {
  return await callAnvil<NodeCertificateReply>(target, protoFile, (client, deadline, done) => { client.IssueNodeCertificate(request, { deadline }, done) })
}

function callError (err: ServiceError): AnvilCallError {
  const trailer = err.metadata?.get(ERROR_CODE_TRAILER)[0]
  return new AnvilCallError(typeof trailer === 'string' ? trailer : `grpc ${status[err.code] ?? err.code}`, err.details)
}
