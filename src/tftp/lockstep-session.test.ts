import { test } from 'node:test'
import assert from 'node:assert/strict'
import { encodePacket, Opcode, type TftpOption } from './packet.ts'
import { lockstepEnd } from './lockstep-session.ts'
import type { LockstepResult } from './lockstep-native.ts'
import { startTransfer, step, type Step, type TransferAction, type TransferLimits, type TransferState } from './transfer.ts'

// The native engine reports how a transfer ended; lockstepEnd must word each end exactly as the
// event-loop state machine words the same end, so the timeline does not depend on the path taken.
const LIMITS: TransferLimits = { maxBlockSize: 65464, maxWindowSize: 64, maxWindowBytes: 1 << 20, timeout: 2, retries: 3 }
const opts = (...pairs: Array<[string, string]>): TftpOption[] => pairs.map(([name, value]) => ({ name, value }))
const result = (r: Partial<LockstepResult>): LockstepResult => ({ outcome: 'complete', phase: 'sending', base: 1, retransmits: 0, strays: 0, durationMs: 40, ...r })

function finished (actions: readonly TransferAction[]): Extract<TransferAction, { type: 'finish' }> {
  for (const a of actions) if (a.type === 'finish') return a
  assert.fail('the state machine did not finish')
}
function timeoutUntilDone (s: TransferState): Extract<TransferAction, { type: 'finish' }> {
  let next: Step = { state: s, actions: [] }
  for (let i = 0; i < 10; i++) {
    next = step(next.state, { type: 'timeout', now: 0 })
    for (const a of next.actions) if (a.type === 'finish') return a
  }
  assert.fail('no finish after 10 timeouts')
}
const ack = (s: TransferState, block: number): Step => step(s, { type: 'datagram', packet: { op: Opcode.ACK, block }, now: 0 })

test('complete: the summary counts every block and byte, and the duration is the loop\'s', () => {
  const first = startTransfer('snponly.efi', 3000, opts(['blksize', '1468']), LIMITS, 0)
  const end = lockstepEnd(first.state, result({ outcome: 'complete', base: 4, durationMs: 12.5 }), 1000)
  assert.deepEqual(end, {
    ok: true,
    reason: 'complete',
    summary: { file: 'snponly.efi', size: 3000, blksize: 1468, windowsize: 1, tsize: false, timeout: undefined, bytes: 3000, blocks: 3, retransmits: 0, durationMs: 12.5 }
  })
})

test('timeouts: the same words as the state machine, while negotiating, mid-file and on the last block', () => {
  const negotiating = startTransfer('a', 3000, opts(['blksize', '1468']), LIMITS, 0).state
  assert.equal(lockstepEnd(negotiating, result({ outcome: 'timeout', phase: 'negotiating', base: 1 }), 0).reason, timeoutUntilDone(negotiating).reason)
  // Mid-file: block 2 unacknowledged.
  const plain = startTransfer('a', 3000, [], LIMITS, 0).state
  const atTwo = ack(plain, 1).state
  assert.equal(lockstepEnd(plain, result({ outcome: 'timeout', base: 2, retransmits: 3 }), 0).reason, timeoutUntilDone(atTwo).reason)
  // The last block (6 of a 3000-byte file at 512) sent and never acknowledged: the client may have it all.
  let s = plain
  for (let b = 1; b <= 5; b++) s = ack(s, b).state
  const last = lockstepEnd(plain, result({ outcome: 'timeout', base: 6, retransmits: 3 }), 0)
  assert.equal(last.reason, timeoutUntilDone(s).reason)
  assert.match(last.reason, /every block was sent/)
  assert.equal(last.summary.bytes, 2560)
})

test('a client ERROR: the same reason, and a size query (tsize, no data yet) is told apart', () => {
  const error = encodePacket({ op: Opcode.ERROR, code: 8, message: 'size only' })
  const withTsize = startTransfer('a', 3000, opts(['tsize', '0']), LIMITS, 0).state
  const machine = finished(step(withTsize, { type: 'datagram', packet: { op: Opcode.ERROR, code: 8, message: 'size only' }, now: 0 }).actions)
  const native = lockstepEnd(withTsize, result({ outcome: 'client-error', phase: 'negotiating', base: 1, packet: error }), 0)
  assert.equal(native.reason, machine.reason)
  assert.equal(native.sizeQuery, true)
  assert.equal(machine.sizeQuery, true)
  // After the first block was acknowledged it is a failed transfer, not a size query.
  assert.equal(lockstepEnd(withTsize, result({ outcome: 'client-error', base: 2, packet: error }), 0).sizeQuery, undefined)
  const plain = startTransfer('a', 3000, [], LIMITS, 0).state
  assert.equal(lockstepEnd(plain, result({ outcome: 'client-error', base: 1, packet: error }), 0).sizeQuery, undefined)
  for (const packet of [encodePacket({ op: Opcode.ACK, block: 1 }), Buffer.from('0005', 'hex'), undefined]) {
    const odd = lockstepEnd(plain, result({ outcome: 'client-error', base: 1, ...(packet === undefined ? {} : { packet }) }), 0)
    assert.deepEqual([odd.ok, odd.reason], [false, 'the client ended the transfer with an ERROR packet the decoder rejects'])
  }
})

test('refused, aborted and socket errors', () => {
  const s = startTransfer('a', 3000, [], LIMITS, 0).state
  assert.equal(lockstepEnd(s, result({ outcome: 'refused', base: 3, errno: 111 }), 0).reason, 'the client went away (ICMP port unreachable)')
  // After the last block went out, that is how a client that has everything looks when its final ACK is lost.
  assert.equal(lockstepEnd(s, result({ outcome: 'refused', base: 6, errno: 111 }), 0).reason,
    'the client went away (ICMP port unreachable) (every block was sent: the client may have the whole file)')
  assert.equal(lockstepEnd(s, result({ outcome: 'aborted', base: 3 }), 0, 'server stopping').reason, 'server stopping')
  assert.equal(lockstepEnd(s, result({ outcome: 'io-error', base: 3, errno: 13 }), 0).reason, 'socket error EACCES')
  const aborted = lockstepEnd(s, result({ outcome: 'aborted', base: 3 }), 0)
  assert.equal(aborted.ok, false)
  assert.equal(aborted.summary.blocks, 2)
})
