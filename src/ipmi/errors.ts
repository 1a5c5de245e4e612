import { CodedError } from '../lib/errors.ts'
import { completionCodeName } from './completion-codes.ts'

/** Stable codes for everything that can go wrong talking to a BMC; the API and CLI map these once. */
export const BmcErrorCode = {
  /** RAKP 2/4 said the user or password is wrong, or the HMAC the BMC sent did not verify. */
  auth: 'ERR_BMC_AUTH',
  /** Neither the configured nor any offered cipher suite is one Anvil speaks (3, 17). */
  cipherUnsupported: 'ERR_BMC_CIPHER_UNSUPPORTED',
  /** No answer within the retries: wrong address, BMC down, or a firewall. */
  unreachable: 'ERR_BMC_UNREACHABLE',
  /** The BMC answered a command with a non-zero completion code. */
  completion: 'ERR_BMC_COMPLETION',
  /** The BMC answered, but not as the spec says (bad integrity, wrong session, garbage). */
  protocol: 'ERR_BMC_PROTOCOL',
  /** A write was accepted but the read-back within the deadline shows another state. */
  readBack: 'ERR_BMC_READBACK',
  /** The session was closed (by us, or it timed out on the BMC and could not be reopened). */
  sessionClosed: 'ERR_BMC_SESSION_CLOSED'
} as const
export type BmcErrorCode = typeof BmcErrorCode[keyof typeof BmcErrorCode]

/** A BMC failure with one of the stable codes above. Never carries the password. */
export class BmcError extends CodedError {
  constructor (code: BmcErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(code, message, details, options)
    this.name = 'BmcError'
  }
}

/** A command answered with a non-zero completion code (IPMI v2.0 §5.2). */
export class IpmiCompletionError extends BmcError {
  readonly completionCode: number

  constructor (completionCode: number, what: string, specific?: Readonly<Record<number, string>>) {
    const name = completionCodeName(completionCode, specific)
    super(BmcErrorCode.completion, `${what}: the BMC answered ${name}`, { completionCode, completionName: name })
    this.name = 'IpmiCompletionError'
    this.completionCode = completionCode
  }
}
