/**
 * IPMI v2.0 §5.2 Table 5-2: generic completion codes, by name. Command-specific codes (0x80–0xBE)
 * mean different things per command, so commands name their own and fall back to these.
 */
const GENERIC: Readonly<Record<number, string>> = {
  0x00: 'ok',
  0xc0: 'node busy',
  0xc1: 'invalid command',
  0xc2: 'command invalid for given LUN',
  0xc3: 'timeout while processing command',
  0xc4: 'out of space',
  0xc5: 'reservation canceled or invalid reservation ID',
  0xc6: 'request data truncated',
  0xc7: 'request data length invalid',
  0xc8: 'request data field length limit exceeded',
  0xc9: 'parameter out of range',
  0xca: 'cannot return number of requested data bytes',
  0xcb: 'requested sensor, data, or record not present',
  0xcc: 'invalid data field in request',
  0xcd: 'command illegal for specified sensor or record type',
  0xce: 'command response could not be provided',
  0xcf: 'cannot execute duplicated request',
  0xd0: 'SDR repository in update mode',
  0xd1: 'device in firmware update mode',
  0xd2: 'BMC initialization in progress',
  0xd3: 'destination unavailable',
  0xd4: 'insufficient privilege level',
  0xd5: 'command not supported in present state',
  0xd6: 'command sub-function disabled or unavailable',
  0xff: 'unspecified error'
}

/** A readable name for a completion code; `specific` holds a command's own 0x80–0xBE meanings. */
export function completionCodeName (code: number, specific?: Readonly<Record<number, string>>): string {
  const name = specific?.[code] ?? GENERIC[code]
  const hex = `0x${code.toString(16).padStart(2, '0')}`
  return name === undefined ? `completion code ${hex}` : `${name} (${hex})`
}
