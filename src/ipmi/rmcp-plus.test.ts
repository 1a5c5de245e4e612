import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { datagram, loadSessionFixture, SESSION_FIXTURES } from '../../test/fixtures/ipmi/session/load.ts'
import { MalformedPacketError } from '../lib/errors.ts'
import { prng } from '../lib/prng.ts'
import { decodeAsfPong } from './asf.ts'
import { decodeGetChannelAuthCapabilities } from './commands/get-channel-auth-capabilities.ts'
import { decodeCipherSuiteRecords, decodeGetChannelCipherSuites } from './commands/get-channel-cipher-suites.ts'
import { aesKey, CIPHER_SUITES, decryptPayload, deriveKeys, sessionIntegrityKey, userKey } from './crypto.ts'
import { decodeLanRequest, decodeLanResponse } from './lan-message.ts'
import {
  decodeOpenSessionRequest, decodeOpenSessionResponse, decodeRakp1, decodeRakp2, decodeRakp3, decodeRakp4
} from './rakp.ts'
import { decodeSessionPacket, encodeV15Packet, encodeV20Packet, PayloadType, type V20Packet } from './rmcp-plus.ts'
import { openResponse, startHandshake, stepHandshake, type EstablishedSession, type HandshakeOutput } from './session.ts'

const suite = CIPHER_SUITES[3]

/** The fixture's in-session keys, derived from its handshake and password. */
function sessionOf (name: typeof SESSION_FIXTURES[number]): EstablishedSession {
  const f = loadSessionFixture(name)
  const p = (i: number): V20Packet => decodeSessionPacket(datagram(f, i), 0) as V20Packet
  const open = decodeOpenSessionResponse(p(3).payload)
  const r1 = decodeRakp1(p(4).payload)
  const r2 = decodeRakp2(p(5).payload)
  const params = {
    consoleSessionId: open.consoleSessionId ?? 0,
    bmcSessionId: open.bmcSessionId ?? 0,
    consoleRandom: r1.consoleRandom,
    bmcRandom: r2.bmcRandom ?? Buffer.alloc(16),
    bmcGuid: r2.bmcGuid ?? Buffer.alloc(16),
    role: r1.role,
    username: r1.username
  }
  const keys = deriveKeys(suite, sessionIntegrityKey(suite, userKey(Buffer.from(f.password)), params))
  return { suite, consoleSessionId: params.consoleSessionId, bmcSessionId: params.bmcSessionId, k1: keys.k1, aesKey: aesKey(keys.k2), nextRqSeq: 1 }
}

/** Every decoder that can see a datagram or a piece of one, with the right context. */
function decoders (): Array<(b: Buffer) => unknown> {
  const s = sessionOf('power-status-c3')
  return [
    b => decodeSessionPacket(b, 0),
    b => decodeSessionPacket(b, 12),
    b => decodeSessionPacket(b, 16),
    b => openResponse(s, b),
    b => decryptPayload(s.aesKey, b),
    decodeLanRequest, decodeLanResponse, decodeAsfPong,
    decodeOpenSessionRequest, decodeOpenSessionResponse, decodeRakp1,
    b => decodeRakp2(b, 20), b => decodeRakp3(b, 20), b => decodeRakp4(b, 12),
    decodeGetChannelAuthCapabilities, decodeGetChannelCipherSuites, decodeCipherSuiteRecords
  ]
}

function onlyMalformed (fn: () => unknown, what: string): void {
  try {
    fn()
  } catch (err) {
    if (!(err instanceof MalformedPacketError)) assert.fail(`${what}: threw ${String(err)}`)
  }
}

describe('every truncated prefix of every captured datagram is malformed', () => {
  for (const name of SESSION_FIXTURES) {
    test(name, () => {
      const f = loadSessionFixture(name)
      for (const [i, d] of f.datagrams.entries()) {
        const full = decodeSessionPacket(d.bytes, 12)
        for (let n = 0; n < d.bytes.length; n++) {
          assert.throws(() => decodeSessionPacket(d.bytes.subarray(0, n), 12), MalformedPacketError, `${name}[${i}] cut at ${n}`)
        }
        // The IPMI messages inside are checked the same way (both checksums guard them).
        const message = full.format === 'v1.5' ? full.message : full.payloadType === PayloadType.ipmi && !full.encrypted ? full.payload : undefined
        if (message === undefined) continue
        for (let n = 0; n < message.length; n++) {
          assert.throws(() => (d.dir === 'tx' ? decodeLanRequest : decodeLanResponse)(message.subarray(0, n)), MalformedPacketError)
        }
      }
    })
  }

  test('the handshake payloads, with the suite\'s lengths', () => {
    const f = loadSessionFixture('power-status-c3')
    const cases: Array<[number, (b: Buffer) => unknown]> = [
      [2, decodeOpenSessionRequest], [3, decodeOpenSessionResponse], [4, decodeRakp1],
      [5, b => decodeRakp2(b, 20)], [6, b => decodeRakp3(b, 20)], [7, b => decodeRakp4(b, 12)]
    ]
    for (const [i, decode] of cases) {
      const payload = (decodeSessionPacket(datagram(f, i), 0) as V20Packet).payload
      decode(payload)
      for (let n = 0; n < payload.length; n++) assert.throws(() => decode(payload.subarray(0, n)), MalformedPacketError, `datagram ${i} cut at ${n}`)
    }
  })

  test('the decrypted in-session messages', () => {
    const f = loadSessionFixture('power-status-c3')
    const s = sessionOf('power-status-c3')
    for (const [i, d] of f.datagrams.entries()) {
      if (i < 8) continue
      const plain = decryptPayload(s.aesKey, (decodeSessionPacket(d.bytes, 12) as V20Packet).payload)
      const decode = d.dir === 'tx' ? decodeLanRequest : decodeLanResponse
      for (let n = 0; n < plain.length; n++) assert.throws(() => decode(plain.subarray(0, n)), MalformedPacketError)
    }
  })
})

describe('random and mutated input never throws anything but MalformedPacketError', () => {
  const seed = 0x1a2b3c
  const rand = prng(seed)
  const int = (n: number): number => Math.floor(rand() * n)
  const all = SESSION_FIXTURES.flatMap(n => loadSessionFixture(n).datagrams.map(d => d.bytes))

  function mutate (b: Buffer): Buffer {
    const out = Buffer.from(b)
    const kind = int(4)
    if (kind === 0 && out.length > 0) out[int(out.length)] = int(256)
    if (kind === 1 && out.length > 0) {
      const at = int(out.length)
      out[at] = (out[at] as number) ^ (1 << int(8))
    }
    if (kind === 2) return Buffer.concat([out, Buffer.from(Array.from({ length: int(8) + 1 }, () => int(256)))])
    if (kind === 3) return out.subarray(int(out.length + 1))
    return out
  }

  test(`decoders (seed ${seed})`, () => {
    const fns = decoders()
    for (let i = 0; i < 4000; i++) {
      const base = all[int(all.length)] as Buffer
      const input = i % 4 === 0 ? Buffer.from(Array.from({ length: int(80) }, () => int(256))) : mutate(base)
      for (const [j, fn] of fns.entries()) onlyMalformed(() => fn(input), `decoder ${j} on ${input.toString('hex')}`)
    }
  })

  test(`the handshake machine ignores or fails, never throws (seed ${seed})`, () => {
    const f = loadSessionFixture('power-status-c3')
    const config = { username: Buffer.from('admin'), kuid: userKey(Buffer.from(f.password)), privilege: 4 as const, cipherSuite: 3 as const, consoleSessionId: 0xa0a2a3a4, consoleRandom: Buffer.alloc(16, 7) }
    const start = (): HandshakeOutput & { kind: 'send' } => {
      const first = startHandshake(config)
      assert.equal(first.kind, 'send')
      return first
    }
    let out = start()
    for (let i = 0; i < 3000; i++) {
      const state = out.state
      const next = stepHandshake(state, { type: 'datagram', bytes: mutate(all[int(all.length)] as Buffer) })
      assert.ok(['ignore', 'send', 'failed', 'established'].includes(next.kind))
      if (next.kind === 'send') out = next
      else if (int(10) === 0) out = start()
    }
  })
})

describe('session header round trips', () => {
  test('v1.5 pre-session wrapper equals ipmitool\'s first datagram', () => {
    const f = loadSessionFixture('power-status-c3')
    const p = decodeSessionPacket(datagram(f, 0), 0)
    assert.equal(p.format, 'v1.5')
    assert.deepEqual(encodeV15Packet(p.message), datagram(f, 0))
  })

  test('authenticated RMCP+ packets pad AuthType … Next Header to a multiple of 4', () => {
    for (let n = 0; n < 12; n++) {
      const bytes = encodeV20Packet({ payloadType: PayloadType.ipmi, encrypted: true, authenticated: true, sessionId: 5, sessionSeq: 9, payload: Buffer.alloc(n, 0xab), authCode: () => Buffer.alloc(12, 0xcd) })
      const p = decodeSessionPacket(bytes, 12) as V20Packet
      assert.equal(p.signed.length % 4, 0)
      assert.deepEqual(p.payload, Buffer.alloc(n, 0xab))
      assert.deepEqual(p.authCode, Buffer.alloc(12, 0xcd))
      assert.deepEqual([p.sessionId, p.sessionSeq, p.encrypted, p.authenticated], [5, 9, true, true])
    }
  })

  test('an authenticated packet before keys exist is malformed', () => {
    const bytes = encodeV20Packet({ payloadType: PayloadType.ipmi, encrypted: false, authenticated: true, sessionId: 1, sessionSeq: 1, payload: Buffer.alloc(3), authCode: () => Buffer.alloc(12) })
    assert.throws(() => decodeSessionPacket(bytes, 0), MalformedPacketError)
  })
})
