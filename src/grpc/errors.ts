import { Metadata, status, type StatusObject } from '@grpc/grpc-js'
import { isCodedError } from '../lib/errors.ts'
import type { ErrorCode } from '../lib/error-codes.ts'
import type { Logger } from '../log/logger.ts'

/**
 * The one mapping from stable error codes to gRPC statuses (like src/http/errors.ts for HTTP).
 * Only these codes reach the agent with their message; anything else is INTERNAL.
 */
const STATUS: Partial<Record<ErrorCode, status>> = {
  ERR_AGENT_TOKEN_MISSING: status.UNAUTHENTICATED,
  ERR_AGENT_TOKEN_INVALID: status.UNAUTHENTICATED,
  ERR_AGENT_TOKEN_USED: status.UNAUTHENTICATED,
  // A session credential that is unknown (its session ended or another began) or expired.
  ERR_AGENT_SESSION_INVALID: status.UNAUTHENTICATED,
  // A token or credential used from an address it is not bound to.
  ERR_AGENT_ADDRESS: status.UNAUTHENTICATED,
  // A hello whose boot MAC is not one of the machine's.
  ERR_AGENT_BOOT_MAC: status.UNAUTHENTICATED,
  // Another session holds the machine: retry with backoff (its token was not spent).
  ERR_AGENT_SESSION_HELD: status.UNAVAILABLE,
  ERR_AGENT_HELLO_INVALID: status.INVALID_ARGUMENT,
  ERR_REPORT_TOO_LARGE: status.RESOURCE_EXHAUSTED,
  ERR_AGENT_PROTOCOL: status.INVALID_ARGUMENT,
  ERR_AGENT_HELLO_TIMEOUT: status.DEADLINE_EXCEEDED,
  ERR_VALIDATION: status.INVALID_ARGUMENT,
  ERR_MACHINE_NOT_FOUND: status.NOT_FOUND,
  ERR_SERVER_STOPPING: status.UNAVAILABLE,
  // The machine was powered off or reset through its BMC while this stream looked alive, or the
  // session continues on a newer stream.
  ERR_AGENT_SESSION_ENDED: status.ABORTED,
  // The installed node's first report (ReportIn).
  ERR_NODE_TOKEN_INVALID: status.UNAUTHENTICATED,
  ERR_NODE_TOKEN_USED: status.UNAUTHENTICATED,
  ERR_NODE_PROOF_INVALID: status.PERMISSION_DENIED,
  ERR_INVALID_STATE: status.FAILED_PRECONDITION,
  // The node API (apid, machined).
  ERR_NODE_ROLE_DENIED: status.PERMISSION_DENIED,
  ERR_NODE_CERT_INVALID: status.UNAUTHENTICATED,
  ERR_NODE_SERVICE_UNKNOWN: status.NOT_FOUND,
  ERR_NODE_UNREACHABLE: status.UNAVAILABLE,
  ERR_NODE_BUSY: status.FAILED_PRECONDITION,
  ERR_IMAGE_DOWNGRADE: status.FAILED_PRECONDITION,
  ERR_NODE_NO_ROLLBACK: status.FAILED_PRECONDITION,
  ERR_ROLLOUT_FAILED: status.ABORTED,
  ERR_OPERATION_NOT_FOUND: status.NOT_FOUND,
  // Upgrade: the request's manifest, signature or artifact refused (nothing selected to boot).
  ERR_SIGNATURE_MALFORMED: status.INVALID_ARGUMENT,
  ERR_SIGNATURE_INVALID: status.PERMISSION_DENIED,
  ERR_SIGNATURE_KEY_MISMATCH: status.PERMISSION_DENIED,
  ERR_SIGNATURE_COMMENT_INVALID: status.INVALID_ARGUMENT,
  ERR_SIGNATURE_COMMENT_UNEXPECTED: status.INVALID_ARGUMENT,
  ERR_IMAGE_CHUNK_MISMATCH: status.DATA_LOSS,
  ERR_IMAGE_HASH_MISMATCH: status.DATA_LOSS,
  ERR_IMAGE_SIZE_MISMATCH: status.DATA_LOSS,
  ERR_IMAGE_FETCH: status.UNAVAILABLE,
  ERR_INSTALL_READBACK: status.DATA_LOSS,
  ERR_CERT_KEY_INVALID: status.INVALID_ARGUMENT,
  // A signed config the node refuses (ApplyConfig), nothing changed.
  ERR_CONFIG_WRONG_MACHINE: status.PERMISSION_DENIED,
  ERR_CONFIG_REPLAYED: status.FAILED_PRECONDITION,
  ERR_CONFIG_EXPIRED: status.FAILED_PRECONDITION,
  ERR_MACHINE_CONFIG_INVALID: status.INVALID_ARGUMENT,
  ERR_STATE_INVALID: status.FAILED_PRECONDITION
}

/** Trailer that carries the stable code, so an agent can tell a used token from an unknown one. */
export const ERROR_CODE_TRAILER = 'anvil-error-code'

/**
 * A status for `err`: mapped coded errors keep their code (in the trailer) and message; anything
 * else is logged here and answered as INTERNAL without its message (it may hold internals).
 */
export function toStatus (err: unknown, log: Logger, context: Record<string, unknown> = {}): StatusObject {
  const metadata = new Metadata()
  if (isCodedError(err)) {
    const code = STATUS[err.code]
    if (code !== undefined) {
      metadata.set(ERROR_CODE_TRAILER, err.code)
      return { code, details: err.message, metadata }
    }
  }
  log.error({ err, ...context }, 'provisioning call failed')
  metadata.set(ERROR_CODE_TRAILER, 'ERR_INTERNAL')
  return { code: status.INTERNAL, details: 'internal error; see the server log', metadata }
}
