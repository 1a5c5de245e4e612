import { BufferReader } from '../../lib/buffer-reader.ts'
import { bytesToIpv4 } from '../../lib/ipv4.ts'
import { formatMac } from '../../lib/mac.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/** IPMI v2.0 §23.2 Get LAN Configuration Parameters (Transport 0x02). */
export const GetLanConfig: IpmiCommand = {
  name: 'Get LAN Configuration Parameters',
  netFn: NetFn.transport,
  cmd: 0x02,
  completionCodes: { 0x80: 'parameter not supported' }
}

/** §23.2 Table 23-4: the LAN parameters Anvil reads. */
export const LanParameter = { ipAddress: 3, ipAddressSource: 4, macAddress: 5, subnetMask: 6, defaultGateway: 12 } as const
export type LanParameter = typeof LanParameter[keyof typeof LanParameter]

/**
 * IPMI v2.0 §6.3 Table 6-1: channel 0Eh is "the channel this request arrived on", i.e. the LAN
 * channel Anvil's session uses, whatever number the BMC gives it (1 on most, 2 or 8 on some).
 */
export const CURRENT_CHANNEL = 0x0e

/** §23.2 Table 23-4 parameter 4, b3:0. */
export const IpAddressSource = ['unspecified', 'static', 'dhcp', 'bios', 'other'] as const
export type IpAddressSource = typeof IpAddressSource[number] | 'reserved'

/** A Get LAN Configuration Parameters response: the parameter revision and the data. */
export type LanConfigResponse = { readonly revision: number, readonly data: Buffer }

/*
 * IPMI v2.0 §23.2 Table 23-3, request data:
 *
 *   0  b7 get parameter revision only · b6:4 reserved · b3:0 channel number
 *   1  parameter selector
 *   2  set selector (0 when the parameter has no sets)
 *   3  block selector (0 when the parameter has no blocks)
 */
/** A Get LAN Configuration Parameters request (`ipmitool lan print 1` sends 01 PP 00 00). */
export function encodeGetLanConfig (channel: number, parameter: number, setSelector = 0, blockSelector = 0): IpmiRequest {
  return commandRequest(GetLanConfig, Buffer.of(channel & 0x0f, parameter & 0xff, setSelector & 0xff, blockSelector & 0xff))
}

/*
 * Response data after the completion code:
 *
 *   0      parameter revision: b7:4 present revision · b3:0 oldest compatible revision (0x11)
 *   1..N   parameter data (absent when only the revision was asked for)
 */
/** Decodes the revision and data of any parameter; MalformedPacketError when empty. */
export function decodeGetLanConfig (data: Buffer): LanConfigResponse {
  const r = new BufferReader(data)
  const revision = r.u8('parameter revision')
  return { revision, data: Buffer.from(r.rest()) }
}

/** Parameter 3, IP address: 4 bytes, most significant first (`10.77.0.21`). */
export function decodeLanIpAddress (data: Buffer): string {
  const r = new BufferReader(data)
  r.u8('parameter revision')
  return bytesToIpv4(r.bytes(4, 'IP address'))
}

/** Parameter 4, IP address source: b3:0 of one byte. */
export function decodeLanIpAddressSource (data: Buffer): IpAddressSource {
  const r = new BufferReader(data)
  r.u8('parameter revision')
  return IpAddressSource[r.u8('IP address source') & 0x0f] ?? 'reserved'
}

/** Parameter 5, MAC address: 6 bytes in wire order (`52:54:00:aa:bb:21`). */
export function decodeLanMacAddress (data: Buffer): string {
  const r = new BufferReader(data)
  r.u8('parameter revision')
  return formatMac(r.bytes(6, 'MAC address'))
}
