import { MalformedPacketError } from '../lib/errors.ts'
import {
  chooseSuite, decodeCipherSuiteRecords, decodeGetChannelCipherSuites, encodeGetChannelCipherSuites, CIPHER_SUITE_CHUNK,
  MAX_CIPHER_SUITE_INDEX
} from './commands/get-channel-cipher-suites.ts'
import { decodeGetChannelAuthCapabilities, encodeGetChannelAuthCapabilities } from './commands/get-channel-auth-capabilities.ts'
import {
  aesKey, CIPHER_SUITES, deriveKeys, encryptPayload, decryptPayload, integrityAuthCode, macEquals, rakp2AuthCode,
  rakp3AuthCode, rakp4IntegrityCheck, sessionIntegrityKey, type CipherSuite, type CipherSuiteId, type RakpParams
} from './crypto.ts'
import { BmcError, BmcErrorCode } from '../power/errors.ts'
import { BMC_SLAVE_ADDRESS, decodeLanResponse, encodeLanRequest, REMOTE_CONSOLE_SWID, type LanResponse } from './lan-message.ts'
import {
  decodeOpenSessionResponse, decodeRakp2, decodeRakp4, encodeOpenSessionRequest, encodeRakp1, encodeRakp3, rakpStatusName
} from './rakp.ts'
import { decodeSessionPacket, encodeV15Packet, encodeV20Packet, PayloadType } from './rmcp-plus.ts'
import { NetFn, type IpmiRequest } from './types.ts'

/** What the handshake needs; randomness comes in from the caller so the machine stays pure. */
export type HandshakeConfig = {
  readonly username: Buffer
  /** Kuid (crypto.userKey(password)); never logged. */
  readonly kuid: Buffer
  readonly privilege: 3 | 4
  readonly cipherSuite: CipherSuiteId | 'auto'
  /** Our (remote console) session ID: any non-zero value (§13.17). */
  readonly consoleSessionId: number
  /** Rm, 16 random bytes for RAKP 1 (§13.20). */
  readonly consoleRandom: Buffer
}

/** A session after RAKP 4: what sealing and opening messages needs. */
export type EstablishedSession = {
  readonly suite: CipherSuite
  readonly consoleSessionId: number
  readonly bmcSessionId: number
  readonly k1: Buffer
  readonly aesKey: Buffer
  /** The next free rqSeq (the handshake used the first ones). */
  readonly nextRqSeq: number
}

type Phase =
  | { readonly name: 'authCapabilities' }
  | { readonly name: 'cipherSuites', readonly index: number, readonly records: Buffer }
  | { readonly name: 'openSession', readonly suite: CipherSuite, readonly fallback: readonly CipherSuiteId[], readonly tag: number }
  | { readonly name: 'rakp2', readonly suite: CipherSuite, readonly tag: number, readonly bmcSessionId: number }
  | { readonly name: 'rakp4', readonly suite: CipherSuite, readonly tag: number, readonly params: RakpParams, readonly sik: Buffer }

/** The handshake state between steps. */
export type HandshakeState = { readonly config: HandshakeConfig, readonly phase: Phase, readonly rqSeq: number }

/** What the I/O layer does next. `tries: 'once'` means a missing answer is not an error (the cipher suite probe). */
export type HandshakeOutput =
  | { readonly kind: 'send', readonly state: HandshakeState, readonly bytes: Buffer, readonly tries: 'once' | 'retry' }
  | { readonly kind: 'ignore', readonly reason: string }
  | { readonly kind: 'established', readonly session: EstablishedSession }
  | { readonly kind: 'failed', readonly error: BmcError }

/** Events the I/O layer feeds in: a datagram, or every try of the last send went unanswered. */
export type HandshakeEvent = { readonly type: 'datagram', readonly bytes: Buffer } | { readonly type: 'noAnswer' }

/** §13.24: Open Session statuses that mean "not these algorithms". */
const NO_MATCH = new Set([0x03, 0x04, 0x05, 0x06, 0x07, 0x10, 0x11])
/** §13.24: RAKP statuses that mean the user, role or secret was refused. */
const REFUSED = new Set([0x02, 0x09, 0x0a, 0x0c, 0x0d, 0x0e, 0x0f])

function preSessionRequest (req: IpmiRequest, rqSeq: number): Buffer {
  return encodeLanRequest({ rsAddr: BMC_SLAVE_ADDRESS, netFn: req.netFn, rsLun: 0, rqAddr: REMOTE_CONSOLE_SWID, rqSeq, rqLun: 0, cmd: req.cmd, data: req.data })
}

function fail (code: BmcErrorCode, message: string, details?: Record<string, unknown>): HandshakeOutput {
  return { kind: 'failed', error: new BmcError(code, message, details) }
}

function ignore (reason: string): HandshakeOutput {
  return { kind: 'ignore', reason }
}

/** Start: Get Channel Authentication Capabilities in a v1.5 wrapper, as ipmitool does (§13.14, §22.13). */
export function startHandshake (config: HandshakeConfig): HandshakeOutput {
  const state: HandshakeState = { config, phase: { name: 'authCapabilities' }, rqSeq: 0 }
  const bytes = encodeV15Packet(preSessionRequest(encodeGetChannelAuthCapabilities(config.privilege), 0))
  return { kind: 'send', state: { ...state, rqSeq: 1 }, bytes, tries: 'retry' }
}

function askCipherSuites (state: HandshakeState, index: number, records: Buffer): HandshakeOutput {
  // §22.15: allowed before a session; sent as an unauthenticated RMCP+ IPMI payload with session ID 0.
  const lan = preSessionRequest(encodeGetChannelCipherSuites(index), state.rqSeq)
  const bytes = encodeV20Packet({ payloadType: PayloadType.ipmi, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload: lan })
  return { kind: 'send', state: { ...state, phase: { name: 'cipherSuites', index, records }, rqSeq: (state.rqSeq + 1) & 0x3f }, bytes, tries: 'once' }
}

function openSession (state: HandshakeState, suite: CipherSuite, fallback: readonly CipherSuiteId[], tag: number): HandshakeOutput {
  const payload = encodeOpenSessionRequest({
    tag,
    maxPrivilege: 0, // §13.17: "highest level matching proposed algorithms", as ipmitool asks
    consoleSessionId: state.config.consoleSessionId,
    authentication: suite.authentication,
    integrity: suite.integrity,
    confidentiality: suite.confidentiality
  })
  const bytes = encodeV20Packet({ payloadType: PayloadType.openSessionRequest, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload })
  return { kind: 'send', state: { ...state, phase: { name: 'openSession', suite, fallback, tag } }, bytes, tries: 'retry' }
}

function decodePreSessionResponse (bytes: Buffer, rqSeq: number, cmd: number): LanResponse | string {
  const packet = decodeSessionPacket(bytes, 0)
  const message = packet.format === 'v1.5' ? packet.message : packet.payloadType === PayloadType.ipmi && !packet.encrypted ? packet.payload : undefined
  if (message === undefined) return 'not a clear IPMI message'
  const rsp = decodeLanResponse(message)
  // §13.8: our answer comes from the BMC to our software ID, with the App response NetFn (07h).
  if (rsp.cmd !== cmd || rsp.rqSeq !== rqSeq || rsp.netFn !== NetFn.app + 1 || rsp.rqAddr !== REMOTE_CONSOLE_SWID) return 'response to another request'
  return rsp
}

function onAuthCapabilities (state: HandshakeState, bytes: Buffer): HandshakeOutput {
  const rsp = decodePreSessionResponse(bytes, 0, 0x38)
  if (typeof rsp === 'string') return ignore(rsp)
  if (rsp.completionCode !== 0) {
    return fail(BmcErrorCode.protocol, `Get Channel Authentication Capabilities failed with completion code 0x${rsp.completionCode.toString(16)}`)
  }
  const caps = decodeGetChannelAuthCapabilities(rsp.data)
  if (!caps.ipmiV20) return fail(BmcErrorCode.cipherUnsupported, 'the BMC does not offer IPMI v2.0 (RMCP+) sessions')
  const { cipherSuite } = state.config
  if (cipherSuite === 'auto') return askCipherSuites(state, 0, Buffer.alloc(0))
  return openSession(state, CIPHER_SUITES[cipherSuite], [], 0)
}

function onCipherSuites (state: HandshakeState, phase: Phase & { name: 'cipherSuites' }, bytes: Buffer): HandshakeOutput {
  const rsp = decodePreSessionResponse(bytes, (state.rqSeq - 1) & 0x3f, 0x54)
  if (typeof rsp === 'string') return ignore(rsp)
  // A BMC that refuses the list is probed by proposals instead.
  if (rsp.completionCode !== 0) return openSession(state, CIPHER_SUITES[17], [3], 0)
  const chunk = decodeGetChannelCipherSuites(rsp.data)
  const records = Buffer.concat([phase.records, chunk.records])
  if (chunk.records.length === CIPHER_SUITE_CHUNK && phase.index < MAX_CIPHER_SUITE_INDEX) {
    return askCipherSuites(state, phase.index + 1, records)
  }
  const offered = decodeCipherSuiteRecords(records)
  const id = chooseSuite(offered)
  if (id === undefined) {
    return fail(BmcErrorCode.cipherUnsupported, 'the BMC offers neither cipher suite 17 nor 3', { offered: offered.map(r => r.id) })
  }
  return openSession(state, CIPHER_SUITES[id], [], 0)
}

function onOpenSession (state: HandshakeState, phase: Phase & { name: 'openSession' }, bytes: Buffer): HandshakeOutput {
  const packet = decodeSessionPacket(bytes, 0)
  if (packet.format !== 'v2.0' || packet.payloadType !== PayloadType.openSessionResponse) return ignore('not an Open Session Response')
  const rsp = decodeOpenSessionResponse(packet.payload)
  if (rsp.tag !== phase.tag) return ignore('Open Session Response to another request')
  if (rsp.consoleSessionId !== undefined && rsp.consoleSessionId !== state.config.consoleSessionId) return ignore('Open Session Response for another console session')
  const suiteId = phase.suite.id
  if (rsp.status !== 0) {
    const next = phase.fallback[0]
    if (NO_MATCH.has(rsp.status) && next !== undefined) return openSession(state, CIPHER_SUITES[next], phase.fallback.slice(1), phase.tag + 1)
    const code = NO_MATCH.has(rsp.status) ? BmcErrorCode.cipherUnsupported : REFUSED.has(rsp.status) ? BmcErrorCode.auth : BmcErrorCode.protocol
    return fail(code, `Open Session for cipher suite ${suiteId} refused: ${rakpStatusName(rsp.status)}`, { status: rsp.status, cipherSuite: suiteId })
  }
  const a = rsp.algorithms
  if (a === undefined || rsp.bmcSessionId === undefined || rsp.bmcSessionId === 0) return fail(BmcErrorCode.protocol, 'Open Session Response without a session')
  if (a.authentication !== phase.suite.authentication || a.integrity !== phase.suite.integrity || a.confidentiality !== phase.suite.confidentiality) {
    return fail(BmcErrorCode.cipherUnsupported, `the BMC chose other algorithms than cipher suite ${suiteId}`)
  }
  const { config } = state
  const role = config.privilege | 0x10 // §13.20: name-only lookup, what ipmitool sends (14h for administrator)
  const rakp1 = encodeRakp1({ tag: phase.tag, bmcSessionId: rsp.bmcSessionId, consoleRandom: config.consoleRandom, role, username: config.username })
  const out = encodeV20Packet({ payloadType: PayloadType.rakp1, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload: rakp1 })
  return { kind: 'send', state: { ...state, phase: { name: 'rakp2', suite: phase.suite, tag: phase.tag, bmcSessionId: rsp.bmcSessionId } }, bytes: out, tries: 'retry' }
}

function refusal (what: string, status: number): HandshakeOutput {
  const code = REFUSED.has(status) ? BmcErrorCode.auth : BmcErrorCode.protocol
  return fail(code, `${what}: ${rakpStatusName(status)}`, { status })
}

function onRakp2 (state: HandshakeState, phase: Phase & { name: 'rakp2' }, bytes: Buffer): HandshakeOutput {
  const packet = decodeSessionPacket(bytes, 0)
  if (packet.format !== 'v2.0' || packet.payloadType !== PayloadType.rakp2) return ignore('not a RAKP 2')
  const rsp = decodeRakp2(packet.payload, phase.suite.keyExchangeLength)
  if (rsp.tag !== phase.tag) return ignore('RAKP 2 for another request')
  if (rsp.status !== 0) return refusal('RAKP 2', rsp.status)
  if (rsp.consoleSessionId !== state.config.consoleSessionId) return ignore('RAKP 2 for another console session')
  const { config } = state
  const params: RakpParams = {
    consoleSessionId: config.consoleSessionId,
    bmcSessionId: phase.bmcSessionId,
    consoleRandom: config.consoleRandom,
    bmcRandom: rsp.bmcRandom as Buffer,
    bmcGuid: rsp.bmcGuid as Buffer,
    role: config.privilege | 0x10,
    username: config.username
  }
  if (!macEquals(rsp.authCode, rakp2AuthCode(phase.suite, config.kuid, params))) {
    return fail(BmcErrorCode.auth, 'the BMC\'s RAKP 2 key-exchange code does not verify: wrong user name or password')
  }
  const sik = sessionIntegrityKey(phase.suite, config.kuid, params)
  const rakp3 = encodeRakp3({ tag: phase.tag, status: 0, bmcSessionId: phase.bmcSessionId, authCode: rakp3AuthCode(phase.suite, config.kuid, params) })
  const out = encodeV20Packet({ payloadType: PayloadType.rakp3, encrypted: false, authenticated: false, sessionId: 0, sessionSeq: 0, payload: rakp3 })
  return { kind: 'send', state: { ...state, phase: { name: 'rakp4', suite: phase.suite, tag: phase.tag, params, sik } }, bytes: out, tries: 'retry' }
}

function onRakp4 (state: HandshakeState, phase: Phase & { name: 'rakp4' }, bytes: Buffer): HandshakeOutput {
  const packet = decodeSessionPacket(bytes, 0)
  if (packet.format !== 'v2.0' || packet.payloadType !== PayloadType.rakp4) return ignore('not a RAKP 4')
  const rsp = decodeRakp4(packet.payload, phase.suite.rakp4Length)
  if (rsp.tag !== phase.tag) return ignore('RAKP 4 for another request')
  if (rsp.status !== 0) return refusal('RAKP 4', rsp.status)
  if (rsp.consoleSessionId !== state.config.consoleSessionId) return ignore('RAKP 4 for another console session')
  if (!macEquals(rsp.integrityCheck, rakp4IntegrityCheck(phase.suite, phase.sik, phase.params))) {
    return fail(BmcErrorCode.auth, 'the BMC\'s RAKP 4 integrity check does not verify (wrong password or BMC key)')
  }
  const keys = deriveKeys(phase.suite, phase.sik)
  return {
    kind: 'established',
    session: { suite: phase.suite, consoleSessionId: state.config.consoleSessionId, bmcSessionId: phase.params.bmcSessionId, k1: keys.k1, aesKey: Buffer.from(aesKey(keys.k2)), nextRqSeq: state.rqSeq }
  }
}

/** Advance the handshake by one event. Garbage is ignored (the caller counts it), never thrown. */
export function stepHandshake (state: HandshakeState, event: HandshakeEvent): HandshakeOutput {
  const { phase } = state
  if (event.type === 'noAnswer') {
    // §22.15 is optional before a session (ipmi_sim ignores it): probe by proposing 17, then 3.
    if (phase.name === 'cipherSuites') return openSession(state, CIPHER_SUITES[17], [3], 0)
    return fail(BmcErrorCode.unreachable, `no valid answer from the BMC (waiting for ${phase.name})`, { phase: phase.name })
  }
  try {
    switch (phase.name) {
      case 'authCapabilities': return onAuthCapabilities(state, event.bytes)
      case 'cipherSuites': return onCipherSuites(state, phase, event.bytes)
      case 'openSession': return onOpenSession(state, phase, event.bytes)
      case 'rakp2': return onRakp2(state, phase, event.bytes)
      case 'rakp4': return onRakp4(state, phase, event.bytes)
    }
  } catch (err) {
    if (err instanceof MalformedPacketError) return ignore(err.message)
    throw err
  }
}

/** An authenticated datagram whose AuthCode does not verify (IPMI v2.0 §13.28.4): dropped like garbage. */
export class IntegrityCheckError extends MalformedPacketError {
  constructor (offset: number) {
    super('AuthCode does not verify', offset)
    this.name = 'IntegrityCheckError'
  }
}

/** Wrap an encoded LAN request for the session: AES-CBC-128 with the given IV, then the AuthCode (§13.28, §13.29). */
export function sealRequest (s: EstablishedSession, sessionSeq: number, message: Buffer, iv: Buffer): Buffer {
  return encodeV20Packet({
    payloadType: PayloadType.ipmi,
    encrypted: true,
    authenticated: true,
    sessionId: s.bmcSessionId,
    sessionSeq,
    payload: encryptPayload(s.aesKey, iv, message),
    authCode: signed => integrityAuthCode(s.suite, s.k1, signed)
  })
}

/** Verify, decrypt and decode one in-session response; anything else throws MalformedPacketError. */
export function openResponse (s: EstablishedSession, bytes: Buffer): { sessionSeq: number, message: LanResponse } {
  const packet = decodeSessionPacket(bytes, s.suite.authCodeLength)
  if (packet.format !== 'v2.0' || packet.payloadType !== PayloadType.ipmi) throw new MalformedPacketError('not an RMCP+ IPMI payload', 4)
  // §13.28: a session negotiated with integrity and confidentiality accepts nothing less.
  if (!packet.authenticated || !packet.encrypted) throw new MalformedPacketError('in-session message not authenticated and encrypted', 5)
  if (packet.sessionId !== s.consoleSessionId) throw new MalformedPacketError('message for another session', 6)
  if (!macEquals(packet.authCode, integrityAuthCode(s.suite, s.k1, packet.signed))) throw new IntegrityCheckError(bytes.length - packet.authCode.length)
  return { sessionSeq: packet.sessionSeq, message: decodeLanResponse(decryptPayload(s.aesKey, packet.payload)) }
}

/** Inbound sequence numbers seen: the highest, and a bitmap of it and the 31 before it. */
export type SequenceWindow = { readonly highest: number, readonly seen: number }

/** A window that has seen nothing. */
export const EMPTY_WINDOW: SequenceWindow = { highest: 0, seen: 0 }

/** §6.12.13: how far behind the highest sequence number a late, unseen message is still accepted. */
export const SEQUENCE_WINDOW_BEHIND = 16

/**
 * §6.12.13: accept an authenticated message's session sequence number once: 0 never (it is the
 * pre-session number), anything ahead (with wrap-around), an unseen one up to 16 behind.
 * Returns the new window, or undefined for a replay or stale number.
 */
export function acceptSequence (w: SequenceWindow, seq: number): SequenceWindow | undefined {
  if (seq === 0) return undefined
  const ahead = (seq - w.highest) >>> 0
  if (ahead !== 0 && ahead < 0x80000000) {
    const seen = ahead >= 32 ? 1 : ((w.seen << ahead) | 1) >>> 0
    return { highest: seq >>> 0, seen }
  }
  const behind = (w.highest - seq) >>> 0
  if (behind >= SEQUENCE_WINDOW_BEHIND) return undefined
  const bit = (1 << behind) >>> 0
  if ((w.seen & bit) !== 0) return undefined
  return { highest: w.highest, seen: (w.seen | bit) >>> 0 }
}

/** Encode an in-session LAN request to the BMC. */
export function encodeSessionRequest (req: IpmiRequest, rqSeq: number): Buffer {
  return preSessionRequest(req, rqSeq)
}
