import type { CpuInfoInput } from '../../proto/generated/anvil/provisioning/v1/CpuInfo.ts'
import type { SysTree } from '../sysfs.ts'

// CPUs from /proc/cpuinfo (model, one block per logical CPU) and the topology files in
// /sys/devices/system/cpu/cpuN/topology (kernel Documentation/ABI/stable/sysfs-devices-system-cpu).

/** Model, sockets, physical cores and logical CPUs (threads). */
export async function readCpu (sys: SysTree): Promise<CpuInfoInput> {
  const blocks = parseCpuinfo((await sys.text('/proc/cpuinfo')) ?? '')
  const model = blocks.find((b) => b.get('model name') !== undefined)?.get('model name') ?? ''
  const packages = new Set<string>()
  const cores = new Set<string>()
  let threads = 0
  for (const cpu of await sys.list('/sys/devices/system/cpu')) {
    if (!/^cpu\d+$/.test(cpu)) continue
    const topo = `/sys/devices/system/cpu/${cpu}/topology`
    const pkg = await sys.text(`${topo}/physical_package_id`)
    const core = await sys.text(`${topo}/core_id`)
    if (pkg === undefined || core === undefined) continue // offline CPUs have no topology
    threads++
    packages.add(pkg)
    cores.add(`${pkg}/${core}`)
  }
  if (threads === 0) {
    // No sysfs topology (a trimmed tree): the same facts from cpuinfo's physical id/core id.
    for (const b of blocks) {
      const pkg = b.get('physical id') ?? '0'
      packages.add(pkg)
      cores.add(`${pkg}/${b.get('core id') ?? String(threads)}`)
      threads++
    }
  }
  return { model, sockets: packages.size, cores: cores.size, threads }
}

/** /proc/cpuinfo as one key→value map per processor block. */
export function parseCpuinfo (text: string): Array<Map<string, string>> {
  return text.split(/\n\s*\n/).filter((b) => b.trim() !== '').map((block) => {
    const m = new Map<string, string>()
    for (const line of block.split('\n')) {
      const i = line.indexOf(':')
      if (i > 0) m.set(line.slice(0, i).trim(), line.slice(i + 1).trim())
    }
    return m
  }).filter((m) => m.has('processor'))
}

/** MemTotal from /proc/meminfo, in bytes (the file says kB, meaning KiB). */
export async function readMemTotal (sys: SysTree): Promise<number> {
  const text = (await sys.text('/proc/meminfo')) ?? ''
  const m = /^MemTotal:\s+(\d+)\s*kB/m.exec(text)
  return m?.[1] === undefined ? 0 : Number(m[1]) * 1024
}
