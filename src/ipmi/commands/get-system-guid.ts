import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'
import { decodeGuid, type Guid } from './get-device-guid.ts'

/**
 * IPMI v2.0 §22.14 Get System GUID (App 0x37): the managed system's GUID (the one RMCP+ also
 * uses, §13.14). ipmitool's `mc guid` sends this, and ipmi_sim answers it from `guid` in lan.conf.
 */
export const GetSystemGuid: IpmiCommand = { name: 'Get System GUID', netFn: NetFn.app, cmd: 0x37, completionCodes: {} }

/** The Get System GUID request. */
export function encodeGetSystemGuid (): IpmiRequest {
  return commandRequest(GetSystemGuid)
}

/*
 * IPMI v2.0 §22.14 Table 22-16, response data after the completion code:
 *
 *   0..15  GUID, least-significant byte first (same format as §20.8; see get-device-guid.ts)
 */
/** Decodes a Get System GUID response; MalformedPacketError when shorter than 16 bytes. */
export function decodeGetSystemGuid (data: Buffer): Guid {
  return decodeGuid(new BufferReader(data).bytes(16, 'GUID'))
}
