import { CodedError } from '../lib/errors.ts'
import { lastUsableLba, SECTOR_SIZE, type GptDisk, type GptPartition } from './gpt.ts'
import { uuidV5 } from './guid.ts'

/**
 * The node image's disk layout (docs/image.md). Partition numbers, names and types are stable:
 * GRUB finds the slots as gpt3/gpt4 on the disk it was loaded from, the node finds every partition
 * by name. Every partition starts on a 4 MiB boundary after the BIOS one, so each is a whole number
 * of the manifest's 4 MiB chunks and an upgrade can verify a slot with the chunk list alone.
 *
 *   #  name             start     size     content
 *   1  BIOS             1 MiB     1 MiB    GRUB core.img (i386-pc), its blocklist patched for LBA 2048
 *   2  EFI              4 MiB    64 MiB    FAT32: EFI/BOOT/BOOTX64.EFI, grub/grub.cfg, grub/grubenv
 *   3  ANVIL-A         68 MiB   512 MiB    FAT32: vmlinuz, initramfs.img, slot.json
 *   4  ANVIL-B        580 MiB   512 MiB    zeros in the image; an upgrade writes it
 *   5  ANVIL-STATE   1092 MiB    16 MiB    raw, zeros in the image (signed config, identity: later)
 *   6  ANVIL-EPHEMERAL 1108 MiB  the rest  not in the image: the node adds it on first boot
 *      backup GPT     last 33 sectors of the 1112 MiB image (of the disk, once the node grows it)
 */

export const MiB = 1 << 20
const SECTORS_PER_MIB = MiB / SECTOR_SIZE

/** The partition type GUIDs (UEFI 2.10 §5.3.3 Table 5.7 for EFI; the others are the de-facto Linux/GRUB ones). */
export const PartitionType = {
  /** GRUB's "BIOS boot partition": core.img, found by boot.img through a blocklist. */
  biosBoot: '21686148-6449-6E6F-744E-656564454649',
  /** EFI System Partition. */
  efiSystem: 'C12A7328-F81F-11D2-BA4B-00A0C93EC93B',
  /** Linux filesystem data (slots: FAT; EPHEMERAL: ext4). systemd's gpt-auto mounts none of them. */
  linuxData: '0FC63DAF-8483-4772-8E79-3D69D8477DE4',
  /** Linux reserved: raw bytes that no tool should take for a filesystem (STATE). */
  linuxReserved: '8DA63339-0007-60C0-C436-083AC8230908'
} as const

/** The stable partition names (also the GPT partition names on disk). */
export const PartitionName = {
  bios: 'BIOS',
  efi: 'EFI',
  slotA: 'ANVIL-A',
  slotB: 'ANVIL-B',
  state: 'ANVIL-STATE',
  ephemeral: 'ANVIL-EPHEMERAL'
} as const
export type PartitionName = typeof PartitionName[keyof typeof PartitionName]

/** One partition of the image in MiB, in partition-number order. */
export const IMAGE_PARTITIONS = [
  { name: PartitionName.bios, type: PartitionType.biosBoot, startMiB: 1, sizeMiB: 1 },
  { name: PartitionName.efi, type: PartitionType.efiSystem, startMiB: 4, sizeMiB: 64 },
  { name: PartitionName.slotA, type: PartitionType.linuxData, startMiB: 68, sizeMiB: 512 },
  { name: PartitionName.slotB, type: PartitionType.linuxData, startMiB: 580, sizeMiB: 512 },
  { name: PartitionName.state, type: PartitionType.linuxReserved, startMiB: 1092, sizeMiB: 16 }
] as const

/** The image's apparent size: STATE ends at 1108 MiB, the backup table sits in the 4 MiB after it. */
export const IMAGE_SIZE_MIB = 1112
/** Where EPHEMERAL starts when the node creates it: right after STATE. */
export const EPHEMERAL_START_MIB = 1108
/** GRUB's partition names for the ESP and the two slots (the partition numbers above). */
export const GRUB_PARTITION = { efi: 'gpt2', A: 'gpt3', B: 'gpt4' } as const
/** The slots, by letter. */
export const SLOTS = { A: PartitionName.slotA, B: PartitionName.slotB } as const

/** RFC 9562's DNS namespace; the Anvil namespace is the v5 UUID of "anvil.dev" in it. */
const DNS_NAMESPACE = '6BA7B810-9DAD-11D1-80B4-00C04FD430C8'
/** The namespace every Anvil image GUID is derived in. */
export const ANVIL_NAMESPACE = uuidV5(DNS_NAMESPACE, 'anvil.dev')

/** The image's disk GUID: a v5 UUID of `<name>/<version>/disk`, so equal builds agree. */
export function diskGuid (name: string, version: string): string {
  return uuidV5(ANVIL_NAMESPACE, `${name}/${version}/disk`)
}

/** A partition's unique GUID: a v5 UUID of `<name>/<version>/partition/<partition name>`. */
export function partitionGuid (name: string, version: string, partition: PartitionName): string {
  return uuidV5(ANVIL_NAMESPACE, `${name}/${version}/partition/${partition}`)
}

/** A FAT volume id (32 bits) derived like the GUIDs, for mkfs.vfat -i. */
export function fatVolumeId (name: string, version: string, filesystem: string): string {
  return uuidV5(ANVIL_NAMESPACE, `${name}/${version}/fat/${filesystem}`).slice(0, 8)
}

/** The image's GPT: the five partitions above on a 1112 MiB disk. */
export function imageDisk (name: string, version: string): GptDisk {
  return {
    sectors: IMAGE_SIZE_MIB * SECTORS_PER_MIB,
    diskGuid: diskGuid(name, version),
    partitions: IMAGE_PARTITIONS.map((p): GptPartition => ({
      name: p.name,
      typeGuid: p.type,
      partGuid: partitionGuid(name, version, p.name),
      firstLba: p.startMiB * SECTORS_PER_MIB,
      lastLba: (p.startMiB + p.sizeMiB) * SECTORS_PER_MIB - 1
    }))
  }
}

/**
 * The table the node writes on first boot for a disk of `sectors` sectors: the image's partitions
 * unchanged plus entry 6, ANVIL-EPHEMERAL, from 1108 MiB to the last usable LBA rounded down to a
 * MiB boundary (so the backup table moves to the real end of the disk).
 */
export function diskWithEphemeral (image: GptDisk, sectors: number, name: string, version: string): GptDisk {
  const first = EPHEMERAL_START_MIB * SECTORS_PER_MIB
  const last = Math.floor((lastUsableLba(sectors) + 1) / SECTORS_PER_MIB) * SECTORS_PER_MIB - 1
  if (last - first + 1 < 64 * SECTORS_PER_MIB) {
    throw new CodedError('ERR_INVALID_ARG_VALUE', `a disk of ${sectors} sectors leaves less than 64 MiB for ${PartitionName.ephemeral}`)
  }
  const ephemeral: GptPartition = { name: PartitionName.ephemeral, typeGuid: PartitionType.linuxData, partGuid: partitionGuid(name, version, PartitionName.ephemeral), firstLba: first, lastLba: last }
  return { sectors, diskGuid: image.diskGuid, partitions: [...image.partitions, ephemeral] }
}

/** A partition's byte range in the image. */
export function partitionBytes (disk: GptDisk, partition: PartitionName): { offset: number, size: number } {
  const p = disk.partitions.find(x => x.name === partition)
  if (p === undefined) throw new CodedError('ERR_INVALID_ARG_VALUE', `no partition ${partition}`)
  return { offset: p.firstLba * SECTOR_SIZE, size: (p.lastLba - p.firstLba + 1) * SECTOR_SIZE }
}
