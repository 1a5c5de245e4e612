/**
 * Mutual-TLS server credentials whose identity (and CA) can change while the server runs.
 *
 * Why not `experimental.createCertificateProviderServerCredentials` as is: its server options are
 * fixed ({requestCert, rejectUnauthorized, ciphers}), so it cannot carry a TLS handshake timeout,
 * and Node's default lets a peer that never finishes its handshake hold a socket for 120 s. This
 * class uses the same mechanism: grpc-js's public abstract ServerCredentials keeps the latest
 * secure-context options and its server calls `setSecureContext()` on every update
 * (grpc-js 1.14 server.js createHttp2Server), so open connections keep their session and new
 * ones get the new certificate. (Note also that 1.14.7's factory hands its first argument,
 * named `caCertificateProvider`, to the constructor's identity slot; a provider here is one
 * object that serves both.)
 */
import { ServerCredentials, type experimental } from '@grpc/grpc-js'
import { createSecureContext, type SecureContextOptions } from 'node:tls'
import { X509Certificate, createPrivateKey } from 'node:crypto'
import { CodedError } from '../../lib/errors.ts'

/** The PEMs apid presents and trusts. */
export type ApidPems = { readonly caPem: string, readonly keyPem: string, readonly certPem: string }

/** A new identity for rotate(); the CA stays unless given (CA rotation: a bundle of old and new). */
export type IdentityUpdate = { readonly keyPem: string, readonly certPem: string, readonly caPem?: string }

/** grpc-js's certificate provider interface (FileWatcherCertificateProvider or trustd's own). */
export type CertificateProvider = experimental.CertificateProvider

export type RotatingCredentialsOptions = {
  /** TLS handshake deadline: a peer that has not finished by then is cut (default 10 s). */
  readonly handshakeTimeoutMs?: number
  /** Told when a provider's update is refused (the previous identity stays in use). */
  readonly onRejectedUpdate?: (err: unknown) => void
}

type State = { ca: Buffer | undefined, cert: Buffer | undefined, key: Buffer | undefined }

/**
 * Refuses a key that does not belong to its certificate, or PEM that OpenSSL cannot load, before
 * it reaches the server: grpc-js answers a failed setSecureContext by dropping every new
 * connection until the next good update.
 */
export function checkIdentity (keyPem: string | Buffer, certPem: string | Buffer, caPem?: string | Buffer): void {
  try {
    const cert = new X509Certificate(certPem)
    if (!cert.checkPrivateKey(createPrivateKey(keyPem))) throw new Error('the private key does not match the certificate')
    createSecureContext({ key: keyPem, cert: certPem, ...(caPem === undefined ? {} : { ca: caPem }) })
  } catch (err) {
    throw new CodedError('ERR_CERT_KEY_INVALID', `cannot use this key and certificate: ${err instanceof Error ? err.message : String(err)}`, undefined, { cause: err })
  }
}

/** Server credentials that demand a client certificate chaining to the CA, with rotate(). */
export class RotatingServerCredentials extends ServerCredentials {
  readonly #provider: CertificateProvider | undefined
  readonly #onRejected: (err: unknown) => void
  readonly #state: State = { ca: undefined, cert: undefined, key: undefined }
  #subscribed = false
  readonly #onCa = (update: experimental.CaCertificateUpdate | null): void => {
    this.#apply({ ...this.#state, ca: update?.caCertificate })
  }

  readonly #onIdentity = (update: experimental.IdentityCertificateUpdate | null): void => {
    this.#apply({ ...this.#state, cert: update?.certificate, key: update?.privateKey })
  }

  constructor (source: ApidPems | CertificateProvider, opts: RotatingCredentialsOptions = {}) {
    const pems = 'caPem' in source ? source : undefined
    if (pems !== undefined) checkIdentity(pems.keyPem, pems.certPem, pems.caPem)
    const initial: SecureContextOptions | undefined = pems === undefined
      ? undefined
      : { ca: Buffer.from(pems.caPem), cert: Buffer.from(pems.certPem), key: Buffer.from(pems.keyPem) }
    super({
      // The client must present a certificate and it must chain to `ca`: refused in the handshake.
      requestCert: true,
      rejectUnauthorized: true,
      handshakeTimeout: opts.handshakeTimeoutMs ?? 10_000
    }, initial)
    this.#provider = pems === undefined ? source as CertificateProvider : undefined
    this.#onRejected = opts.onRejectedUpdate ?? (() => {})
    if (pems !== undefined) Object.assign(this.#state, initial)
  }

  /** Swaps the identity (and the CA, if given) for new connections; open ones are not touched. */
  rotate (update: IdentityUpdate): void {
    checkIdentity(update.keyPem, update.certPem, update.caPem)
    const next = { ...this.#state, cert: Buffer.from(update.certPem), key: Buffer.from(update.keyPem) }
    if (update.caPem !== undefined) next.ca = Buffer.from(update.caPem)
    this.#push(next)
  }

  /** The certificate new connections get, or undefined before a provider has delivered one. */
  currentCertificate (): X509Certificate | undefined {
    return this.#state.cert === undefined ? undefined : new X509Certificate(this.#state.cert)
  }

  /** Provider updates are checked as rotate() checks; a bad one is reported and ignored. */
  #apply (next: State): void {
    try {
      if (next.cert !== undefined && next.key !== undefined) checkIdentity(next.key, next.cert, next.ca)
      this.#push(next)
    } catch (err) {
      this.#onRejected(err)
    }
  }

  #push (next: State): void {
    Object.assign(this.#state, next)
    const { ca, cert, key } = this.#state
    // Without a CA the server would accept any client certificate; without an identity, none.
    this.updateSecureContextOptions(ca === undefined || cert === undefined || key === undefined ? null : { ca, cert, key })
  }

  override _addWatcher (watcher: Parameters<ServerCredentials['_addWatcher']>[0]): void {
    super._addWatcher(watcher)
    if (this.#provider !== undefined && !this.#subscribed) {
      this.#subscribed = true
      this.#provider.addCaCertificateListener(this.#onCa)
      this.#provider.addIdentityCertificateListener(this.#onIdentity)
    }
  }

  override _removeWatcher (watcher: Parameters<ServerCredentials['_removeWatcher']>[0]): void {
    super._removeWatcher(watcher)
    if (this.#provider !== undefined && this.#subscribed && this.getWatcherCount() === 0) {
      this.#subscribed = false
      this.#provider.removeCaCertificateListener(this.#onCa)
      this.#provider.removeIdentityCertificateListener(this.#onIdentity)
    }
  }

  override _equals (other: ServerCredentials): boolean {
    return this === other
  }
}
