import { createHash } from 'node:crypto'
import { IpmiBmc } from '../ipmi/bmc.ts'
import { BmcErrorCode } from './errors.ts'
import { isCodedError } from '../lib/errors.ts'
import type { IpmiTransport } from '../ipmi/types.ts'
import type { BmcClient, BmcEndpoint, BootDeviceReading, BootDeviceSetting, PowerAction, PowerState } from './bmc.ts'

/** What the pool needs of an IPMI session (src/ipmi/client.ts IpmiSession). */
export interface PooledSession extends IpmiTransport {
  readonly closed: boolean
  close (): Promise<void>
}

/** Opens a session: IpmiSession.open in the server, a fake in unit tests. */
export type SessionOpener = (target: {
  host: string
  port: number
  username: string
  password: string
  cipherSuite: 'auto' | 3 | 17
  timeoutMs: number
  retries: number
}) => Promise<PooledSession>

export type IpmiBmcClientOptions = {
  readonly open: SessionOpener
  /** Per-request wait and retransmissions, handed to each session. */
  readonly timeoutMs: number
  readonly retries: number
  /** Sessions unused this long are closed (the BMC would time them out anyway). */
  readonly idleCloseMs: number
}

type Entry = { session: Promise<PooledSession>, bmc: Promise<IpmiBmc>, lastUsed: number }

/** After these the session is suspect: drop it, so the next call opens a fresh one. */
const DROP_SESSION = new Set<string>([BmcErrorCode.unreachable, BmcErrorCode.sessionClosed, BmcErrorCode.protocol])

/**
 * BmcClient over native IPMI sessions, kept open and reused: a status query over an open session is
 * one round trip instead of the eight of a fresh RMCP+ login. Keyed by the endpoint including a
 * digest of the password, so changed credentials get a new session.
 */
export class IpmiBmcClient implements BmcClient {
  readonly #o: IpmiBmcClientOptions
  readonly #pool = new Map<string, Entry>()
  readonly #sweeper: NodeJS.Timeout

  constructor (options: IpmiBmcClientOptions) {
    this.#o = options
    this.#sweeper = setInterval(() => { void this.#sweep() }, Math.max(1000, Math.min(options.idleCloseMs, 60_000)))
    this.#sweeper.unref()
  }

  async powerState (bmc: BmcEndpoint): Promise<PowerState> {
    return await this.#with(bmc, async (b) => await b.powerState())
  }

  async powerAction (bmc: BmcEndpoint, action: PowerAction): Promise<void> {
    await this.#with(bmc, async (b) => { await b.chassisControl(action) })
  }

  async setBootDevice (bmc: BmcEndpoint, setting: BootDeviceSetting): Promise<void> {
    await this.#with(bmc, async (b) => { await b.setBootDevice(setting) })
  }

  async bootDevice (bmc: BmcEndpoint): Promise<BootDeviceReading> {
    const r = await this.#with(bmc, async (b) => await b.bootDevice())
    return { device: r.device, persistent: r.persistent, efi: r.efi, valid: r.valid }
  }

  async close (): Promise<void> {
    clearInterval(this.#sweeper)
    const entries = [...this.#pool.values()]
    this.#pool.clear()
    await Promise.all(entries.map(async (e) => { await closeQuietly(e) }))
  }

  /** Number of open sessions (for metrics and tests). */
  get size (): number {
    return this.#pool.size
  }

  async #with<T> (endpoint: BmcEndpoint, call: (bmc: IpmiBmc) => Promise<T>): Promise<T> {
    const key = poolKey(endpoint)
    let entry = this.#pool.get(key)
    if (entry !== undefined && (await entry.session.catch(() => undefined))?.closed !== false) {
      this.#pool.delete(key)
      entry = undefined
    }
    if (entry === undefined) {
      const session = this.#o.open({
        host: endpoint.address,
        port: endpoint.port,
        username: endpoint.username,
        password: endpoint.password,
        cipherSuite: endpoint.cipherSuite,
        timeoutMs: this.#o.timeoutMs,
        retries: this.#o.retries
      })
      entry = { session, bmc: session.then((s) => new IpmiBmc(s)), lastUsed: Date.now() }
      this.#pool.set(key, entry)
    }
    const current = entry
    current.lastUsed = Date.now()
    try {
      return await call(await current.bmc)
    } catch (err) {
      // A failed login or a dead session is not kept: the next call starts over.
      if (!isCodedError(err) || DROP_SESSION.has(err.code) || err.code === BmcErrorCode.auth || err.code === BmcErrorCode.cipherUnsupported) {
        if (this.#pool.get(key) === current) this.#pool.delete(key)
        void closeQuietly(current)
      }
      throw err
    }
  }

  async #sweep (): Promise<void> {
    const cutoff = Date.now() - this.#o.idleCloseMs
    for (const [key, entry] of this.#pool) {
      if (entry.lastUsed < cutoff) {
        this.#pool.delete(key)
        await closeQuietly(entry)
      }
    }
  }
}

function poolKey (e: BmcEndpoint): string {
  const pw = createHash('sha256').update(e.password).digest('base64url')
  return `${e.address}\0${e.port}\0${e.username}\0${pw}\0${e.cipherSuite}`
}

async function closeQuietly (entry: Entry): Promise<void> {
  try {
    await (await entry.session).close()
  } catch {
    // Closing is a courtesy to the BMC; a session that never opened or already died needs none.
  }
}
