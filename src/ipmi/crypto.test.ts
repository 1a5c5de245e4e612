import assert from 'node:assert/strict'
import { describe, test } from 'node:test'
import { MalformedPacketError } from '../lib/errors.ts'
import {
  aesKey, CIPHER_SUITES, decryptPayload, deriveKeys, encryptPayload, integrityAuthCode, rakp2AuthCode, rakp3AuthCode,
  rakp4IntegrityCheck, sessionIntegrityKey, userKey, type RakpParams
} from './crypto.ts'

const h = (s: string): Buffer => Buffer.from(s, 'hex')

/*
 * Worked values computed independently of this code with OpenSSL 3 (bash):
 *   KUID=616e76696c2d7077000000000000000000000000        # "anvil-pw" zero-padded to 20 bytes
 *   RM=000102030405060708090a0b0c0d0e0f RC=f0e1d2c3b4a5968778695a4b3c2d1e0f GUID=a123456789abcdefa123456789abcdef
 *   mac() { echo -n "$2" | xxd -r -p | openssl dgst -"$1" -mac HMAC -macopt hexkey:"$3" | awk '{print $2}'; }
 *   H=sha1 (suite 3) or H=sha256 (suite 17):
 *   rakp2: mac $H a4a3a2a002020000${RM}${RC}${GUID}140561646d696e $KUID   # SIDm SIDc Rm Rc GUIDc ROLEm ULENGTHm UNAMEm
 *   rakp3: mac $H ${RC}a4a3a2a0140561646d696e $KUID                       # Rc SIDm ROLEm ULENGTHm UNAMEm
 *   sik:   mac $H ${RM}${RC}140561646d696e $KUID                          # Rm Rc ROLEm ULENGTHm UNAMEm
 *   k1:    mac $H 0101010101010101010101010101010101010101 $SIK
 *   k2:    mac $H 0202020202020202020202020202020202020202 $SIK
 *   rakp4: mac $H ${RM}02020000${GUID} $SIK                               # Rm SIDc GUIDc (then truncated)
 *   authcode: mac $H 06c002020000010000002000 $K1                         # (then truncated)
 *   enc:   echo -n 2018c88104017a010203040506070808 | xxd -r -p \
 *            | openssl enc -aes-128-cbc -K ${K2:0:32} -iv 00112233445566778899aabbccddeeff -nopad | xxd -p
 */
const params: RakpParams = {
  consoleSessionId: 0xa0a2a3a4,
  bmcSessionId: 0x00000202,
  consoleRandom: h('000102030405060708090a0b0c0d0e0f'),
  bmcRandom: h('f0e1d2c3b4a5968778695a4b3c2d1e0f'),
  bmcGuid: h('a123456789abcdefa123456789abcdef'),
  role: 0x14,
  username: Buffer.from('admin')
}
const kuid = userKey(Buffer.from('anvil-pw'))
const iv = h('00112233445566778899aabbccddeeff')
const getDeviceId = h('2018c88104017a')
const signed = h('06c002020000010000002000')

const VECTORS = {
  3: {
    rakp2: '9599b8af65a6d920bc52fce4c9d71a63127fbe02',
    rakp3: '16fcf913616b92468dfd52b3ad015e46726cc604',
    sik: '0038595c4a81cb7a9ebb12b75aa0b1915bab37e2',
    k1: '3fc96a09b9050765478aa817c9a32300aa4981ef',
    k2: 'cc3228f60d49a582e627425e3f2f55b27762a537',
    rakp4: 'bb12bc3bcd65496e161005446a7404ec9afebac1',
    authCode: 'a4b7b03369ecaaaae9a721a7d2888a12bd913388',
    encrypted: 'f905b96bd9f53265f003488ac049465a'
  },
  17: {
    rakp2: '816427c389dda5f4b0dad3cf74aca9d64385d5c7fa4d45cc4fac2828902b4e89',
    rakp3: 'fd8c5bf4815829ba8143bdd608a536e43a8936913868a0b22ffaaa710a16c1c2',
    sik: '7790321fac08940f3e736024536572166cd862eae433c814200f23f53f4722b2',
    k1: '85d77449e0af725141658216da427a4311fc020b51a23c9482045f734e53bd54',
    k2: 'd179382e4fc85abb903cd9e6f3aa58d8b0922eb15b6bc6a853bf78e9ac25db64',
    rakp4: 'caf8f179332cf76e0a08b34d7eb73efe56c44d8b36e6d7752cd7d9690dde2e10',
    authCode: 'ef8382ea894b24f39af618baca084155e3b2e637b31dad493283cd0031512a50',
    encrypted: '568b40a6d3973a39f3c8eeb7afc558df'
  }
} as const

for (const id of [3, 17] as const) {
  const suite = CIPHER_SUITES[id]
  const v = VECTORS[id]
  describe(`cipher suite ${id} against OpenSSL`, () => {
    test('RAKP 2 and RAKP 3 key-exchange AuthCodes (§13.31)', () => {
      assert.equal(rakp2AuthCode(suite, kuid, params).toString('hex'), v.rakp2)
      assert.equal(rakp3AuthCode(suite, kuid, params).toString('hex'), v.rakp3)
    })
    test('SIK, K1, K2 (§13.31, §13.32)', () => {
      const sik = sessionIntegrityKey(suite, kuid, params)
      assert.equal(sik.toString('hex'), v.sik)
      const keys = deriveKeys(suite, sik)
      assert.equal(keys.k1.toString('hex'), v.k1)
      assert.equal(keys.k2.toString('hex'), v.k2)
    })
    test(`RAKP 4 integrity check value truncated to ${suite.rakp4Length} bytes`, () => {
      const icv = rakp4IntegrityCheck(suite, h(v.sik), params)
      assert.equal(icv.toString('hex'), v.rakp4.slice(0, suite.rakp4Length * 2))
    })
    test(`message AuthCode truncated to ${suite.authCodeLength} bytes (§13.28.4)`, () => {
      assert.equal(integrityAuthCode(suite, h(v.k1), signed).toString('hex'), v.authCode.slice(0, suite.authCodeLength * 2))
    })
    test('AES-CBC-128 with K2 and the 01h,02h,… trailer (§13.29)', () => {
      const key = aesKey(h(v.k2))
      const out = encryptPayload(key, iv, getDeviceId)
      assert.equal(out.toString('hex'), iv.toString('hex') + v.encrypted)
      assert.deepEqual(decryptPayload(key, out), getDeviceId)
    })
  })
}

describe('AES-CBC-128 confidentiality trailer', () => {
  const key = aesKey(h(VECTORS[3].k2))
  test('every payload length round-trips, padded to whole blocks', () => {
    for (let n = 0; n < 48; n++) {
      const payload = Buffer.alloc(n, n)
      const out = encryptPayload(key, iv, payload)
      assert.equal((out.length - 16) % 16, 0)
      assert.deepEqual(decryptPayload(key, out), payload)
    }
  })
  test('a ciphertext that is not IV plus whole blocks is malformed', () => {
    assert.throws(() => decryptPayload(key, Buffer.alloc(16)), MalformedPacketError)
    assert.throws(() => decryptPayload(key, Buffer.alloc(33)), MalformedPacketError)
  })
  test('a wrong key decrypts to a bad pad, which is malformed', () => {
    const out = encryptPayload(key, iv, getDeviceId)
    assert.throws(() => decryptPayload(aesKey(h(VECTORS[17].k2)), out), MalformedPacketError)
  })
  test('passwords over 20 bytes are refused', () => {
    assert.throws(() => userKey(Buffer.alloc(21, 0x61)), RangeError)
    assert.equal(userKey(Buffer.alloc(20, 0x61)).length, 20)
  })
})
