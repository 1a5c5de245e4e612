/**
 * A token bucket: `ratePerMinute` tokens a minute, holding at most `burst`. Pure: the caller
 * passes the time, so tests need no clock. A rate of 0 means no limit.
 */
export class TokenBucket {
  readonly #ratePerMs: number
  readonly #burst: number
  #tokens: number
  #at: number | undefined

  constructor (ratePerMinute: number, burst = ratePerMinute) {
    this.#ratePerMs = ratePerMinute / 60_000
    this.#burst = Math.max(1, burst)
    this.#tokens = this.#burst
  }

  /** Takes one token if there is one; false when the limit bites. */
  take (now: number): boolean {
    if (this.#ratePerMs === 0) return true
    if (this.#at !== undefined) this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#at) * this.#ratePerMs)
    this.#at = now
    if (this.#tokens < 1) return false
    this.#tokens -= 1
    return true
  }
}
