import { posix } from 'node:path'
import type { NicInput } from '../../proto/generated/anvil/provisioning/v1/Nic.ts'
import type { SysTree } from '../sysfs.ts'

// NICs from /sys/class/net (kernel Documentation/ABI/testing/sysfs-class-net).

const PCI_ADDRESS = /^[0-9a-f]{4}:[0-9a-f]{2}:[0-9a-f]{2}\.[0-7]$/

/** Every network interface but loopback: MAC, driver, speed, link and PCI address. */
export async function readNics (sys: SysTree): Promise<NicInput[]> {
  const nics: NicInput[] = []
  for (const name of await sys.list('/sys/class/net')) {
    if (name === 'lo') continue
    const base = `/sys/class/net/${name}`
    const device = await sys.link(`${base}/device`)
    const driver = await sys.link(`${base}/device/driver`)
    // speed reads EINVAL while the link is down, and -1 when the driver does not know (virtio).
    const speed = (await sys.int(`${base}/speed`)) ?? 0
    nics.push({
      name,
      mac: ((await sys.text(`${base}/address`)) ?? '').toLowerCase(),
      driver: driver === undefined ? '' : posix.basename(driver),
      speedMbps: speed > 0 ? speed : 0,
      link: (await sys.text(`${base}/carrier`)) === '1',
      pciAddress: device === undefined ? '' : pciAddressOf(device)
    })
  }
  return nics
}

/** The nearest PCI function in a device path: virtio NICs sit one level below theirs (…/0000:00:04.0/virtio1). */
export function pciAddressOf (devicePath: string): string {
  const parts = devicePath.split('/')
  for (let i = parts.length - 1; i >= 0; i--) {
    const p = parts[i] ?? ''
    if (PCI_ADDRESS.test(p)) return p
  }
  return ''
}
