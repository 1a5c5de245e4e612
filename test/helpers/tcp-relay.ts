import { connect, createServer, type Server, type Socket } from 'node:net'

/**
 * A loopback TCP relay in front of a server, to make the network misbehave: cut() drops every
 * connection through it at once (a blip: both ends see the connection reset), down() also refuses
 * new ones until up(), retarget() points it at another port (a restarted server). `from` binds
 * the outbound side to another loopback address, so the server sees the peer as, e.g., 127.0.0.2.
 */
export class TcpRelay {
  readonly #server: Server
  readonly #sockets = new Set<Socket>()
  #target: number
  #from: string | undefined
  #down = false
  /** Connections accepted so far (refused ones included). */
  accepted = 0

  constructor (target: number, options: { from?: string } = {}) {
    this.#target = target
    this.#from = options.from
    this.#server = createServer((inbound) => { this.#accept(inbound) })
  }

  async start (): Promise<number> {
    await new Promise<void>((resolve) => { this.#server.listen(0, '127.0.0.1', resolve) })
    const address = this.#server.address()
    if (address === null || typeof address === 'string') throw new Error('relay: no port')
    return address.port
  }

  retarget (port: number): void {
    this.#target = port
  }

  /** Resets every connection through the relay. */
  cut (): void {
    for (const s of this.#sockets) s.resetAndDestroy()
    this.#sockets.clear()
  }

  down (): void {
    this.#down = true
    this.cut()
  }

  up (): void {
    this.#down = false
  }

  async close (): Promise<void> {
    this.cut()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }

  #accept (inbound: Socket): void {
    this.accepted++
    if (this.#down) {
      inbound.resetAndDestroy()
      return
    }
    const outbound = connect({ port: this.#target, host: '127.0.0.1', ...(this.#from === undefined ? {} : { localAddress: this.#from }) })
    for (const [a, b] of [[inbound, outbound], [outbound, inbound]] as const) {
      this.#sockets.add(a)
      a.pipe(b)
      a.on('error', () => { b.destroy() })
      a.on('close', () => { this.#sockets.delete(a); b.destroy() })
    }
  }
}
