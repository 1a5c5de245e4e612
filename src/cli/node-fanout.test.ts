import { test } from 'node:test'
import assert from 'node:assert/strict'
import { failureOf } from './node-fanout.ts'

test('failureOf: none when all answered; one target\'s own error; several by node, another code named beside its failure', () => {
  assert.equal(failureOf([{ node: 'a', result: 1 }, { node: 'b', result: 2 }]), undefined)
  const alone = failureOf([{ node: 'a', error: { code: 'ERR_NODE_ROLE_DENIED', message: 'role reader may not call Reboot' } }])
  assert.deepEqual([alone?.code, alone?.message], ['ERR_NODE_ROLE_DENIED', 'role reader may not call Reboot'])
  const several = failureOf([
    { node: 'a', error: { code: 'ERR_NODE_UNREACHABLE', message: 'cannot reach a' } },
    { node: 'b', result: 1 },
    { node: 'c', error: { code: 'ERR_MACHINE_NOT_FOUND', message: 'no machine "c"' } },
    { node: 'd', error: { code: 'ERR_NODE_UNREACHABLE', message: 'cannot reach d' } }
  ])
  assert.equal(several?.code, 'ERR_NODE_UNREACHABLE')
  assert.equal(several?.message, '3 of 4 nodes failed: a: cannot reach a; c: no machine "c" [ERR_MACHINE_NOT_FOUND]; d: cannot reach d')
})
