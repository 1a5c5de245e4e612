import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { SysTree } from './sysfs.ts'

// Two facts for the Hello: the disk the environment runs from (never wiped) and the MAC it
// reached the network on when the command line has no BOOTIF.

/** The disk holding the root filesystem, if / is on a disk (in an initramfs it is not: rootfs). */
export async function bootDiskOf (sys: SysTree, disks: readonly DiskInput[]): Promise<string | undefined> {
  for (const line of ((await sys.text('/proc/mounts')) ?? '').split('\n')) {
    const [source, target] = line.split(' ')
    if (target !== '/' || source?.startsWith('/dev/') !== true) continue
    const dev = source.slice('/dev/'.length)
    const disk = disks.find((d) => d.name === dev || (d.name !== undefined && dev.startsWith(d.name) && /^p?\d+$/.test(dev.slice(d.name.length))))
    if (disk?.name !== undefined) return disk.name
  }
  return undefined
}

/** The MAC of the interface holding the default route (/proc/net/route destination 00000000), or ''. */
export async function bootMacOf (sys: SysTree): Promise<string> {
  for (const line of ((await sys.text('/proc/net/route')) ?? '').split('\n').slice(1)) {
    const [iface, destination] = line.split('\t')
    if (iface !== undefined && destination === '00000000') {
      return ((await sys.text(`/sys/class/net/${iface}/address`)) ?? '').toLowerCase()
    }
  }
  return ''
}
