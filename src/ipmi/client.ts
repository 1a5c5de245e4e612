import { randomBytes } from 'node:crypto'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { decodeAsfPong, encodeAsfPing, type AsfPong } from './asf.ts'
import { CLOSE_SESSION_CODES, encodeCloseSession } from './commands/close-session.ts'
import { SET_SESSION_PRIVILEGE_CODES, decodeSetSessionPrivilegeLevel, encodeSetSessionPrivilegeLevel } from './commands/set-session-privilege-level.ts'
import { userKey } from './crypto.ts'
import { BmcError, BmcErrorCode } from '../power/errors.ts'
import { IpmiCompletionError } from './errors.ts'
import { REMOTE_CONSOLE_SWID, type LanResponse } from './lan-message.ts'
import {
  acceptSequence, EMPTY_WINDOW, encodeSessionRequest, openResponse, sealRequest, startHandshake, stepHandshake,
  type EstablishedSession, type HandshakeConfig, type HandshakeOutput
} from './session.ts'
import { NetFn, type IpmiRequest, type IpmiTransport } from './types.ts'

/** Where and how to reach one BMC. */
export type IpmiTarget = {
  host: string
  port?: number
  username: string
  password: string
  /** auto: the strongest of 17, 3 that the BMC offers. */
  cipherSuite?: 3 | 17 | 'auto'
  privilege?: 'operator' | 'administrator'
  /** Per try; default 1000. */
  timeoutMs?: number
  /** Extra tries after the first; default 3. */
  retries?: number
}

/** Optional knobs for IpmiSession.open. */
export type IpmiSessionOptions = {
  signal?: AbortSignal
  /** Idle time after which a cheap command keeps the session alive; default 15 s (BMCs drop idle sessions after 30–60 s). */
  keepAliveMs?: number
  /** Where dropped datagrams are reported (debug level); never given secrets. */
  logger?: { debug (obj: Record<string, unknown>, msg: string): void }
}

/** IPMI v2.0 §20.1 Get Device ID (App 01h): the keep-alive, as ipmitool's lanplus keep-alive does. */
const KEEP_ALIVE_REQUEST: IpmiRequest = { netFn: NetFn.app, cmd: 0x01, data: Buffer.alloc(0) }
/** §22.15 before a session is optional (ipmi_sim ignores it): probe it once, briefly, then propose suites. */
const CIPHER_PROBE_MS = 300

type Pending = { match (m: LanResponse): boolean, resolve (m: LanResponse): void }

function hex (n: number): string {
  return `0x${n.toString(16).padStart(2, '0')}`
}

/** One RMCP+ session to a BMC over its own connected UDP socket; requests are serialized. */
export class IpmiSession implements IpmiTransport {
  readonly cipherSuite: 3 | 17
  readonly #socket: Socket
  readonly #session: EstablishedSession
  readonly #timeoutMs: number
  readonly #retries: number
  readonly #keepAliveMs: number
  readonly #logger: IpmiSessionOptions['logger']
  #rqSeq: number
  #sessionSeq = 0
  #window = EMPTY_WINDOW
  #pending: Pending | undefined
  #queue: Promise<unknown> = Promise.resolve()
  #keepAlive: NodeJS.Timeout | undefined
  #closed = false
  #closing: Promise<void> | undefined
  #dropped = 0

  private constructor (socket: Socket, session: EstablishedSession, target: IpmiTarget, opts: IpmiSessionOptions) {
    this.#socket = socket
    this.#session = session
    this.cipherSuite = session.suite.id
    this.#timeoutMs = target.timeoutMs ?? 1000
    this.#retries = target.retries ?? 3
    this.#keepAliveMs = opts.keepAliveMs ?? 15_000
    this.#logger = opts.logger
    this.#rqSeq = session.nextRqSeq
    socket.removeAllListeners('message')
    socket.on('message', (bytes) => { this.#onMessage(bytes) })
  }

  /** Establish a session: capabilities, (cipher suites), Open Session, RAKP 1–4, Set Session Privilege Level. */
  static async open (target: IpmiTarget, opts: IpmiSessionOptions = {}): Promise<IpmiSession> {
    const config = handshakeConfig(target)
    const socket = createSocket('udp4')
    let dropped = 0
    socket.on('error', (err) => { dropped++; opts.logger?.debug({ host: target.host, err: err.message }, 'ipmi: socket error') })
    try {
      opts.signal?.throwIfAborted()
      await connect(socket, target.host, target.port ?? 623, opts.signal)
      const established = await runHandshake(socket, config, target, opts, () => { dropped++ })
      const session = new IpmiSession(socket, established, target, opts)
      session.#dropped = dropped
      await session.#raisePrivilege(config.privilege)
      session.#armKeepAlive()
      return session
    } catch (err) {
      try { socket.close() } catch { /* already closed by a failed session */ }
      throw err
    }
  }

  /** True once closed by us, or when the BMC stopped answering (a pool should reopen). */
  get closed (): boolean { return this.#closed }

  /** Datagrams dropped as garbage, failed integrity, replays or strays. */
  get droppedDatagrams (): number { return this.#dropped }

  /** Send one request; resolves the response data after a zero completion code. */
  async request (req: IpmiRequest): Promise<Buffer> {
    const rsp = await this.#enqueue(req, this.#retries)
    if (rsp.completionCode !== 0) throw new IpmiCompletionError(rsp.completionCode, `NetFn ${hex(req.netFn)} command ${hex(req.cmd)}`)
    return rsp.data
  }

  /** Close Session (one try), then the socket; idempotent. */
  close (): Promise<void> {
    this.#closing ??= this.#close()
    return this.#closing
  }

  async #close (): Promise<void> {
    if (!this.#closed) {
      const closing = this.#enqueue(encodeCloseSession(this.#session.bmcSessionId), 0)
      this.#closed = true // no request after this one
      try {
        const rsp = await closing
        if (rsp.completionCode !== 0) this.#drop(`Close Session answered ${hex(rsp.completionCode)} ${CLOSE_SESSION_CODES[rsp.completionCode] ?? ''}`)
      } catch { /* the BMC may be gone already; the socket closes either way */ }
    }
    this.#teardown()
  }

  async #raisePrivilege (privilege: 3 | 4): Promise<void> {
    const rsp = await this.#enqueue(encodeSetSessionPrivilegeLevel(privilege), this.#retries).catch((err: unknown) => {
      this.#teardown()
      throw err
    })
    // §22.18: the answer is the level now in force; less than asked is a refusal too.
    const granted = rsp.completionCode === 0 && rsp.data.length > 0 ? decodeSetSessionPrivilegeLevel(rsp.data) : undefined
    if (granted !== undefined && granted >= privilege) return
    this.#teardown()
    if (rsp.completionCode === 0 && granted === undefined) throw new BmcError(BmcErrorCode.protocol, 'Set Session Privilege Level answered without a level')
    const name = rsp.completionCode === 0 ? `level ${String(granted)} granted` : SET_SESSION_PRIVILEGE_CODES[rsp.completionCode] ?? `completion code ${hex(rsp.completionCode)}`
    throw new BmcError(BmcErrorCode.auth, `Set Session Privilege Level refused: ${name}`, { completionCode: rsp.completionCode, privilege })
  }

  #enqueue (req: IpmiRequest, retries: number): Promise<LanResponse> {
    const closedAlready = this.#closed
    const run = this.#queue.then(async () => {
      if (closedAlready || this.#socketClosed) throw new BmcError(BmcErrorCode.sessionClosed, 'the IPMI session is closed')
      try {
        return await this.#exchange(req, retries)
      } finally {
        this.#armKeepAlive()
      }
    })
    this.#queue = run.catch(() => undefined)
    return run
  }

  #socketClosed = false

  async #exchange (req: IpmiRequest, retries: number): Promise<LanResponse> {
    // §6.12.13: a retransmission keeps rqSeq (so the BMC can spot duplicates) but takes a new session sequence number.
    const rqSeq = this.#rqSeq
    this.#rqSeq = (this.#rqSeq + 1) & 0x3f
    const message = encodeSessionRequest(req, rqSeq)
    const match = (m: LanResponse): boolean => m.rqSeq === rqSeq && m.cmd === req.cmd && m.netFn === req.netFn + 1 && m.rqAddr === REMOTE_CONSOLE_SWID
    for (let attempt = 0; attempt <= retries; attempt++) {
      this.#sessionSeq = this.#sessionSeq >= 0xffffffff ? 1 : this.#sessionSeq + 1
      this.#socket.send(sealRequest(this.#session, this.#sessionSeq, message, randomBytes(16)), (err) => {
        if (err !== null) this.#drop(`send failed: ${err.message}`)
      })
      const rsp = await this.#await(match)
      if (rsp !== undefined) return rsp
    }
    // Silence on an established session: the BMC is gone or dropped the session; a pool reopens.
    this.#teardown()
    throw new BmcError(BmcErrorCode.unreachable, `no valid answer from the BMC to NetFn ${hex(req.netFn)} command ${hex(req.cmd)} after ${retries + 1} tries`,
      { tries: retries + 1, timeoutMs: this.#timeoutMs })
  }

  #await (match: Pending['match']): Promise<LanResponse | undefined> {
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending = undefined
        resolve(undefined)
      }, this.#timeoutMs)
      this.#pending = {
        match,
        resolve: (m) => {
          clearTimeout(timer)
          this.#pending = undefined
          resolve(m)
        }
      }
    })
  }

  #onMessage (bytes: Buffer): void {
    const pending = this.#pending
    if (pending === undefined) return this.#drop('no request outstanding')
    let opened
    try {
      opened = openResponse(this.#session, bytes)
    } catch (err) {
      return this.#drop(err instanceof Error ? err.message : 'undecodable')
    }
    const window = acceptSequence(this.#window, opened.sessionSeq)
    if (window === undefined) return this.#drop('replayed or stale session sequence number')
    this.#window = window
    if (!pending.match(opened.message)) return this.#drop('response to another request')
    pending.resolve(opened.message)
  }

  #drop (reason: string): void {
    this.#dropped++
    this.#logger?.debug({ reason, dropped: this.#dropped }, 'ipmi: dropped datagram')
  }

  #armKeepAlive (): void {
    clearTimeout(this.#keepAlive)
    if (this.#closed || this.#socketClosed) return
    this.#keepAlive = setTimeout(() => {
      if (this.#pending !== undefined || this.#closed) return
      this.#enqueue(KEEP_ALIVE_REQUEST, this.#retries).catch(() => { /* #exchange marks the session closed */ })
    }, this.#keepAliveMs)
    this.#keepAlive.unref()
  }

  #teardown (): void {
    this.#closed = true
    clearTimeout(this.#keepAlive)
    if (this.#socketClosed) return
    this.#socketClosed = true
    this.#socket.close()
  }
}

/** Connect the socket (resolving the host); a failure is ERR_BMC_UNREACHABLE, an abort stays an abort. */
async function connect (socket: Socket, host: string, port: number, signal: AbortSignal | undefined): Promise<void> {
  socket.connect(port, host)
  try {
    await once(socket, 'connect', signal === undefined ? {} : { signal })
  } catch (err) {
    if (signal?.aborted === true) throw err
    throw new BmcError(BmcErrorCode.unreachable, `cannot reach ${host}:${port}: ${err instanceof Error ? err.message : String(err)}`, { host, port }, { cause: err })
  }
}

function handshakeConfig (target: IpmiTarget): HandshakeConfig {
  const username = Buffer.from(target.username, 'utf8')
  const password = Buffer.from(target.password, 'utf8')
  if (username.length > 16) throw new BmcError(BmcErrorCode.auth, 'IPMI user names are at most 16 bytes')
  if (password.length > 20) throw new BmcError(BmcErrorCode.auth, 'IPMI v2.0 passwords are at most 20 bytes')
  return {
    username,
    kuid: userKey(password),
    privilege: target.privilege === 'operator' ? 3 : 4,
    cipherSuite: target.cipherSuite ?? 'auto',
    consoleSessionId: randomBytes(4).readUInt32LE() || 1,
    consoleRandom: randomBytes(16)
  }
}

/** Drive the pure handshake over the socket: resend on timeout, feed datagrams, stop on a result. */
function runHandshake (socket: Socket, config: HandshakeConfig, target: IpmiTarget, opts: IpmiSessionOptions,
  onDrop: () => void): Promise<EstablishedSession> {
  const timeoutMs = target.timeoutMs ?? 1000
  const retries = target.retries ?? 3
  return new Promise((resolve, reject) => {
    let current: HandshakeOutput & { kind: 'send' }
    let triesLeft = 0
    let timer: NodeJS.Timeout | undefined
    const finish = (): void => {
      clearTimeout(timer)
      socket.removeAllListeners('message')
      opts.signal?.removeEventListener('abort', onAbort)
    }
    const onAbort = (): void => { finish(); reject(opts.signal?.reason) }
    const transmit = (): void => {
      triesLeft--
      socket.send(current.bytes, (err) => { if (err !== null) onDrop() })
      timer = setTimeout(onTimeout, current.tries === 'once' ? Math.min(timeoutMs, CIPHER_PROBE_MS) : timeoutMs)
    }
    const handle = (out: HandshakeOutput): void => {
      switch (out.kind) {
        case 'ignore':
          onDrop()
          opts.logger?.debug({ host: target.host, reason: out.reason }, 'ipmi: dropped datagram during session setup')
          return
        case 'established': finish(); resolve(out.session); return
        case 'failed': finish(); reject(out.error); return
        case 'send':
          clearTimeout(timer)
          current = out
          triesLeft = out.tries === 'once' ? 1 : retries + 1
          transmit()
      }
    }
    const onTimeout = (): void => {
      if (triesLeft > 0) transmit()
      else handle(stepHandshake(current.state, { type: 'noAnswer' }))
    }
    opts.signal?.addEventListener('abort', onAbort, { once: true })
    socket.on('message', (bytes) => { handle(stepHandshake(current.state, { type: 'datagram', bytes })) })
    handle(startHandshake(config))
  })
}

/** What a presence pong says about the host (IPMI v2.0 §13.2.3). */
export type AsfPingResult = AsfPong & { readonly rttMs: number }

/**
 * ASF presence ping (IPMI v2.0 §13.2.3): one ping, the first matching pong wins; silence within
 * timeoutMs rejects with ERR_BMC_UNREACHABLE. Garbage is ignored.
 */
export async function asfPing (host: string, port = 623, timeoutMs = 1000): Promise<AsfPingResult> {
  const socket = createSocket('udp4')
  socket.on('error', () => { /* ICMP errors on a connected socket: treated as silence */ })
  try {
    await connect(socket, host, port, undefined)
    const tag = (randomBytes(1)[0] as number) % 0xff // FFh would mean "no response wanted" (ASF 2.0 §3.2.4)
    const started = performance.now()
    return await new Promise<AsfPingResult>((resolve, reject) => {
      const timer = setTimeout(() => { reject(new BmcError(BmcErrorCode.unreachable, `no presence pong from ${host}:${port} within ${timeoutMs} ms`)) }, timeoutMs)
      socket.on('message', (bytes) => {
        let pong: AsfPong
        try {
          pong = decodeAsfPong(bytes)
        } catch {
          return
        }
        if (pong.tag !== tag) return
        clearTimeout(timer)
        resolve({ ...pong, rttMs: performance.now() - started })
      })
      socket.send(encodeAsfPing(tag))
    })
  } finally {
    socket.close()
  }
}
