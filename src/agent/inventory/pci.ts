import { posix } from 'node:path'
import type { PciDeviceInput } from '../../proto/generated/anvil/provisioning/v1/PciDevice.ts'
import type { SysTree } from '../sysfs.ts'

// PCI functions from /sys/bus/pci/devices (kernel Documentation/ABI/testing/sysfs-bus-pci).

/** Every PCI function: address, vendor/device IDs, 24-bit class code and bound driver. */
export async function readPci (sys: SysTree): Promise<PciDeviceInput[]> {
  const out: PciDeviceInput[] = []
  for (const address of await sys.list('/sys/bus/pci/devices')) {
    const base = `/sys/bus/pci/devices/${address}`
    const driver = await sys.link(`${base}/driver`)
    out.push({
      address,
      vendorId: (await sys.int(`${base}/vendor`)) ?? 0,
      deviceId: (await sys.int(`${base}/device`)) ?? 0,
      classCode: (await sys.int(`${base}/class`)) ?? 0,
      driver: driver === undefined ? '' : posix.basename(driver)
    })
  }
  return out
}
