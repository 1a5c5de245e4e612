import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { datagram, loadSessionFixture, type SessionFixture } from '../../test/fixtures/ipmi/session/load.ts'
import { MalformedPacketError } from '../lib/errors.ts'
import { decodeCipherSuiteRecords, decodeGetChannelCipherSuites, chooseSuite } from './commands/get-channel-cipher-suites.ts'
import {
  aesKey, CIPHER_SUITES, decryptPayload, deriveKeys, encryptPayload, integrityAuthCode, rakp2AuthCode, rakp3AuthCode, rakp4IntegrityCheck,
  sessionIntegrityKey, userKey, type RakpParams
} from './crypto.ts'
import { decodeLanRequest, decodeLanResponse, encodeLanResponse } from './lan-message.ts'
import { decodeOpenSessionRequest, decodeOpenSessionResponse, decodeRakp1, decodeRakp2, decodeRakp3, decodeRakp4 } from './rakp.ts'
import { decodeSessionPacket, encodeV15Packet, encodeV20Packet, PayloadType, type V20Packet } from './rmcp-plus.ts'
import {
  acceptSequence, EMPTY_WINDOW, IntegrityCheckError, openResponse, sealRequest, startHandshake, stepHandshake,
  type EstablishedSession, type HandshakeConfig, type HandshakeOutput
} from './session.ts'

const suite3 = CIPHER_SUITES[3]

function v20 (bytes: Buffer, authCodeLength = 0): V20Packet {
  const p = decodeSessionPacket(bytes, authCodeLength)
  assert.equal(p.format, 'v2.0')
  return p as V20Packet
}

/** Everything the capture says about the handshake, decoded from ipmitool's and ipmi_sim's bytes. */
function handshakeFrom (f: SessionFixture): { params: RakpParams, rakp2: Buffer, rakp3: Buffer, rakp4: Buffer } {
  const open = decodeOpenSessionRequest(v20(datagram(f, 2)).payload)
  const opened = decodeOpenSessionResponse(v20(datagram(f, 3)).payload)
  const r1 = decodeRakp1(v20(datagram(f, 4)).payload)
  const r2 = decodeRakp2(v20(datagram(f, 5)).payload)
  const r3 = decodeRakp3(v20(datagram(f, 6)).payload)
  const r4 = decodeRakp4(v20(datagram(f, 7)).payload)
  assert.equal(opened.status, 0)
  assert.equal(opened.consoleSessionId, open.consoleSessionId)
  assert.ok(opened.bmcSessionId !== undefined && r2.bmcRandom !== undefined && r2.bmcGuid !== undefined)
  const params: RakpParams = {
    consoleSessionId: open.consoleSessionId,
    bmcSessionId: opened.bmcSessionId,
    consoleRandom: r1.consoleRandom,
    bmcRandom: r2.bmcRandom,
    bmcGuid: r2.bmcGuid,
    role: r1.role,
    username: r1.username
  }
  return { params, rakp2: r2.authCode, rakp3: r3.authCode, rakp4: r4.integrityCheck }
}

/** The handshake config that makes our machine send exactly what ipmitool sent. */
function ipmitoolConfig (f: SessionFixture, cipherSuite: HandshakeConfig['cipherSuite']): HandshakeConfig {
  const open = decodeOpenSessionRequest(v20(datagram(f, 2)).payload)
  const consoleRandom = f.datagrams.length > 4 ? decodeRakp1(v20(datagram(f, 4)).payload).consoleRandom : Buffer.alloc(16)
  return {
    username: Buffer.from(f.username),
    kuid: userKey(Buffer.from(f.password)),
    privilege: 4,
    cipherSuite,
    consoleSessionId: open.consoleSessionId,
    consoleRandom
  }
}

function expectSend (out: HandshakeOutput, bytes?: Buffer): HandshakeOutput & { kind: 'send' } {
  assert.equal(out.kind, 'send', out.kind === 'failed' ? out.error.message : out.kind)
  if (bytes !== undefined) assert.equal(out.bytes.toString('hex'), bytes.toString('hex'))
  return out
}

describe('replay of ipmitool -C 3 chassis power status against ipmi_sim', () => {
  const f = loadSessionFixture('power-status-c3')
  const { params, rakp2, rakp3, rakp4 } = handshakeFrom(f)
  const kuid = userKey(Buffer.from(f.password))
  const sik = sessionIntegrityKey(suite3, kuid, params)
  const keys = deriveKeys(suite3, sik)

  test('the role byte is administrator with name-only lookup (14h), as ipmitool sends', () => {
    assert.equal(params.role, 0x14)
  })

  test('our RAKP 2, RAKP 3 and RAKP 4 values equal the captured ones', () => {
    assert.deepEqual(rakp2AuthCode(suite3, kuid, params), rakp2)
    assert.deepEqual(rakp3AuthCode(suite3, kuid, params), rakp3)
    assert.deepEqual(rakp4IntegrityCheck(suite3, sik, params), rakp4)
  })

  test('every in-session datagram: AuthCode verifies with K1, payload decrypts with K2, IPMI message decodes', () => {
    const seen: string[] = []
    for (const [i, d] of f.datagrams.entries()) {
      if (i < 8) continue
      const p = v20(d.bytes, suite3.authCodeLength)
      assert.ok(p.authenticated && p.encrypted)
      assert.equal(p.payloadType, PayloadType.ipmi)
      assert.deepEqual(integrityAuthCode(suite3, keys.k1, p.signed), p.authCode, `AuthCode of datagram ${i}`)
      const plain = decryptPayload(aesKey(keys.k2), p.payload)
      if (d.dir === 'tx') {
        assert.equal(p.sessionId, params.bmcSessionId)
        const m = decodeLanRequest(plain)
        seen.push(`${m.netFn}/${m.cmd}`)
      } else {
        assert.equal(p.sessionId, params.consoleSessionId)
        decodeLanResponse(plain)
      }
    }
    // Set Session Privilege Level first (App 3Bh), Get Chassis Status (Chassis 01h), Close Session last (App 3Ch).
    assert.equal(seen[0], '6/59')
    assert.ok(seen.includes('0/1'))
    assert.equal(seen.at(-1), '6/60')
  })

  test('our handshake machine, given ipmitool\'s random numbers, sends ipmitool\'s bytes and accepts ipmi_sim\'s', () => {
    const config = ipmitoolConfig(f, 3)
    let out = expectSend(startHandshake(config), datagram(f, 0))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }), datagram(f, 2))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 3) }), datagram(f, 4))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 5) }), datagram(f, 6))
    const done = stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 7) })
    assert.equal(done.kind, 'established')
    assert.deepEqual(done.session.k1, keys.k1)
    assert.deepEqual(done.session.aesKey, aesKey(keys.k2))
    assert.equal(done.session.bmcSessionId, params.bmcSessionId)
  })

  test('sealRequest with ipmitool\'s IV and sequence number reproduces its first in-session datagram', () => {
    const session: EstablishedSession = { suite: suite3, consoleSessionId: params.consoleSessionId, bmcSessionId: params.bmcSessionId, k1: keys.k1, aesKey: aesKey(keys.k2), nextRqSeq: 1 }
    const sent = v20(datagram(f, 8), 12)
    const message = decryptPayload(session.aesKey, sent.payload)
    assert.deepEqual(sealRequest(session, sent.sessionSeq, message, sent.payload.subarray(0, 16)), datagram(f, 8))
    const reply = openResponse(session, datagram(f, 9))
    assert.equal(reply.message.cmd, 0x3b)
    assert.equal(reply.message.completionCode, 0)
  })

  test('a flipped bit in an authenticated response is rejected; the payload and AuthCode fail the integrity check', () => {
    const session: EstablishedSession = { suite: suite3, consoleSessionId: params.consoleSessionId, bmcSessionId: params.bmcSessionId, k1: keys.k1, aesKey: aesKey(keys.k2), nextRqSeq: 1 }
    const bytes = datagram(f, 13)
    const clean = openResponse(session, bytes).message
    const payloadStart = 16 // RMCP 4 + AuthType, payload type, session ID, sequence, length 12
    const trailer = v20(bytes, 12)
    const padLengthAt = 4 + trailer.signed.length - 2 // pad length and next header are checked by shape first
    for (let i = 0; i < bytes.length * 8; i++) {
      const bad = Buffer.from(bytes)
      const at = i >> 3
      bad[at] = (bad[at] as number) ^ (1 << (i & 7))
      if (at < 4) {
        // §13.28.4: the RMCP header is outside the AuthCode; its sequence and reserved bytes carry nothing
        // we use, so a flip there may pass, but never changes what we accept.
        try { assert.deepEqual(openResponse(session, bad).message, clean) } catch (err) { assert.ok(err instanceof MalformedPacketError) }
        continue
      }
      const expected = at >= payloadStart && at !== padLengthAt && at !== padLengthAt + 1 ? IntegrityCheckError : MalformedPacketError
      assert.throws(() => openResponse(session, bad), expected, `bit ${i} (byte ${at})`)
    }
  })
})

describe('handshake failures replayed from ipmi_sim', () => {
  test('wrong password: RAKP 2 says ok but its HMAC does not verify → ERR_BMC_AUTH', () => {
    const f = loadSessionFixture('wrong-password-c3')
    let out = expectSend(startHandshake(ipmitoolConfig(f, 3)), datagram(f, 0))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }), datagram(f, 2))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 3) }), datagram(f, 4))
    assert.equal(decodeRakp2(v20(datagram(f, 5)).payload).status, 0)
    const done = stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 5) })
    assert.equal(done.kind, 'failed')
    assert.equal(done.error.code, 'ERR_BMC_AUTH')
    assert.doesNotMatch(done.error.message + JSON.stringify(done.error.details), /wrong-pw|s3cret/)
  })

  test('unknown user: RAKP 2 status 0x0d → ERR_BMC_AUTH', () => {
    const f = loadSessionFixture('unknown-user-c3')
    let out = expectSend(startHandshake(ipmitoolConfig(f, 3)))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 3) }), datagram(f, 4))
    const done = stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 5) })
    assert.equal(done.kind, 'failed')
    assert.equal(done.error.code, 'ERR_BMC_AUTH')
    assert.match(done.error.message, /unauthorized name/)
  })

  test('suite 17: ipmi_sim answers "invalid authentication algorithm" → ERR_BMC_CIPHER_UNSUPPORTED', () => {
    const f = loadSessionFixture('suite17-refused')
    let out = expectSend(startHandshake(ipmitoolConfig(f, 17)), datagram(f, 0))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }), datagram(f, 2))
    const done = stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 3) })
    assert.equal(done.kind, 'failed')
    assert.equal(done.error.code, 'ERR_BMC_CIPHER_UNSUPPORTED')
  })

  test('auto with no answer to Get Channel Cipher Suites proposes 17, then 3 after ipmi_sim refuses 17', () => {
    const f = loadSessionFixture('suite17-refused')
    let out = expectSend(startHandshake(ipmitoolConfig(f, 'auto')))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }))
    assert.equal(out.tries, 'once')
    out = expectSend(stepHandshake(out.state, { type: 'noAnswer' }), datagram(f, 2))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 3) }))
    const proposal = decodeOpenSessionRequest(v20(out.bytes).payload)
    assert.deepEqual([proposal.authentication, proposal.integrity, proposal.confidentiality], [1, 1, 1])
  })

  test('silence in any other phase → ERR_BMC_UNREACHABLE', () => {
    const out = expectSend(startHandshake(ipmitoolConfig(loadSessionFixture('power-status-c3'), 3)))
    const done = stepHandshake(out.state, { type: 'noAnswer' })
    assert.equal(done.kind, 'failed')
    assert.equal(done.error.code, 'ERR_BMC_UNREACHABLE')
  })
})

describe('Get Channel Cipher Suites as ipmi_sim answers it', () => {
  // ipmi_sim only answers it inside a session: take its answers from the `channel getciphers` capture.
  const f = loadSessionFixture('getciphers-c3')
  const { params } = handshakeFrom(f)
  const keys = deriveKeys(suite3, sessionIntegrityKey(suite3, userKey(Buffer.from(f.password)), params))
  const chunks = f.datagrams.slice(8).filter(d => d.dir === 'rx').map(d => {
    return decodeLanResponse(decryptPayload(aesKey(keys.k2), v20(d.bytes, 12).payload))
  }).filter(m => m.cmd === 0x54).map(m => decodeGetChannelCipherSuites(m.data))

  test('the records list suites 0–14 and 3 is HMAC-SHA1 / HMAC-SHA1-96 / AES-CBC-128', () => {
    const records = decodeCipherSuiteRecords(Buffer.concat(chunks.map(c => c.records)))
    assert.deepEqual(records.map(r => r.id), [...Array(15).keys()])
    const three = records.find(r => r.id === 3)
    assert.deepEqual(three, { id: 3, oemIana: undefined, authentication: [1], integrity: [1], confidentiality: [1] })
    assert.equal(chooseSuite(records), 3)
  })

  test('auto walks the list index by index before a session, then opens suite 3', () => {
    let out = expectSend(startHandshake({ ...ipmitoolConfig(f, 'auto') }))
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: datagram(f, 1) }))
    for (const [index, chunk] of chunks.entries()) {
      const sent = decodeLanRequest(v20(out.bytes).payload)
      assert.deepEqual([...sent.data], [0x0e, 0x00, 0x80 | index])
      const data = Buffer.concat([Buffer.of(chunk.channel), chunk.records])
      const reply = encodeLanResponse({ rqAddr: 0x81, netFn: 7, rqLun: 0, rsAddr: 0x20, rqSeq: sent.rqSeq, rsLun: 0, cmd: 0x54, completionCode: 0, data })
      out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: encodeV20Packet({ payloadType: 0, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload: reply }) }))
      if (chunk.records.length < 16) break
    }
    assert.equal(v20(out.bytes).payloadType, PayloadType.openSessionRequest)
    assert.equal(decodeOpenSessionRequest(v20(out.bytes).payload).authentication, 1)
  })
})

describe('inbound session sequence window (§6.12.13)', () => {
  test('accepts increasing numbers, rejects 0 and replays', () => {
    let w = EMPTY_WINDOW
    assert.equal(acceptSequence(w, 0), undefined)
    for (let s = 1; s <= 40; s++) {
      const next = acceptSequence(w, s)
      assert.ok(next !== undefined, `seq ${s}`)
      w = next
      assert.equal(acceptSequence(w, s), undefined, `replay of ${s}`)
    }
  })
  test('accepts a late, unseen number up to 15 behind, once', () => {
    let w = acceptSequence(EMPTY_WINDOW, 100) ?? assert.fail()
    w = acceptSequence(w, 90) ?? assert.fail()
    assert.equal(acceptSequence(w, 90), undefined)
    assert.ok(acceptSequence(w, 85) !== undefined)
    assert.equal(acceptSequence(w, 84), undefined)
  })
  test('wraps around 2^32', () => {
    const w = acceptSequence(EMPTY_WINDOW, 0xfffffffe) ?? assert.fail()
    assert.ok(acceptSequence(w, 1) !== undefined)
  })
})

describe('cipher suite 17 end to end against a BMC built from the OpenSSL-checked primitives', () => {
  const suite = CIPHER_SUITES[17]
  const kuid = userKey(Buffer.from('anvil-pw'))
  const guid = Buffer.from('a123456789abcdefa123456789abcdef', 'hex')
  const bmcRandom = Buffer.alloc(16, 0x5a)
  const bmcSessionId = 0x0badcafe
  // Get Channel Cipher Suites data as a BMC offering 3 and 17 would send it: channel 1, records C0h 03h …, C0h 11h ….
  const list = Buffer.from('01c003014181c011034481', 'hex')

  function bmcSays (payloadType: number, payload: Buffer): Buffer {
    return encodeV20Packet({ payloadType: payloadType as 0, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload })
  }

  test('auto picks 17 from the list, RAKP uses 32-byte codes and a 16-byte ICV, messages carry 16-byte AuthCodes', () => {
    const config: HandshakeConfig = { username: Buffer.from('admin'), kuid, privilege: 4, cipherSuite: 'auto', consoleSessionId: 0x01020304, consoleRandom: Buffer.alloc(16, 0xa5) }
    let out = expectSend(startHandshake(config))
    const caps = encodeLanResponse({ rqAddr: 0x81, netFn: 7, rqLun: 0, rsAddr: 0x20, rqSeq: 0, rsLun: 0, cmd: 0x38, completionCode: 0, data: Buffer.from('0197040300000000', 'hex') })
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.ipmi, caps) }))
    const suites = encodeLanResponse({ rqAddr: 0x81, netFn: 7, rqLun: 0, rsAddr: 0x20, rqSeq: 1, rsLun: 0, cmd: 0x54, completionCode: 0, data: list })
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.ipmi, suites) }))
    const proposal = decodeOpenSessionRequest(v20(out.bytes).payload)
    assert.deepEqual([proposal.authentication, proposal.integrity, proposal.confidentiality], [3, 4, 1])

    const algorithms = { authentication: 3, integrity: 4, confidentiality: 1 }
    const opened = Buffer.concat([Buffer.of(proposal.tag, 0, 4, 0), Buffer.alloc(8)])
    opened.writeUInt32LE(config.consoleSessionId, 4)
    opened.writeUInt32LE(bmcSessionId, 8)
    const openRsp = Buffer.concat([opened, Buffer.from('0000000803000000', 'hex'), Buffer.from('0100000804000000', 'hex'), Buffer.from('0200000801000000', 'hex')])
    assert.deepEqual(decodeOpenSessionResponse(openRsp).algorithms, algorithms)
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.openSessionResponse, openRsp) }))

    const rakp1 = decodeRakp1(v20(out.bytes).payload)
    const params: RakpParams = { consoleSessionId: config.consoleSessionId, bmcSessionId, consoleRandom: rakp1.consoleRandom, bmcRandom, bmcGuid: guid, role: rakp1.role, username: rakp1.username }
    const rakp2 = Buffer.concat([Buffer.of(rakp1.tag, 0, 0, 0), Buffer.alloc(4), bmcRandom, guid, rakp2AuthCode(suite, kuid, params)])
    rakp2.writeUInt32LE(config.consoleSessionId, 4)
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.rakp2, rakp2) }))
    const rakp3 = decodeRakp3(v20(out.bytes).payload, 32)
    assert.deepEqual(rakp3.authCode, rakp3AuthCode(suite, kuid, params))

    const sik = sessionIntegrityKey(suite, kuid, params)
    const rakp4 = Buffer.concat([Buffer.of(rakp1.tag, 0, 0, 0), Buffer.alloc(4), rakp4IntegrityCheck(suite, sik, params)])
    rakp4.writeUInt32LE(config.consoleSessionId, 4)
    assert.equal(rakp4.length, 8 + 16)
    const done = stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.rakp4, rakp4) })
    assert.equal(done.kind, 'established')
    assert.equal(done.session.suite.id, 17)

    // The BMC's answer to a request, sealed with K1 (HMAC-SHA256-128) and K2 (AES-CBC-128).
    const keys = deriveKeys(suite, sik)
    const request = v20(sealRequest(done.session, 1, Buffer.from('2018c88104017a', 'hex'), Buffer.alloc(16, 1)), 16)
    assert.equal(request.authCode.length, 16)
    assert.deepEqual(integrityAuthCode(suite, keys.k1, request.signed), request.authCode)
    const answer = encodeLanResponse({ rqAddr: 0x81, netFn: 7, rqLun: 0, rsAddr: 0x20, rqSeq: 1, rsLun: 0, cmd: 1, completionCode: 0, data: Buffer.of(0x20) })
    const sealed = encodeV20Packet({
      payloadType: PayloadType.ipmi,
      encrypted: true,
      authenticated: true,
      sessionId: config.consoleSessionId,
      sessionSeq: 1,
      payload: encryptPayload(aesKey(keys.k2), Buffer.alloc(16, 2), answer),
      authCode: signed => integrityAuthCode(suite, keys.k1, signed)
    })
    assert.deepEqual([...openResponse(done.session, sealed).message.data], [0x20])
  })

  test('a RAKP 2 made with another password fails with ERR_BMC_AUTH', () => {
    const config: HandshakeConfig = { username: Buffer.from('admin'), kuid, privilege: 4, cipherSuite: 17, consoleSessionId: 9, consoleRandom: Buffer.alloc(16, 1) }
    let out = expectSend(startHandshake(config))
    const caps = encodeLanResponse({ rqAddr: 0x81, netFn: 7, rqLun: 0, rsAddr: 0x20, rqSeq: 0, rsLun: 0, cmd: 0x38, completionCode: 0, data: Buffer.from('0197040300000000', 'hex') })
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: encodeV15Packet(caps) }))
    const openRsp = Buffer.concat([Buffer.from('00000400', 'hex'), Buffer.from('0900000001000000', 'hex'), Buffer.from('000000080300000001000008040000000200000801000000', 'hex')])
    out = expectSend(stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.openSessionResponse, openRsp) }))
    const params: RakpParams = { consoleSessionId: 9, bmcSessionId: 1, consoleRandom: config.consoleRandom, bmcRandom, bmcGuid: guid, role: 0x14, username: Buffer.from('admin') }
    const forged = rakp2AuthCode(suite, userKey(Buffer.from('other-pw')), params)
    const rakp2 = Buffer.concat([Buffer.from('0000000009000000', 'hex'), bmcRandom, guid, forged])
    const done = stepHandshake(out.state, { type: 'datagram', bytes: bmcSays(PayloadType.rakp2, rakp2) })
    assert.equal(done.kind, 'failed')
    assert.equal(done.error.code, 'ERR_BMC_AUTH')
  })
})
