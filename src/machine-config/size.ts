// Sizes with units, exact: decimal (SI, powers of 1000) and binary (IEC 80000-13, powers of 1024)
// prefixes are distinct, and a size is a whole number of bytes or it is refused (1.5KiB is
// 1536 bytes; 1.0001KiB is not a size). Arithmetic in BigInt, so nothing is rounded.

const UNITS = {
  B: 1n,
  KiB: 1024n,
  MiB: 1024n ** 2n,
  GiB: 1024n ** 3n,
  TiB: 1024n ** 4n,
  KB: 1000n,
  MB: 1000n ** 2n,
  GB: 1000n ** 3n,
  TB: 1000n ** 4n
} as const satisfies Record<string, bigint>
type Unit = keyof typeof UNITS

const SIZE = /^(\d{1,20})(?:\.(\d{1,20}))?[ ]?(B|KiB|MiB|GiB|TiB|KB|MB|GB|TB)$/
const HINT = 'use a number and a unit, e.g. 100GiB or 1.5TB (KiB, MiB, GiB, TiB are powers of 1024; KB, MB, GB, TB of 1000)'

/** Parses a size ("100GiB", "1.5TB", "512B", or a whole number of bytes) to bytes; throws an Error with the reason. */
export function parseSize (value: string | number): number {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || value < 0) throw new Error(`${value} is not a whole number of bytes; ${HINT}`)
    return value
  }
  const m = SIZE.exec(value)
  if (m === null) {
    const unit = /[a-z]+$/i.exec(value)?.[0]
    const known = unit === undefined ? undefined : Object.keys(UNITS).find(u => u.toLowerCase() === unit.toLowerCase())
    const why = known !== undefined && known !== unit ? ` (units are case-sensitive: ${known})` : ''
    throw new Error(`${JSON.stringify(value.slice(0, 40))} is not a size${why}; ${HINT}`)
  }
  const [, whole = '', fraction = '', unit = 'B'] = m
  const scale = 10n ** BigInt(fraction.length)
  const scaled = (BigInt(whole) * scale + BigInt(fraction === '' ? '0' : fraction)) * UNITS[unit as Unit]
  if (scaled % scale !== 0n) throw new Error(`${value} is not a whole number of bytes`)
  const bytes = scaled / scale
  if (bytes > BigInt(Number.MAX_SAFE_INTEGER)) throw new Error(`${value} is too large (at most ${Number.MAX_SAFE_INTEGER} bytes)`)
  return Number(bytes)
}

/** The shortest exact text for a number of bytes: the unit with the smallest whole count (binary first on a tie). */
export function formatSize (bytes: number): string {
  const b = BigInt(bytes)
  let best = `${bytes}B`
  let count = b
  for (const [unit, factor] of Object.entries(UNITS)) {
    if (b % factor === 0n && b / factor < count) {
      count = b / factor
      best = `${count}${unit}`
    }
  }
  return best
}
