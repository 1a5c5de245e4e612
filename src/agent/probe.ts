// Pure partition-table and signature probe over a read function (like blkid's low-level probe,
// for the signatures that decide whether a disk is "in use"). No fs here: the caller passes
// `read(offset, length)` over a device, a file or a test buffer; short reads mean "past the end".

/** Reads up to `length` bytes at `offset`; fewer (or none) past the end of the device. */
export type ReadAt = (offset: number, length: number) => Promise<Buffer>

/** What a device holds: its partition table kind and the signatures found on the device itself. */
export type ProbeResult = { partitionTable: '' | 'gpt' | 'dos', signatures: string[] }

const KIB = 1024
/** Linux MD superblock magic, stored little-endian on x86 for 0.90 and always for 1.x (md_p.h). */
const MD_MAGIC = 0xa92b4efc

/** Probes the partition table and every signature this module knows; `size` is the device size in bytes. */
export async function probeDevice (read: ReadAt, size: number): Promise<ProbeResult> {
  const head = await read(0, 128 * KIB)
  const signatures: string[] = []
  const fs = fsSignature(head)
  if (fs !== undefined) signatures.push(fs)
  if (hasLvm(head)) signatures.push('LVM2_member')
  if (hasSwap(head)) signatures.push('swap')
  if (await hasMd(read, head, size)) signatures.push('linux_raid_member')
  const partitionTable = tableKind(head, fs)
  return { partitionTable, signatures }
}

/**
 * GPT: "EFI PART" header at LBA 1 (UEFI 2.10 §5.3.2), LBA size 512 or 4096. MBR: 55AAh at 510
 * (UEFI §5.2.1) and not a FAT boot sector (which carries the same marker).
 */
function tableKind (head: Buffer, fs: string | undefined): ProbeResult['partitionTable'] {
  if (ascii(head, 512, 8) === 'EFI PART' || ascii(head, 4096, 8) === 'EFI PART') return 'gpt'
  if (head.length >= 512 && head.readUInt16LE(510) === 0xaa55 && fs !== 'vfat' && fs !== 'iso9660') {
    // A protective MBR (type EEh) without a GPT header is still a partition table worth wiping.
    return 'dos'
  }
  return ''
}

/** The filesystem whose superblock sits at the start of the device, if any. */
function fsSignature (head: Buffer): string | undefined {
  // ext2/3/4: superblock at 1024, s_magic EF53h at +38h (ext4 disk layout, "The Super Block").
  if (head.length >= 1024 + 0x68 && head.readUInt16LE(1024 + 0x38) === 0xef53) return extKind(head)
  if (ascii(head, 0, 4) === 'XFSB') return 'xfs' // XFS sb_magicnum at offset 0
  if (ascii(head, 65536 + 0x40, 8) === '_BHRfS_M') return 'btrfs' // btrfs superblock at 64 KiB, magic at +40h
  if (ascii(head, 32769, 5) === 'CD001') return 'iso9660' // ECMA-119 §8.1: volume descriptor at sector 16
  if (isFat(head)) return 'vfat'
  return undefined
}

/** ext2/3/4 by feature flags: a journal makes ext3; extents, 64bit or flex_bg make ext4. */
function extKind (head: Buffer): string {
  const compat = head.readUInt32LE(1024 + 0x5c)
  const incompat = head.readUInt32LE(1024 + 0x60)
  if ((incompat & (0x40 | 0x80 | 0x200)) !== 0) return 'ext4'
  return (compat & 0x4) !== 0 ? 'ext3' : 'ext2'
}

/** FAT boot sector: a jump (EBh/E9h), 55AAh, and "FAT" in the BPB's file-system type (Microsoft FAT spec §3.2, §3.3). */
function isFat (head: Buffer): boolean {
  if (head.length < 512 || head.readUInt16LE(510) !== 0xaa55) return false
  if (head[0] !== 0xeb && head[0] !== 0xe9) return false
  return ascii(head, 54, 3) === 'FAT' || ascii(head, 82, 3) === 'FAT'
}

/** LVM2 physical volume label: "LABELONE" in one of the first four sectors, type "LVM2 001" at +18h. */
function hasLvm (head: Buffer): boolean {
  for (let s = 0; s < 4; s++) {
    if (ascii(head, s * 512, 8) === 'LABELONE' && ascii(head, s * 512 + 0x18, 8) === 'LVM2 001') return true
  }
  return false
}

/** Linux swap: "SWAPSPACE2" (or the old "SWAP-SPACE") in the last 10 bytes of the first page. */
function hasSwap (head: Buffer): boolean {
  for (const page of [4096, 8192, 16384, 65536]) {
    const sig = ascii(head, page - 10, 10)
    if (sig === 'SWAPSPACE2' || sig === 'SWAP-SPACE') return true
  }
  return false
}

/** MD superblock offsets for a device of `size` bytes (the wipe zeroes these same places). */
export function mdSuperblockOffsets (size: number): { v090: number, v10: number, v11: number, v12: number } {
  // md_p.h MD_NEW_SIZE_SECTORS: 0.90 sits in the last 64 KiB-aligned 64 KiB block.
  const v090 = Math.floor(size / (64 * KIB)) * 64 * KIB - 64 * KIB
  // md/md.c super_1_load: 1.0 at (sectors - 16) rounded down to 4 KiB (8 sectors).
  const v10 = Math.floor((Math.floor(size / 512) - 16) / 8) * 8 * 512
  return { v090, v10, v11: 0, v12: 4 * KIB }
}

async function hasMd (read: ReadAt, head: Buffer, size: number): Promise<boolean> {
  const at = mdSuperblockOffsets(size)
  if (u32le(head, at.v11) === MD_MAGIC || u32le(head, at.v12) === MD_MAGIC) return true
  for (const off of [at.v090, at.v10]) {
    if (off < 0) continue
    if (u32le(await read(off, 4), 0) === MD_MAGIC) return true
  }
  return false
}

function u32le (buf: Buffer, off: number): number | undefined {
  return off + 4 <= buf.length ? buf.readUInt32LE(off) : undefined
}

function ascii (buf: Buffer, off: number, n: number): string {
  return off + n <= buf.length ? buf.toString('latin1', off, off + n) : ''
}
