import { pino, type Logger } from 'pino'

export type { Logger }

/** Paths never logged, whatever object they appear in: credentials and tokens. */
export const REDACT_PATHS = [
  'password', '*.password', 'token', '*.token', 'authorization', '*.authorization',
  'req.headers.authorization', 'headers.authorization', 'bmc.password', 'secret', '*.secret'
]

/** The server's logger: JSON lines on stdout, secrets redacted. */
export function createLogger (level: string, destination?: NodeJS.WritableStream): Logger {
  const options = { level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { svc: 'anvil' } }
  return destination === undefined ? pino(options) : pino(options, destination)
}
