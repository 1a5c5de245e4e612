import { test } from 'node:test'
import assert from 'node:assert/strict'
import { decodePacket, Opcode, type TftpOption } from './packet.ts'
import { absoluteAck, negotiate, Phase, startTransfer, step, type Step, type TransferAction, type TransferLimits, type TransferState } from './transfer.ts'

const LIMITS: TransferLimits = { maxBlockSize: 65464, maxWindowSize: 64, maxWindowBytes: 1 << 20, timeout: 2, retries: 3 }
const opts = (...pairs: Array<[string, string]>): TftpOption[] => pairs.map(([name, value]) => ({ name, value }))
const ack = (s: TransferState, wire: number, now = 0): Step => step(s, { type: 'datagram', packet: { op: Opcode.ACK, block: wire }, now })
const timeout = (s: TransferState, now = 0): Step => step(s, { type: 'timeout', now })

function blocksOf (actions: readonly TransferAction[]): { first: number, count: number, offset: number, length: number } | undefined {
  for (const a of actions) if (a.type === 'sendBlocks') return { first: a.first, count: a.count, offset: a.offset, length: a.length }
  return undefined
}
function finished (actions: readonly TransferAction[]): Extract<TransferAction, { type: 'finish' }> | undefined {
  for (const a of actions) if (a.type === 'finish') return a
  return undefined
}

test('negotiate: curl\'s options are granted and tsize carries the file size (RFC 2348, 2349)', () => {
  const n = negotiate(opts(['tsize', '0'], ['blksize', '1468'], ['timeout', '6']), 196_608, LIMITS)
  assert.deepEqual(n, {
    blksize: 1468,
    windowsize: 1,
    timeout: 6,
    tsize: true,
    acked: opts(['tsize', '196608'], ['blksize', '1468'], ['timeout', '6'])
  })
})

test('negotiate: caps, ranges, case and unknown options', () => {
  const capped = negotiate(opts(['BLKSIZE', '65464'], ['WindowSize', '200']), 10, { ...LIMITS, maxBlockSize: 8192 })
  // RFC 2348/7440: the server may lower blksize and windowsize; the window's bytes are capped too.
  assert.equal(capped.blksize, 8192)
  assert.equal(capped.windowsize, 64)
  assert.deepEqual(capped.acked, opts(['blksize', '8192'], ['windowsize', '64']))
  assert.equal(negotiate(opts(['blksize', '65464'], ['windowsize', '64']), 10, LIMITS).windowsize, 16) // 16 × 65464 ≤ 1 MiB
  for (const [name, value] of [['blksize', '7'], ['blksize', '65465'], ['blksize', '1e3'], ['blksize', ''], ['timeout', '0'],
    ['timeout', '256'], ['windowsize', '0'], ['windowsize', '65536'], ['multicast', ''], ['blksize', ' 512']] as const) {
    const n = negotiate(opts([name, value]), 10, LIMITS)
    assert.deepEqual(n.acked, [], `${name}=${JSON.stringify(value)} must be left out of the OACK`)
    assert.equal(n.blksize, 512)
    assert.equal(n.windowsize, 1)
  }
  assert.equal(negotiate(opts(['blksize', '1024'], ['blksize', '2048']), 10, LIMITS).blksize, 1024)
})

test('no options: no OACK, the first block goes at once, 512 bytes lock-step (RFC 1350)', () => {
  const { state, actions } = startTransfer('undionly.kpxe', 1000, [], LIMITS, 0)
  assert.equal(state.phase, Phase.SENDING)
  assert.deepEqual(actions, [{ type: 'sendBlocks', first: 1, count: 1, offset: 0, length: 512 }, { type: 'armTimer', ms: 2000 }])
})

test('OACK, then ACK 0 starts the data; other ACKs before it are stale (RFC 2347 §2)', () => {
  const start = startTransfer('f', 3000, opts(['blksize', '1468'], ['tsize', '0'], ['timeout', '6']), LIMITS, 0)
  assert.equal(start.state.phase, Phase.NEGOTIATING)
  const sent = start.actions[0]
  assert.ok(sent?.type === 'send')
  assert.deepEqual(decodePacket(sent.packet), { op: Opcode.OACK, options: opts(['blksize', '1468'], ['tsize', '3000'], ['timeout', '6']) })
  assert.deepEqual(start.actions[1], { type: 'armTimer', ms: 6000 }) // the negotiated timeout
  assert.deepEqual(ack(start.state, 5).actions, [])
  const go = ack(start.state, 0)
  assert.deepEqual(blocksOf(go.actions), { first: 1, count: 1, offset: 0, length: 1468 })
})

test('OACK timeout resends it, then gives up after the retries', () => {
  let s = startTransfer('f', 3000, opts(['tsize', '0']), LIMITS, 0).state
  for (let i = 0; i < LIMITS.retries; i++) {
    const r = timeout(s)
    assert.equal(r.actions[0]?.type, 'send')
    s = r.state
  }
  const end = finished(timeout(s, 9000).actions)
  assert.ok(end !== undefined && !end.ok)
  assert.match(end.reason, /no ACK of the OACK after 3 retransmissions/)
  assert.equal(end.summary.durationMs, 9000)
})

test('lock-step to the end, the final short block, and a summary', () => {
  let r = ack(startTransfer('f', 3000, opts(['blksize', '1468']), LIMITS, 10).state, 0)
  assert.deepEqual(blocksOf(r.actions), { first: 1, count: 1, offset: 0, length: 1468 })
  r = ack(r.state, 1)
  assert.deepEqual(blocksOf(r.actions), { first: 2, count: 1, offset: 1468, length: 1468 })
  r = ack(r.state, 2)
  assert.deepEqual(blocksOf(r.actions), { first: 3, count: 1, offset: 2936, length: 64 })
  const end = finished(ack(r.state, 3, 50).actions)
  assert.deepEqual(end, {
    type: 'finish',
    ok: true,
    reason: 'complete',
    summary: { file: 'f', size: 3000, blksize: 1468, windowsize: 1, tsize: false, timeout: undefined, bytes: 3000, blocks: 3, retransmits: 0, durationMs: 40 }
  })
})

test('a size that is an exact multiple of blksize ends with an empty block (RFC 1350 §6)', () => {
  let r = startTransfer('f', 1024, [], LIMITS, 0)
  r = ack(r.state, 1)
  r = ack(r.state, 2)
  assert.deepEqual(blocksOf(r.actions), { first: 3, count: 1, offset: 1024, length: 0 })
  assert.equal(finished(ack(r.state, 3).actions)?.summary.blocks, 3)
  const empty = startTransfer('empty', 0, [], LIMITS, 0)
  assert.deepEqual(blocksOf(empty.actions), { first: 1, count: 1, offset: 0, length: 0 })
  assert.equal(finished(ack(empty.state, 1).actions)?.ok, true)
})

test('windows: a full-window ACK moves on, a partial ACK resends from the block after it (RFC 7440 §4)', () => {
  // 10 blocks of 512 (5000 bytes: the 10th is 392), windowsize 4.
  let r = ack(startTransfer('f', 5000, opts(['windowsize', '4']), LIMITS, 0).state, 0)
  assert.deepEqual(blocksOf(r.actions), { first: 1, count: 4, offset: 0, length: 2048 })
  r = ack(r.state, 4)
  assert.deepEqual(blocksOf(r.actions), { first: 5, count: 4, offset: 2048, length: 2048 })
  r = ack(r.state, 6) // blocks 7 and 8 were lost
  assert.deepEqual(blocksOf(r.actions), { first: 7, count: 4, offset: 3072, length: 1928 })
  assert.equal(r.state.retransmits, 2)
  assert.deepEqual(ack(r.state, 5).actions, [], 'an ACK older than the window base is stale')
  assert.deepEqual(ack(r.state, 11).actions, [], 'an ACK for a block never sent is ignored')
  const end = finished(ack(r.state, 10).actions)
  assert.equal(end?.ok, true)
  assert.equal(end?.summary.bytes, 5000)
})

test('duplicate ACKs: ignored in lock-step (no Sorcerer\'s Apprentice), one resend per window when windowed', () => {
  let r = startTransfer('f', 5000, [], LIMITS, 0)
  r = ack(r.state, 1)
  assert.deepEqual(ack(r.state, 1).actions, [], 'lock-step: a duplicate of ACK 1 must not resend block 2')
  let w = ack(startTransfer('f', 5000, opts(['windowsize', '4']), LIMITS, 0).state, 0)
  w = ack(w.state, 4)
  const dup = ack(w.state, 4)
  assert.deepEqual(blocksOf(dup.actions), { first: 5, count: 4, offset: 2048, length: 2048 })
  assert.equal(dup.state.retransmits, 4)
  assert.deepEqual(ack(dup.state, 4).actions, [], 'a second duplicate for the same window is ignored')
  // Window 5..8 went out twice; the receiver's answer to the second copy (a stale ACK 8) must not
  // resend 9..10 again, or every window from then on would go out twice.
  const next = ack(dup.state, 8)
  assert.deepEqual(blocksOf(next.actions), { first: 9, count: 2, offset: 4096, length: 904 })
  assert.deepEqual(ack(next.state, 8).actions, [])
  // A window sent once still honours one duplicate as a loss signal.
  let once = ack(startTransfer('f', 20_000, opts(['windowsize', '4']), LIMITS, 0).state, 0)
  once = ack(once.state, 4)
  once = ack(once.state, 8)
  assert.deepEqual(blocksOf(ack(once.state, 8).actions), { first: 9, count: 4, offset: 4096, length: 2048 })
})

test('timeout resends the unacknowledged window, then gives up after the retries', () => {
  let r = ack(startTransfer('f', 5000, [], LIMITS, 0).state, 1)
  for (let i = 0; i < LIMITS.retries; i++) {
    r = timeout(r.state)
    assert.deepEqual(r.actions, [{ type: 'sendBlocks', first: 2, count: 1, offset: 512, length: 512 }, { type: 'armTimer', ms: 2000 }])
  }
  assert.equal(r.state.retransmits, 3)
  const end = finished(timeout(r.state).actions)
  assert.ok(end !== undefined && !end.ok)
  assert.match(end.reason, /no ACK of block 2 after 3 retransmissions/)
  assert.equal(end.summary.bytes, 512)
  // Progress resets the count: after a late ACK the transfer gets its full retries again.
  assert.equal(r.state.attempts, 3)
  assert.equal(ack(r.state, 2).state.attempts, 0)
})

test('windowed: a silent window gets a probe past it, then two windows early, then the same at the timeout (RFC 8985-style tail probe)', () => {
  // 10,000 bytes at 512: 20 blocks, so blocks past the windows below exist.
  let r = ack(startTransfer('f', 10_000, opts(['windowsize', '4']), LIMITS, 0).state, 0, 0)
  assert.deepEqual(r.actions[1], { type: 'armTimer', ms: 100 }, 'no round trip measured yet')
  r = ack(r.state, 4, 6) // the first window took 6 ms: probes now wait 4 × 6 = 24 ms
  assert.deepEqual(r.actions[1], { type: 'armTimer', ms: 24 })
  for (let i = 0; i < LIMITS.retries; i++) {
    const t0 = 6 + i * 2000
    // Window 5..8 (5..12 once resent): the probe is block 10 (then 14), a gap to any receiver.
    const probe = timeout(r.state, t0 + 24)
    const past = i === 0 ? 10 : 14
    assert.deepEqual(probe.actions, [{ type: 'sendBlocks', first: past, count: 1, offset: (past - 1) * 512, length: 512 }, { type: 'armTimer', ms: 24 }])
    // Unanswered: two windows from the window's start at once, then the rest of the timeout.
    const early = timeout(probe.state, t0 + 48)
    assert.deepEqual(early.actions, [{ type: 'sendBlocks', first: 5, count: 8, offset: 2048, length: 4096 }, { type: 'armTimer', ms: 1952 }])
    assert.equal(early.state.attempts, i, 'an early resend is not a timeout')
    r = timeout(early.state, t0 + 2000)
    assert.deepEqual(blocksOf(r.actions), { first: 5, count: 8, offset: 2048, length: 4096 })
    assert.equal(r.state.attempts, i + 1)
  }
  // Blocks sent again: 3 probes; 5..8 of the first early 5..12 (9..12 were new), then 8 at each resend after.
  assert.equal(r.state.retransmits, 3 + 4 + 8 * 5)
  const end = finished(timeout(timeout(timeout(r.state).state).state).actions)
  assert.ok(end !== undefined && !end.ok)
  assert.match(end.reason, /no ACK of block 12 after 3 retransmissions/)
})

test('windowed: every answer to a probe says where to resume', () => {
  const probed = (): TransferState => timeout(ack(startTransfer('f', 10_000, opts(['windowsize', '4']), LIMITS, 0).state, 0).state, 100).state
  // The receiver had the whole window (its ACK was lost): the next window follows.
  let t = ack(probed(), 4, 101)
  assert.deepEqual(blocksOf(t.actions), { first: 5, count: 4, offset: 2048, length: 2048 })
  assert.equal(t.state.srtt, 0, 'a probed window is not a round-trip sample (Karn)')
  // It lost the tail: only the tail is resent.
  t = ack(probed(), 3, 101)
  assert.deepEqual(blocksOf(t.actions), { first: 4, count: 4, offset: 1536, length: 2048 })
  // It has nothing of the window: the whole window again, even where a duplicate would be ignored.
  t = ack({ ...probed(), quietFor: 1 }, 0, 101)
  assert.deepEqual(blocksOf(t.actions), { first: 1, count: 4, offset: 0, length: 2048 })
  assert.deepEqual(ack({ ...probed(), probes: 0, quietFor: 1 }, 0, 101).actions, [], 'without a probe that duplicate is the stale kind')
  // At the end of the file no block lies two past the window: its first block is the probe.
  let end = ack(startTransfer('f', 5000, opts(['windowsize', '4']), LIMITS, 0).state, 0)
  end = ack(end.state, 4, 6) // window 5..8 of 10 blocks: 10 exists
  assert.equal(blocksOf(timeout(end.state, 30).actions)?.first, 10)
  end = ack(end.state, 8, 12) // window 9..10: nothing past it
  assert.deepEqual(blocksOf(timeout(end.state, 40).actions), { first: 9, count: 1, offset: 4096, length: 512 })
})

test('an ERROR from the client ends the transfer; nothing happens after the end', () => {
  const r = startTransfer('f', 5000, [], LIMITS, 0)
  const e = step(r.state, { type: 'datagram', packet: { op: Opcode.ERROR, code: 0, message: 'user cancelled' }, now: 1 })
  const end = finished(e.actions)
  assert.ok(end !== undefined && !end.ok)
  assert.match(end.reason, /client sent error 0: user cancelled/)
  assert.equal(e.state.phase, Phase.DONE)
  assert.deepEqual(ack(e.state, 1).actions, [])
  assert.deepEqual(timeout(e.state).actions, [])
})

test('tsize asked, then an ERROR before any data, is a size query (EDK2 does this before every download)', () => {
  const probe = startTransfer('snponly.efi', 173792, opts(['blksize', '1468'], ['tsize', '0']), LIMITS, 0)
  const end = finished(step(probe.state, { type: 'datagram', packet: { op: Opcode.ERROR, code: 8, message: 'User aborted the transfer' }, now: 1 }).actions)
  assert.ok(end !== undefined && !end.ok)
  assert.equal(end.sizeQuery, true)
  assert.equal(end.summary.size, 173792)
  // Without tsize, or once data has been acknowledged, an ERROR is a failure.
  const plain = startTransfer('f', 5000, [], LIMITS, 0)
  assert.equal(finished(step(plain.state, { type: 'datagram', packet: { op: Opcode.ERROR, code: 8, message: 'x' }, now: 1 }).actions)?.sizeQuery, undefined)
  const later = ack(ack(probe.state, 0).state, 1)
  assert.equal(finished(step(later.state, { type: 'datagram', packet: { op: Opcode.ERROR, code: 0, message: 'x' }, now: 2 }).actions)?.sizeQuery, undefined)
})

test('absoluteAck maps 16-bit ACK numbers across the rollover', () => {
  assert.equal(absoluteAck(1, 0), 0)
  assert.equal(absoluteAck(65536, 65535), 65535)
  assert.equal(absoluteAck(65536, 0), 65536)
  assert.equal(absoluteAck(65530, 3), 65539)
  assert.equal(absoluteAck(200_000, 200_000 & 0xffff), 200_000)
})

test('block numbers roll over past 65535 to 0: a 70,000-block file completes lock-step', () => {
  const size = 70_000 * 512 - 100
  let r = startTransfer('big', size, [], LIMITS, 0)
  let sent = 0
  for (let i = 1; i <= 70_000; i++) {
    const b = blocksOf(r.actions)
    assert.ok(b !== undefined && b.first === i, `block ${i}`)
    sent++
    r = ack(r.state, i & 0xffff) // what the client puts on the wire
  }
  const end = finished(r.actions)
  assert.equal(sent, 70_000)
  assert.equal(end?.ok, true)
  assert.equal(end?.summary.bytes, size)
})

/** A simulated RFC 7440 receiver over a lossy link, driven only through step(): no sockets, no clock. */
function simulate (size: number, windowsize: number, lossEvery: number): { ok: boolean, received: number, retransmits: number } {
  let r = startTransfer('sim', size, opts(['blksize', '512'], ['windowsize', String(windowsize)]), { ...LIMITS, retries: 50 }, 0)
  let expected = 1
  let received = 0
  let n = 0
  const lost = (): boolean => ++n % lossEvery === 0
  r = ack(r.state, 0)
  for (let round = 0; round < 100_000; round++) {
    const end = finished(r.actions)
    if (end !== undefined) return { ok: end.ok, received, retransmits: end.summary.retransmits }
    const b = blocksOf(r.actions)
    if (b === undefined) { r = timeout(r.state); continue }
    let lastGood = expected - 1
    let gap = false
    for (let blk = b.first; blk < b.first + b.count; blk++) {
      if (lost()) continue
      if (blk === expected && !gap) { expected++; received += Math.min(512, size - (blk - 1) * 512); lastGood = blk } else if (blk > expected) gap = true
    }
    // The receiver ACKs the last in-order block at the end of the window or on a gap (RFC 7440 §4).
    r = lost() ? timeout(r.state) : ack(r.state, lastGood & 0xffff)
    if (r.actions.length === 0) r = timeout(r.state)
  }
  return { ok: false, received, retransmits: -1 }
}

test('under periodic loss of DATA and ACKs, windowed transfers still deliver every byte in order', () => {
  for (const [windowsize, lossEvery] of [[1, 7], [4, 13], [16, 29], [16, 101], [64, 50]] as const) {
    const size = 300 * 512 + 17
    const res = simulate(size, windowsize, lossEvery)
    assert.ok(res.ok, `windowsize ${windowsize}, 1 in ${lossEvery} lost`)
    assert.equal(res.received, size)
    assert.ok(res.retransmits > 0)
  }
})
