/**
 * trustd's call to Anvil's node CA (IssueNodeCertificate): pinned TLS to the server STATE names,
 * as the ReportIn call (src/node/machined/report-in.ts). One attempt per call: the renewer retries.
 */
import { status, type ServiceError } from '@grpc/grpc-js'
import { agentChannelOptions, pinnedChannelCredentials } from '../../grpc/agent-credentials.ts'
import { ERROR_CODE_TRAILER } from '../../grpc/errors.ts'
import { loadProvisioningProto } from '../../grpc/proto.ts'
import type { NodeCertificateReply } from '../../proto/generated/anvil/provisioning/v1/NodeCertificateReply.ts'
import type { NodeCertificateRequest } from '../../proto/generated/anvil/provisioning/v1/NodeCertificateRequest.ts'

export type AnvilTarget = { readonly host: string, readonly port: number, readonly fingerprint: string }

const CALL_TIMEOUT_MS = 15_000

/** Asks Anvil once; rejects with the server's stable code in the message when it gave one. */
export async function requestNodeCertificate (target: AnvilTarget, request: NodeCertificateRequest, protoFile: string): Promise<NodeCertificateReply> {
  const proto = await loadProvisioningProto(protoFile)
  const creds = await pinnedChannelCredentials(target.host, target.port, target.fingerprint, { timeoutMs: 5_000 })
  const client = new proto.anvil.provisioning.v1.Provisioning(`${target.host.includes(':') ? `[${target.host}]` : target.host}:${target.port}`, creds, agentChannelOptions)
  try {
    return await new Promise<NodeCertificateReply>((resolve, reject) => {
      client.IssueNodeCertificate(request, { deadline: Date.now() + CALL_TIMEOUT_MS }, (err, reply) => {
        if (err !== null) reject(new Error(describe(err)))
        else if (reply === undefined) reject(new Error('empty reply'))
        else resolve(reply)
      })
    })
  } finally {
    client.close()
  }
}

function describe (err: ServiceError): string {
  const trailer = err.metadata?.get(ERROR_CODE_TRAILER)[0]
  return `${typeof trailer === 'string' ? trailer : `grpc ${status[err.code] ?? err.code}`}: ${err.details}`
}
