import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import type { Privilege } from './get-channel-auth-capabilities.ts'

/** IPMI v2.0 §22.18: Set Session Privilege Level (NetFn App, command 3Bh). */
export const SET_SESSION_PRIVILEGE_LEVEL = 0x3b

/** §22.18 command-specific completion codes. */
export const SET_SESSION_PRIVILEGE_CODES: Readonly<Record<number, string>> = {
  0x80: 'requested level not available for this user',
  0x81: 'requested level exceeds channel and/or user privilege limit',
  0x82: 'cannot disable user level authentication'
}

/*
 * IPMI v2.0 §22.18 request: 1 requested privilege level (bits 3:0; 0 = no change, report the present level)
 * response data: 1 new privilege level (bits 3:0)
 */

/** Raise (or lower) the session to `privilege`; 0 only asks for the present level. */
export function encodeSetSessionPrivilegeLevel (privilege: Privilege | 0): IpmiRequest {
  return { netFn: NetFn.app, cmd: SET_SESSION_PRIVILEGE_LEVEL, data: Buffer.of(privilege & 0x0f) }
}

/** Decode the response data: the session's privilege level now. */
export function decodeSetSessionPrivilegeLevel (data: Buffer): number {
  return new BufferReader(data).u8('privilege level') & 0x0f
}
