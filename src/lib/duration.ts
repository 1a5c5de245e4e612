import { CodedError } from './errors.ts'

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 }

/** "90s", "15m", "1h", "1h30m", "2d" or a number of seconds, to milliseconds. */
export function parseDuration (value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isFinite(value) || value < 0) throw new CodedError('ERR_INVALID_DURATION', `not a duration: ${value}`)
    return value * 1000
  }
  const re = /(\d+(?:\.\d+)?)(ms|s|m|h|d)/gy
  let total = 0
  let matched = 0
  for (const m of value.trim().matchAll(re)) {
    total += Number(m[1]) * (UNITS[m[2] as string] as number)
    matched += m[0].length
  }
  if (matched === 0 || matched !== value.trim().length) {
    throw new CodedError('ERR_INVALID_DURATION', `not a duration (use e.g. 90s, 15m, 1h, 2d): ${JSON.stringify(value)}`)
  }
  return total
}
