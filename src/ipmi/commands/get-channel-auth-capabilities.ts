import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'

/** IPMI v2.0 §22.13: Get Channel Authentication Capabilities (NetFn App, command 38h). */
export const GET_CHANNEL_AUTH_CAPABILITIES = 0x38

/** IPMI v2.0 §6.8: "this channel", the one the request arrived on. */
export const THIS_CHANNEL = 0x0e

/** IPMI v2.0 §6.8 Table 6-7: session privilege levels. */
export const Privilege = { callback: 1, user: 2, operator: 3, administrator: 4 } as const
export type Privilege = typeof Privilege[keyof typeof Privilege]

/** The decoded response data (after the completion code). */
export type ChannelAuthCapabilities = {
  readonly channel: number
  /** Byte 2 bit 7: the BMC has IPMI v2.0 extended capabilities (bytes 4.. are meaningful). */
  readonly extendedCapabilities: boolean
  /** Byte 2 bits 5:0: the v1.5 authentication types (bit 0 none, 1 MD2, 2 MD5, 4 straight, 5 OEM). */
  readonly authTypes: number
  /** Byte 3 bit 5: a non-zero BMC key (KG) is set, so the SIK needs it. */
  readonly kgSet: boolean
  readonly perMessageAuthDisabled: boolean
  readonly userLevelAuthDisabled: boolean
  readonly nonNullUsernames: boolean
  readonly nullUsernames: boolean
  readonly anonymousLogin: boolean
  /** Byte 4 bit 1: the channel accepts IPMI v2.0 (RMCP+) sessions. */
  readonly ipmiV20: boolean
  /** Byte 4 bit 0: the channel accepts IPMI v1.5 sessions. */
  readonly ipmiV15: boolean
  readonly oemId: number
  readonly oemAux: number
}

/*
 * IPMI v2.0 §22.13 request: 1 channel (bit 7: get IPMI v2.0 extended data; bits 3:0 channel)
 *   | 2 requested maximum privilege level
 * response data: 1 channel | 2 auth type support (bit 7 v2.0 extended) | 3 login status bits
 *   | 4 extended capabilities (bit 1 v2.0, bit 0 v1.5) | 5..7 OEM ID (LS byte first) | 8 OEM auxiliary data
 */

/** Ask for the channel's authentication capabilities, with the v2.0 extended bit set. */
export function encodeGetChannelAuthCapabilities (privilege: Privilege, channel = THIS_CHANNEL): IpmiRequest {
  return { netFn: NetFn.app, cmd: GET_CHANNEL_AUTH_CAPABILITIES, data: Buffer.of(0x80 | (channel & 0x0f), privilege) }
}

/** Decode the response data; short data throws MalformedPacketError. */
export function decodeGetChannelAuthCapabilities (data: Buffer): ChannelAuthCapabilities {
  const r = new BufferReader(data)
  const channel = r.u8('channel') & 0x0f
  const support = r.u8('auth type support')
  const status = r.u8('login status')
  const ext = r.u8('extended capabilities')
  const oemId = r.u8('OEM ID') | (r.u8('OEM ID') << 8) | (r.u8('OEM ID') << 16)
  const oemAux = r.u8('OEM auxiliary data')
  return {
    channel,
    extendedCapabilities: (support & 0x80) !== 0,
    authTypes: support & 0x3f,
    kgSet: (status & 0x20) !== 0,
    perMessageAuthDisabled: (status & 0x10) !== 0,
    userLevelAuthDisabled: (status & 0x08) !== 0,
    nonNullUsernames: (status & 0x04) !== 0,
    nullUsernames: (status & 0x02) !== 0,
    anonymousLogin: (status & 0x01) !== 0,
    ipmiV20: (support & 0x80) !== 0 && (ext & 0x02) !== 0,
    ipmiV15: (ext & 0x01) !== 0,
    oemId,
    oemAux
  }
}
