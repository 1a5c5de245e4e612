/**
 * The pure half of a node upgrade (issue 11): which versions a node accepts, which bytes of the
 * image make a slot, and how grubenv's A/B variables move (docs/image.md "A/B selection and
 * counters"; grub.cfg in src/image/grub.ts only ever decrements <slot>_LEFT). No I/O here.
 */
import type { ImageManifest } from '../../../image/manifest.ts'
import { CodedError } from '../../../lib/errors.ts'

export type Slot = 'A' | 'B'
export type AbVars = Readonly<Record<string, string>>

/** The slot that is not `s`. */
export function otherSlot (s: Slot): Slot {
  return s === 'A' ? 'B' : 'A'
}

/**
 * Compares two versions as dotted numbers (`0.2.0` < `0.10.0`): the manifest's semver core,
 * numerically, part by part, missing parts counting as 0. A pre-release (`1.0.0-rc.1`) sorts
 * before its release (semver §11); two pre-releases of one core compare as strings. Negative,
 * zero or positive as `a` is older, equal or newer.
 */
export function compareVersions (a: string, b: string): number {
  const split = (v: string): { core: number[], pre: string | undefined } => {
    const dash = v.indexOf('-')
    const core = (dash < 0 ? v : v.slice(0, dash)).split('.').map(p => Number.parseInt(p, 10)).map(n => Number.isFinite(n) ? n : 0)
    return { core, pre: dash < 0 ? undefined : v.slice(dash + 1) }
  }
  const x = split(a)
  const y = split(b)
  for (let i = 0; i < Math.max(x.core.length, y.core.length); i++) {
    const d = (x.core[i] ?? 0) - (y.core[i] ?? 0)
    if (d !== 0) return Math.sign(d)
  }
  if (x.pre === y.pre) return 0
  if (x.pre === undefined) return 1
  if (y.pre === undefined) return -1
  return x.pre < y.pre ? -1 : 1
}

/** What the running slot holds, as far as STATE knows. */
export type RunningImage = { readonly version: string, readonly securityVersion: number }

/**
 * Throws ERR_IMAGE_DOWNGRADE when the image may not replace the running one: a lower security
 * version always (force or not: that is what a security version is for), an older or equal
 * version unless `force`.
 */
export function checkUpgradeVersion (running: RunningImage, next: RunningImage, force: boolean): void {
  if (next.securityVersion < running.securityVersion) {
    throw new CodedError('ERR_IMAGE_DOWNGRADE', `security version ${next.securityVersion} is lower than the running image's ${running.securityVersion}: refused even with force`)
  }
  if (!force && compareVersions(next.version, running.version) <= 0) {
    throw new CodedError('ERR_IMAGE_DOWNGRADE', `version ${next.version} is not newer than the running ${running.version} (force allows it)`)
  }
}

/** A byte range [start, end). */
export type ByteRange = { readonly start: number, readonly end: number }

/**
 * The image's bytes of its slot-A partition (what every upgrade writes into the node's target
 * slot, A or B: the slots are the same filesystem image): a whole number of chunks, else refused.
 */
export function slotImageRange (manifest: ImageManifest): ByteRange {
  const part = manifest.layout.partitions.find(p => p.name === manifest.slots.A)
  if (part === undefined) throw new CodedError('ERR_VALIDATION', `the image has no partition ${manifest.slots.A}`)
  const sector = manifest.layout.sectorSize
  const range = { start: part.firstLba * sector, end: (part.lastLba + 1) * sector }
  const chunk = manifest.artifact.chunkSize
  if (range.start % chunk !== 0 || range.end % chunk !== 0) throw new CodedError('ERR_VALIDATION', `${manifest.slots.A} (bytes ${range.start}-${range.end}) is not a whole number of ${chunk}-byte chunks`)
  return range
}

/** Before a slot is overwritten: it must not boot, counted or not, until it is whole and verified. */
export function disableSlot (env: AbVars, target: Slot): AbVars {
  return { ...env, [`${target}_OK`]: '0', [`${target}_LEFT`]: '0' }
}

/** The new slot selected for ONE try, tried first; the running slot keeps its OK=1 as the fallback. */
export function selectTrial (env: AbVars, target: Slot): AbVars {
  return { ...env, ANVIL_ORDER: `${target} ${otherSlot(target)}`, [`${target}_OK`]: '0', [`${target}_LEFT`]: '1' }
}

/** The health gate passed: the slot boots without counting from now on, and first. */
export function commitTrial (env: AbVars, slot: Slot): AbVars {
  return { ...env, ANVIL_ORDER: `${slot} ${otherSlot(slot)}`, [`${slot}_OK`]: '1', [`${slot}_LEFT`]: '0' }
}

/** After a fall-back (or to roll back): `slot` first in the order; the other slot's variables stay. */
export function preferSlot (env: AbVars, slot: Slot): AbVars {
  return { ...env, ANVIL_ORDER: `${slot} ${otherSlot(slot)}` }
}

/** True when grubenv says `slot` is committed (it boots without counting). */
export function isCommitted (env: AbVars, slot: Slot): boolean {
  return env[`${slot}_OK`] === '1'
}

/** How this boot relates to a pending switch (from the kernel command line, never from grubenv). */
export type BootOutcome = 'none' | 'on-new-slot' | 'fell-back'

/** on-new-slot: booted the switch's target; fell-back: booted the slot it left (GRUB spent the try, or the gate rebooted). */
export function bootOutcome (pending: { readonly fromSlot: Slot, readonly toSlot: Slot } | undefined, running: Slot | undefined): BootOutcome {
  if (pending === undefined || running === undefined) return 'none'
  return running === pending.toSlot ? 'on-new-slot' : 'fell-back'
}
