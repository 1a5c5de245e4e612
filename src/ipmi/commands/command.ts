import type { IpmiRequest, NetFn } from '../types.ts'

/**
 * What identifies one IPMI command: its name for errors, the request NetFn and command byte
 * (IPMI v2.0 §5.1; the response NetFn is the request's + 1), and the command-specific completion
 * codes (§5.2: 0x80–0xBE mean different things per command).
 */
export type IpmiCommand = {
  readonly name: string
  readonly netFn: NetFn
  readonly cmd: number
  readonly completionCodes: Readonly<Record<number, string>>
}

/** The request for `command` carrying `data` (no data for most Get commands). */
export function commandRequest (command: IpmiCommand, data: Buffer = Buffer.alloc(0)): IpmiRequest {
  return { netFn: command.netFn, cmd: command.cmd, data }
}
