import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify'
import { isCodedError } from '../lib/errors.ts'
import type { ErrorCode } from '../lib/error-codes.ts'
import type { Logger } from '../log/logger.ts'

/** The one mapping from stable error codes to HTTP statuses; unlisted codes are 400. */
const STATUS: Partial<Record<ErrorCode, number>> = {
  ERR_UNAUTHORIZED: 401,
  ERR_FORBIDDEN: 403,
  ERR_PATH_TRAVERSAL: 403,
  ERR_MACHINE_NOT_FOUND: 404,
  ERR_ASSET_NOT_FOUND: 404,
  ERR_ROUTE_NOT_FOUND: 404,
  ERR_AMBIGUOUS_MACHINE: 409,
  ERR_VALIDATION: 400,
  ERR_INVALID_MAC: 400,
  ERR_INVALID_IPV4: 400,
  ERR_INVALID_UUID: 400,
  ERR_INVALID_BMC: 400,
  ERR_MACHINE_EXISTS: 409,
  ERR_NO_BMC: 409,
  // The BMC is the upstream here: it refused us (502) or never answered (504).
  ERR_BMC_AUTH: 502,
  ERR_BMC_CIPHER_UNSUPPORTED: 502,
  ERR_BMC_COMPLETION: 502,
  ERR_BMC_PROTOCOL: 502,
  ERR_BMC_READBACK: 502,
  ERR_BMC_SESSION_CLOSED: 502,
  ERR_BMC_UNREACHABLE: 504,
  ERR_SECRET_UNREADABLE: 500,
  ERR_INVALID_STATE: 409,
  ERR_NOT_ACCEPTED: 409,
  ERR_TASK_PENDING: 409,
  ERR_TASK_FINISHED: 409,
  ERR_TASK_NOT_FOUND: 404,
  ERR_NO_HARDWARE: 404,
  ERR_REPORT_TOO_LARGE: 413,
  ERR_RATE_LIMITED: 429,
  // A signature or an image that does not verify is the caller's input: 422, never stored.
  ERR_SIGNATURE_MALFORMED: 422,
  ERR_SIGNATURE_INVALID: 422,
  ERR_SIGNATURE_KEY_MISMATCH: 422,
  ERR_SIGNATURE_COMMENT_INVALID: 422,
  ERR_SIGNATURE_COMMENT_UNEXPECTED: 422,
  ERR_IMAGE_CHUNK_MISMATCH: 422,
  ERR_IMAGE_SIZE_MISMATCH: 422,
  ERR_IMAGE_HASH_MISMATCH: 422,
  ERR_SIGNING_KEY_UNREADABLE: 500,
  ERR_IMAGE_NOT_FOUND: 404,
  ERR_IMAGE_EXISTS: 409,
  ERR_IMAGE_NOT_READY: 409,
  ERR_IMAGE_UNAVAILABLE: 409,
  ERR_INSTALL_DISK_NONE: 422,
  ERR_INSTALL_DISK_AMBIGUOUS: 422,
  ERR_INSTALL_DISK_TOO_SMALL: 422,
  ERR_INSTALL_DISK_CHANGED: 409,
  ERR_OPERATION_NOT_FOUND: 404,
  ERR_CERT_ROLE_INVALID: 400,
  ERR_CERT_TTL_INVALID: 400,
  ERR_CERT_KEY_INVALID: 400,
  ERR_NODE_BUSY: 409,
  ERR_IMAGE_DOWNGRADE: 409,
  ERR_NODE_NO_ROLLBACK: 409,
  ERR_ROLLOUT_FAILED: 409,
  ERR_NODE_UNREACHABLE: 502
}

/** The JSON body of every error answer. */
export type ErrorBody = { error: { code: string, message: string, details?: Record<string, unknown> } }

/**
 * Fastify error handler: coded errors keep their code and message; validation errors become
 * ERR_VALIDATION with the failing field; anything else is ERR_INTERNAL and its message stays in
 * the log, never in the answer.
 */
export function errorHandler (log: Logger) {
  return async (err: FastifyError, req: FastifyRequest, reply: FastifyReply): Promise<ErrorBody> => {
    if (isCodedError(err)) {
      void reply.code(STATUS[err.code] ?? 400)
      return { error: { code: err.code, message: err.message, ...(err.details === undefined ? {} : { details: err.details }) } }
    }
    if (err.validation !== undefined) {
      void reply.code(400)
      return { error: { code: 'ERR_VALIDATION', message: err.message } }
    }
    if (typeof err.statusCode === 'number' && err.statusCode >= 400 && err.statusCode < 500) {
      void reply.code(err.statusCode)
      return { error: { code: 'ERR_BAD_REQUEST', message: err.message } }
    }
    log.error({ err, url: req.url, method: req.method }, 'request failed')
    void reply.code(500)
    return { error: { code: 'ERR_INTERNAL', message: 'internal error; see the server log' } }
  }
}

/** 404 for unknown routes, in the same shape. */
export async function notFoundHandler (req: FastifyRequest, reply: FastifyReply): Promise<ErrorBody> {
  void reply.code(404)
  return { error: { code: 'ERR_ROUTE_NOT_FOUND', message: `no route ${req.method} ${req.url.split('?')[0] ?? ''}` } }
}
