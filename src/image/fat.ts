import { MalformedPacketError } from '../lib/errors.ts'

/**
 * Just enough of FAT to turn a cluster number into a byte offset (Microsoft "FAT: General
 * Overview of On-Disk Format" 1.03, §3 "Boot Sector and BPB", §6 "Data region"): the build
 * records where grub/grubenv's bytes lie so that the node can rewrite the A/B counters with one
 * sector write, never mounting the ESP (docs/image.md). The cluster list comes from mshowfat.
 *
 *   BPB  11 BytsPerSec u16 · 13 SecPerClus u8 · 14 RsvdSecCnt u16 · 16 NumFATs u8 · 17 RootEntCnt u16
 *        22 FATSz16 u16 · 36 FATSz32 u32 (FAT32 only, when FATSz16 is 0) · 510 0x55AA
 */

/** The geometry of a FAT filesystem's data region. */
export type FatGeometry = { readonly bytesPerSector: number, readonly sectorsPerCluster: number, readonly dataStartSector: number }

/** Reads the BPB from a FAT boot sector. */
export function decodeFatGeometry (boot: Buffer): FatGeometry {
  if (boot.length < 512 || boot.readUInt16LE(510) !== 0xaa55) throw new MalformedPacketError('FAT: no boot sector signature', 510)
  const bytesPerSector = boot.readUInt16LE(11)
  if (![512, 1024, 2048, 4096].includes(bytesPerSector)) throw new MalformedPacketError(`FAT: ${bytesPerSector} bytes per sector`, 11)
  const sectorsPerCluster = boot.readUInt8(13)
  if (sectorsPerCluster === 0 || (sectorsPerCluster & (sectorsPerCluster - 1)) !== 0) throw new MalformedPacketError(`FAT: ${sectorsPerCluster} sectors per cluster`, 13)
  const reserved = boot.readUInt16LE(14)
  const fats = boot.readUInt8(16)
  const rootEntries = boot.readUInt16LE(17)
  const fatSize = boot.readUInt16LE(22) !== 0 ? boot.readUInt16LE(22) : boot.readUInt32LE(36)
  const rootDirSectors = Math.ceil((rootEntries * 32) / bytesPerSector)
  return { bytesPerSector, sectorsPerCluster, dataStartSector: reserved + fats * fatSize + rootDirSectors }
}

/** The byte offset, from the start of the filesystem, of data cluster `cluster` (the first is 2). */
export function clusterOffset (geometry: FatGeometry, cluster: number): number {
  if (!Number.isInteger(cluster) || cluster < 2) throw new RangeError(`FAT: cluster ${cluster}`)
  return (geometry.dataStartSector + (cluster - 2) * geometry.sectorsPerCluster) * geometry.bytesPerSector
}

/**
 * The first cluster of a file from `mshowfat` output (`::/grub/grubenv <4-5>`), or undefined when
 * the file is not one contiguous run (GRUB's save_env copes with that; a one-sector rewrite by the
 * node needs the variables' sector to be the file's first, which it always is).
 */
export function parseMshowfat (output: string): { first: number, contiguous: boolean } | undefined {
  const runs = [...output.matchAll(/<(\d+)(?:-(\d+))?>/g)].map(m => ({ from: Number(m[1]), to: Number(m[2] ?? m[1]) }))
  const first = runs[0]
  if (first === undefined) return undefined
  return { first: first.from, contiguous: runs.length === 1 }
}
