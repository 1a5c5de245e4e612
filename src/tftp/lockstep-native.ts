import { existsSync } from 'node:fs'
import { createRequire } from 'node:module'
import { fileURLToPath } from 'node:url'

/** What the native engine needs to run one lock-step read transfer (see native/tftp-lockstep.c). */
export type LockstepStart = {
  /** Local IPv4 address to bind the transfer's socket to (the server's TID, RFC 1350 §4). */
  readonly host: string
  readonly peerAddress: string
  readonly peerPort: number
  /** The whole file, as sent (netascii already converted); kept alive until the report. */
  readonly data: Buffer
  readonly blksize: number
  readonly timeoutMs: number
  readonly retries: number
  /** Sent first when options were negotiated; the loop then waits for ACK 0 (RFC 2347 §2). */
  readonly oack?: Buffer | undefined
}

/** How a native transfer ended. */
export type LockstepResult = {
  readonly outcome: 'complete' | 'client-error' | 'timeout' | 'refused' | 'aborted' | 'io-error'
  /** Where it was: waiting for ACK 0 of the OACK, or sending DATA. */
  readonly phase: 'negotiating' | 'sending'
  /** The first block (absolute, 1-based) the client has not acknowledged. */
  readonly base: number
  /** DATA blocks sent again after a timeout. */
  readonly retransmits: number
  /** Datagrams on the transfer's socket that were neither an ACK nor a well-formed ERROR. */
  readonly strays: number
  readonly durationMs: number
  /** The client's ERROR datagram, for outcome 'client-error'. */
  readonly packet?: Buffer
  /** The socket error, for outcomes 'refused' and 'io-error'. */
  readonly errno?: number
}

/** An opaque running transfer. */
export type LockstepHandle = { readonly __brand: 'LockstepHandle' }

/**
 * The native module's interface: one engine thread per process serves every transfer started here.
 */
export type LockstepEngine = {
  /** Starts a transfer; `done` runs once, on the main thread. Throws if its socket cannot be made. */
  start (opts: LockstepStart, done: (result: LockstepResult) => void): LockstepHandle
  /** Ends a transfer early; it then reports 'aborted'. Harmless after it has reported. */
  abort (handle: LockstepHandle): void
  /**
   * Microseconds the engine polls after each datagram before it sleeps (config `tftp.spinMicros`;
   * 0, the default, never polls). Process-wide. See engine_main in native/tftp-lockstep.c.
   */
  configure (opts: { spinMicros: number }): void
}

export type LockstepLoad = { readonly engine: LockstepEngine, readonly path: string } | { readonly engine: undefined, readonly reason: string }

/** Where `npm install` (native/build.mjs) puts the module, from src/tftp or dist/tftp alike. */
export const LOCKSTEP_MODULE = fileURLToPath(new URL('../../native/build/tftp-lockstep.node', import.meta.url))

/** Loads the native lock-step loop, or says why it is not there. */
export function loadLockstep (path: string = LOCKSTEP_MODULE): LockstepLoad {
  if (!existsSync(path)) return { engine: undefined, reason: `${path} is not built (npm install builds it with a C compiler: node native/build.mjs)` }
  try {
    return { engine: createRequire(import.meta.url)(path) as LockstepEngine, path }
  } catch (err) {
    return { engine: undefined, reason: `${path} did not load: ${(err as Error).message}` }
  }
}
