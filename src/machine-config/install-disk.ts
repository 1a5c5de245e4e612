import { z } from 'zod'
import { CodedError } from '../lib/errors.ts'
import { globMatch } from '../provisioning/selector.ts'
import type { Disk } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import { show } from './names.ts'
import { formatSize, parseSize } from './size.ts'

// install.disk: which disk the OS goes to, chosen from the hardware report by what the disk is,
// never by the name the kernel gave it on one boot. Every key given must match; exactly one disk
// must match them all, else the install stops before touching any disk.

/** Why a /dev name is refused, in every message that refuses one. */
export const DEV_NAME_REFUSED = 'a /dev name is whatever the kernel probed first on one boot (by-id and by-path links too, which depend on udev and the slot): it changes when a disk is added, fails or a USB stick is left in. Select the disk by serial, wwn, model, minSize/maxSize or transport (`anvil machines show` lists what the machine reported)'

/** Bus types the discovery agent reports (src/agent/inventory/disks.ts transportOf). */
export const DISK_TRANSPORTS = ['nvme', 'sata', 'sas', 'scsi', 'virtio', 'mmc', 'usb'] as const

function refuseDevName (v: string, ctx: z.RefinementCtx): void {
  if (v.startsWith('/dev/') || v === '/dev') ctx.addIssue({ code: 'custom', message: `${show(v)} is refused: ${DEV_NAME_REFUSED}` })
}

/** A printable identifier as the disk reports it (no surrounding blanks: reports are trimmed). */
const identifier = z.string().min(1).max(256).superRefine((v, ctx) => {
  refuseDevName(v, ctx)
  if (!/^[\x21-\x7e]([\x20-\x7e]*[\x21-\x7e])?$/.test(v)) ctx.addIssue({ code: 'custom', message: 'expected printable ASCII without leading or trailing blanks' })
})

const size = z.union([z.string(), z.number()], { error: 'expected a size such as 100GiB or 1.5TB' }).transform((v, ctx) => {
  try {
    return parseSize(v)
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message })
    return z.NEVER
  }
})

const CRITERIA = ['serial', 'wwn', 'model', 'minSize', 'maxSize', 'transport', 'rotational'] as const

/** install.disk: every key given must match, and exactly one disk of the machine must match them all. */
export const installDiskSchema = z.strictObject({
  /** The disk's serial number, exactly as the hardware report shows it. */
  serial: identifier.optional(),
  /** The disk's world-wide name (naa.5000c500a1b2c3d4, eui.…, or 0x5000c500a1b2c3d4 from a wwn- link), compared without case. */
  wwn: identifier.optional(),
  /** The disk's model, whole string, case-sensitive, `*` matching any run (e.g. `Samsung SSD 980*`). */
  model: identifier.optional(),
  /** Smallest acceptable size, inclusive: 100GiB, 1.5TB, or a number of bytes. */
  minSize: size.optional(),
  /** Largest acceptable size, inclusive. */
  maxSize: size.optional(),
  /** The bus: nvme, sata, sas, scsi, virtio, mmc or usb. */
  transport: z.enum(DISK_TRANSPORTS).optional(),
  /** true for spinning disks, false for solid state. */
  rotational: z.boolean().optional()
}, {
  error: (iss) => {
    if (iss.code === 'invalid_type' && typeof iss.input === 'string') {
      return iss.input.startsWith('/dev') ? `${show(iss.input)} is refused: ${DEV_NAME_REFUSED}` : 'expected a disk selector such as { serial: S4EWNX0N123456 } or { minSize: 100GiB, transport: nvme }, got a string'
    }
    if (iss.code === 'unrecognized_keys') {
      // `device: /dev/sda` and the like: say why, not only that the key is unknown.
      const input = (iss.input ?? {}) as Record<string, unknown>
      const dev = iss.keys.map(k => input[k]).find(v => typeof v === 'string' && v.startsWith('/dev'))
      if (dev !== undefined) return `unknown key, and ${show(dev)} is refused: ${DEV_NAME_REFUSED}`
      return `unknown key; a disk is selected by ${CRITERIA.join(', ')}, never by a device name`
    }
    return undefined
  }
}).superRefine((v, ctx) => {
  if (v === null || typeof v !== 'object') return
  const sel = v as Partial<Record<typeof CRITERIA[number], unknown>>
  if (!CRITERIA.some(k => sel[k] !== undefined)) ctx.addIssue({ code: 'custom', message: `select the disk by at least one of ${CRITERIA.join(', ')}` })
  if (typeof sel.minSize === 'number' && typeof sel.maxSize === 'number' && sel.minSize > sel.maxSize) {
    ctx.addIssue({ code: 'custom', path: ['maxSize'], message: `${formatSize(sel.maxSize)} is smaller than minSize ${formatSize(sel.minSize)}` })
  }
}, { when: () => true })

/** A validated install disk selector (sizes in bytes). */
export type InstallDiskSelector = z.output<typeof installDiskSchema>

/** What matching reads from a disk of the hardware report (src/proto/provisioning.proto Disk). */
export type DiskFacts = Pick<Disk, 'name' | 'sizeBytes' | 'model' | 'serial' | 'wwn' | 'transport' | 'rotational' | 'readOnly'>

/** naa./eui. prefixes and a by-id link's 0x prefix removed, lower case: the same WWN however it was copied. */
function wwnKey (wwn: string): string {
  return wwn.trim().toLowerCase().replace(/^(naa\.|eui\.|0x)/, '')
}

/** True when the disk satisfies every key of the selector. */
export function diskMatches (selector: InstallDiskSelector, disk: DiskFacts): boolean {
  if (selector.serial !== undefined && disk.serial.trim() !== selector.serial) return false
  if (selector.wwn !== undefined && (disk.wwn === '' || wwnKey(disk.wwn) !== wwnKey(selector.wwn))) return false
  if (selector.model !== undefined && !globMatch(selector.model, disk.model.trim())) return false
  if (selector.minSize !== undefined && disk.sizeBytes < selector.minSize) return false
  if (selector.maxSize !== undefined && disk.sizeBytes > selector.maxSize) return false
  if (selector.transport !== undefined && disk.transport !== selector.transport) return false
  if (selector.rotational !== undefined && disk.rotational !== selector.rotational) return false
  return true
}

/** The selector as written, for messages: `serial S123, minSize 100GiB`. */
export function describeSelector (selector: InstallDiskSelector): string {
  return CRITERIA.flatMap(k => {
    const v = selector[k]
    if (v === undefined) return []
    return [`${k} ${typeof v === 'number' ? formatSize(v) : show(v)}`]
  }).join(', ')
}

const BINARY = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']

/** A size for people: 931.5 GiB. */
function approxSize (bytes: number): string {
  let i = 0
  let v = bytes
  while (v >= 1024 && i < BINARY.length - 1) { v /= 1024; i++ }
  return i === 0 ? `${bytes} B` : `${v.toFixed(1)} ${BINARY[i] as string}`
}

function describeDisk (d: DiskFacts): string {
  const parts = [`serial ${d.serial === '' ? '(none)' : show(d.serial)}`, approxSize(d.sizeBytes)]
  if (d.transport !== '') parts.push(d.transport)
  if (d.model !== '') parts.push(`model ${show(d.model)}`)
  if (d.readOnly) parts.push('read-only')
  return `${show(d.name)} (${parts.join(', ')})`
}

const LISTED = 16

function describeDisks (disks: readonly DiskFacts[]): string {
  const shown = disks.slice(0, LISTED).map(describeDisk).join('; ')
  return disks.length > LISTED ? `${shown}; and ${disks.length - LISTED} more` : shown
}

const candidate = (d: DiskFacts): Record<string, unknown> => ({ name: d.name, serial: d.serial, wwn: d.wwn, sizeBytes: d.sizeBytes, model: d.model, transport: d.transport })

/**
 * The one disk of a hardware report that the selector picks. Read-only disks are never picked.
 * Throws ERR_INSTALL_DISK_NONE when no disk matches and ERR_INSTALL_DISK_AMBIGUOUS when several
 * do, listing the machine's disks (or the matching ones) with their serials and sizes.
 */
export function matchInstallDisk<D extends DiskFacts> (selector: InstallDiskSelector, disks: readonly D[]): D {
  const matching = disks.filter(d => !d.readOnly && diskMatches(selector, d))
  const wanted = describeSelector(selector)
  if (matching.length === 1) return matching[0] as D
  if (matching.length === 0) {
    const have = disks.length === 0 ? 'the machine reported no disks' : `the machine has ${disks.length}: ${describeDisks(disks)}`
    throw new CodedError('ERR_INSTALL_DISK_NONE', `no disk matches install.disk (${wanted}); ${have}`, { selector: wanted, candidates: disks.slice(0, LISTED).map(candidate) })
  }
  throw new CodedError('ERR_INSTALL_DISK_AMBIGUOUS', `${matching.length} disks match install.disk (${wanted}): ${describeDisks(matching)}; add serial or wwn to pick one`, { selector: wanted, candidates: matching.slice(0, LISTED).map(candidate) })
}
