import { cidrContains, intToIpv4, ipv4ToInt } from '../lib/ipv4.ts'
import { LeaseState, type Lease } from './lease-store.ts'
import { subnetContaining, type Subnet } from './subnets.ts'

/** Time source, so tests can move it. */
export interface Clock { now (): number }

/** Who is asking: chaddr, option 61 and option 12. */
export type ClientRef = { readonly mac: string, readonly clientId?: string | undefined, readonly hostname?: string | undefined }

/** Header and option facts that decide a request's meaning (RFC 2131 §4.3.2). */
export type RequestFacts = {
  readonly giaddr: string
  readonly ciaddr: string
  /** Option 50. */
  readonly requested?: string | undefined
  /** Option 54. */
  readonly serverId?: string | undefined
}

/** What the engine decided; `persist` must be committed before an ACK is sent. */
export type EngineResult =
  | { readonly kind: 'offer' | 'ack', readonly address: string, readonly subnet: Subnet, readonly leaseTimeSec: number, readonly reason: string, readonly persist: readonly Lease[] }
  | { readonly kind: 'nak', readonly reason: string }
  | { readonly kind: 'inform', readonly subnet: Subnet, readonly reason: string }
  | { readonly kind: 'silent', readonly reason: string, readonly persist: readonly Lease[] }

export type LeaseEngineOptions = {
  readonly subnets: readonly Subnet[]
  /** Our server identifier (option 54). */
  readonly serverId: string
  /** The address of the interface clients broadcast on: picks the subnet when giaddr is 0. */
  readonly localAddress: string
  readonly clock: Clock
  /** How long an OFFER holds its address for the client (RFC 2131 §4.3.1 leaves it to us). */
  readonly offerHoldMs?: number
  /** How long a DECLINEd address stays out of the pool (RFC 2131 §4.3.3). */
  readonly declineQuarantineMs?: number
}

type Offer = { readonly key: string, readonly expiresAt: number }

/**
 * Authoritative DHCP address management (RFC 2131 §4.3): pools, reservations, offers held in
 * memory, leases bound, renewed, released, declined and expired. Pure: it returns the lease rows
 * to persist; the caller commits them durably before sending the ACK.
 */
export class LeaseEngine {
  readonly #o: Required<LeaseEngineOptions>
  readonly #leases = new Map<number, Lease>()
  readonly #byClient = new Map<string, number>()
  readonly #offers = new Map<number, Offer>()
  /** Client key → the address offered to it, so a new DISCOVER replaces the old offer in O(1). */
  readonly #offerByClient = new Map<string, number>()
  readonly #cursor = new Map<string, number>()

  constructor (options: LeaseEngineOptions) {
    this.#o = { offerHoldMs: 30_000, declineQuarantineMs: 600_000, ...options }
  }

  /** Takes the leases stored before a restart. */
  load (leases: readonly Lease[]): void {
    for (const l of leases) {
      this.#leases.set(l.address, l)
      if (l.state !== LeaseState.Declined) this.#byClient.set(l.clientId ?? l.mac, l.address)
    }
  }

  /** Every lease row known, for inspection. */
  leases (): Lease[] {
    return [...this.#leases.values()]
  }

  #key (c: ClientRef): string {
    return c.clientId ?? c.mac
  }

  #owns (l: Lease, c: ClientRef): boolean {
    // RFC 2131 §4.2: the client identifier when there is one, else chaddr.
    return l.clientId !== null && c.clientId !== undefined ? l.clientId === c.clientId : l.mac === c.mac
  }

  #subnet (f: RequestFacts): Subnet | undefined {
    const subnets = this.#o.subnets
    if (f.giaddr !== '0.0.0.0') return subnetContaining(subnets, f.giaddr)
    if (f.ciaddr !== '0.0.0.0') return subnetContaining(subnets, f.ciaddr)
    return subnetContaining(subnets, this.#o.localAddress) ?? (subnets.length === 1 ? subnets[0] : undefined)
  }

  #available (a: number, c: ClientRef, s: Subnet, now: number): boolean {
    const reservedFor = s.reservationByAddress.get(a)
    if (reservedFor !== undefined) {
      if (reservedFor !== c.mac) return false
    } else if (a < s.start || a > s.end) {
      return false
    }
    const l = this.#leases.get(a)
    if (l !== undefined) {
      if (l.state === LeaseState.Declined) return l.expiresAt <= now
      if (!this.#owns(l, c) && l.state === LeaseState.Bound && l.expiresAt > now) return false
    }
    const o = this.#offers.get(a)
    return o === undefined || o.key === this.#key(c) || o.expiresAt <= now
  }

  #pick (c: ClientRef, s: Subnet, requested: string | undefined, now: number): { address: number, why: string } | undefined {
    const reserved = s.reservationByMac.get(c.mac)
    if (reserved !== undefined && this.#available(reserved, c, s, now)) return { address: reserved, why: 'its reservation' }
    const previous = this.#byClient.get(this.#key(c))
    if (previous !== undefined && cidrContains(s.cidr, previous) && this.#available(previous, c, s, now)) {
      return { address: previous, why: 'the address it had before' }
    }
    if (requested !== undefined) {
      const r = ipv4ToInt(requested)
      if (cidrContains(s.cidr, r) && this.#available(r, c, s, now)) return { address: r, why: 'the address it asked for' }
    }
    const fresh = this.#scanUnused(c, s, now)
    if (fresh !== undefined) return { address: fresh, why: 'a free address from the pool' }
    // Reuse the address released or expired longest ago, so recent holders get theirs back.
    let best: Lease | undefined
    for (const l of this.#leases.values()) {
      if (l.address < s.start || l.address > s.end || !this.#available(l.address, c, s, now)) continue
      if (best === undefined || l.updatedAt < best.updatedAt) best = l
    }
    return best === undefined ? undefined : { address: best.address, why: 'the pool address unused longest' }
  }

  #scanUnused (c: ClientRef, s: Subnet, now: number): number | undefined {
    const size = s.end - s.start + 1
    const from = this.#cursor.get(s.name) ?? s.start
    for (let i = 0; i < size; i++) {
      const a = s.start + ((from - s.start + i) % size)
      if (!this.#leases.has(a) && this.#available(a, c, s, now)) {
        this.#cursor.set(s.name, a + 1 > s.end ? s.start : a + 1)
        return a
      }
    }
    return undefined
  }

  /** DHCPDISCOVER → an address held for the client, or silence (RFC 2131 §4.3.1). */
  discover (c: ClientRef, f: RequestFacts): EngineResult {
    const s = this.#subnet(f)
    if (s === undefined) return { kind: 'silent', reason: `no configured subnet for ${this.#where(f)}`, persist: [] }
    const now = this.#o.clock.now()
    const pick = this.#pick(c, s, f.requested, now)
    if (pick === undefined) return { kind: 'silent', reason: `pool ${s.name} is exhausted`, persist: [] }
    const key = this.#key(c)
    this.#dropOffer(c)
    this.#offers.set(pick.address, { key, expiresAt: now + this.#o.offerHoldMs })
    this.#offerByClient.set(key, pick.address)
    return { kind: 'offer', address: intToIpv4(pick.address), subnet: s, leaseTimeSec: Math.floor(s.leaseTimeMs / 1000), reason: `offered ${pick.why} in ${s.name}`, persist: [] }
  }

  /** DHCPREQUEST in SELECTING, INIT-REBOOT, RENEWING or REBINDING state (RFC 2131 §4.3.2). */
  request (c: ClientRef, f: RequestFacts): EngineResult {
    const s = this.#subnet(f)
    if (f.serverId !== undefined) {
      if (f.serverId !== this.#o.serverId) {
        this.#dropOffer(c)
        return { kind: 'silent', reason: `client chose server ${f.serverId}`, persist: [] }
      }
      const a = f.requested ?? (f.ciaddr !== '0.0.0.0' ? f.ciaddr : undefined)
      if (a === undefined) return { kind: 'nak', reason: 'SELECTING request without option 50' }
      return this.#bind(c, s, a, 'selected our offer')
    }
    if (f.requested !== undefined && f.ciaddr === '0.0.0.0') return this.#bind(c, s, f.requested, 'INIT-REBOOT: confirmed the address it remembers')
    if (f.ciaddr !== '0.0.0.0') return this.#bind(c, s, f.ciaddr, f.giaddr === '0.0.0.0' ? 'RENEWING/REBINDING: extended its lease' : 'REBINDING via relay: extended its lease')
    return { kind: 'nak', reason: 'REQUEST with neither server identifier, requested address nor ciaddr' }
  }

  #bind (c: ClientRef, s: Subnet | undefined, address: string, why: string): EngineResult {
    if (s === undefined || !cidrContains(s.cidr, ipv4ToInt(address))) {
      return { kind: 'nak', reason: `${address} is not on the client's network${s === undefined ? '' : ` (${s.name})`}` }
    }
    const a = ipv4ToInt(address)
    const reserved = s.reservationByMac.get(c.mac)
    if (reserved !== undefined && reserved !== a) return { kind: 'nak', reason: `${address} is not the client's reserved address ${intToIpv4(reserved)}` }
    const now = this.#o.clock.now()
    if (!this.#available(a, c, s, now)) return { kind: 'nak', reason: `${address} is not available to this client` }
    const key = this.#key(c)
    const persist: Lease[] = []
    const old = this.#byClient.get(key)
    const oldLease = old === undefined || old === a ? undefined : this.#leases.get(old)
    if (oldLease !== undefined && oldLease.state === LeaseState.Bound && this.#owns(oldLease, c)) {
      // One lease per client: the address it moves away from goes back to the pool.
      const released = { ...oldLease, state: LeaseState.Released, expiresAt: now, updatedAt: now }
      this.#leases.set(released.address, released)
      persist.push(released)
    }
    const prev = this.#leases.get(a)
    const continuing = prev !== undefined && prev.state === LeaseState.Bound && prev.expiresAt > now && this.#owns(prev, c)
    const lease: Lease = {
      address: a,
      subnet: s.name,
      mac: c.mac,
      clientId: c.clientId ?? null,
      hostname: c.hostname ?? prev?.hostname ?? null,
      state: LeaseState.Bound,
      startsAt: continuing ? prev.startsAt : now,
      expiresAt: now + s.leaseTimeMs,
      updatedAt: now
    }
    this.#leases.set(a, lease)
    this.#byClient.set(key, a)
    this.#dropOffer(c)
    this.#offers.delete(a)
    persist.push(lease)
    return { kind: 'ack', address, subnet: s, leaseTimeSec: Math.floor(s.leaseTimeMs / 1000), reason: why, persist }
  }

  #dropOffer (c: ClientRef): void {
    const key = this.#key(c)
    const a = this.#offerByClient.get(key)
    if (a === undefined) return
    this.#offerByClient.delete(key)
    if (this.#offers.get(a)?.key === key) this.#offers.delete(a)
  }

  /** DHCPRELEASE: the address in ciaddr goes back to the pool (RFC 2131 §4.3.4). */
  release (c: ClientRef, f: RequestFacts): EngineResult {
    const a = f.ciaddr === '0.0.0.0' ? undefined : ipv4ToInt(f.ciaddr)
    const l = a === undefined ? undefined : this.#leases.get(a)
    if (l === undefined || !this.#owns(l, c) || l.state !== LeaseState.Bound) {
      return { kind: 'silent', reason: `RELEASE of ${f.ciaddr}, which this client does not hold`, persist: [] }
    }
    const now = this.#o.clock.now()
    const released = { ...l, state: LeaseState.Released, expiresAt: now, updatedAt: now }
    this.#leases.set(l.address, released)
    return { kind: 'silent', reason: `released ${f.ciaddr}`, persist: [released] }
  }

  /** DHCPDECLINE: the address is in use on the wire; quarantine it (RFC 2131 §4.3.3). */
  decline (c: ClientRef, f: RequestFacts): EngineResult {
    const address = f.requested
    const a = address === undefined ? undefined : ipv4ToInt(address)
    const l = a === undefined ? undefined : this.#leases.get(a)
    const offered = a === undefined ? undefined : this.#offers.get(a)
    // Only the holder may decline, or one client could empty the pool.
    const holds = (l !== undefined && this.#owns(l, c)) || offered?.key === this.#key(c)
    const s = address === undefined ? undefined : subnetContaining(this.#o.subnets, address)
    if (a === undefined || s === undefined || !holds) return { kind: 'silent', reason: `DECLINE of ${address ?? 'no address'}, which this client does not hold`, persist: [] }
    const now = this.#o.clock.now()
    const declined: Lease = {
      address: a,
      subnet: s.name,
      mac: c.mac,
      clientId: c.clientId ?? null,
      hostname: l?.hostname ?? null,
      state: LeaseState.Declined,
      startsAt: now,
      expiresAt: now + this.#o.declineQuarantineMs,
      updatedAt: now
    }
    this.#leases.set(a, declined)
    this.#offers.delete(a)
    this.#byClient.delete(this.#key(c))
    return { kind: 'silent', reason: `quarantined ${address}: client declined it as in use`, persist: [declined] }
  }

  /** DHCPINFORM: parameters for an address configured by other means (RFC 2131 §4.3.5). */
  inform (_c: ClientRef, f: RequestFacts): EngineResult {
    const s = this.#subnet(f)
    if (s === undefined) return { kind: 'silent', reason: `INFORM from ${this.#where(f)}, outside every subnet`, persist: [] }
    return { kind: 'inform', subnet: s, reason: `parameters of ${s.name} for ${f.ciaddr}` }
  }

  /** Marks bound leases past their end as expired and forgets stale offers; returns rows to persist. */
  sweep (): Lease[] {
    const now = this.#o.clock.now()
    const changed: Lease[] = []
    for (const l of this.#leases.values()) {
      if (l.state === LeaseState.Bound && l.expiresAt <= now) {
        const expired = { ...l, state: LeaseState.Expired, updatedAt: now }
        this.#leases.set(l.address, expired)
        changed.push(expired)
      }
    }
    for (const [a, o] of this.#offers) {
      if (o.expiresAt > now) continue
      this.#offers.delete(a)
      if (this.#offerByClient.get(o.key) === a) this.#offerByClient.delete(o.key)
    }
    return changed
  }

  #where (f: RequestFacts): string {
    if (f.giaddr !== '0.0.0.0') return `relay ${f.giaddr}`
    if (f.ciaddr !== '0.0.0.0') return `client ${f.ciaddr}`
    return `the local network (${this.#o.localAddress})`
  }
}
