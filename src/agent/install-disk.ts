import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { InstallTask } from '../proto/generated/anvil/provisioning/v1/InstallTask.ts'
import { CodedError } from '../lib/errors.ts'
import { readDisk } from './inventory/disks.ts'
import type { SysTree } from './sysfs.ts'
import { busyDisks, isPartitionOf } from './wipe.ts'

// Step c of the install: the disk the server planned for must be the disk that is here now.
// The server chose it from the hardware report of this boot; between then and now a disk can be
// pulled, swapped, or renamed by the kernel (sdX order is not stable), so the live disk is read
// again from sysfs and compared by serial, WWN and size. Nothing is written before this passes.

/** The target as it is now: its name, its device node and its size in bytes. */
export type InstallTarget = { readonly name: string, readonly devicePath: string, readonly sizeBytes: number }

/**
 * Checks the task's disk against the hardware report and the live sysfs under `sys`; throws
 * ERR_INSTALL_DISK_CHANGED (gone, another serial/WWN/size), ERR_INSTALL_DISK_NONE (the boot disk,
 * read-only or in use: not a disk an install may take) or ERR_INSTALL_DISK_TOO_SMALL.
 */
export async function checkInstallDisk (task: InstallTask, reported: readonly DiskInput[], options: { sys: SysTree, bootDisk?: string | undefined, minBytes: number, log?: (line: string) => void }): Promise<InstallTarget> {
  const { sys } = options
  const name = task.disk
  const changed = (why: string): CodedError => new CodedError('ERR_INSTALL_DISK_CHANGED', `disk ${name}: ${why}`, { disk: name })
  if (!/^[A-Za-z0-9._-]{1,64}$/.test(name)) throw changed('not a disk name')
  if (reported.find((d) => d.name === name) === undefined) throw changed('not in the hardware report of this boot')
  if (!(await sys.exists(`/dev/${name}`))) throw changed(`/dev/${name} is gone`)
  let live: DiskInput | undefined
  if (await sys.exists(`/sys/block/${name}`)) {
    live = await readDisk(sys, name)
  } else if ((await sys.list('/sys/block')).length > 0) {
    throw changed(`/sys/block/${name} is gone: the disk vanished`)
  } else {
    // No sysfs at all (not the boot environment): the report of this boot is all there is.
    options.log?.(`install: no /sys/block; disk ${name} checked against the hardware report only`)
    live = reported.find((d) => d.name === name)
  }
  const serial = live?.serial ?? ''
  const wwn = live?.wwn ?? ''
  const size = Number(live?.sizeBytes ?? 0)
  if (serial !== task.diskSerial) throw changed(`serial is "${serial}", the install was planned for "${task.diskSerial}"`)
  if (wwn !== task.diskWwn) throw changed(`WWN is "${wwn}", the install was planned for "${task.diskWwn}"`)
  if (size !== Number(task.diskSizeBytes)) throw changed(`size is ${size} bytes, the install was planned for ${Number(task.diskSizeBytes)}`)
  const none = (why: string): CodedError => new CodedError('ERR_INSTALL_DISK_NONE', `disk ${name}: ${why}: not a disk an install may use`, { disk: name })
  if (name === options.bootDisk) throw none('the boot environment was loaded from it')
  if (live?.readOnly === true) throw none('it is read-only')
  for (const [dev, why] of await busyDisks(sys)) {
    if (dev === name || isPartitionOf(dev, name)) throw none(`${dev} is ${why}`)
  }
  if (size < options.minBytes) {
    throw new CodedError('ERR_INSTALL_DISK_TOO_SMALL', `disk ${name} holds ${size} bytes; the image needs at least ${options.minBytes}`, { disk: name, sizeBytes: size, minBytes: options.minBytes })
  }
  return { name, devicePath: sys.path(`/dev/${name}`), sizeBytes: size }
}
