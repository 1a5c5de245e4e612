import { open } from 'node:fs/promises'

/** How a lab VM's disk is attached; each bus needs a different driver in the boot environment. */
export const DiskBus = { virtio: 'virtio', nvme: 'nvme', sata: 'sata', scsi: 'scsi' } as const
export type DiskBus = typeof DiskBus[keyof typeof DiskBus]

/** One raw disk file given to QEMU with a serial, filled with a known pattern by the test. */
export type LabDisk = {
  readonly id: string
  readonly file: string
  readonly bus: DiskBus
  readonly serial: string
  readonly bytes: number
  /**
   * QEMU's write throttle for this disk in bytes per second (its `throttling.bps-write`), so a
   * wipe lasts long enough for a test to act in the middle of it.
   */
  readonly writeBytesPerSecond?: number
}

/** The repeating 512-byte pattern: every sector holds its disk's tag and its own LBA, never a zero byte. */
export function patternSector (tag: string, lba: number): Buffer {
  const sector = Buffer.alloc(512, 0xa5)
  sector.write(`anvil-pattern ${tag} lba ${lba} `, 0, 'latin1')
  // Bytes 64..511: a tag-dependent ramp, so two disks' sectors differ beyond the header too.
  for (let i = 64; i < 512; i++) sector[i] = ((i * 7 + tag.length * 13) % 255) + 1
  return sector
}

/** Writes `bytes` of pattern (bytes must be a multiple of 1 MiB) into `file`. */
export async function writePatternDisk (file: string, tag: string, bytes: number): Promise<void> {
  if (bytes % (1 << 20) !== 0) throw new RangeError(`disk size ${bytes} is not whole MiB`)
  const handle = await open(file, 'w')
  try {
    const chunk = Buffer.alloc(1 << 20)
    for (let offset = 0; offset < bytes; offset += chunk.length) {
      for (let s = 0; s < chunk.length / 512; s++) patternSector(tag, (offset / 512) + s).copy(chunk, s * 512)
      await handle.write(chunk, 0, chunk.length, offset)
    }
  } finally {
    await handle.close()
  }
}

/** What a disk looks like from the host: which 512-byte sectors are zero, pattern, or neither. */
export type SectorMap = { readonly zero: readonly number[], readonly pattern: number, readonly other: readonly number[] }

/** Classifies every sector of `file` against the pattern for `tag` (the zero and other lists hold LBAs). */
export async function classifySectors (file: string, tag: string, bytes: number): Promise<SectorMap> {
  const zero: number[] = []
  const other: number[] = []
  let pattern = 0
  const handle = await open(file, 'r')
  try {
    const chunk = Buffer.alloc(1 << 20)
    const empty = Buffer.alloc(512)
    for (let offset = 0; offset < bytes; offset += chunk.length) {
      const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset)
      for (let s = 0; s * 512 < bytesRead; s++) {
        const lba = offset / 512 + s
        const sector = chunk.subarray(s * 512, s * 512 + 512)
        if (sector.equals(empty)) zero.push(lba)
        else if (sector.equals(patternSector(tag, lba))) pattern++
        else other.push(lba)
      }
    }
  } finally {
    await handle.close()
  }
  return { zero, pattern, other }
}

/** LBA ranges [start, end) as compact text, for assertion messages. */
export function ranges (lbas: readonly number[]): string {
  const out: string[] = []
  let start = -1
  let prev = -2
  for (const lba of [...lbas, -1]) {
    if (lba === prev + 1) { prev = lba; continue }
    if (start >= 0) out.push(start === prev ? `${start}` : `${start}-${prev}`)
    start = lba
    prev = lba
  }
  return out.join(',')
}

/** QEMU arguments that attach the disks with their serials (LAB-NOTES "Disks"). */
export function diskArgv (disks: readonly LabDisk[]): string[] {
  const argv: string[] = []
  let ahci = false
  let scsi = false
  for (const d of disks) {
    // discard=ignore (QEMU's default, spelt out): the guest sees a device that supports discard,
    // and the agent's blkdiscard after a fast wipe reaches no further than QEMU, so the host file
    // shows exactly the zeroes the agent wrote and the pattern everywhere else.
    const throttle = d.writeBytesPerSecond === undefined ? '' : `,throttling.bps-write=${d.writeBytesPerSecond}`
    argv.push('-drive', `file=${d.file},format=raw,if=none,id=${d.id},cache=writethrough,discard=ignore${throttle}`)
    switch (d.bus) {
      case 'virtio':
        argv.push('-device', `virtio-blk-pci,drive=${d.id},serial=${d.serial}`)
        break
      case 'nvme':
        argv.push('-device', `nvme,drive=${d.id},serial=${d.serial}`)
        break
      case 'sata':
        if (!ahci) argv.push('-device', 'ahci,id=ahci0')
        ahci = true
        argv.push('-device', `ide-hd,drive=${d.id},bus=ahci0.0,serial=${d.serial}`)
        break
      case 'scsi':
        if (!scsi) argv.push('-device', 'virtio-scsi-pci,id=scsi0')
        scsi = true
        argv.push('-device', `scsi-hd,drive=${d.id},bus=scsi0.0,serial=${d.serial}`)
        break
    }
  }
  return argv
}
