import { open } from 'node:fs/promises'
import type { DiskInput } from '../../proto/generated/anvil/provisioning/v1/Disk.ts'
import { probeDevice, type ReadAt } from '../probe.ts'
import type { SysTree } from '../sysfs.ts'

// Disks from /sys/block (kernel Documentation/ABI/stable/sysfs-block) plus a probe of each
// device node for partition tables and signatures. Sizes in sysfs are in 512-byte sectors
// whatever the logical block size (include/linux/types.h: sector_t is 512 bytes).

/** Kernel block devices that are not disks: loop, RAM disks, zram, device-mapper, MD arrays. */
const NOT_DISKS = /^(loop|ram|zram|dm-|md)\d/

/** Every disk in /sys/block with its identity and what it holds. */
export async function readDisks (sys: SysTree): Promise<DiskInput[]> {
  const disks: DiskInput[] = []
  for (const name of await sys.list('/sys/block')) {
    if (NOT_DISKS.test(name)) continue
    disks.push(await readDisk(sys, name))
  }
  return disks
}

/** One disk of /sys/block by name, read now (the install re-reads its target with it). */
export async function readDisk (sys: SysTree, name: string): Promise<DiskInput> {
  const base = `/sys/block/${name}`
  const devicePath = (await sys.link(base)) ?? ''
  const transport = transportOf(devicePath)
  const sizeBytes = ((await sys.int(`${base}/size`)) ?? 0) * 512
  const model = (await sys.text(`${base}/device/model`)) ?? ''
  const serial = await serialOf(sys, base, transport)
  const wwid = (await sys.text(`${base}/wwid`)) ?? (await sys.text(`${base}/device/wwid`)) ?? ''
  // "t10.ATA  MODEL  SERIAL" is vendor+model+serial spelt out, not a world-wide name.
  const wwn = wwid.startsWith('t10.') ? '' : wwid
  const probe = await probeNode(sys, name, sizeBytes)
  const signatures = [...probe.signatures]
  for (const part of await partitionsOf(sys, name)) {
    const partSize = ((await sys.int(`${base}/${part}/size`)) ?? 0) * 512
    for (const sig of (await probeNode(sys, part, partSize)).signatures) signatures.push(`${sig} on ${part}`)
  }
  return {
    name,
    sizeBytes,
    model,
    serial,
    wwn,
    rotational: (await sys.text(`${base}/queue/rotational`)) === '1',
    removable: (await sys.text(`${base}/removable`)) === '1',
    transport,
    byId: byIdNames(transport, model, serial, wwn),
    partitionTable: probe.partitionTable,
    signatures,
    readOnly: (await sys.text(`${base}/ro`)) === '1',
    logicalBlockSize: (await sys.int(`${base}/queue/logical_block_size`)) ?? 512,
    discard: ((await sys.int(`${base}/queue/discard_max_bytes`)) ?? 0) > 0
  }
}

/** The partitions of a disk: the subdirectories of /sys/block/NAME that hold a `partition` file. */
export async function partitionsOf (sys: SysTree, name: string): Promise<string[]> {
  const out: string[] = []
  for (const entry of await sys.list(`/sys/block/${name}`)) {
    if (entry.startsWith(name) && await sys.exists(`/sys/block/${name}/${entry}/partition`)) out.push(entry)
  }
  return out
}

/** The bus a disk hangs off, read from its sysfs device path (what udev's path_id does too). */
export function transportOf (devicePath: string): string {
  if (/\/usb\d+\//.test(devicePath)) return 'usb'
  if (devicePath.includes('/nvme/')) return 'nvme'
  if (/\/virtio\d+\//.test(devicePath)) return 'virtio'
  if (/\/ata\d+\//.test(devicePath)) return 'sata'
  if (/\/(end_device-|port-)\d/.test(devicePath)) return 'sas'
  if (/\/host\d+\//.test(devicePath)) return 'scsi'
  if (devicePath.includes('/mmc')) return 'mmc'
  return ''
}

async function serialOf (sys: SysTree, base: string, transport: string): Promise<string> {
  if (transport === 'virtio') return (await sys.text(`${base}/serial`)) ?? ''
  const direct = await sys.text(`${base}/device/serial`)
  if (direct !== undefined && direct !== '') return direct
  // SPC-4 §7.8.16 Unit Serial Number VPD page (80h): 4-byte header, length at byte 3, then ASCII.
  const vpd = await sys.bytes(`${base}/device/vpd_pg80`)
  if (vpd === undefined || vpd.length < 4) return ''
  return vpd.toString('latin1', 4, Math.min(vpd.length, 4 + (vpd[3] as number))).trim()
}

/**
 * The /dev/disk/by-id names udev would make (systemd 60-persistent-storage.rules): ID_SERIAL is
 * MODEL_SERIAL with blanks as underscores; virtio-blk has no model, so its name is the serial.
 */
export function byIdNames (transport: string, model: string, serial: string, wwn: string): string[] {
  const clean = (s: string): string => s.trim().replace(/\s+/g, '_')
  const idSerial = model === '' ? clean(serial) : `${clean(model)}_${clean(serial)}`
  const names: string[] = []
  if (serial === '') return names
  switch (transport) {
    case 'virtio': names.push(`virtio-${clean(serial)}`); break
    case 'nvme': names.push(`nvme-${idSerial}`); if (wwn !== '') names.push(`nvme-${wwn}`); break
    case 'sata': names.push(`ata-${idSerial}`); break
    case 'usb': names.push(`usb-${idSerial}`); break
    default: names.push(`scsi-${idSerial}`)
  }
  if (transport !== 'nvme' && /^(naa|eui)\./.test(wwn)) names.push(`wwn-0x${wwn.slice(4)}`)
  return names
}

/** Probes /dev/NAME; a node that cannot be opened (no devtmpfs, no permission) reports nothing. */
async function probeNode (sys: SysTree, name: string, size: number): Promise<Awaited<ReturnType<typeof probeDevice>>> {
  let handle
  try {
    handle = await open(sys.path(`/dev/${name}`), 'r')
  } catch {
    return { partitionTable: '', signatures: [] }
  }
  try {
    const read: ReadAt = async (offset, length) => {
      const buf = Buffer.alloc(length)
      const { bytesRead } = await handle.read(buf, 0, length, offset)
      return buf.subarray(0, bytesRead)
    }
    return await probeDevice(read, size)
  } finally {
    await handle.close()
  }
}
