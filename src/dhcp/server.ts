import { createSocket, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { Config } from '../config/schema.ts'
import type { BootAssets } from '../boot/assets.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { CodedError } from '../lib/errors.ts'
import type { Service } from '../lib/service.ts'
import type { Logger } from '../log/logger.ts'
import type { BootPlan } from '../provisioning/boot-planner.ts'
import { DhcpHandler, type HandleResult, type Incoming } from './handler.ts'
import { LeaseEngine } from './lease-engine.ts'
import { GroupCommitter, pacedSchedule, type Lease, type LeaseStore } from './lease-store.ts'
import { HTTP_ASSETS_PREFIX, IPXE_SCRIPT_PATH } from './pxe.ts'
import { parseSubnets, type Subnet } from './subnets.ts'
import { acquireInterfaceWatch, type AddressChange, type InterfaceAddressWatch } from './interface-watch.ts'

/** Counters since start. */
export type DhcpStats = {
  received: number
  malformed: number
  replied: number
  ignored: number
  /** Acted on without a reply: RELEASE, DECLINE, a REQUEST for another server. */
  silent: number
  /** Datagrams whose handling failed (a lease commit failed): no reply was sent. */
  failed: number
  sendErrors: number
  /** Lease transactions (fsyncs) issued by group commit. */
  commitBatches: number
}

export type DhcpServiceOptions = {
  readonly config: Config['dhcp']
  /**
   * Our address as clients see it: option 54, siaddr. A function is asked again each time
   * dhcp.interface gains or changes its address (src/bin/listen.ts detectServerAddress gives one
   * that follows that interface), so what we advertise follows the address.
   */
  readonly serverAddress: string | (() => string)
  /** e.g. http://10.77.0.1:8080 (no trailing slash); a function is asked again like serverAddress. */
  readonly httpBaseUrl: string | (() => string)
  readonly bootAssets: BootAssets
  readonly leaseStore: LeaseStore | undefined
  readonly events: BootEventSink
  readonly log: Logger
  /** Follows dhcp.interface; by default the process's shared watch of it (interface-watch.ts). */
  readonly interfaceWatch?: InterfaceAddressWatch | undefined
  /** The boot planner by MAC (see DhcpHandlerOptions.plan): local-disk machines get no boot file. */
  readonly plan?: ((mac: string) => Promise<BootPlan | undefined>) | undefined
}

/** What the replies are built from while we serve: fixed until dhcp.interface's address changes. */
type Network = { readonly local: string, readonly serverId: string, readonly httpBaseUrl: string }

export type DhcpService = Service & {
  stats (): DhcpStats
  addresses (): { dhcp: AddressInfo, proxy?: AddressInfo }
}

const SWEEP_INTERVAL_MS = 30_000
/**
 * At most one lease commit (one fsync) per this many ms under load. An fsync costs about 0.2 ms
 * here and blocks the event loop; committing per burst of a few requests spent most of the loop
 * in fsync and dropped requests at 12,000 DORA/s. Paced, the batch grows with the load instead:
 * with 2 ms, 14,000/s still dropped 0.8%; with 4 ms, 0.5% (docs/benchmarks.md), and an ACK
 * waits at most 4 ms more for its fsync.
 */
const COMMIT_INTERVAL_MS = 4
/** Room for a burst of requests while a commit's fsync blocks the loop. */
const RECV_BUFFER_BYTES = 4 * 1024 * 1024

function splitListen (listen: string): { host: string, port: number } {
  const i = listen.lastIndexOf(':')
  return { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) }
}

const resolve = (v: string | (() => string)): string => typeof v === 'function' ? v() : v

/** Every boot file name (TFTP) and URL path (HTTP) that a DHCP reply can advertise. */
export function dhcpBootFileNames (config: Config['dhcp']): { tftp: string[], http: string[], optional: string[] } {
  return {
    tftp: [config.biosBootFile, config.efiX64BootFile],
    http: [IPXE_SCRIPT_PATH, `${HTTP_ASSETS_PREFIX}${config.efiX64BootFile}`],
    // Advertised only when present among the boot assets (checked per request).
    optional: [config.efiArm64BootFile, `${HTTP_ASSETS_PREFIX}${config.efiArm64BootFile}`]
  }
}

/** The DHCP service: sockets on dhcp.listen (and dhcp.proxyListen in proxy mode) around a DhcpHandler. */
export function createDhcpService (opts: DhcpServiceOptions): DhcpService {
  return new DhcpServer(opts)
}

/**
 * Node's dgram has neither SO_BINDTODEVICE nor IP_PKTINFO, so a socket cannot be tied to one
 * interface nor learn which one a broadcast came in on (and binding to the interface's address
 * would stop broadcasts from arriving at all). We honour `dhcp.interface` by taking that
 * interface's IPv4 address as the local network: it picks the subnet for non-relayed clients.
 * On a host with several client networks, run Anvil in a namespace or filter port 67 with the
 * firewall.
 *
 * The sockets bind at start whether or not the interface has carrier or an address yet (a
 * wildcard bind needs neither); until it has an address, datagrams are counted and dropped, and
 * from then on the replies follow its address (interface-watch.ts).
 */
class DhcpServer implements DhcpService {
  readonly name = 'dhcp'
  readonly #o: DhcpServiceOptions
  readonly #stats: DhcpStats = { received: 0, malformed: 0, replied: 0, ignored: 0, silent: 0, failed: 0, sendErrors: 0, commitBatches: 0 }
  #dhcp: Socket | undefined
  #proxy: Socket | undefined
  #handler: DhcpHandler | undefined
  #engine: LeaseEngine | undefined
  #subnets: readonly Subnet[] = []
  /** Leases read from the store at start, until the first engine takes them. */
  #stored: readonly Lease[] = []
  #committer: GroupCommitter | undefined
  #sweep: NodeJS.Timeout | undefined
  #network: Network | undefined
  #unwatch: (() => void) | undefined

  constructor (opts: DhcpServiceOptions) {
    this.#o = opts
  }

  stats (): DhcpStats {
    return { ...this.#stats, commitBatches: this.#committer?.batches ?? 0 }
  }

  addresses (): { dhcp: AddressInfo, proxy?: AddressInfo } {
    if (this.#dhcp === undefined) throw new CodedError('ERR_NOT_LISTENING', 'the DHCP service is not listening')
    const dhcp = this.#dhcp.address()
    return this.#proxy === undefined ? { dhcp } : { dhcp, proxy: this.#proxy.address() }
  }

  async start (_signal: AbortSignal): Promise<void> {
    const c = this.#o.config
    if (c.mode === 'off') {
      this.#o.log.info('dhcp: off (dhcp.mode)')
      return
    }
    if (c.mode === 'authoritative') await this.#startLeases()
    try {
      this.#dhcp = await this.#bind(c.listen, 'dhcp.listen', false)
      if (c.mode === 'proxy') this.#proxy = await this.#bind(c.proxyListen, 'dhcp.proxyListen', true)
    } catch (err) {
      await this.stop()
      throw err
    }
    const local = c.interface === undefined ? resolve(this.#o.serverAddress) : this.#watch(c.interface)
    if (local !== undefined) this.#configure(local)
    this.#o.log.info({ mode: c.mode, ...this.addresses(), serverId: this.#network?.serverId ?? null, local: local ?? null, interface: c.interface ?? null }, 'dhcp: listening')
    if (local === undefined) {
      this.#o.log.warn({ interface: c.interface }, `dhcp: interface ${c.interface ?? ''} has no IPv4 address yet (no carrier, or none configured): DHCP is listening and will serve as soon as ${c.interface ?? ''} has an address`)
    }
  }

  /** Subscribes to dhcp.interface's address; returns the address it has now, if any. */
  #watch (name: string): string | undefined {
    let watch = this.#o.interfaceWatch
    let release = (): void => {}
    if (watch === undefined) {
      const held = acquireInterfaceWatch(name)
      watch = held.watch
      release = held.release
    }
    const off = watch.onChange((change) => { this.#addressChanged(change) })
    this.#unwatch = () => { off(); release() }
    return watch.current()
  }

  #addressChanged (change: AddressChange): void {
    if (this.#unwatch === undefined) return
    if (change.current === undefined) {
      // Keep the engine: its leases go to the next one when the address comes back.
      this.#handler = undefined
      this.#network = undefined
      this.#o.log.warn({ interface: change.name, previous: change.previous }, `dhcp: interface ${change.name} lost its IPv4 address ${change.previous ?? ''} (or its carrier): not serving until it has one again`)
      return
    }
    this.#configure(change.current)
    const what = change.previous === undefined ? `now has ${change.current}` : `changed from ${change.previous} to ${change.current}`
    this.#o.log.info({ interface: change.name, local: change.current, serverId: this.#network?.serverId }, `dhcp: interface ${change.name} ${what}: serving`)
  }

  /** (Re)builds what replies are made from; datagrams already being handled finish with the old. */
  #configure (local: string): void {
    const c = this.#o.config
    if (c.mode === 'off') return
    const network = { local, serverId: resolve(this.#o.serverAddress), httpBaseUrl: resolve(this.#o.httpBaseUrl) }
    if (c.mode === 'authoritative') {
      // The engine compares option 54 with our server id and picks the subnet by `local`: a new
      // address needs a new engine, which takes over every lease (offers of the old id lapse).
      const engine = new LeaseEngine({ subnets: this.#subnets, serverId: network.serverId, localAddress: local, clock: Date })
      engine.load(this.#engine?.leases() ?? this.#stored)
      this.#engine = engine
      this.#stored = []
    }
    this.#handler = new DhcpHandler({
      mode: c.mode,
      serverId: network.serverId,
      clientPort: c.clientPort,
      serverPort: 67,
      boot: { biosBootFile: c.biosBootFile, efiX64BootFile: c.efiX64BootFile, efiArm64BootFile: c.efiArm64BootFile, httpBaseUrl: network.httpBaseUrl },
      assetExists: async (name) => await this.#o.bootAssets.resolve(name).then(() => true, () => false),
      events: this.#o.events,
      plan: this.#o.plan,
      engine: this.#engine,
      commit: this.#committer === undefined ? undefined : async (l) => { await this.#committer?.commit(l) }
    })
    this.#network = network
  }

  async #startLeases (): Promise<void> {
    const store = this.#o.leaseStore
    if (store === undefined) throw new CodedError('ERR_DHCP_NO_LEASE_STORE', 'dhcp.mode authoritative needs a lease store')
    this.#subnets = parseSubnets(this.#o.config.subnets)
    this.#stored = await store.loadAll()
    this.#committer = new GroupCommitter(store, pacedSchedule(COMMIT_INTERVAL_MS))
    this.#sweep = setInterval(() => { this.#runSweep() }, SWEEP_INTERVAL_MS)
    this.#sweep.unref()
  }

  #runSweep (): void {
    const expired = this.#engine?.sweep() ?? []
    if (expired.length === 0 || this.#committer === undefined) return
    this.#committer.commit(expired).catch((err: unknown) => { this.#o.log.error({ err }, 'dhcp: committing expired leases failed') })
  }

  async #bind (listen: string, key: string, proxyPort: boolean): Promise<Socket> {
    const { host, port } = splitListen(listen)
    const socket = createSocket({ type: 'udp4', recvBufferSize: RECV_BUFFER_BYTES })
    await new Promise<void>((resolve, reject) => {
      const onError = (err: NodeJS.ErrnoException): void => {
        socket.close()
        const hint = err.code === 'EACCES' ? ' (ports below 1024 need root or CAP_NET_BIND_SERVICE)' : ''
        reject(new CodedError('ERR_LISTEN', `cannot listen on ${listen}: ${err.code ?? err.message}${hint}; change ${key}`, { key }, { cause: err }))
      }
      socket.once('error', onError)
      socket.bind(port, host, () => {
        socket.off('error', onError)
        resolve()
      })
    })
    socket.setBroadcast(true)
    socket.on('error', (err) => { this.#o.log.warn({ err }, `dhcp: socket error on ${listen}`) })
    socket.on('message', (data, rinfo) => { this.#onMessage(socket, { data, from: { address: rinfo.address, port: rinfo.port }, proxyPort }) })
    return socket
  }

  /** Never throws: every outcome is counted, a bad datagram is logged at debug and dropped. */
  #onMessage (socket: Socket, incoming: Incoming): void {
    this.#stats.received++
    const handler = this.#handler
    if (handler === undefined) {
      // Not serving yet (dhcp.interface has no address) or stopping.
      this.#stats.ignored++
      return
    }
    handler.handle(incoming).then(
      (r) => { this.#done(socket, incoming, r) },
      (err: unknown) => {
        this.#stats.failed++
        this.#o.log.error({ err, peer: incoming.from }, 'dhcp: request failed, no reply sent')
      }
    )
  }

  #done (socket: Socket, incoming: Incoming, r: HandleResult): void {
    switch (r.outcome) {
      case 'malformed':
        this.#stats.malformed++
        this.#o.log.debug({ peer: incoming.from, err: r.error.message }, 'dhcp: malformed datagram dropped')
        return
      case 'ignored':
        this.#stats.ignored++
        this.#o.log.trace({ peer: incoming.from, reason: r.reason }, 'dhcp: ignored')
        return
      case 'silent':
        this.#stats.silent++
        return
      case 'replied':
        this.#stats.replied++
        try {
          socket.send(r.reply, r.to.port, r.to.address, (err) => {
            if (err === null) return
            this.#stats.sendErrors++
            this.#o.log.debug({ err, to: r.to }, 'dhcp: send failed')
          })
        } catch (err) {
          // The socket closed while the lease commit was in flight (stop()).
          this.#stats.sendErrors++
          this.#o.log.debug({ err, to: r.to }, 'dhcp: send failed')
        }
    }
  }

  async stop (): Promise<void> {
    this.#unwatch?.()
    this.#unwatch = undefined
    clearInterval(this.#sweep)
    this.#sweep = undefined
    // New datagrams are dropped; the ACKs of leases already being committed still go out.
    this.#handler = undefined
    await this.#committer?.drain()
    const sockets = [this.#dhcp, this.#proxy].filter((s): s is Socket => s !== undefined)
    this.#dhcp = undefined
    this.#proxy = undefined
    await Promise.all(sockets.map(async s => { await new Promise<void>(resolve => { s.close(() => { resolve() }) }) }))
  }
}
