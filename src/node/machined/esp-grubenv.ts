import { decodeFatGeometry, clusterOffset } from '../../image/fat.ts'
import { MalformedPacketError } from '../../lib/errors.ts'

/**
 * Finds grub/grubenv's bytes inside the ESP by reading its FAT32 structures, so the node can
 * rewrite the A/B variables with one sector write without mounting the ESP (docs/image.md; the
 * build records the same offset in the manifest with mshowfat, STATE does not carry it). Only
 * 8.3 entries are compared (the long-name entries mtools adds are skipped): GRUB → GRUBENV.
 * Pure over `read(offset, length)` on the ESP's bytes (Microsoft FAT spec 1.03 §3, §6, §7).
 *
 *   BPB 44 BPB_RootClus u32 (FAT32)     directory entry (32 bytes): 0 name[11] · 11 attr
 *   FAT entry: u32 LE & 0x0FFFFFFF        20 first cluster hi u16 · 26 lo u16 · 28 size u32
 *   ≥ 0x0FFFFFF8: end of chain
 */
export type ReadAt = (offset: number, length: number) => Buffer

const ATTR_DIRECTORY = 0x10
const ATTR_LONG_NAME = 0x0f
const END_OF_CHAIN = 0x0ffffff8
/** A directory the node walks has a handful of entries; this bounds a corrupted chain's loop. */
const MAX_DIR_CLUSTERS = 4096

/** The byte offset of grub/grubenv's first cluster inside the ESP, and the file's size. */
export function locateGrubenv (read: ReadAt): { offset: number, size: number } {
  const boot = read(0, 512)
  const geometry = decodeFatGeometry(boot)
  if (boot.readUInt16LE(22) !== 0) throw new MalformedPacketError('ESP: not FAT32 (FATSz16 set)', 22)
  const clusterBytes = geometry.bytesPerSector * geometry.sectorsPerCluster
  const fatOffset = boot.readUInt16LE(14) * geometry.bytesPerSector
  const next = (cluster: number): number => read(fatOffset + cluster * 4, 4).readUInt32LE(0) & 0x0fffffff
  const find = (dirCluster: number, name: string, wantDir: boolean): { cluster: number, size: number } => {
    const want = Buffer.from(name.padEnd(11, ' '), 'latin1')
    let cluster = dirCluster
    for (let n = 0; n < MAX_DIR_CLUSTERS && cluster >= 2 && cluster < END_OF_CHAIN; n++) {
      const dir = read(clusterOffset(geometry, cluster), clusterBytes)
      for (let at = 0; at + 32 <= dir.length; at += 32) {
        const first = dir[at]
        if (first === 0x00) throw new MalformedPacketError(`ESP: no ${name} entry`, at)
        const attr = dir[at + 11] ?? 0
        if (first === 0xe5 || (attr & ATTR_LONG_NAME) === ATTR_LONG_NAME) continue
        if (!dir.subarray(at, at + 11).equals(want) || ((attr & ATTR_DIRECTORY) !== 0) !== wantDir) continue
        return { cluster: (dir.readUInt16LE(at + 20) << 16) | dir.readUInt16LE(at + 26), size: dir.readUInt32LE(at + 28) }
      }
      cluster = next(cluster)
    }
    throw new MalformedPacketError(`ESP: no ${name} entry`, 0)
  }
  const grub = find(boot.readUInt32LE(44), 'GRUB', true)
  const env = find(grub.cluster, 'GRUBENV', false)
  if (env.cluster < 2) throw new MalformedPacketError('ESP: grubenv has no cluster', 0)
  // The block is read as one run: its clusters must follow each other (the build copies it first).
  for (let c = env.cluster, left = Math.ceil(env.size / clusterBytes) - 1; left > 0; left--, c++) {
    if (next(c) !== c + 1) throw new MalformedPacketError('ESP: grubenv is not contiguous', 0)
  }
  return { offset: clusterOffset(geometry, env.cluster), size: env.size }
}
