import { release } from 'node:os'
import type { HardwareReportInput } from '../../proto/generated/anvil/provisioning/v1/HardwareReport.ts'
import { decodeSmbios, type SmbiosInfo } from '../smbios.ts'
import { SysTree } from '../sysfs.ts'
import { readBmc, type ReadBmcOptions } from './bmc.ts'
import { readCpu, readMemTotal } from './cpu.ts'
import { readDisks } from './disks.ts'
import { readNics } from './nics.ts'
import { readPci } from './pci.ts'

/** The hardware report of the machine whose /proc, /sys and /dev are under `root`; `bmc` says how the BMC is asked. */
export async function collectHardware (root = '/', options: { bmc?: ReadBmcOptions } = {}): Promise<HardwareReportInput> {
  const sys = new SysTree(root)
  const smbios = await readSmbios(sys)
  const [cpu, totalBytes, disks, nics, pci, bmc] = await Promise.all([
    readCpu(sys), readMemTotal(sys), readDisks(sys), readNics(sys), readPci(sys), readBmc(sys, options.bmc)
  ])
  if ((cpu.sockets ?? 0) === 0 && smbios !== undefined) {
    cpu.sockets = smbios.processors.filter((p) => p.populated).length
  }
  const report: HardwareReportInput = {
    cpu,
    memory: {
      totalBytes,
      dimms: (smbios?.memoryDevices ?? []).map((d) => ({
        locator: d.locator, sizeBytes: d.sizeBytes, speedMts: d.speedMts, type: d.type, manufacturer: d.manufacturer, serial: d.serial
      }))
    },
    disks,
    nics,
    pci,
    kernel: root === '/' ? release() : ((await sys.text('/proc/sys/kernel/osrelease')) ?? '')
  }
  if (smbios?.system !== undefined) {
    const { uuid, serial, manufacturer, product, sku, family, version } = smbios.system
    report.system = { uuid, serial, manufacturer, product, sku, family, version }
  }
  if (smbios?.baseboard !== undefined) {
    const { manufacturer, product, serial, version } = smbios.baseboard
    report.baseboard = { manufacturer, product, serial, version }
  }
  if (smbios?.bios !== undefined) report.bios = { ...smbios.bios }
  if (smbios?.chassis !== undefined) {
    const { manufacturer, type, serial, assetTag } = smbios.chassis
    report.chassis = { manufacturer, type, serial, assetTag }
  }
  if (bmc !== undefined) report.bmc = bmc
  return report
}

/**
 * The SMBIOS tables, or undefined when the firmware gave none (or they are malformed: a bad
 * table must not keep the agent from reporting the rest of the machine).
 */
export async function readSmbios (sys: SysTree): Promise<SmbiosInfo | undefined> {
  const ep = await sys.bytes('/sys/firmware/dmi/tables/smbios_entry_point')
  const table = await sys.bytes('/sys/firmware/dmi/tables/DMI')
  if (ep === undefined || table === undefined) return undefined
  try {
    return decodeSmbios(ep, table)
  } catch {
    return undefined
  }
}
