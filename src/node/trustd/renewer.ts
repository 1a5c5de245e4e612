/**
 * Keeps apid's server certificate fresh: one now, then a new one at half of each certificate's
 * remaining lifetime (24 h certificates: every 12 h), retried with capped backoff when Anvil is
 * away. A failed renewal never removes the certificate in place: apid goes on serving it until it
 * expires, and the retries go on. Pure scheduling over ports (obtain, install, clock, timers).
 */

/** What one successful request gives: apid's key and certificate, and the CA its clients trust. */
export type Bundle = { readonly keyPem: string, readonly certificatePem: string, readonly caPem: string, readonly notAfterMs: number }

export type RenewerOptions = {
  /** Asks Anvil for a certificate for a fresh key; rejects when it could not. */
  readonly obtain: () => Promise<Bundle>
  /** Hands the bundle to apid (files it watches); rejects when it could not. */
  readonly install: (bundle: Bundle) => Promise<void>
  readonly now: () => number
  readonly setTimer: (fn: () => void, ms: number) => { cancel: () => void }
  readonly log: (line: string) => void
  /** First retry after a failure (default 5 s), doubling up to retryCapMs (default 5 min). */
  readonly retryMs?: number
  readonly retryCapMs?: number
}

export class CertificateRenewer {
  readonly #o: RenewerOptions
  #timer: { cancel: () => void } | undefined
  #failures = 0
  #stopped = false
  #current: Bundle | undefined

  constructor (options: RenewerOptions) { this.#o = options }

  /** The bundle apid serves now, if any. */
  get current (): Bundle | undefined { return this.#current }

  /** Starts at once; resolves after the first attempt (successful or not: retries go on). */
  async start (): Promise<void> {
    await this.#attempt()
  }

  stop (): void {
    this.#stopped = true
    this.#timer?.cancel()
    this.#timer = undefined
  }

  async #attempt (): Promise<void> {
    if (this.#stopped) return
    try {
      const bundle = await this.#o.obtain()
      await this.#o.install(bundle)
      this.#current = bundle
      this.#failures = 0
      const left = bundle.notAfterMs - this.#o.now()
      const next = Math.max(1000, Math.floor(left / 2))
      this.#o.log(`certificate installed, valid until ${new Date(bundle.notAfterMs).toISOString()}; renewing in ${Math.round(next / 1000)} s`)
      this.#schedule(next)
    } catch (err) {
      this.#failures++
      const retry = Math.min(this.#o.retryCapMs ?? 300_000, (this.#o.retryMs ?? 5000) * 2 ** (this.#failures - 1))
      const have = this.#current === undefined ? 'no certificate yet' : this.#current.notAfterMs > this.#o.now() ? `the current one stays, valid until ${new Date(this.#current.notAfterMs).toISOString()}` : 'the current one has expired'
      this.#o.log(`certificate request failed (${(err as Error).message}); ${have}; again in ${Math.round(retry / 1000)} s`)
      this.#schedule(retry)
    }
  }

  #schedule (ms: number): void {
    if (this.#stopped) return
    this.#timer = this.#o.setTimer(() => { this.#attempt().catch(() => {}) }, ms)
  }
}
