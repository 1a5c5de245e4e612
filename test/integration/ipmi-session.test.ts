import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { createSocket, type Socket } from 'node:dgram'
import { once } from 'node:events'
import { after, before, describe, test } from 'node:test'
import { setTimeout as sleep } from 'node:timers/promises'
import { promisify } from 'node:util'
import { prng } from '../../src/lib/prng.ts'
import { asfPing, IpmiSession, type IpmiTarget } from '../../src/ipmi/client.ts'
import { BmcError } from '../../src/power/errors.ts'
import { ipmiSimSkipReason, startIpmiSim, type SimBmc } from '../helpers/ipmi-sim.ts'

const run = promisify(execFile)
const skip = ipmiSimSkipReason()
if (skip !== undefined) console.log(`# skipping the IPMI session tests: ${skip}`)

const GET_DEVICE_ID = { netFn: 0x06, cmd: 0x01, data: Buffer.alloc(0) }
const GET_CHASSIS_STATUS = { netFn: 0x00, cmd: 0x01, data: Buffer.alloc(0) }
/** IPMI v2.0 §22.18 Set Session Privilege Level with 0: no change, report the present level. */
const GET_PRIVILEGE = { netFn: 0x06, cmd: 0x3b, data: Buffer.of(0) }

async function rejectsWith (p: Promise<unknown>, code: string): Promise<BmcError> {
  try {
    await p
  } catch (err) {
    assert.ok(err instanceof BmcError, `expected a BmcError, got ${String(err)}`)
    assert.equal(err.code, code, err.message)
    return err
  }
  assert.fail(`expected ${code}, but it resolved`)
}

async function bound (port = 0): Promise<Socket> {
  const s = createSocket('udp4')
  s.bind(port, '127.0.0.1')
  await once(s, 'listening')
  return s
}

/**
 * A UDP relay on loopback between the client and ipmi_sim; `tamper` may rewrite, drop (undefined)
 * or add to what the BMC answers, so we can see what the client accepts.
 */
async function relay (sim: SimBmc, tamper: (rx: Buffer, n: number) => Buffer[]): Promise<{ port: number, sent: () => number, close: () => void }> {
  const front = await bound()
  const back = await bound()
  let client: { port: number, address: string } | undefined
  let toBmc = 0
  let fromBmc = 0
  front.on('message', (m, rinfo) => { client = rinfo; toBmc++; back.send(m, sim.port, sim.host) })
  back.on('message', (m) => {
    if (client === undefined) return
    for (const out of tamper(m, fromBmc++)) front.send(out, client.port, client.address)
  })
  return { port: front.address().port, sent: () => toBmc, close: () => { front.close(); back.close() } }
}

describe('IpmiSession against a real ipmi_sim', { skip }, () => {
  let sim: SimBmc
  let target: IpmiTarget
  before(async () => {
    sim = await startIpmiSim({ users: [{ name: 'oper', password: 'oper-pw', priv: 'operator' }] })
    target = { host: sim.host, port: sim.port, username: sim.user, password: sim.password, timeoutMs: 500, retries: 2 }
  })
  after(async () => { await sim.stop() })

  for (const cipherSuite of [3, 'auto'] as const) {
    test(`cipher suite ${cipherSuite}: Get Device ID, 200 requests on one session, close`, async () => {
      const s = await IpmiSession.open({ ...target, cipherSuite })
      assert.equal(s.cipherSuite, 3) // ipmi_sim offers no suite 17, so auto lands on 3
      const id = await s.request(GET_DEVICE_ID)
      // IPMI v2.0 §20.1: device ID, revision, firmware 9.08 (BCD minor), IPMI version 2.0 (02h), IANA 4753 (OpenIPMI), product 0F02h.
      assert.equal(id[0], 0x00)
      assert.equal((id[1] as number) & 0x0f, 3)
      assert.equal((id[2] as number) & 0x7f, 9)
      assert.equal(id[3], 0x08)
      assert.equal(id[4], 0x02)
      assert.equal(id.readUIntLE(6, 3), 4753)
      assert.equal(id.readUInt16LE(9), 0x0f02)
      for (let i = 0; i < 200; i++) assert.equal((await s.request(GET_CHASSIS_STATUS)).length >= 3, true)
      assert.equal(s.droppedDatagrams, 0)
      assert.equal(s.closed, false)
      await s.close()
      await s.close()
      assert.equal(s.closed, true)
      await rejectsWith(s.request(GET_DEVICE_ID), 'ERR_BMC_SESSION_CLOSED')
    })
  }

  test('concurrent requests on one session are serialized and each gets its own answer', async () => {
    const s = await IpmiSession.open({ ...target, cipherSuite: 3 })
    try {
      const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => s.request(i % 2 === 0 ? GET_DEVICE_ID : GET_CHASSIS_STATUS)))
      for (const [i, a] of answers.entries()) assert.equal(a.length, i % 2 === 0 ? 15 : 3)
    } finally {
      await s.close()
    }
  })

  test('a non-zero completion code rejects with its name', async () => {
    const s = await IpmiSession.open({ ...target, cipherSuite: 3 })
    try {
      // Chassis NetFn, command 3Eh does not exist on ipmi_sim: "invalid command" (C1h).
      const err = await rejectsWith(s.request({ netFn: 0x00, cmd: 0x3e, data: Buffer.of(0) }), 'ERR_BMC_COMPLETION')
      assert.match(err.message, /invalid command \(0xc1\)/)
      assert.equal(s.closed, false)
    } finally {
      await s.close()
    }
  })

  test('wrong password → ERR_BMC_AUTH, without the password in the error', async () => {
    const err = await rejectsWith(IpmiSession.open({ ...target, password: 'not-the-password', cipherSuite: 3, timeoutMs: 5000 }), 'ERR_BMC_AUTH')
    assert.doesNotMatch(`${err.message} ${JSON.stringify(err.details)}`, /not-the-password|anvil-test-pw/)
    await rejectsWith(IpmiSession.open({ ...target, username: 'nobody', cipherSuite: 'auto', timeoutMs: 5000 }), 'ERR_BMC_AUTH')
  })

  test('privilege: an operator session is at operator level; ipmi_sim grants what ipmitool gets', async () => {
    const privilegeOf = async (s: IpmiSession): Promise<number> => ((await s.request(GET_PRIVILEGE))[0] as number) & 0x0f
    const oper = await IpmiSession.open({ ...target, username: 'oper', password: 'oper-pw', privilege: 'operator', cipherSuite: 3 })
    assert.equal(await privilegeOf(oper), 3)
    await oper.close()
    // ipmi_sim 2.0.33 lets a user configured as operator reach administrator over RMCP+ (it checks only the
    // channel limit); ipmitool -L ADMINISTRATOR gets the same, so that is the BMC's policy, not a refusal we missed.
    const admin = await IpmiSession.open({ ...target, username: 'oper', password: 'oper-pw', privilege: 'administrator', cipherSuite: 3 })
    assert.equal(await privilegeOf(admin), 4)
    await admin.close()
    const { stdout } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-L', 'ADMINISTRATOR', '-H', sim.host, '-p', String(sim.port), '-U', 'oper', '-P', 'oper-pw', 'session', 'info', 'active'])
    assert.match(stdout, /privilege level\s+:\s+ADMINISTRATOR/)
  })

  test('cipher suite 17: ipmi_sim refuses the algorithms → ERR_BMC_CIPHER_UNSUPPORTED', async () => {
    const err = await rejectsWith(IpmiSession.open({ ...target, cipherSuite: 17 }), 'ERR_BMC_CIPHER_UNSUPPORTED')
    assert.match(err.message, /invalid authentication algorithm/)
  })

  test('nothing listening → ERR_BMC_UNREACHABLE; garbage only → ERR_BMC_UNREACHABLE', async () => {
    const silent = await bound()
    const { port } = silent.address()
    silent.close()
    await rejectsWith(IpmiSession.open({ ...target, port, timeoutMs: 100, retries: 1 }), 'ERR_BMC_UNREACHABLE')
    await rejectsWith(asfPing('127.0.0.1', port, 100), 'ERR_BMC_UNREACHABLE')
    const rand = prng(7)
    const garbage = await bound()
    let answered = 0
    garbage.on('message', (m, rinfo) => {
      answered++
      const junk = Buffer.from(m)
      for (let i = 0; i < junk.length; i++) if (rand() < 0.2) junk[i] = Math.floor(rand() * 256)
      garbage.send(junk, rinfo.port, rinfo.address)
      garbage.send(Buffer.from(Array.from({ length: 40 }, () => Math.floor(rand() * 256))), rinfo.port, rinfo.address)
    })
    try {
      await rejectsWith(IpmiSession.open({ ...target, port: garbage.address().port, timeoutMs: 100, retries: 2 }), 'ERR_BMC_UNREACHABLE')
      assert.equal(answered, 3)
    } finally {
      garbage.close()
    }
  })

  test('tampered and stray answers are dropped and counted, the retransmission succeeds', async () => {
    let flipped = 0
    let inSession = 0
    const mitm = await relay(sim, (rx) => {
      const stray = Buffer.from('0600ff07deadbeef', 'hex')
      // In-session responses (payload type C0h: encrypted, authenticated, IPMI): spoil every other one, 5 in all.
      if (rx[5] === 0xc0 && inSession++ % 2 === 0 && flipped < 5) {
        flipped++
        const bad = Buffer.from(rx)
        bad[20] = (bad[20] as number) ^ 0x01
        return [stray, bad]
      }
      return [stray, rx]
    })
    try {
      const s = await IpmiSession.open({ ...target, port: mitm.port, cipherSuite: 3, timeoutMs: 200, retries: 3 })
      for (let i = 0; i < 5; i++) assert.equal((await s.request(GET_DEVICE_ID)).length, 15)
      assert.equal(flipped, 5)
      assert.ok(s.droppedDatagrams >= 5 + 5, `dropped ${s.droppedDatagrams}`)
      await s.close()
    } finally {
      mitm.close()
    }
  })

  test('an idle session sends keep-alives; when the BMC goes silent the session reports closed', async () => {
    let mute = false
    const mitm = await relay(sim, (rx) => (mute ? [] : [rx]))
    try {
      const s = await IpmiSession.open({ ...target, port: mitm.port, cipherSuite: 3, timeoutMs: 100, retries: 1 }, { keepAliveMs: 100 })
      const before = mitm.sent()
      for (let i = 0; i < 50 && mitm.sent() < before + 2; i++) await sleep(50)
      assert.ok(mitm.sent() >= before + 2, 'keep-alives went out while idle')
      assert.equal(s.closed, false)
      // Once muted, the next keep-alive goes unanswered and the session closes itself (no request
      // of ours races it: a request queued behind that keep-alive would see the close instead).
      mute = true
      for (let i = 0; i < 60 && !s.closed; i++) await sleep(50)
      assert.equal(s.closed, true, 'an unanswered keep-alive closes the session')
      await rejectsWith(s.request(GET_DEVICE_ID), 'ERR_BMC_SESSION_CLOSED')
      await s.close()
    } finally {
      mitm.close()
    }
  })

  test('an aborted open rejects and leaves nothing running', async () => {
    const silent = await bound()
    try {
      const ac = new AbortController()
      const opening = IpmiSession.open({ ...target, port: silent.address().port, timeoutMs: 5000 }, { signal: ac.signal })
      ac.abort()
      await assert.rejects(opening, { name: 'AbortError' })
    } finally {
      silent.close()
    }
  })

  test('asfPing: ipmi_sim answers the presence ping with IPMI supported', async () => {
    const pong = await asfPing(sim.host, sim.port, 1000)
    assert.equal(pong.ipmiSupported, true)
    assert.equal(pong.iana, 4542)
  })

  test('ipmitool still works against the same ipmi_sim afterwards', async () => {
    const { stdout, stderr } = await run('ipmitool', ['-I', 'lanplus', '-C', '3', '-H', sim.host, '-p', String(sim.port), '-U', sim.user, '-P', sim.password, 'chassis', 'power', 'status'])
    assert.match(stdout, /Chassis Power is (on|off)/)
    assert.equal(stderr, '')
  })
})
