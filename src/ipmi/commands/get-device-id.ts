import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/** IPMI v2.0 §20.1 Get Device ID (App 0x01): no request data, no command-specific completion codes. */
export const GetDeviceId: IpmiCommand = { name: 'Get Device ID', netFn: NetFn.app, cmd: 0x01, completionCodes: {} }

/** §20.1 Table 20-2 byte 6: the additional logical devices the controller implements. */
export type DeviceSupport = {
  readonly chassis: boolean
  readonly bridge: boolean
  readonly ipmbEventGenerator: boolean
  readonly ipmbEventReceiver: boolean
  readonly fruInventory: boolean
  readonly sel: boolean
  readonly sdrRepository: boolean
  readonly sensor: boolean
}

/** A decoded Get Device ID response. */
export type DeviceId = {
  readonly deviceId: number
  readonly deviceRevision: number
  readonly providesDeviceSdrs: boolean
  /** False while the controller updates its firmware or SDRs or initializes itself (byte 3 bit 7). */
  readonly available: boolean
  readonly firmwareMajor: number
  /** The minor revision byte as sent: BCD per the spec, so 0x08 reads as "08". */
  readonly firmwareMinor: number
  /** `major.minor` as ipmitool prints it (`9.08`). */
  readonly firmware: string
  /** `2.0` or `1.5`. */
  readonly ipmiVersion: string
  readonly support: DeviceSupport
  /** IANA Private Enterprise Number of the manufacturer (20 bits). */
  readonly manufacturerId: number
  readonly productId: number
  /** The optional 4-byte auxiliary firmware revision, vendor-defined; absent when not sent. */
  readonly auxFirmware?: Buffer
}

/** The Get Device ID request. */
export function encodeGetDeviceId (): IpmiRequest {
  return commandRequest(GetDeviceId)
}

/*
 * IPMI v2.0 §20.1 Table 20-2, response data after the completion code:
 *
 *   0      device ID
 *   1      b7 provides device SDRs · b3:0 device revision
 *   2      b7 device unavailable (update / self-initialization in progress) · b6:0 firmware major
 *   3      firmware minor, BCD
 *   4      IPMI version, BCD with the digits swapped: b3:0 major, b7:4 minor (0x02 = 2.0, 0x51 = 1.5)
 *   5      additional device support: b7 chassis · b6 bridge · b5 IPMB event generator
 *          b4 IPMB event receiver · b3 FRU inventory · b2 SEL · b1 SDR repository · b0 sensor
 *   6..8   manufacturer ID, LS byte first (20 bits; b7:4 of byte 8 reserved)
 *   9..10  product ID, LS byte first
 *   11..14 auxiliary firmware revision (optional: all four bytes or none)
 */
/** Decodes a Get Device ID response; MalformedPacketError when short or with a partial aux revision. */
export function decodeGetDeviceId (data: Buffer): DeviceId {
  const r = new BufferReader(data)
  const deviceId = r.u8('device ID')
  const rev = r.u8('device revision')
  const fwMajor = r.u8('firmware major revision')
  const fwMinor = r.u8('firmware minor revision')
  const version = r.u8('IPMI version')
  const support = r.u8('additional device support')
  const manufacturerId = (r.u16le('manufacturer ID') | (r.u8('manufacturer ID') << 16)) & 0x0fffff
  const productId = r.u16le('product ID')
  const base = {
    deviceId,
    deviceRevision: rev & 0x0f,
    providesDeviceSdrs: (rev & 0x80) !== 0,
    available: (fwMajor & 0x80) === 0,
    firmwareMajor: fwMajor & 0x7f,
    firmwareMinor: fwMinor,
    firmware: `${fwMajor & 0x7f}.${fwMinor.toString(16).padStart(2, '0')}`,
    ipmiVersion: `${version & 0x0f}.${version >> 4}`,
    support: decodeSupport(support),
    manufacturerId,
    productId
  }
  if (r.remaining === 0) return base
  return { ...base, auxFirmware: Buffer.from(r.bytes(4, 'auxiliary firmware revision')) }
}

function decodeSupport (b: number): DeviceSupport {
  return {
    chassis: (b & 0x80) !== 0,
    bridge: (b & 0x40) !== 0,
    ipmbEventGenerator: (b & 0x20) !== 0,
    ipmbEventReceiver: (b & 0x10) !== 0,
    fruInventory: (b & 0x08) !== 0,
    sel: (b & 0x04) !== 0,
    sdrRepository: (b & 0x02) !== 0,
    sensor: (b & 0x01) !== 0
  }
}
