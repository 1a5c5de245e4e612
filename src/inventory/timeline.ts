import type { BootEvent, BootEventSink } from './events.ts'
import type { Clock, MachineStore, NewEvent } from './ports.ts'

export type TimelineOptions = {
  readonly store: MachineStore
  readonly clock: Clock
  /** How long an event may wait in memory before it is written. */
  readonly flushIntervalMs?: number
  /** Write as soon as this many events are waiting. */
  readonly maxBatch?: number
  readonly onError: (err: unknown) => void
}

/**
 * The BootEventSink the transports record into. Events are buffered and written in one
 * transaction per batch, so a DHCP or TFTP hot path never waits on the disk (a kill -9 can lose
 * at most the last flush interval of those); the inventory and the boot script path call flush()
 * before answering, so a machine's own events are as durable as the machine. IPs are mapped to
 * MACs from what DHCP told us, so a TFTP event finds the machine that was offered the file.
 */
export class Timeline implements BootEventSink {
  readonly #store: MachineStore
  readonly #clock: Clock
  readonly #interval: number
  readonly #maxBatch: number
  readonly #onError: (err: unknown) => void
  readonly #macByIp = new Map<string, string>()
  readonly #ipByMac = new Map<string, string>()
  #pending: NewEvent[] = []
  #timer: NodeJS.Timeout | undefined
  #flushing: Promise<void> = Promise.resolve()

  constructor (options: TimelineOptions) {
    this.#store = options.store
    this.#clock = options.clock
    this.#interval = options.flushIntervalMs ?? 25
    this.#maxBatch = options.maxBatch ?? 500
    this.#onError = options.onError
  }

  noteAddress (mac: string, ip: string): void {
    // Bounded: a /16 of churn at most; the oldest entries go first (Map keeps insertion order).
    this.#macByIp.delete(ip)
    this.#macByIp.set(ip, mac)
    if (this.#macByIp.size > 65536) this.#macByIp.delete(this.#macByIp.keys().next().value as string)
    this.#ipByMac.delete(mac)
    this.#ipByMac.set(mac, ip)
    if (this.#ipByMac.size > 65536) this.#ipByMac.delete(this.#ipByMac.keys().next().value as string)
  }

  /** The address DHCP last saw this MAC take (our lease, or the site server's in proxy mode). */
  ipForMac (mac: string): string | undefined {
    return this.#ipByMac.get(mac)
  }

  /** The MAC last seen at this IP, if DHCP told us. */
  macForIp (ip: string): string | undefined {
    return this.#macByIp.get(ip)
  }

  record (event: BootEvent): void {
    const mac = event.mac ?? (event.ip === undefined ? undefined : this.#macByIp.get(event.ip))
    this.#pending.push({
      machineId: event.machineId ?? null,
      mac: mac ?? null,
      ip: event.ip ?? null,
      at: this.#clock.now(),
      source: event.source,
      type: event.type,
      message: event.message,
      data: event.data ?? null
    })
    if (this.#pending.length >= this.#maxBatch) {
      void this.flush()
    } else {
      this.#timer ??= setTimeout(() => { void this.flush() }, this.#interval)
    }
  }

  /** Writes everything recorded so far; resolves when it is on disk. */
  async flush (): Promise<void> {
    clearTimeout(this.#timer)
    this.#timer = undefined
    const batch = this.#pending
    this.#pending = []
    const previous = this.#flushing
    const current = (async () => {
      await previous
      if (batch.length === 0) return
      try {
        await this.#store.appendEvents(batch)
      } catch (err) {
        this.#onError(err)
      }
    })()
    this.#flushing = current
    await current
  }
}
