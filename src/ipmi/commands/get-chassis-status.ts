import { BufferReader } from '../../lib/buffer-reader.ts'
import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/** IPMI v2.0 §28.2 Get Chassis Status (Chassis 0x01): no request data, no command-specific codes. */
export const GetChassisStatus: IpmiCommand = { name: 'Get Chassis Status', netFn: NetFn.chassis, cmd: 0x01, completionCodes: {} }

/** §28.2 byte 1 b6:5: what the chassis does when AC power returns. */
export const RestorePolicy = ['always-off', 'previous', 'always-on', 'unknown'] as const
export type RestorePolicy = typeof RestorePolicy[number]

/** §28.2 byte 3 b5:4 (valid when b6 says identify state is supported). */
export type IdentifyState = 'off' | 'timed' | 'indefinite' | 'reserved' | 'unsupported'

/** A decoded Get Chassis Status response. */
export type ChassisStatus = {
  readonly powerOn: boolean
  readonly powerOverload: boolean
  readonly powerInterlock: boolean
  readonly mainPowerFault: boolean
  readonly powerControlFault: boolean
  readonly restorePolicy: RestorePolicy
  /** What caused the last power event (byte 2). */
  readonly lastEvent: {
    readonly acFailed: boolean
    readonly overload: boolean
    readonly interlock: boolean
    readonly fault: boolean
    /** Power was last turned on by an IPMI command. */
    readonly command: boolean
  }
  readonly misc: {
    readonly intrusion: boolean
    readonly frontPanelLockout: boolean
    readonly driveFault: boolean
    readonly fanFault: boolean
    readonly identify: IdentifyState
  }
  /** The optional byte 4: front-panel buttons, disabled and "disable allowed" per button. */
  readonly frontPanel?: {
    readonly powerDisabled: boolean
    readonly resetDisabled: boolean
    readonly diagDisabled: boolean
    readonly sleepDisabled: boolean
    readonly powerDisableAllowed: boolean
    readonly resetDisableAllowed: boolean
    readonly diagDisableAllowed: boolean
    readonly sleepDisableAllowed: boolean
  }
}

/** The Get Chassis Status request. */
export function encodeGetChassisStatus (): IpmiRequest {
  return commandRequest(GetChassisStatus)
}

const bit = (b: number, n: number): boolean => ((b >> n) & 1) === 1
const IDENTIFY: readonly IdentifyState[] = ['off', 'timed', 'indefinite', 'reserved']

/*
 * IPMI v2.0 §28.2 Table 28-3, response data after the completion code:
 *
 *   0  current power state: b0 power on · b1 overload · b2 interlock · b3 main power fault
 *      b4 power control fault · b6:5 restore policy (00 off, 01 previous, 10 on, 11 unknown)
 *   1  last power event: b0 AC failed · b1 overload · b2 interlock · b3 fault · b4 on via IPMI
 *   2  misc: b0 intrusion · b1 front-panel lockout · b2 drive fault · b3 fan fault
 *      b5:4 identify state (00 off, 01 timed on, 10 indefinite on) · b6 identify state supported
 *   3  optional front panel: b7..b4 sleep/diag/reset/power disable allowed ·
 *      b3..b0 sleep/diag/reset/power disabled
 */
/** Decodes a Get Chassis Status response; MalformedPacketError when shorter than 3 bytes. */
export function decodeGetChassisStatus (data: Buffer): ChassisStatus {
  const r = new BufferReader(data)
  const power = r.u8('current power state')
  const last = r.u8('last power event')
  const misc = r.u8('misc chassis state')
  const status: ChassisStatus = {
    powerOn: bit(power, 0),
    powerOverload: bit(power, 1),
    powerInterlock: bit(power, 2),
    mainPowerFault: bit(power, 3),
    powerControlFault: bit(power, 4),
    restorePolicy: RestorePolicy[(power >> 5) & 0x03] as RestorePolicy,
    lastEvent: { acFailed: bit(last, 0), overload: bit(last, 1), interlock: bit(last, 2), fault: bit(last, 3), command: bit(last, 4) },
    misc: {
      intrusion: bit(misc, 0),
      frontPanelLockout: bit(misc, 1),
      driveFault: bit(misc, 2),
      fanFault: bit(misc, 3),
      identify: bit(misc, 6) ? IDENTIFY[(misc >> 4) & 0x03] as IdentifyState : 'unsupported'
    }
  }
  if (r.remaining === 0) return status
  const fp = r.u8('front panel button capabilities')
  return {
    ...status,
    frontPanel: {
      powerDisabled: bit(fp, 0),
      resetDisabled: bit(fp, 1),
      diagDisabled: bit(fp, 2),
      sleepDisabled: bit(fp, 3),
      powerDisableAllowed: bit(fp, 4),
      resetDisableAllowed: bit(fp, 5),
      diagDisableAllowed: bit(fp, 6),
      sleepDisableAllowed: bit(fp, 7)
    }
  }
}
