import { BmcError, BmcErrorCode } from './errors.ts'
import type { Clock } from '../inventory/ports.ts'
import type { BootDeviceReading, BootDeviceSetting, PowerAction, PowerState } from './bmc.ts'

/** The state each chassis control action must read back as (IPMI v2.0 §28.3). */
const EXPECTED_STATE: Readonly<Record<PowerAction, PowerState>> = { on: 'on', off: 'off', soft: 'off', cycle: 'on', reset: 'on' }

export type ReadBackOptions = {
  readonly timeoutMs: number
  readonly pollMs: number
  readonly sleep: (ms: number) => Promise<void>
  readonly clock: Clock
}

/**
 * Polls the power state until it shows what `action` must lead to, or the deadline passes:
 * a BMC accepting Chassis Control says nothing about the chassis getting there.
 */
export async function readBackPower (read: () => Promise<PowerState>, action: PowerAction, o: ReadBackOptions): Promise<PowerState> {
  const want = EXPECTED_STATE[action]
  const deadline = o.clock.now() + o.timeoutMs
  let last: PowerState
  for (;;) {
    last = await read()
    if (last === want || o.clock.now() >= deadline) break
    await o.sleep(o.pollMs)
  }
  if (last !== want) {
    throw new BmcError(BmcErrorCode.readBack, `power ${action} was accepted, but the BMC still reads back ${last} after ${o.timeoutMs / 1000} s`, { action, expected: want, actual: last })
  }
  return last
}

/** "pxe, persistent, EFI": how a setting reads in messages. */
export function describeBootSetting (s: BootDeviceSetting): string {
  return `${s.device}${s.persistent ? ', persistent' : ', next boot only'}${s.efi ? ', EFI' : ', legacy'}`
}

/** The device must read back; persistence and EFI only when the BMC marks its flags valid (§28.13). */
export function checkBootReadBack (want: BootDeviceSetting, got: BootDeviceReading): void {
  const mismatch: string[] = []
  if (got.device !== want.device) mismatch.push(`device ${got.device}`)
  if (got.valid && got.persistent !== want.persistent) mismatch.push(got.persistent ? 'persistent' : 'next boot only')
  if (got.valid && got.efi !== want.efi) mismatch.push(got.efi ? 'EFI' : 'legacy')
  if (mismatch.length > 0) {
    throw new BmcError(BmcErrorCode.readBack, `boot device ${describeBootSetting(want)} was accepted, but the BMC reads back ${mismatch.join(', ')}`, { expected: want, actual: got })
  }
}
