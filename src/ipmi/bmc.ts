import { MalformedPacketError } from '../lib/errors.ts'
import { encodeChassisControl, ChassisControl, type ChassisAction } from './commands/chassis-control.ts'
import type { IpmiCommand } from './commands/command.ts'
import { decodeGetChassisStatus, encodeGetChassisStatus, GetChassisStatus, type ChassisStatus } from './commands/get-chassis-status.ts'
import { decodeGetDeviceGuid, encodeGetDeviceGuid, GetDeviceGuid, type Guid } from './commands/get-device-guid.ts'
import { decodeGetDeviceId, encodeGetDeviceId, GetDeviceId, type DeviceId } from './commands/get-device-id.ts'
import {
  CURRENT_CHANNEL, decodeLanIpAddress, decodeLanIpAddressSource, decodeLanMacAddress, encodeGetLanConfig, GetLanConfig, LanParameter,
  type IpAddressSource
} from './commands/get-lan-config.ts'
import { decodeGetSystemGuid, encodeGetSystemGuid, GetSystemGuid } from './commands/get-system-guid.ts'
import {
  decodeGetBootFlags, encodeClearBootInfoAck, encodeGetBootOption, encodeSetBootFlags, encodeSetInProgress, BootParameter,
  GetSystemBootOptions, SetSystemBootOptions, type BootDevice
} from './commands/system-boot-options.ts'
import { BmcError, BmcErrorCode } from '../power/errors.ts'
import { IpmiCompletionError } from './errors.ts'
import type { IpmiRequest, IpmiTransport } from './types.ts'

/** The boot devices Anvil sets: the network, the first disk, or no override. */
export type BootTarget = 'pxe' | 'disk' | 'none'

/** Boot flags as read back. `device` is 'other' for any other selector; `selector` names it. */
export type BootDeviceState = {
  readonly device: BootTarget | 'other'
  readonly selector: BootDevice | 'reserved'
  readonly persistent: boolean
  readonly efi: boolean
  /** The BMC will apply the flags on the next boot (ipmi_sim always reports false: it keeps only the device). */
  readonly valid: boolean
}

/** The BMC's own address on the LAN channel. */
export type LanConfig = { readonly ip: string, readonly mac: string, readonly source: IpAddressSource }

// Completion codes that say "this BMC has no set-in-progress lock" rather than "not now" (0x81).
const NO_SET_IN_PROGRESS = new Set([0x80, 0xc1, 0xcc, 0xd5, 0xd6])

/**
 * One BMC's commands over any IpmiTransport (a session): each method is one IPMI operation with the
 * spec's bytes and a typed answer. No sockets, no read-back and no retries here (src/power does
 * that); completion codes come back as IpmiCompletionError named after the command, and a response
 * too short for its command as BmcError ERR_BMC_PROTOCOL.
 */
export class IpmiBmc {
  readonly #transport: IpmiTransport
  // ipmitool's habit: once the BMC refuses "set in progress", stop bracketing boot option writes.
  #setInProgress = true

  constructor (transport: IpmiTransport) {
    this.#transport = transport
  }

  /** IPMI v2.0 §20.1 Get Device ID. */
  async deviceId (): Promise<DeviceId> {
    return await this.#call(GetDeviceId, encodeGetDeviceId(), decodeGetDeviceId)
  }

  /** IPMI v2.0 §20.8 Get Device GUID: the controller's GUID (optional; ipmi_sim answers 0xC1). */
  async deviceGuid (): Promise<Guid> {
    return await this.#call(GetDeviceGuid, encodeGetDeviceGuid(), decodeGetDeviceGuid)
  }

  /** IPMI v2.0 §22.14 Get System GUID: the managed system's GUID (`ipmitool mc guid`). */
  async systemGuid (): Promise<Guid> {
    return await this.#call(GetSystemGuid, encodeGetSystemGuid(), decodeGetSystemGuid)
  }

  /** IPMI v2.0 §28.2 Get Chassis Status. */
  async chassisStatus (): Promise<ChassisStatus> {
    return await this.#call(GetChassisStatus, encodeGetChassisStatus(), decodeGetChassisStatus)
  }

  /** Power on or off, from Get Chassis Status byte 1 bit 0. */
  async powerState (): Promise<'on' | 'off'> {
    return (await this.chassisStatus()).powerOn ? 'on' : 'off'
  }

  /** IPMI v2.0 §28.3 Chassis Control: the BMC accepted the action (not that the chassis got there). */
  async chassisControl (action: ChassisAction): Promise<void> {
    await this.#call(ChassisControl, encodeChassisControl(action), () => undefined)
  }

  /**
   * IPMI v2.0 §28.12 boot flags (parameter 5), in ipmitool's sequence: "set in progress" (skipped
   * from then on if the BMC refuses it), boot info acknowledge re-armed for BIOS/POST, the flags
   * with the valid bit, then "commit write" and "set complete" when the lock was taken.
   */
  async setBootDevice (flags: { readonly device: BootTarget, readonly persistent: boolean, readonly efi: boolean }): Promise<void> {
    const locked = this.#setInProgress && await this.#lockBootOptions()
    try {
      await this.#optional(SetSystemBootOptions, encodeClearBootInfoAck())
      await this.#call(SetSystemBootOptions, encodeSetBootFlags(flags), () => undefined)
      if (locked) await this.#optional(SetSystemBootOptions, encodeSetInProgress('commitWrite'))
    } catch (err) {
      // Release the lock but report what failed first, whatever releasing does.
      if (locked) await this.#optional(SetSystemBootOptions, encodeSetInProgress('complete')).catch(() => false)
      throw err
    }
    if (locked) await this.#optional(SetSystemBootOptions, encodeSetInProgress('complete'))
  }

  /** IPMI v2.0 §28.13 Get System Boot Options parameter 5, as the BMC reports it. */
  async bootDevice (): Promise<BootDeviceState> {
    const flags = await this.#call(GetSystemBootOptions, encodeGetBootOption(BootParameter.bootFlags), decodeGetBootFlags)
    const device = flags.device === 'pxe' || flags.device === 'disk' || flags.device === 'none' ? flags.device : 'other'
    return { device, selector: flags.device, persistent: flags.persistent, efi: flags.efi, valid: flags.valid }
  }

  /**
   * IPMI v2.0 §23.2 Get LAN Configuration Parameters 3, 5 and 4: the BMC's IP, MAC and IP source.
   * The default channel 0Eh is the one this session arrived on (§6.3).
   */
  async lanConfig (channel: number = CURRENT_CHANNEL): Promise<LanConfig> {
    const ip = await this.#call(GetLanConfig, encodeGetLanConfig(channel, LanParameter.ipAddress), decodeLanIpAddress)
    const mac = await this.#call(GetLanConfig, encodeGetLanConfig(channel, LanParameter.macAddress), decodeLanMacAddress)
    const source = await this.#call(GetLanConfig, encodeGetLanConfig(channel, LanParameter.ipAddressSource), decodeLanIpAddressSource)
    return { ip, mac, source }
  }

  /** Takes the boot options write lock; false (and never again) when this BMC has none. */
  async #lockBootOptions (): Promise<boolean> {
    try {
      await this.#call(SetSystemBootOptions, encodeSetInProgress('inProgress'), () => undefined)
      return true
    } catch (err) {
      if (!(err instanceof IpmiCompletionError)) throw err
      if (NO_SET_IN_PROGRESS.has(err.completionCode)) this.#setInProgress = false
      return false
    }
  }

  /** A step a BMC may refuse without the operation failing: true when accepted. */
  async #optional (command: IpmiCommand, req: IpmiRequest): Promise<boolean> {
    try {
      await this.#call(command, req, () => undefined)
      return true
    } catch (err) {
      if (err instanceof IpmiCompletionError) return false
      throw err
    }
  }

  async #call<T> (command: IpmiCommand, req: IpmiRequest, decode: (data: Buffer) => T): Promise<T> {
    let data: Buffer
    try {
      data = await this.#transport.request(req)
    } catch (err) {
      // The session knows the code but not the command: name it, with the command's own meanings.
      if (err instanceof IpmiCompletionError) throw new IpmiCompletionError(err.completionCode, command.name, command.completionCodes)
      throw err
    }
    try {
      return decode(data)
    } catch (err) {
      if (!(err instanceof MalformedPacketError)) throw err
      throw new BmcError(BmcErrorCode.protocol, `${command.name}: malformed response: ${err.message}`,
        { command: command.name, offset: err.offset }, { cause: err })
    }
  }
}
