import { CodedError } from '../lib/errors.ts'
import { ErrorCode } from '../lib/error-codes.ts'

/**
 * The power domain's errors, whatever protocol reaches the BMC (IPMI today, Redfish beside it):
 * the API and CLI map these once. Protocol adapters raise them with their own details.
 */
export const BmcErrorCode = {
  /** The BMC refused the user or password (IPMI: RAKP 2/4; Redfish: 401). */
  auth: ErrorCode.bmcAuth,
  /** No cipher suite (or TLS setting) both sides speak. */
  cipherUnsupported: ErrorCode.bmcCipherUnsupported,
  /** No answer within the retries: wrong address, BMC down, or a firewall. */
  unreachable: ErrorCode.bmcUnreachable,
  /** The BMC answered a command with an error of its own (IPMI completion code, Redfish error). */
  completion: ErrorCode.bmcCompletion,
  /** The BMC answered, but not as its protocol says (bad integrity, wrong session, garbage). */
  protocol: ErrorCode.bmcProtocol,
  /** A write was accepted but the read-back within the deadline shows another state. */
  readBack: ErrorCode.bmcReadBack,
  /** The session was closed (by us, or it timed out on the BMC and could not be reopened). */
  sessionClosed: ErrorCode.bmcSessionClosed
} as const
export type BmcErrorCode = typeof BmcErrorCode[keyof typeof BmcErrorCode]

/** A BMC failure with one of the stable codes above. Never carries the password. */
export class BmcError extends CodedError {
  constructor (code: BmcErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(code, message, details, options)
    this.name = 'BmcError'
  }
}
