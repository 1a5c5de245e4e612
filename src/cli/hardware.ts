import type { HardwareView } from '../http/api-types.ts'
import { humanBytes } from '../provisioning/hardware-summary.ts'

/** The readable hardware summary of `anvil machines show`: one field per line, a line per disk and NIC. */
export function hardwareFields (view: HardwareView): (readonly [string, unknown])[] {
  const h = view.hardware
  const fields: (readonly [string, unknown])[] = [['hardware reported', view.reportedAt]]
  if (h.system !== null) fields.push(['system', [h.system.manufacturer, h.system.product, h.system.version].filter(Boolean).join(' ') || null])
  if (h.baseboard !== null) fields.push(['baseboard', [h.baseboard.manufacturer, h.baseboard.product, h.baseboard.serial && `serial ${h.baseboard.serial}`].filter(Boolean).join(' ') || null])
  if (h.bios !== null) fields.push(['bios', [h.bios.vendor, h.bios.version, h.bios.date].filter(Boolean).join(' ') || null])
  if (h.chassis !== null) fields.push(['chassis', [h.chassis.type, h.chassis.serial && `serial ${h.chassis.serial}`].filter(Boolean).join(', ') || null])
  if (h.cpu !== null) fields.push(['cpu', `${h.cpu.model} (${h.cpu.sockets} socket${h.cpu.sockets === 1 ? '' : 's'}, ${h.cpu.cores} cores, ${h.cpu.threads} threads)`])
  if (h.memory !== null) {
    const dimms = h.memory.dimms.map(d => `${d.locator} ${humanBytes(d.sizeBytes)}${d.type === '' ? '' : ` ${d.type}`}${d.speedMts > 0 ? ` ${d.speedMts} MT/s` : ''}`)
    fields.push(['memory', `${humanBytes(h.memory.totalBytes)}${dimms.length > 0 ? ` (${dimms.join(', ')})` : ''}`])
  }
  for (const d of h.disks) {
    const facts = [humanBytes(d.sizeBytes), d.transport, d.model, d.serial && `serial ${d.serial}`, d.wwn && `wwn ${d.wwn}`, d.rotational ? 'rotational' : 'ssd', d.partitionTable && `${d.partitionTable} partitions`, d.signatures.length > 0 && `signatures: ${d.signatures.join(', ')}`]
    fields.push([`disk ${d.name}`, facts.filter(Boolean).join(', ')])
  }
  for (const n of h.nics) {
    fields.push([`nic ${n.name}`, [n.mac, n.driver, n.link ? (n.speedMbps > 0 ? `${n.speedMbps} Mb/s` : 'link up') : 'no link', n.pciAddress].filter(Boolean).join(', ')])
  }
  if (h.pci.length > 0) fields.push(['pci devices', h.pci.length])
  if (h.bmc !== null) fields.push(['bmc (in band)', [h.bmc.ip, h.bmc.mac, h.bmc.ipSource].filter(Boolean).join(', ') || 'present'])
  return fields
}
