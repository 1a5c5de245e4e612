import type { Socket } from 'node:dgram'
import type { BlockSource } from '../boot/file-cache.ts'
import { decodePacket, Opcode, writeDataHeader, type TftpPacket } from './packet.ts'
import { clientGoneReason, Phase, step, summarize, type Step, type TransferAction, type TransferState, type TransferSummary } from './transfer.ts'

/** How a session ended. */
export type SessionEnd = { readonly ok: boolean, readonly reason: string, readonly summary: TransferSummary, readonly sizeQuery?: boolean }

/**
 * Runs one transfer on its own connected socket (RFC 1350 §4: the server's TID): feeds datagrams and
 * timeouts to the pure state machine and executes its actions. Data goes out as [header, bytes]
 * iovecs straight from the source, so a block costs one send and no copy of its bytes.
 */
export class TransferSession {
  readonly #socket: Socket
  readonly #source: BlockSource
  readonly #onEnd: (end: SessionEnd) => void
  readonly #onMalformed: (err: unknown) => void
  #state: TransferState
  #timer: NodeJS.Timeout | undefined
  #timerMs = 0
  #ended = false

  constructor (socket: Socket, source: BlockSource, first: Step, onEnd: (end: SessionEnd) => void,
    onMalformed: (err: unknown) => void, onSendError: (err: Error) => void) {
    this.#socket = socket
    this.#source = source
    this.#onEnd = onEnd
    this.#onMalformed = onMalformed
    this.#state = first.state
    socket.on('message', (msg) => { this.#onMessage(msg) })
    // Sends pass no callback (a callback costs a tick per datagram), so their errors arrive here.
    // The client's ICMP port unreachable on this connected socket (ECONNREFUSED) means it is gone;
    // anything else (ENOBUFS, EPERM from a firewall) is a lost datagram that the timer will resend.
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNREFUSED') {
        const s = this.#state
        this.#end({ ok: false, reason: clientGoneReason(s.phase === Phase.SENDING, s.sentEnd, s.totalBlocks), summary: this.#summaryNow() })
      } else {
        onSendError(err)
      }
    })
    this.#run(first.actions)
  }

  /** Ends the transfer early (server shutting down). */
  abort (reason: string): void {
    this.#end({ ok: false, reason, summary: this.#summaryNow() })
  }

  #onMessage (msg: Buffer): void {
    if (this.#ended) return
    let packet: TftpPacket
    try {
      // ACKs are nearly all a transfer receives: read them without the general decoder.
      packet = msg.length === 4 && msg[0] === 0 && msg[1] === Opcode.ACK ? { op: Opcode.ACK, block: msg.readUInt16BE(2) } : decodePacket(msg)
    } catch (err) {
      this.#onMalformed(err)
      return
    }
    this.#apply(step(this.#state, { type: 'datagram', packet, now: performance.now() }))
  }

  #onTimeout = (): void => {
    if (!this.#ended) this.#apply(step(this.#state, { type: 'timeout', now: performance.now() }))
  }

  #apply (next: Step): void {
    this.#state = next.state
    this.#run(next.actions)
  }

  #run (actions: readonly TransferAction[]): void {
    for (const a of actions) {
      if (this.#ended) return
      switch (a.type) {
        case 'send':
          this.#socket.send(a.packet)
          break
        case 'sendBlocks':
          this.#sendBlocks(a.first, a.count, a.offset, a.length)
          break
        case 'armTimer':
          this.#arm(a.ms)
          break
        case 'finish':
          this.#end(a.sizeQuery === true ? { ok: a.ok, reason: a.reason, summary: a.summary, sizeQuery: true } : { ok: a.ok, reason: a.reason, summary: a.summary })
          break
      }
    }
  }

  #arm (ms: number): void {
    if (this.#timer !== undefined && ms === this.#timerMs) {
      this.#timer.refresh()
      return
    }
    clearTimeout(this.#timer)
    this.#timerMs = ms
    this.#timer = setTimeout(this.#onTimeout, ms)
  }

  #sendBlocks (first: number, count: number, offset: number, length: number): void {
    const src = this.#source
    if (src.kind === 'memory') {
      this.#emit(first, count, src.data, offset, length)
      return
    }
    // A file too large for the cache: one positional read per window. A fresh buffer each time,
    // because datagrams the kernel could not take at once stay queued in libuv, pointing at it.
    const into = Buffer.allocUnsafe(length)
    src.handle.read(into, 0, length, offset).then(({ bytesRead }) => {
      if (this.#ended) return
      if (bytesRead !== length) {
        this.#end({ ok: false, reason: `file shrank while being sent (read ${bytesRead} of ${length} bytes at ${offset})`, summary: this.#summaryNow() })
        return
      }
      this.#emit(first, count, into, 0, length)
    }, (err: unknown) => {
      this.#end({ ok: false, reason: `read failed: ${(err as Error).message}`, summary: this.#summaryNow() })
    })
  }

  #emit (first: number, count: number, data: Buffer, at: number, length: number): void {
    const blksize = this.#state.negotiated.blksize
    // Headers are fresh per window (a small slice of Node's pool) for the same reason as above.
    const headers = Buffer.allocUnsafe(4 * count)
    for (let i = 0; i < count; i++) {
      const h = i * 4
      writeDataHeader(headers, h, first + i)
      const start = at + i * blksize
      const end = at + Math.min(length, (i + 1) * blksize)
      this.#socket.send([headers.subarray(h, h + 4), data.subarray(start, Math.max(start, end))])
    }
  }

  #summaryNow (): TransferSummary {
    return summarize(this.#state, performance.now())
  }

  #end (end: SessionEnd): void {
    if (this.#ended) return
    this.#ended = true
    clearTimeout(this.#timer)
    this.#socket.close()
    if (this.#source.kind === 'file') this.#source.handle.close().catch(() => {})
    this.#onEnd(end)
  }
}
