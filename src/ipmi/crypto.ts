import { createCipheriv, createDecipheriv, createHmac, timingSafeEqual } from 'node:crypto'
import { MalformedPacketError } from '../lib/errors.ts'

/** IPMI v2.0 §13.28 Table 13-17: authentication (RAKP) algorithms. */
export const AuthAlgorithm = { rakpNone: 0x00, rakpHmacSha1: 0x01, rakpHmacMd5: 0x02, rakpHmacSha256: 0x03 } as const
export type AuthAlgorithm = typeof AuthAlgorithm[keyof typeof AuthAlgorithm]
/** IPMI v2.0 §13.28.4 Table 13-18: integrity algorithms. */
export const IntegrityAlgorithm = { none: 0x00, hmacSha1_96: 0x01, hmacMd5_128: 0x02, md5_128: 0x03, hmacSha256_128: 0x04 } as const
export type IntegrityAlgorithm = typeof IntegrityAlgorithm[keyof typeof IntegrityAlgorithm]
/** IPMI v2.0 §13.28.5 Table 13-19: confidentiality algorithms. */
export const ConfidentialityAlgorithm = { none: 0x00, aesCbc128: 0x01, xrc4_128: 0x02, xrc4_40: 0x03 } as const
export type ConfidentialityAlgorithm = typeof ConfidentialityAlgorithm[keyof typeof ConfidentialityAlgorithm]

/** The cipher suites Anvil speaks. */
export type CipherSuiteId = 3 | 17

/** One cipher suite's algorithms and the lengths they imply. */
export type CipherSuite = {
  readonly id: CipherSuiteId
  readonly authentication: AuthAlgorithm
  readonly integrity: IntegrityAlgorithm
  readonly confidentiality: ConfidentialityAlgorithm
  /** node:crypto's name for the RAKP and key-derivation HMAC hash. */
  readonly hash: 'sha1' | 'sha256'
  /** RAKP 2/3 key-exchange AuthCode length: the full HMAC (20 or 32 bytes). */
  readonly keyExchangeLength: number
  /** RAKP 4 integrity check value length: HMAC-SHA1-96 → 12, HMAC-SHA256-128 → 16 (§13.28.1). */
  readonly rakp4Length: number
  /** Per-message AuthCode length (§13.28.4): 12 for HMAC-SHA1-96, 16 for HMAC-SHA256-128. */
  readonly authCodeLength: number
}

/** IPMI v2.0 §22.15.2 Table 22-20: cipher suites 3 and 17. */
export const CIPHER_SUITES: Readonly<Record<CipherSuiteId, CipherSuite>> = {
  3: {
    id: 3,
    authentication: AuthAlgorithm.rakpHmacSha1,
    integrity: IntegrityAlgorithm.hmacSha1_96,
    confidentiality: ConfidentialityAlgorithm.aesCbc128,
    hash: 'sha1',
    keyExchangeLength: 20,
    rakp4Length: 12,
    authCodeLength: 12
  },
  17: {
    id: 17,
    authentication: AuthAlgorithm.rakpHmacSha256,
    integrity: IntegrityAlgorithm.hmacSha256_128,
    confidentiality: ConfidentialityAlgorithm.aesCbc128,
    hash: 'sha256',
    keyExchangeLength: 32,
    rakp4Length: 16,
    authCodeLength: 16
  }
}

/** The RAKP values every hash below is built from (IPMI v2.0 §13.31). */
export type RakpParams = {
  readonly consoleSessionId: number
  readonly bmcSessionId: number
  readonly consoleRandom: Buffer
  readonly bmcRandom: Buffer
  readonly bmcGuid: Buffer
  /** RAKP 1's role byte exactly as sent (privilege | name-only lookup bit). */
  readonly role: number
  readonly username: Buffer
}

/** Session keys derived after RAKP (IPMI v2.0 §13.31, §13.32). */
export type SessionKeys = {
  readonly sik: Buffer
  readonly k1: Buffer
  readonly k2: Buffer
}

function hmac (hash: string, key: Buffer, ...parts: Buffer[]): Buffer {
  const h = createHmac(hash, key)
  for (const p of parts) h.update(p)
  return h.digest()
}

function u32le (v: number): Buffer {
  const b = Buffer.alloc(4)
  b.writeUInt32LE(v >>> 0)
  return b
}

function roleAndName (p: RakpParams): Buffer {
  return Buffer.concat([Buffer.of(p.role, p.username.length), p.username])
}

/**
 * IPMI v2.0 §13.31: Kuid, the user's password as a 20-byte key (zero-padded, as ipmitool and
 * OpenIPMI do; HMAC zero-pads shorter keys to its block size anyway, so both agree).
 */
export function userKey (password: Buffer): Buffer {
  if (password.length > 20) throw new RangeError('IPMI v2.0 passwords are at most 20 bytes')
  const k = Buffer.alloc(20)
  password.copy(k)
  return k
}

/** §13.31 RAKP 2 key-exchange AuthCode: HMAC_Kuid(SIDm, SIDc, Rm, Rc, GUIDc, ROLEm, ULENGTHm, UNAMEm). */
export function rakp2AuthCode (suite: CipherSuite, kuid: Buffer, p: RakpParams): Buffer {
  return hmac(suite.hash, kuid, u32le(p.consoleSessionId), u32le(p.bmcSessionId), p.consoleRandom, p.bmcRandom,
    p.bmcGuid, roleAndName(p))
}

/** §13.31 RAKP 3 key-exchange AuthCode: HMAC_Kuid(Rc, SIDm, ROLEm, ULENGTHm, UNAMEm). */
export function rakp3AuthCode (suite: CipherSuite, kuid: Buffer, p: RakpParams): Buffer {
  return hmac(suite.hash, kuid, p.bmcRandom, u32le(p.consoleSessionId), roleAndName(p))
}

/** §13.31 SIK: HMAC_KG(Rm, Rc, ROLEm, ULENGTHm, UNAMEm); KG is the BMC key, Kuid when none is set. */
export function sessionIntegrityKey (suite: CipherSuite, kg: Buffer, p: RakpParams): Buffer {
  return hmac(suite.hash, kg, p.consoleRandom, p.bmcRandom, roleAndName(p))
}

/** §13.32: K1 = HMAC_SIK(20 × 01h), K2 = HMAC_SIK(20 × 02h). */
export function deriveKeys (suite: CipherSuite, sik: Buffer): SessionKeys {
  return {
    sik,
    k1: hmac(suite.hash, sik, Buffer.alloc(20, 0x01)),
    k2: hmac(suite.hash, sik, Buffer.alloc(20, 0x02))
  }
}

/** §13.23 RAKP 4 integrity check value: HMAC_SIK(Rm, SIDc, GUIDc), truncated to the suite's length. */
export function rakp4IntegrityCheck (suite: CipherSuite, sik: Buffer, p: RakpParams): Buffer {
  return hmac(suite.hash, sik, p.consoleRandom, u32le(p.bmcSessionId), p.bmcGuid).subarray(0, suite.rakp4Length)
}

/** §13.28.4: a message's AuthCode, HMAC_K1 over AuthType/Format … Next Header, truncated. */
export function integrityAuthCode (suite: CipherSuite, k1: Buffer, signed: Buffer): Buffer {
  return hmac(suite.hash, k1, signed).subarray(0, suite.authCodeLength)
}

/** Constant-time comparison of two MACs (different lengths never match). */
export function macEquals (a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b)
}

/** §13.29: the AES-CBC-128 key is the first 16 bytes of K2. */
export function aesKey (k2: Buffer): Buffer {
  return k2.subarray(0, 16)
}

/**
 * §13.29 AES-CBC-128 confidentiality: IV (16) | E(payload | pad 01h,02h,… | pad length), the
 * padded length a multiple of 16. The IV comes from the caller (random in use, fixed in tests).
 */
export function encryptPayload (key: Buffer, iv: Buffer, payload: Buffer): Buffer {
  if (iv.length !== 16) throw new RangeError('AES-CBC-128 IV must be 16 bytes')
  const padLength = (16 - ((payload.length + 1) % 16)) % 16
  const plain = Buffer.alloc(payload.length + padLength + 1)
  payload.copy(plain)
  for (let i = 0; i < padLength; i++) plain[payload.length + i] = i + 1
  plain[plain.length - 1] = padLength
  const c = createCipheriv('aes-128-cbc', key, iv).setAutoPadding(false)
  return Buffer.concat([iv, c.update(plain), c.final()])
}

/** §13.29: decrypt IV | ciphertext and strip the confidentiality trailer; a bad shape or pad throws MalformedPacketError. */
export function decryptPayload (key: Buffer, data: Buffer): Buffer {
  if (data.length < 32 || data.length % 16 !== 0) {
    throw new MalformedPacketError(`encrypted payload of ${data.length} bytes is not IV plus whole AES blocks`, 0)
  }
  const d = createDecipheriv('aes-128-cbc', key, data.subarray(0, 16)).setAutoPadding(false)
  const plain = Buffer.concat([d.update(data.subarray(16)), d.final()])
  const padLength = plain[plain.length - 1] as number
  if (padLength > 15) throw new MalformedPacketError(`confidentiality pad length ${padLength} is over 15`, data.length - 1)
  const end = plain.length - 1 - padLength
  for (let i = 0; i < padLength; i++) {
    if (plain[end + i] !== i + 1) throw new MalformedPacketError('confidentiality pad is not 01h, 02h, …', 16 + end + i)
  }
  return plain.subarray(0, end)
}
