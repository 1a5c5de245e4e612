import type { ErrorCode } from './error-codes.ts'

/** An error with a stable code (src/lib/error-codes.ts) that transports map to their own status (HTTP, gRPC, CLI exit). */
export class CodedError extends Error {
  readonly code: ErrorCode
  readonly details: Record<string, unknown> | undefined

  constructor (code: ErrorCode, message: string, details?: Record<string, unknown>, options?: ErrorOptions) {
    super(message, options)
    this.name = 'CodedError'
    this.code = code
    this.details = details
  }
}

/**
 * The one error a packet decoder throws: the datagram is not what its protocol allows.
 * `offset` is the byte at which decoding gave up, for logs and fixture tests.
 */
export class MalformedPacketError extends CodedError {
  readonly offset: number

  constructor (message: string, offset: number) {
    super('ERR_MALFORMED_PACKET', `${message} (at byte ${offset})`, { offset })
    this.name = 'MalformedPacketError'
    this.offset = offset
  }
}

/** True for errors that carry a stable code. */
export function isCodedError (err: unknown): err is CodedError {
  return err instanceof CodedError
}
