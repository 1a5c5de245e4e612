import type { DiskInput } from '../../../proto/generated/anvil/node/v1/Disk.ts'
import type { PartitionInput } from '../../../proto/generated/anvil/node/v1/Partition.ts'
import { SysTree } from '../../../agent/sysfs.ts'
import type { NodeRoots } from './roots.ts'

// Disks from /sys/block (kernel Documentation/ABI/stable/sysfs-block), their partitions from the
// subdirectories that hold a `partition` file (the same directories /sys/class/block links to),
// and each partition's GPT name from its uevent's PARTNAME (block/partitions/core.c part_uevent).
// Sizes are in 512-byte sectors whatever the logical block size (include/linux/types.h).
// Unlike the discovery agent's reader (src/agent/inventory/disks.ts) nothing here opens /dev:
// the node API reports what the kernel knows, it does not probe devices that are in use.

/** Kernel block devices that are not disks, as the agent skips them: loop, RAM disks, zram, device-mapper, MD. */
const NOT_DISKS = /^(loop|ram|zram|dm-|md)\d/

/** The Disks RPC's answer, read now. */
export async function readDisks (roots: Pick<NodeRoots, 'sys'>): Promise<DiskInput[]> {
  const sys = new SysTree(roots.sys)
  const disks: DiskInput[] = []
  for (const name of await sys.list('/block')) {
    if (!NOT_DISKS.test(name)) disks.push(await readDisk(sys, name))
  }
  return disks
}

async function readDisk (sys: SysTree, name: string): Promise<DiskInput> {
  const base = `/block/${name}`
  const wwid = (await sys.text(`${base}/wwid`)) ?? (await sys.text(`${base}/device/wwid`)) ?? ''
  const partitions: PartitionInput[] = []
  for (const entry of await sys.list(base)) {
    const number = entry.startsWith(name) ? await sys.int(`${base}/${entry}/partition`) : undefined
    if (number === undefined) continue
    partitions.push({
      number,
      name: partName(await sys.text(`${base}/${entry}/uevent`)),
      device: entry,
      sizeBytes: ((await sys.int(`${base}/${entry}/size`)) ?? 0) * 512
    })
  }
  partitions.sort((a, b) => (a.number ?? 0) - (b.number ?? 0))
  return {
    name,
    sizeBytes: ((await sys.int(`${base}/size`)) ?? 0) * 512,
    model: (await sys.text(`${base}/device/model`)) ?? '',
    // virtio-blk has `serial` on the disk, SCSI, SATA and NVMe on the device.
    serial: (await sys.text(`${base}/serial`)) ?? (await sys.text(`${base}/device/serial`)) ?? '',
    // "t10.ATA  MODEL  SERIAL" is vendor, model and serial spelt out, not a world-wide name.
    wwn: wwid.startsWith('t10.') ? '' : wwid,
    rotational: (await sys.text(`${base}/queue/rotational`)) === '1',
    readOnly: (await sys.text(`${base}/ro`)) === '1',
    partitions
  }
}

/** PARTNAME from a uevent file ("MAJOR=252\nMINOR=3\nDEVNAME=vda3\nDEVTYPE=partition\nPARTN=3\nPARTNAME=ANVIL-A"), "" without one. */
export function partName (uevent: string | undefined): string {
  for (const line of (uevent ?? '').split('\n')) {
    if (line.startsWith('PARTNAME=')) return line.slice('PARTNAME='.length).trim()
  }
  return ''
}
