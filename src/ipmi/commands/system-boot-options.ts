import { BufferReader } from '../../lib/buffer-reader.ts'
import { MalformedPacketError } from '../../lib/errors.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/** IPMI v2.0 §28.12 Set System Boot Options (Chassis 0x08), with its own completion codes. */
export const SetSystemBootOptions: IpmiCommand = {
  name: 'Set System Boot Options',
  netFn: NetFn.chassis,
  cmd: 0x08,
  completionCodes: {
    0x80: 'parameter not supported',
    0x81: "attempt to set 'set in progress' while not in 'set complete' state",
    0x82: 'attempt to write a read-only parameter'
  }
}

/** IPMI v2.0 §28.13 Get System Boot Options (Chassis 0x09), with its own completion code. */
export const GetSystemBootOptions: IpmiCommand = {
  name: 'Get System Boot Options',
  netFn: NetFn.chassis,
  cmd: 0x09,
  completionCodes: { 0x80: 'parameter not supported' }
}

/** §28.13 Table 28-14: the boot option parameters Anvil touches. */
export const BootParameter = { setInProgress: 0, validBitClearing: 3, bootInfoAcknowledge: 4, bootFlags: 5 } as const
export type BootParameter = typeof BootParameter[keyof typeof BootParameter]

/** §28.13 Table 28-14 parameter 0: the write-lock protocol around a group of parameter writes. */
export const SetInProgress = { complete: 0, inProgress: 1, commitWrite: 2 } as const
export type SetInProgress = keyof typeof SetInProgress

/**
 * §28.13 Table 28-14 parameter 5, data 2 b5:2 "boot device selector". `disk` is "force boot from
 * default hard drive"; `none` is "no override" (the firmware's own order).
 */
export const BootDeviceSelector = {
  none: 0x0,
  pxe: 0x1,
  disk: 0x2,
  'disk-safe-mode': 0x3,
  diagnostic: 0x4,
  cdrom: 0x5,
  'bios-setup': 0x6,
  'remote-floppy': 0x7,
  'remote-cdrom': 0x8,
  'remote-media': 0x9,
  'remote-disk': 0xb,
  floppy: 0xf
} as const
export type BootDevice = keyof typeof BootDeviceSelector

/** What Anvil sets: a device, once or for every boot, legacy BIOS or EFI. */
export type BootFlagsRequest = { readonly device: BootDevice, readonly persistent: boolean, readonly efi: boolean }

/** Decoded parameter 5. `device` is 'reserved' for selector values the spec leaves unassigned. */
export type BootFlags = {
  /** The BMC honours these flags on the next boot (b7 of data 1). */
  readonly valid: boolean
  readonly persistent: boolean
  readonly efi: boolean
  readonly device: BootDevice | 'reserved'
  /** The raw 4-bit selector, for devices Anvil has no name for. */
  readonly selector: number
  readonly cmosClear: boolean
  readonly lockKeyboard: boolean
  readonly screenBlank: boolean
  readonly lockResetButtons: boolean
  /** Data 3 to 5 as sent (verbosity, console redirection, BIOS mux, device instance), hex. */
  readonly rest: string
}

/** A Get System Boot Options response: the parameter header and its data. */
export type BootOptionsResponse = {
  readonly version: number
  readonly parameter: number
  /** b7 of byte 2: the parameter is marked invalid / locked. */
  readonly invalid: boolean
  readonly data: Buffer
}

/*
 * IPMI v2.0 §28.12 Table 28-13, Set System Boot Options request data:
 *
 *   0      b7 1 = mark parameter invalid/locked, 0 = valid/unlocked · b6:0 parameter selector
 *   1..N   parameter data (Table 28-14)
 *
 * Response: the completion code only.
 */
/** A Set System Boot Options request for any parameter (marked valid, as ipmitool does). */
export function encodeSetBootOption (parameter: number, data: Buffer): IpmiRequest {
  return commandRequest(SetSystemBootOptions, Buffer.concat([Buffer.of(parameter & 0x7f), data]))
}

/** Parameter 0 "set in progress": bracket a group of writes (many BMCs, ipmi_sim among them, refuse it). */
export function encodeSetInProgress (state: SetInProgress): IpmiRequest {
  return encodeSetBootOption(BootParameter.setInProgress, Buffer.of(SetInProgress[state]))
}

/*
 * Parameter 4 "boot info acknowledge": data 1 write mask, data 2 acknowledge bits (b0 BIOS/POST,
 * b1 OS loader, b2 OS/service partition, b3 SMS, b4 OEM), where 0 means "this party has handled
 * the boot info". Writing 1 to BIOS/POST under mask 0x01 re-arms it, so the firmware reads the
 * new flags on the next boot: ipmitool's `chassis bootdev` does this before parameter 5.
 */
/** Parameter 4 with BIOS/POST set back to "not yet handled" (request data 04 01 01). */
export function encodeClearBootInfoAck (): IpmiRequest {
  return encodeSetBootOption(BootParameter.bootInfoAcknowledge, Buffer.of(0x01, 0x01))
}

/*
 * Parameter 5 "boot flags", §28.13 Table 28-14:
 *
 *   data 1  b7 valid · b6 persistent (1 = all future boots, 0 = next boot only)
 *           b5 boot type (0 PC-compatible legacy, 1 EFI) · b4:0 reserved
 *   data 2  b7 CMOS clear · b6 lock keyboard · b5:2 boot device selector · b1 screen blank
 *           b0 lock out reset buttons
 *   data 3  b7 lock out power button · b6:5 firmware verbosity · b4 progress event traps
 *           b3 user password bypass · b2 lock out sleep button · b1:0 console redirection
 *   data 4  b3 BIOS shared mode override · b2:0 BIOS mux control override
 *   data 5  b4:0 device instance selector
 */
/** Parameter 5 with the valid bit set and every other option at its default (as ipmitool sends). */
export function encodeSetBootFlags (flags: BootFlagsRequest): IpmiRequest {
  const data1 = 0x80 | (flags.persistent ? 0x40 : 0) | (flags.efi ? 0x20 : 0)
  const data2 = BootDeviceSelector[flags.device] << 2
  return encodeSetBootOption(BootParameter.bootFlags, Buffer.of(data1, data2, 0, 0, 0))
}

/*
 * IPMI v2.0 §28.13 Table 28-14, Get System Boot Options request data:
 *
 *   0  b7 reserved · b6:0 parameter selector
 *   1  set selector (0 for parameters without sets)
 *   2  block selector (0 for parameters without blocks)
 */
/** A Get System Boot Options request (`ipmitool chassis bootparam get 5` sends 05 00 00). */
export function encodeGetBootOption (parameter: number, setSelector = 0, blockSelector = 0): IpmiRequest {
  return commandRequest(GetSystemBootOptions, Buffer.of(parameter & 0x7f, setSelector & 0xff, blockSelector & 0xff))
}

/*
 * Response data after the completion code:
 *
 *   0      b3:0 parameter version (1) · b7:4 reserved
 *   1      b7 1 = parameter invalid/locked · b6:0 parameter selector
 *   2..N   parameter data
 */
/** Decodes the header of a Get System Boot Options response; MalformedPacketError when short. */
export function decodeGetBootOption (data: Buffer): BootOptionsResponse {
  const r = new BufferReader(data)
  const header = readHeader(r)
  return { ...header, data: Buffer.from(r.rest()) }
}

/** Decodes a Get System Boot Options response that must carry parameter 5 (all 5 data bytes). */
export function decodeGetBootFlags (data: Buffer): BootFlags {
  const r = new BufferReader(data)
  const { parameter } = readHeader(r)
  if (parameter !== BootParameter.bootFlags) throw new MalformedPacketError(`expected boot option parameter 5, got ${parameter}`, 1)
  return readBootFlags(r)
}

/** Decodes the 5 data bytes of parameter 5 (as in a Set request after the selector byte). */
export function decodeBootFlags (data: Buffer): BootFlags {
  return readBootFlags(new BufferReader(data))
}

function readHeader (r: BufferReader): Omit<BootOptionsResponse, 'data'> {
  const version = r.u8('parameter version') & 0x0f
  const sel = r.u8('parameter selector')
  return { version, parameter: sel & 0x7f, invalid: (sel & 0x80) !== 0 }
}

const DEVICE_BY_SELECTOR = new Map<number, BootDevice>(
  Object.entries(BootDeviceSelector).map(([name, sel]) => [sel, name as BootDevice]))

function readBootFlags (r: BufferReader): BootFlags {
  const d1 = r.u8('boot flags data 1')
  const d2 = r.u8('boot flags data 2')
  const rest = r.bytes(3, 'boot flags data 3-5').toString('hex')
  const selector = (d2 >> 2) & 0x0f
  return {
    valid: (d1 & 0x80) !== 0,
    persistent: (d1 & 0x40) !== 0,
    efi: (d1 & 0x20) !== 0,
    device: DEVICE_BY_SELECTOR.get(selector) ?? 'reserved',
    selector,
    cmosClear: (d2 & 0x80) !== 0,
    lockKeyboard: (d2 & 0x40) !== 0,
    screenBlank: (d2 & 0x02) !== 0,
    lockResetButtons: (d2 & 0x01) !== 0,
    rest
  }
}
