import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/**
 * IPMI v2.0 §20.8 Get Device GUID (App 0x08): the management controller's own GUID. Optional in
 * the spec; Debian's ipmi_sim answers it with 0xC1 "invalid command" (it implements Get System
 * GUID, get-system-guid.ts, which is what `ipmitool mc guid` sends).
 */
export const GetDeviceGuid: IpmiCommand = { name: 'Get Device GUID', netFn: NetFn.app, cmd: 0x08, completionCodes: {} }

/** A GUID as a BMC sends it, in the spec's byte order and in the SMBIOS one, plus the wire bytes. */
export type Guid = {
  /**
   * The canonical 8-4-4-4-12 text, reading the 16 bytes least-significant byte first (the whole
   * RFC 4122 value byte-reversed): the IPMI spec's order, and what ipmitool prints as
   * "GUID Encoding: IPMI".
   */
  readonly guid: string
  /**
   * The same bytes read as SMBIOS (DMTF DSP0134 §7.2.1: time_low, time_mid, time_hi little-endian,
   * the last 8 bytes in order). Many BMCs fill Get System GUID this way so that it equals the
   * host's DMI/PXE UUID; Anvil can match a machine on either form.
   */
  readonly smbios: string
  /** The 16 bytes as received, hex. */
  readonly hex: string
}

/** The Get Device GUID request. */
export function encodeGetDeviceGuid (): IpmiRequest {
  return commandRequest(GetDeviceGuid)
}

/*
 * IPMI v2.0 §20.8 Table 20-11 (and §22.14 for Get System GUID), response data after the
 * completion code:
 *
 *   0..15  GUID, least-significant byte first
 *
 * Byte order, and why `guid` reverses all 16 bytes: the spec sends the GUID LS byte first, i.e.
 * the RFC 4122 big-endian value reversed end to end (EDK2's IPMI headers state the same, and
 * ipmitool 1.8.19 prints ipmi_sim's answer that way). SMBIOS order is offered beside it because
 * real BMCs disagree; the raw hex keeps the choice reversible.
 */
/** Decodes a Get Device GUID response; MalformedPacketError when shorter than 16 bytes. */
export function decodeGetDeviceGuid (data: Buffer): Guid {
  return decodeGuid(new BufferReader(data).bytes(16, 'GUID'))
}

/** Both readings of 16 GUID bytes (shared by Get Device GUID and Get System GUID). */
export function decodeGuid (bytes: Buffer): Guid {
  const reversed = Buffer.from(bytes).reverse()
  const smbios = Buffer.concat([
    Buffer.from(bytes.subarray(0, 4)).reverse(),
    Buffer.from(bytes.subarray(4, 6)).reverse(),
    Buffer.from(bytes.subarray(6, 8)).reverse(),
    bytes.subarray(8, 16)
  ])
  return { guid: uuidText(reversed), smbios: uuidText(smbios), hex: bytes.toString('hex') }
}

function uuidText (b: Buffer): string {
  const h = b.toString('hex')
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20, 32)}`
}
