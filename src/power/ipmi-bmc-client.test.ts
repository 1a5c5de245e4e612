import { test } from 'node:test'
import assert from 'node:assert/strict'
import { BmcError, BmcErrorCode } from './errors.ts'
import type { IpmiRequest } from '../ipmi/types.ts'
import type { BmcEndpoint } from './bmc.ts'
import { IpmiBmcClient, type PooledSession, type SessionOpener } from './ipmi-bmc-client.ts'

/** A session that answers Get Chassis Status (IPMI v2.0 §28.2) with "power on"; the real one is tested against ipmi_sim. */
class FakeSession implements PooledSession {
  closed = false
  requests = 0
  failWith: BmcError | undefined
  async request (req: IpmiRequest): Promise<Buffer> {
    this.requests++
    if (this.failWith !== undefined) throw this.failWith
    assert.deepEqual([req.netFn, req.cmd], [0x00, 0x01])
    return Buffer.from([0x01, 0x00, 0x00, 0x00])
  }

  async close (): Promise<void> { this.closed = true }
}

function harness () {
  const opened: FakeSession[] = []
  const targets: Parameters<SessionOpener>[0][] = []
  const open: SessionOpener = async (t) => {
    targets.push(t)
    const s = new FakeSession()
    opened.push(s)
    return s
  }
  const client = new IpmiBmcClient({ open, timeoutMs: 500, retries: 2, idleCloseMs: 60_000 })
  return { client, opened, targets }
}

const bmc: BmcEndpoint = { address: '127.0.0.1', port: 6230, username: 'admin', password: 'pw', cipherSuite: 'auto' }

test('one session per BMC, reused across commands', async () => {
  const { client, opened, targets } = harness()
  for (let i = 0; i < 5; i++) assert.equal(await client.powerState(bmc), 'on')
  assert.equal(opened.length, 1)
  assert.equal(opened[0]?.requests, 5)
  assert.deepEqual(targets[0], { host: '127.0.0.1', port: 6230, username: 'admin', password: 'pw', cipherSuite: 'auto', timeoutMs: 500, retries: 2 })
  await client.powerState({ ...bmc, port: 6231 })
  assert.equal(client.size, 2)
  await client.close()
  assert.ok(opened.every(s => s.closed))
})

test('changed credentials, a closed session or a transport failure open a new session', async () => {
  const { client, opened } = harness()
  await client.powerState(bmc)
  await client.powerState({ ...bmc, password: 'new' })
  assert.equal(opened.length, 2, 'a new password is a new session')
  ;(opened[0] as FakeSession).closed = true
  await client.powerState(bmc)
  assert.equal(opened.length, 3, 'a session the BMC closed is replaced')
  ;(opened[2] as FakeSession).failWith = new BmcError(BmcErrorCode.unreachable, 'no answer')
  await assert.rejects(client.powerState(bmc), { code: BmcErrorCode.unreachable })
  assert.equal(opened[2]?.closed, true)
  await client.powerState(bmc)
  assert.equal(opened.length, 4)
  await client.close()
})

test('a completion code keeps the session; a failed login is not pooled', async () => {
  const opened: FakeSession[] = []
  let refuse = true
  const client = new IpmiBmcClient({
    open: async () => {
      if (refuse) throw new BmcError(BmcErrorCode.auth, 'wrong password')
      const s = new FakeSession()
      opened.push(s)
      return s
    },
    timeoutMs: 500,
    retries: 0,
    idleCloseMs: 60_000
  })
  await assert.rejects(client.powerState(bmc), { code: BmcErrorCode.auth })
  assert.equal(client.size, 0)
  refuse = false
  await client.powerState(bmc)
  ;(opened[0] as FakeSession).failWith = new BmcError(BmcErrorCode.completion, 'invalid command')
  await assert.rejects(client.powerState(bmc), { code: BmcErrorCode.completion })
  assert.equal(client.size, 1)
  assert.equal(opened[0]?.closed, false)
  await client.close()
})
