import { createSocket, type RemoteInfo, type Socket } from 'node:dgram'
import type { AddressInfo } from 'node:net'
import type { BootPlan } from '../provisioning/boot-planner.ts'
import type { BootAssets } from '../boot/assets.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { isCodedError } from '../lib/errors.ts'
import type { Service } from '../lib/service.ts'
import type { Logger } from '../log/logger.ts'
import { FileCache, type BlockSource, type TransferMode } from '../boot/file-cache.ts'
import { decodePacket, encodeError, ErrorCode, Opcode, type RequestPacket } from './packet.ts'
import type { LockstepEngine } from './lockstep-native.ts'
import { NativeLockstepSession } from './lockstep-session.ts'
import { TransferSession, type SessionEnd } from './session.ts'
import { startTransfer, type Step, type TransferLimits } from './transfer.ts'

/** Limits from config `tftp.*` (timeout in seconds). */
export type TftpLimits = {
  readonly maxTransfers: number
  readonly maxBlockSize: number
  readonly maxWindowSize: number
  readonly timeout: number
  readonly retries: number
  /** Cap on blksize × windowsize per transfer; default 1 MiB. */
  readonly maxWindowBytes?: number
}

/** What createTftpService needs. */
export type TftpServiceOptions = {
  /** "host:port"; port 0 asks the kernel for one (tests). */
  readonly listen: string
  readonly assets: BootAssets
  readonly events: BootEventSink
  readonly log: Logger
  readonly limits: TftpLimits
  /** The server-wide in-memory file cache (shared with HTTP); by default one of its own, files up to 64 MiB, 128 MiB in all. */
  readonly cache?: FileCache
  /**
   * The native lock-step engine (config `tftp.nativeLockstep`), for lock-step transfers of cached
   * files; without it every transfer runs on the event loop.
   */
  readonly lockstep?: LockstepEngine | undefined
  /**
   * The boot planner for the machine at this address, if the inventory knows it (the one place
   * that decides what a machine boots): a machine whose plan is its local disk is refused its
   * first stage, so firmware sent here by a site's DHCP (options 66/67) goes on to its disk.
   */
  readonly plan?: ((ip: string) => Promise<BootPlan | undefined>) | undefined
}

/** Counters for metrics and tests. */
export type TftpStats = {
  active: number
  completed: number
  failed: number
  refused: number
  malformed: number
  bytesSent: number
  retransmits: number
  /** Transfers the client ended after learning the size (tsize), before any data. */
  sizeQueries: number
}

/** A running transfer, on the event loop or the native engine. */
type Session = { abort (reason: string): void }

/** The TFTP service: a Service that also reports its bound address and counters. */
export type TftpService = Service & { address (): AddressInfo, stats (): TftpStats }

type Refusal = { code: ErrorCode, wire: string, why: string, level: 'info' | 'warn' }

function splitListen (listen: string): { host: string, port: number } {
  const i = listen.lastIndexOf(':')
  return { host: listen.slice(0, i), port: Number(listen.slice(i + 1)) }
}

const fmtBytes = (n: number): string => n.toLocaleString('en-US')

/** Creates the read-only TFTP server (RFC 1350, 2347, 2348, 2349, 7440) over the boot assets. */
export function createTftpService (opts: TftpServiceOptions): TftpService {
  return new TftpServer(opts)
}

class TftpServer implements TftpService {
  readonly name = 'tftp'
  readonly #opts: TftpServiceOptions
  readonly #limits: TransferLimits
  readonly #cache: FileCache
  readonly #log: Logger
  #socket: Socket | undefined
  /** Transfers by client TID ("ip:port"); undefined while the file is being opened. */
  readonly #transfers = new Map<string, Session | undefined>()
  /** Native transfers report from their thread after an abort: stop() waits for those reports. */
  readonly #nativeEnds = new Set<Promise<void>>()
  readonly #stats: TftpStats = { active: 0, completed: 0, failed: 0, refused: 0, malformed: 0, bytesSent: 0, retransmits: 0, sizeQueries: 0 }
  #stopping = false

  constructor (opts: TftpServiceOptions) {
    this.#opts = opts
    const l = opts.limits
    this.#limits = { maxBlockSize: l.maxBlockSize, maxWindowSize: l.maxWindowSize, maxWindowBytes: l.maxWindowBytes ?? 1 << 20, timeout: l.timeout, retries: l.retries }
    this.#cache = opts.cache ?? new FileCache({ maxFileBytes: 64 << 20, maxBytes: 128 << 20 })
    this.#log = opts.log.child({ component: 'tftp' })
  }

  async start (signal: AbortSignal): Promise<void> {
    const { host, port } = splitListen(this.#opts.listen)
    const socket = createSocket({ type: 'udp4' })
    socket.on('message', (msg, rinfo) => { this.#onRequest(msg, rinfo) })
    await new Promise<void>((resolve, reject) => {
      socket.once('error', (err: NodeJS.ErrnoException) => {
        socket.close()
        const hint = err.code === 'EACCES' ? ` (port ${port} needs root: set tftp.listen to a port above 1023)` : ''
        reject(new Error(`tftp: cannot listen on ${this.#opts.listen}: ${err.message}${hint}`, { cause: err }))
      })
      socket.bind({ address: host, port }, () => { resolve() })
    })
    socket.on('error', (err) => { this.#log.error({ err }, 'tftp listen socket error') })
    this.#socket = socket
    signal.addEventListener('abort', () => { this.stop().catch(() => {}) }, { once: true })
    this.#log.info({ address: this.address() }, 'tftp listening')
  }

  async stop (): Promise<void> {
    if (this.#stopping) return
    this.#stopping = true
    for (const t of this.#transfers.values()) t?.abort('server stopping')
    await Promise.all(this.#nativeEnds)
    const s = this.#socket
    this.#socket = undefined
    if (s !== undefined) await new Promise<void>((resolve) => { s.close(() => { resolve() }) })
  }

  address (): AddressInfo {
    if (this.#socket === undefined) throw new Error('tftp server is not listening')
    return this.#socket.address()
  }

  stats (): TftpStats {
    return { ...this.#stats, active: this.#transfers.size }
  }

  #malformed (err: unknown, rinfo: { address: string, port: number }): void {
    this.#stats.malformed++
    this.#log.debug({ peer: `${rinfo.address}:${rinfo.port}`, err: (err as Error).message }, 'dropped malformed tftp datagram')
  }

  // The listen socket's handler never throws (ARCHITECTURE: UDP handlers): a bad datagram is counted and dropped.
  #onRequest (msg: Buffer, rinfo: RemoteInfo): void {
    let p
    try {
      p = decodePacket(msg)
    } catch (err) {
      this.#malformed(err, rinfo)
      return
    }
    if (this.#stopping) return
    if (p.op === Opcode.WRQ) {
      this.#refuse(rinfo, p.filename, { code: ErrorCode.ACCESS_VIOLATION, wire: 'Access violation: read-only server', why: 'write requests are refused: the server is read-only', level: 'info' })
      return
    }
    if (p.op !== Opcode.RRQ) {
      this.#malformed(new Error(`opcode ${p.op} sent to the request port`), rinfo)
      return
    }
    const key = `${rinfo.address}:${rinfo.port}`
    if (this.#transfers.has(key)) return // the client resent its RRQ while we answer it: one transfer
    if (this.#transfers.size >= this.#opts.limits.maxTransfers) {
      this.#refuse(rinfo, p.filename, { code: ErrorCode.NOT_DEFINED, wire: 'Server busy, try again later', why: `server busy: ${this.#transfers.size} transfers at the limit (tftp.maxTransfers)`, level: 'warn' })
      return
    }
    const mode = p.mode.toLowerCase()
    if (mode !== 'octet' && mode !== 'netascii') {
      this.#refuse(rinfo, p.filename, { code: ErrorCode.ILLEGAL_OPERATION, wire: 'Unsupported mode', why: `mode ${JSON.stringify(p.mode)} is not supported`, level: 'info' })
      return
    }
    this.#transfers.set(key, undefined) // hold the slot while the file is opened
    this.#begin(p, mode, rinfo, key).catch((err: unknown) => {
      this.#transfers.delete(key)
      this.#fail(rinfo, p.filename, err)
    })
  }

  async #begin (req: RequestPacket, mode: TransferMode, rinfo: RemoteInfo, key: string): Promise<void> {
    let source
    try {
      const plan = await this.#opts.plan?.(rinfo.address)
      if (plan?.kind === 'local-disk') {
        this.#transfers.delete(key)
        this.#refuse(rinfo, req.filename, { code: ErrorCode.FILE_NOT_FOUND, wire: 'File not found', why: `${plan.message}: no first stage for it`, level: 'info' })
        return
      }
      const asset = await this.#opts.assets.resolve(req.filename)
      source = await this.#cache.open(asset, mode)
    } catch (err) {
      this.#transfers.delete(key)
      const refusal = this.#refusalFor(err)
      if (refusal === undefined) throw err
      this.#refuse(rinfo, req.filename, refusal)
      return
    }
    const first = startTransfer(req.filename, source.size, req.options, this.#limits, performance.now())
    const engine = this.#opts.lockstep
    const session = engine !== undefined && source.kind === 'memory' && first.state.negotiated.windowsize === 1
      ? this.#startNative(engine, source.data, first, rinfo, key)
      : await this.#startOnLoop(source, first, rinfo, key)
    // A transfer that ends at once (it cannot today, but the machine may) has already left the map.
    if (session !== undefined && this.#transfers.has(key)) this.#transfers.set(key, session)
  }

  /** A lock-step transfer of a cached file: the native engine runs it. */
  #startNative (engine: LockstepEngine, data: Buffer, first: Step, rinfo: RemoteInfo, key: string): Session | undefined {
    if (this.#stopping) {
      this.#transfers.delete(key)
      return undefined
    }
    const session = new NativeLockstepSession(engine, { host: splitListen(this.#opts.listen).host, peerAddress: rinfo.address, peerPort: rinfo.port }, data, first.state,
      (end) => { this.#finished(key, rinfo, end) },
      (count) => {
        this.#stats.malformed += count
        this.#log.debug({ peer: key, count }, 'ignored stray datagrams on a tftp transfer socket')
      })
    this.#nativeEnds.add(session.done)
    void session.done.then(() => this.#nativeEnds.delete(session.done))
    return session
  }

  /** Any other transfer: its own connected dgram socket, driven by the state machine on the event loop. */
  async #startOnLoop (source: BlockSource, first: Step, rinfo: RemoteInfo, key: string): Promise<Session | undefined> {
    const socket = createSocket({ type: 'udp4' })
    try {
      await new Promise<void>((resolve, reject) => {
        socket.once('error', reject)
        socket.bind({ address: splitListen(this.#opts.listen).host, port: 0 }, () => {
          // RFC 1350 §4: the transfer runs between two TIDs; connecting makes the kernel drop other peers.
          socket.connect(rinfo.port, rinfo.address, () => { socket.off('error', reject); resolve() })
        })
      })
    } catch (err) {
      socket.close()
      if (source.kind === 'file') await source.handle.close()
      throw err
    }
    if (this.#stopping) {
      socket.close()
      if (source.kind === 'file') await source.handle.close()
      this.#transfers.delete(key)
      return undefined
    }
    return new TransferSession(socket, source, first,
      (end) => { this.#finished(key, rinfo, end) },
      (err) => { this.#malformed(err, rinfo) },
      (err) => { this.#log.debug({ peer: key, err: err.message }, 'tftp send failed; the retransmit timer covers it') })
  }

  #refusalFor (err: unknown): Refusal | undefined {
    if (!isCodedError(err)) return undefined
    if (err.code === 'ERR_PATH_TRAVERSAL') return { code: ErrorCode.ACCESS_VIOLATION, wire: 'Access violation', why: 'the path leaves the boot assets', level: 'warn' }
    if (err.code === 'ERR_ASSET_NOT_FOUND') return { code: ErrorCode.FILE_NOT_FOUND, wire: 'File not found', why: 'no such boot asset', level: 'info' }
    if (err.code === 'ERR_TFTP_NETASCII_TOO_LARGE') return { code: ErrorCode.NOT_DEFINED, wire: 'File too large for netascii mode', why: err.message, level: 'info' }
    return undefined
  }

  #sendError (rinfo: RemoteInfo, code: ErrorCode, message: string): void {
    this.#socket?.send(encodeError(code, message), rinfo.port, rinfo.address, (err) => {
      if (err !== null) this.#log.debug({ err: err.message }, 'tftp error reply not sent')
    })
  }

  #refuse (rinfo: RemoteInfo, file: string, r: Refusal): void {
    this.#stats.refused++
    this.#sendError(rinfo, r.code, r.wire)
    const message = `refused ${file}: ${r.why} (TFTP error ${r.code} "${r.wire}")`
    this.#log[r.level]({ peer: `${rinfo.address}:${rinfo.port}`, file }, message)
    this.#opts.events.record({ source: 'tftp', type: 'tftp.refused', ip: rinfo.address, message, data: { file, errorCode: r.code, reason: r.why } })
  }

  #fail (rinfo: RemoteInfo, file: string, err: unknown): void {
    this.#stats.failed++
    this.#sendError(rinfo, ErrorCode.NOT_DEFINED, 'Internal error')
    const message = `could not start sending ${file}: ${(err as Error).message}`
    this.#log.error({ peer: `${rinfo.address}:${rinfo.port}`, file, err }, message)
    this.#opts.events.record({ source: 'tftp', type: 'tftp.failed', ip: rinfo.address, message, data: { file, reason: (err as Error).message } })
  }

  #finished (key: string, rinfo: RemoteInfo, end: SessionEnd): void {
    this.#transfers.delete(key)
    const s = end.summary
    this.#stats.bytesSent += s.bytes
    this.#stats.retransmits += s.retransmits
    const opts = `blksize ${s.blksize}, windowsize ${s.windowsize}${s.tsize ? ', tsize requested' : ''}${s.retransmits > 0 ? `, ${fmtBytes(s.retransmits)} blocks resent` : ''}`
    const secs = (s.durationMs / 1000).toFixed(2)
    const durationMs = Math.round(s.durationMs)
    const data = { file: s.file, blksize: s.blksize, windowsize: s.windowsize, tsize: s.tsize, timeout: s.timeout ?? null, bytes: s.bytes, size: s.size, blocks: s.blocks, retransmits: s.retransmits, durationMs }
    const peer = `${rinfo.address}:${rinfo.port}`
    if (end.sizeQuery === true) {
      this.#stats.sizeQueries++
      const message = `answered a size query for ${s.file} (${fmtBytes(s.size)} bytes): the client asked tsize and ended the transfer before any data, as UEFI PXE does before downloading`
      this.#log.debug({ peer, ...data }, message)
      this.#opts.events.record({ source: 'tftp', type: 'tftp.size', ip: rinfo.address, message, data })
    } else if (end.ok) {
      this.#stats.completed++
      const message = `sent ${s.file} (${fmtBytes(s.bytes)} bytes) in ${secs} s, ${opts}`
      this.#log.info({ peer, ...data }, message)
      this.#opts.events.record({ source: 'tftp', type: 'tftp.transfer', ip: rinfo.address, message, data })
    } else {
      this.#stats.failed++
      const message = `transfer of ${s.file} failed after ${fmtBytes(s.bytes)} of ${fmtBytes(s.size)} bytes in ${secs} s: ${end.reason} (${opts})`
      this.#log.warn({ peer, ...data, reason: end.reason }, message)
      this.#opts.events.record({ source: 'tftp', type: 'tftp.failed', ip: rinfo.address, message, data: { ...data, reason: end.reason } })
    }
  }
}
