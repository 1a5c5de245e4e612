import type { HardwareReport } from './agent-gateway.ts'

/** Bytes as a short human figure in binary units (what `lsblk` and `free -h` print). */
export function humanBytes (n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB']
  let v = n
  let i = 0
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++ }
  return `${Number.isInteger(v) ? v : v.toFixed(1)} ${units[i] as string}`
}

/** One line: "2 CPUs (QEMU Virtual CPU), 512 MiB, disks vda 64 MiB, nvme0n1 1 GiB; NICs eth0 52:54:00:..". */
export function summarizeHardware (r: HardwareReport): string {
  const cpu = r.cpu === null ? 'CPU unknown' : `${r.cpu.threads} CPU${r.cpu.threads === 1 ? '' : 's'} (${r.cpu.model || 'unknown model'})`
  const mem = r.memory === null ? 'memory unknown' : humanBytes(r.memory.totalBytes)
  const disks = r.disks.length === 0 ? 'no disks' : `disks ${r.disks.map(d => `${d.name} ${humanBytes(d.sizeBytes)}${d.serial === '' ? '' : ` (${d.serial})`}`).join(', ')}`
  const nics = r.nics.length === 0 ? 'no NICs' : `NICs ${r.nics.map(n => `${n.name} ${n.mac}`).join(', ')}`
  return `${cpu}, ${mem}, ${disks}; ${nics}`
}
