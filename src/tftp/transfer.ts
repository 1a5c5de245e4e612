import { encodePacket, Opcode, type TftpOption, type TftpPacket } from './packet.ts'

/** Server-side bounds on what a client may negotiate, and retransmission policy. */
export type TransferLimits = {
  /** Largest blksize we grant (RFC 2348 allows 8..65464). */
  readonly maxBlockSize: number
  /** Largest windowsize we grant (RFC 7440 allows 1..65535). */
  readonly maxWindowSize: number
  /** Cap on one window's bytes (blksize × windowsize), so a transfer's memory stays bounded. */
  readonly maxWindowBytes: number
  /** Retransmission timeout when the client does not negotiate one, in seconds. */
  readonly timeout: number
  /** Retransmissions of the same window before we give up. */
  readonly retries: number
}

/** What option negotiation settled on, and the OACK that tells the client. */
export type Negotiated = {
  readonly blksize: number
  readonly windowsize: number
  /** Seconds, when the client asked for a timeout (RFC 2349). */
  readonly timeout: number | undefined
  /** Whether the client asked for the transfer size (RFC 2349). */
  readonly tsize: boolean
  /** The options we acknowledge, in the client's order; empty means no OACK (RFC 2347 §2). */
  readonly acked: readonly TftpOption[]
}

const DECIMAL = /^[0-9]{1,10}$/

function intOption (value: string, min: number, max: number): number | undefined {
  if (!DECIMAL.test(value)) return undefined
  const n = Number(value)
  return n >= min && n <= max ? n : undefined
}

/**
 * Settles the options of an RRQ. Unknown or out-of-range options are left out of the OACK, which
 * RFC 2347 §2 allows ("the server ... simply omits it"); duplicates after the first are ignored.
 */
export function negotiate (options: readonly TftpOption[], size: number, limits: TransferLimits): Negotiated {
  const seen = new Map<string, string>()
  for (const o of options) {
    const name = o.name.toLowerCase()
    if (!seen.has(name)) seen.set(name, o.value)
  }
  const acked = new Map<string, string>()
  let blksize = 512
  const bs = seen.get('blksize')
  const wantBlk = bs === undefined ? undefined : intOption(bs, 8, 65464) // RFC 2348 §3
  if (wantBlk !== undefined) {
    // RFC 2348 §3: the server may answer with a smaller blksize than requested, never a larger one.
    blksize = Math.min(wantBlk, limits.maxBlockSize)
    acked.set('blksize', String(blksize))
  }
  let windowsize = 1
  const ws = seen.get('windowsize')
  const wantWin = ws === undefined ? undefined : intOption(ws, 1, 65535) // RFC 7440 §3
  if (wantWin !== undefined) {
    // RFC 7440 §3: the server may answer with a smaller windowsize.
    windowsize = Math.max(1, Math.min(wantWin, limits.maxWindowSize, Math.floor(limits.maxWindowBytes / blksize)))
    acked.set('windowsize', String(windowsize))
  }
  const to = seen.get('timeout')
  const timeout = to === undefined ? undefined : intOption(to, 1, 255) // RFC 2349 §2: echoed as sent
  if (timeout !== undefined) acked.set('timeout', String(timeout))
  const tsize = seen.has('tsize')
  if (tsize) acked.set('tsize', String(size)) // RFC 2349 §3: RRQ carries 0, the OACK the real size
  const order: TftpOption[] = []
  for (const name of seen.keys()) {
    const value = acked.get(name)
    if (value !== undefined) order.push({ name, value })
  }
  return { blksize, windowsize, timeout, tsize, acked: order }
}

/** Where a transfer is: waiting for ACK 0 after an OACK, sending windows, or over. */
export const Phase = { NEGOTIATING: 'negotiating', SENDING: 'sending', DONE: 'done' } as const
export type Phase = typeof Phase[keyof typeof Phase]

/** A transfer's whole state; block numbers here are absolute (1-based), the wire carries them mod 2^16. */
export type TransferState = {
  readonly phase: Phase
  readonly file: string
  readonly size: number
  readonly negotiated: Negotiated
  readonly totalBlocks: number
  readonly timeoutMs: number
  readonly retries: number
  /** First block not yet acknowledged. */
  readonly base: number
  /** Last block sent in the current window. */
  readonly sentEnd: number
  /** Highest block ever sent, to count retransmitted blocks. */
  readonly highest: number
  /** Timeouts since the last progress. */
  readonly attempts: number
  /** The base for which a duplicate ACK already made us resend (RFC 1123 §4.2.3.1: at most once). */
  readonly dupResentFor: number
  /** A base whose duplicate ACKs are ignored: the window before it went out twice (see onAck). */
  readonly quietFor: number
  /** When the current window went out, and how far its tail probing has gone (see onTimeout): 0 none, 1 the probe, 2 the early resend. */
  readonly sentAt: number
  readonly probes: 0 | 1 | 2
  /** Smoothed time from a window to its ACK, in ms (0 until measured). */
  readonly srtt: number
  readonly retransmits: number
  readonly startedAt: number
  readonly oack: Buffer | undefined
}

/** Inputs to the machine: a decoded datagram from the client's TID, or the retransmit timer firing. */
export type TransferEvent =
  | { readonly type: 'datagram', readonly packet: TftpPacket, readonly now: number }
  | { readonly type: 'timeout', readonly now: number }

/** What a finished transfer reports (timeline event data). */
export type TransferSummary = {
  readonly file: string
  readonly size: number
  readonly blksize: number
  readonly windowsize: number
  readonly tsize: boolean
  readonly timeout: number | undefined
  /** File bytes the client acknowledged. */
  readonly bytes: number
  readonly blocks: number
  readonly retransmits: number
  readonly durationMs: number
}

/** What the I/O layer must do, in order. */
export type TransferAction =
  | { readonly type: 'send', readonly packet: Buffer }
  /** Read file bytes [offset, offset+length) and send them as DATA blocks first..first+count-1. */
  | { readonly type: 'sendBlocks', readonly first: number, readonly count: number, readonly offset: number, readonly length: number }
  | { readonly type: 'armTimer', readonly ms: number }
  | {
    readonly type: 'finish'
    readonly ok: boolean
    readonly reason: string
    readonly summary: TransferSummary
    /**
     * The client asked tsize and ended the transfer before any data: a size query, not a failure.
     * UEFI PXE (EDK2) does this before every download (RFC 2349 §4 allows it).
     */
    readonly sizeQuery?: boolean
  }

/** The machine's output: the next state and the actions to execute. */
export type Step = { readonly state: TransferState, readonly actions: readonly TransferAction[] }

/** Starts a read transfer of `size` bytes: an OACK if any option was accepted, else the first window. */
export function startTransfer (file: string, size: number, options: readonly TftpOption[], limits: TransferLimits, now: number): Step {
  const negotiated = negotiate(options, size, limits)
  // RFC 1350 §6: the last block is shorter than blksize, so a size that is an exact multiple ends with an empty block.
  const totalBlocks = Math.floor(size / negotiated.blksize) + 1
  const timeoutMs = (negotiated.timeout ?? limits.timeout) * 1000
  const oack = negotiated.acked.length > 0 ? encodePacket({ op: Opcode.OACK, options: negotiated.acked }) : undefined
  const state: TransferState = {
    phase: oack === undefined ? Phase.SENDING : Phase.NEGOTIATING,
    file,
    size,
    negotiated,
    totalBlocks,
    timeoutMs,
    retries: limits.retries,
    base: 1,
    sentEnd: 0,
    highest: 0,
    attempts: 0,
    dupResentFor: 0,
    quietFor: 0,
    sentAt: now,
    probes: 0,
    srtt: 0,
    retransmits: 0,
    startedAt: now,
    oack
  }
  if (oack === undefined) return sendWindow(state, 1, now)
  // RFC 2347 §2: for an RRQ, the client acknowledges the OACK with ACK 0 before any DATA.
  return { state, actions: [{ type: 'send', packet: oack }, { type: 'armTimer', ms: timeoutMs }] }
}

/** Tail-loss probe delay: a few window round trips, never below PROBE_MIN_MS nor above the timeout. */
const PROBE_MIN_MS = 20
const PROBE_FIRST_MS = 100
function probeDelay (s: TransferState): number {
  return Math.min(s.timeoutMs, s.srtt === 0 ? PROBE_FIRST_MS : Math.max(PROBE_MIN_MS, Math.ceil(4 * s.srtt)))
}

function sendWindow (s: TransferState, from: number, now: number, extra: Partial<TransferState> = {}, twice = false): Step {
  const { blksize, windowsize } = s.negotiated
  const count = Math.min(windowsize * (twice ? 2 : 1), s.totalBlocks - from + 1)
  const offset = (from - 1) * blksize
  const length = Math.max(0, Math.min(count * blksize, s.size - offset))
  const last = from + count - 1
  const resent = Math.max(0, Math.min(last, s.highest) - from + 1)
  const state: TransferState = {
    ...s,
    ...extra,
    phase: Phase.SENDING,
    base: from,
    sentEnd: last,
    highest: Math.max(s.highest, last),
    retransmits: s.retransmits + resent,
    sentAt: now,
    probes: 0
  }
  const ms = windowsize > 1 ? probeDelay(state) : s.timeoutMs
  return { state, actions: [{ type: 'sendBlocks', first: from, count, offset, length }, { type: 'armTimer', ms }] }
}

/** What the transfer achieved so far, as of `now` (also used when the I/O layer ends it early). */
export function summarize (s: TransferState, now: number): TransferSummary {
  const acked = s.base - 1
  return {
    file: s.file,
    size: s.size,
    blksize: s.negotiated.blksize,
    windowsize: s.negotiated.windowsize,
    tsize: s.negotiated.tsize,
    timeout: s.negotiated.timeout,
    bytes: Math.min(s.size, acked * s.negotiated.blksize),
    blocks: acked,
    retransmits: s.retransmits,
    durationMs: now - s.startedAt
  }
}

/** RFC 1350 §6: the final ACK is the one packet nobody retransmits for; if it is lost, the client may well have everything. */
const ALL_SENT = ' (every block was sent: the client may have the whole file)'

/** Why a transfer gave up waiting: shared with the native lock-step engine, which reports the same ends. */
export function gaveUpReason (negotiating: boolean, sentEnd: number, totalBlocks: number, retries: number): string {
  const what = negotiating ? 'ACK of the OACK' : `ACK of block ${sentEnd}`
  // Say so rather than call the transfer a plain failure.
  return `no ${what} after ${retries} retransmissions${!negotiating && sentEnd >= totalBlocks ? ALL_SENT : ''}`
}

/** Why a transfer ended when the client's side answered ICMP port unreachable: a client that has
 * the whole file and exited before its final ACK arrived looks exactly like this. */
export function clientGoneReason (sending: boolean, sentEnd: number, totalBlocks: number): string {
  return `the client went away (ICMP port unreachable)${sending && sentEnd >= totalBlocks ? ALL_SENT : ''}`
}

/** The end of a transfer the client stopped with an ERROR (RFC 1350 §7). */
export function clientErrorReason (code: number, message: string): string {
  return `client sent error ${code}: ${message}`
}

/**
 * Whether a client's ERROR ends a size query rather than a transfer: it asked tsize and stopped
 * before acknowledging any data, as UEFI PXE (EDK2) does before every download (RFC 2349 §4).
 */
export function isSizeQuery (s: TransferState, base: number): boolean {
  return s.negotiated.tsize && base <= 1
}

function finish (s: TransferState, base: number, ok: boolean, reason: string, now: number, sizeQuery = false): Step {
  const state: TransferState = { ...s, phase: Phase.DONE, base }
  const summary = summarize(state, now)
  return { state, actions: [sizeQuery ? { type: 'finish', ok, reason, summary, sizeQuery } : { type: 'finish', ok, reason, summary }] }
}

/** Maps a 16-bit ACK number to the absolute block in [base-1, base-1+65535] it names (rollover past 65535 wraps to 0). */
export function absoluteAck (base: number, wire: number): number {
  const prev = base - 1
  return prev + ((wire - prev) & 0xffff)
}

function onAck (s: TransferState, wire: number, now: number): Step {
  if (s.phase === Phase.NEGOTIATING) {
    // Only ACK 0 answers the OACK; anything else is stale and ignored.
    return wire === 0 ? sendWindow(s, 1, now, { attempts: 0 }) : { state: s, actions: [] }
  }
  const acked = absoluteAck(s.base, wire)
  if (acked > s.sentEnd) return { state: s, actions: [] } // older than base-1, or never sent: stale
  if (acked >= s.base) {
    if (acked >= s.totalBlocks) return finish(s, acked + 1, true, 'complete', now)
    // RFC 7440 §4: an ACK inside the window means the blocks after it were lost: resend from there.
    // If the window just acknowledged went out twice, its second copy is still arriving and the
    // receiver answers it with a stale ACK of `acked`: that must not count as a loss (below).
    const quietFor = s.dupResentFor === s.base ? acked + 1 : s.quietFor
    // Karn's rule: time only windows that went out once and were answered without help.
    const clean = s.probes === 0 && s.attempts === 0 && s.dupResentFor !== s.base
    const srtt = !clean ? s.srtt : s.srtt === 0 ? now - s.sentAt : 0.875 * s.srtt + 0.125 * (now - s.sentAt)
    return sendWindow(s, acked + 1, now, { attempts: 0, quietFor, srtt })
  }
  // A duplicate ACK of the block before the window. In lock-step, resending on it is the Sorcerer's
  // Apprentice bug (RFC 1123 §4.2.3.1): only the timer resends. With a window, a receiver that lost
  // the window's first block says so this way (RFC 7440 §4; atftp sends it at once), so resend, at
  // most once per window, and not for the window after a resent one: there the duplicate is the
  // receiver's answer to our extra copy, and resending again would double every window from then on
  // (the Sorcerer's Apprentice again, one window at a time; seen with atftp under 1% loss).
  // The answer to the probe is never a stale echo: it says the receiver has nothing of the window.
  if (s.negotiated.windowsize === 1 || (s.probes !== 1 && (s.dupResentFor === s.base || s.quietFor === s.base))) return { state: s, actions: [] }
  return sendWindow(s, s.base, now, { dupResentFor: s.base })
}

function onTimeout (s: TransferState, now: number): Step {
  if (s.phase === Phase.SENDING && s.negotiated.windowsize > 1 && s.probes < 2) return s.probes === 0 ? probe(s, now) : earlyResend(s, now)
  if (s.attempts >= s.retries) return finish(s, s.base, false, gaveUpReason(s.phase === Phase.NEGOTIATING, s.sentEnd, s.totalBlocks, s.retries), now)
  const attempts = s.attempts + 1
  if (s.phase === Phase.NEGOTIATING && s.oack !== undefined) {
    return { state: { ...s, attempts }, actions: [{ type: 'send', packet: s.oack }, { type: 'armTimer', ms: s.timeoutMs }] }
  }
  // RFC 1350 §2 / RFC 7440 §4: on timeout the sender resends the unacknowledged window; windowed,
  // two windows' worth (see earlyResend), which also reaches a receiver that has the whole window and
  // waits for the block after it because all its ACKs were lost.
  return sendWindow(s, s.base, now, { attempts }, s.negotiated.windowsize > 1)
}

/**
 * A window's last block, its ACK, or the receiver's one "I have a gap" ACK can be lost with nothing
 * to tell either side: the receiver only speaks up on a gap (RFC 7440 §4) and would otherwise wait
 * for its own timeout. So, a few round trips after a window, send a probe, as TCP's tail loss probe
 * does (RFC 8985 §7), chosen so that every receiver answers it with an ACK of the last block it holds
 * in order, which says exactly where to resume: the block two past the window's end. Whether the
 * receiver has the whole window (its ACK was lost) or lost its tail, that block is a gap, and gaps
 * are always answered (atftp: "got wrong block, sending extra ACK"). A duplicate is not: atftp
 * re-ACKs only a duplicate of the first block of its own window, and after a loss our windows no
 * longer line up with its. Near the end of the file, where no such block exists, the window's first
 * block is the probe: to a receiver that lost it, it is the missing block.
 */
function probe (s: TransferState, now: number): Step {
  const rest = Math.max(1, s.timeoutMs - (now - s.sentAt))
  const state: TransferState = { ...s, probes: 1, retransmits: s.retransmits + 1 }
  const past = s.sentEnd + 2
  return { state, actions: [blockAction(s, past <= s.totalBlocks ? past : s.base), { type: 'armTimer', ms: Math.min(probeDelay(s), rest) }] }
}

/**
 * The probe went unanswered too: either it was lost, or the receiver already spent its one word on
 * this gap (atftp sends a single "extra ACK" per missing block and ignores everything else until that
 * block comes, so a lost extra ACK leaves it silent until its own timeout). Only the block it waits
 * for moves it, and that is somewhere in the window or just past it. So send from the window's start
 * now rather than at the timeout, once per window, and two windows' worth: a receiver ACKs a window
 * after its last ACK (atftp counts from its extra ACKs too, which we may never have seen), so blocks
 * up to a window past what we sent may be needed before it speaks. The timeout and its count stand.
 */
function earlyResend (s: TransferState, now: number): Step {
  const next = sendWindow(s, s.base, now, { dupResentFor: s.base }, true)
  const rest = Math.max(1, s.timeoutMs - (now - s.sentAt))
  const actions = next.actions.map((a): TransferAction => a.type === 'armTimer' ? { type: 'armTimer', ms: rest } : a)
  return { state: { ...next.state, sentAt: s.sentAt, probes: 2 }, actions }
}

function blockAction (s: TransferState, block: number): TransferAction {
  const { blksize } = s.negotiated
  const offset = (block - 1) * blksize
  return { type: 'sendBlocks', first: block, count: 1, offset, length: Math.max(0, Math.min(blksize, s.size - offset)) }
}

/** Advances a transfer by one event. Pure: no sockets, files or clocks. */
export function step (s: TransferState, e: TransferEvent): Step {
  if (s.phase === Phase.DONE) return { state: s, actions: [] }
  if (e.type === 'timeout') return onTimeout(s, e.now)
  const p = e.packet
  switch (p.op) {
    case Opcode.ACK:
      return onAck(s, p.block, e.now)
    case Opcode.ERROR:
      // RFC 1350 §7: an ERROR ends the transfer and is never acknowledged.
      return finish(s, s.base, false, clientErrorReason(p.code, p.message), e.now, isSizeQuery(s, s.base))
    case Opcode.RRQ:
    case Opcode.WRQ:
    case Opcode.DATA:
    case Opcode.OACK:
      // Not meaningful from the reader of a transfer; ignoring keeps a stray packet from killing it.
      return { state: s, actions: [] }
  }
}
