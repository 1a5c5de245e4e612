import { NetFn, type IpmiRequest } from '../types.ts'
import { commandRequest, type IpmiCommand } from './command.ts'

/** IPMI v2.0 §28.3 Chassis Control (Chassis 0x02): no response data, no command-specific codes. */
export const ChassisControl: IpmiCommand = { name: 'Chassis Control', netFn: NetFn.chassis, cmd: 0x02, completionCodes: {} }

/**
 * §28.3 Table 28-4 request byte 1 b3:0. `soft` is "initiate a soft-shutdown of the OS via ACPI by
 * emulating a fatal overtemperature"; `diag` pulses a diagnostic interrupt (NMI). Optional ones
 * (cycle, diag, soft) may be answered 0xCC by BMCs that lack them; ipmi_sim rejects `diag`.
 */
export const ChassisAction = { off: 0, on: 1, cycle: 2, reset: 3, diag: 4, soft: 5 } as const
export type ChassisAction = keyof typeof ChassisAction

/*
 * IPMI v2.0 §28.3 Table 28-4, request data:
 *
 *   0  b7:4 reserved · b3:0 chassis control (0 down, 1 up, 2 cycle, 3 hard reset,
 *      4 pulse diagnostic interrupt, 5 soft shutdown via overtemperature emulation)
 *
 * Response: the completion code only.
 */
/** The Chassis Control request for `action` (the bytes `ipmitool chassis power ACTION` sends). */
export function encodeChassisControl (action: ChassisAction): IpmiRequest {
  return commandRequest(ChassisControl, Buffer.of(ChassisAction[action]))
}
