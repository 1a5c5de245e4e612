import { NetFn, type IpmiRequest } from '../types.ts'

/** IPMI v2.0 §22.19: Close Session (NetFn App, command 3Ch). */
export const CLOSE_SESSION = 0x3c

/** §22.19 command-specific completion codes. */
export const CLOSE_SESSION_CODES: Readonly<Record<number, string>> = {
  0x87: 'invalid session ID in request',
  0x88: 'invalid session handle in request'
}

/*
 * IPMI v2.0 §22.19 request: 1..4 session ID (the BMC's, little-endian) | [5 session handle, only with ID 0]
 * response data: none (completion code only)
 */

/** Close the session with the BMC's (managed system's) session ID. */
export function encodeCloseSession (bmcSessionId: number): IpmiRequest {
  const data = Buffer.alloc(4)
  data.writeUInt32LE(bmcSessionId >>> 0)
  return { netFn: NetFn.app, cmd: CLOSE_SESSION, data }
}
