import { CodedError } from '../lib/errors.ts'
import type { StoredImage } from './ports.ts'

// Which image an install gets: `name` (its highest ready version) or `name:version` (that one,
// ready). Pure: the caller hands in the catalogue's rows of that name.

const SEMVER = /^(\d+)\.(\d+)\.(\d+)(?:-([0-9A-Za-z.-]+))?$/

/** Orders semver versions (semver.org §11): numbers numerically, a pre-release below its release. Unparsable last. */
export function compareSemver (a: string, b: string): number {
  const x = SEMVER.exec(a)
  const y = SEMVER.exec(b)
  if (x === null || y === null) return x === null ? (y === null ? a.localeCompare(b) : -1) : 1
  for (let i = 1; i <= 3; i++) {
    const d = Number(x[i]) - Number(y[i])
    if (d !== 0) return Math.sign(d)
  }
  const [pa, pb] = [x[4], y[4]]
  if (pa === undefined || pb === undefined) return pa === pb ? 0 : (pa === undefined ? 1 : -1)
  const ia = pa.split('.')
  const ib = pb.split('.')
  for (let i = 0; i < Math.max(ia.length, ib.length); i++) {
    const [p, q] = [ia[i], ib[i]]
    if (p === undefined || q === undefined) return p === undefined ? -1 : 1
    const [np, nq] = [/^\d+$/.test(p), /^\d+$/.test(q)]
    if (np && nq) { if (Number(p) !== Number(q)) return Math.sign(Number(p) - Number(q)) } else if (np !== nq) return np ? -1 : 1
    else if (p !== q) return p < q ? -1 : 1
  }
  return 0
}

/** Splits `name[:version]`. */
export function parseImageRef (ref: string): { name: string, version: string | undefined } {
  const i = ref.indexOf(':')
  return i < 0 ? { name: ref, version: undefined } : { name: ref.slice(0, i), version: ref.slice(i + 1) }
}

/**
 * The ready image an install of `name[:version]` gets, from every image of that name.
 * ERR_IMAGE_NOT_FOUND when there is none (of that version); ERR_IMAGE_UNAVAILABLE when the only
 * ones are pending (their artifact not uploaded yet).
 */
export function pickInstallImage (all: readonly StoredImage[], name: string, version: string | undefined): StoredImage {
  const named = all.filter(i => i.name === name && (version === undefined || i.version === version))
  const label = version === undefined ? name : `${name}:${version}`
  if (named.length === 0) throw new CodedError('ERR_IMAGE_NOT_FOUND', `no image ${label} (\`anvil images list\` shows the catalogue)`, { name, ...(version === undefined ? {} : { version }) })
  const ready = named.filter(i => i.state === 'ready')
  const best = ready.reduce<StoredImage | undefined>((top, i) => top === undefined || compareSemver(i.version, top.version) > 0 ? i : top, undefined)
  if (best === undefined) {
    throw new CodedError('ERR_IMAGE_UNAVAILABLE', `image ${label} has no artifact yet (${named.map(i => i.version).join(', ')} pending): upload it before installing`, { name, pending: named.map(i => i.version) })
  }
  return best
}
