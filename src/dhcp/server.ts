import { createSocket, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import { networkInterfaces } from 'node:os'
import type { Config } from '../config/schema.ts'
import type { BootAssets } from '../boot/assets.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { CodedError } from '../lib/errors.ts'
import type { Service } from '../lib/service.ts'
import type { Logger } from '../log/logger.ts'
import { DhcpHandler, type HandleResult, type Incoming } from './handler.ts'
import { LeaseEngine } from './lease-engine.ts'
import { GroupCommitter, pacedSchedule, type LeaseStore } from './lease-store.ts'
import { HTTP_ASSETS_PREFIX, IPXE_SCRIPT_PATH } from './pxe.ts'
import { parseSubnets } from './subnets.ts'

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
  /** Our address as clients see it: option 54, siaddr. */
  readonly serverAddress: string
  /** e.g. http://10.77.0.1:8080 (no trailing slash). */
  readonly httpBaseUrl: string
  readonly bootAssets: BootAssets
  readonly leaseStore: LeaseStore | undefined
  readonly events: BootEventSink
  readonly log: Logger
}

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

/**
 * Node's dgram has neither SO_BINDTODEVICE nor IP_PKTINFO, so a socket cannot be tied to one
 * interface nor learn which one a broadcast came in on (and binding to the interface's address
 * would stop broadcasts from arriving at all). We honour `dhcp.interface` by taking that
 * interface's IPv4 address as the local network: it picks the subnet for non-relayed clients.
 * On a host with several client networks, run Anvil in a namespace or filter port 67 with the
 * firewall.
 */
export function interfaceAddress (name: string): string {
  const addrs = networkInterfaces()[name]
  const v4 = addrs?.find(a => a.family === 'IPv4')
  if (v4 === undefined) throw new CodedError('ERR_DHCP_INTERFACE', `dhcp.interface: no IPv4 address on interface ${JSON.stringify(name)}`)
  return v4.address
}

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

class DhcpServer implements DhcpService {
  readonly name = 'dhcp'
  readonly #o: DhcpServiceOptions
  readonly #stats: DhcpStats = { received: 0, malformed: 0, replied: 0, ignored: 0, silent: 0, failed: 0, sendErrors: 0, commitBatches: 0 }
  #dhcp: Socket | undefined
  #proxy: Socket | undefined
  #handler: DhcpHandler | undefined
  #engine: LeaseEngine | undefined
  #committer: GroupCommitter | undefined
  #sweep: NodeJS.Timeout | undefined

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
    const local = c.interface === undefined ? this.#o.serverAddress : interfaceAddress(c.interface)
    if (c.mode === 'authoritative') await this.#startEngine(local)
    this.#handler = new DhcpHandler({
      mode: c.mode,
      serverId: this.#o.serverAddress,
      clientPort: c.clientPort,
      serverPort: 67,
      boot: { biosBootFile: c.biosBootFile, efiX64BootFile: c.efiX64BootFile, efiArm64BootFile: c.efiArm64BootFile, httpBaseUrl: this.#o.httpBaseUrl },
      assetExists: async (name) => await this.#o.bootAssets.resolve(name).then(() => true, () => false),
      events: this.#o.events,
      engine: this.#engine,
      commit: this.#committer === undefined ? undefined : async (l) => { await this.#committer?.commit(l) }
    })
    try {
      this.#dhcp = await this.#bind(c.listen, 'dhcp.listen', false)
      if (c.mode === 'proxy') this.#proxy = await this.#bind(c.proxyListen, 'dhcp.proxyListen', true)
    } catch (err) {
      await this.stop()
      throw err
    }
    this.#o.log.info({ mode: c.mode, ...this.addresses(), serverId: this.#o.serverAddress, local }, 'dhcp: listening')
  }

  async #startEngine (local: string): Promise<void> {
    const store = this.#o.leaseStore
    if (store === undefined) throw new CodedError('ERR_DHCP_NO_LEASE_STORE', 'dhcp.mode authoritative needs a lease store')
    const engine = new LeaseEngine({ subnets: parseSubnets(this.#o.config.subnets), serverId: this.#o.serverAddress, localAddress: local, clock: Date })
    engine.load(await store.loadAll())
    this.#engine = engine
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
    if (handler === undefined) return
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
