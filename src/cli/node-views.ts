import { humanBytes } from '../provisioning/hardware-summary.ts'
import type { VersionReply } from '../proto/generated/anvil/node/v1/VersionReply.ts'
import type { ServicesReply } from '../proto/generated/anvil/node/v1/ServicesReply.ts'
import type { Service } from '../proto/generated/anvil/node/v1/Service.ts'
import type { MemoryReply } from '../proto/generated/anvil/node/v1/MemoryReply.ts'
import type { DisksReply } from '../proto/generated/anvil/node/v1/DisksReply.ts'
import type { Disk } from '../proto/generated/anvil/node/v1/Disk.ts'
import type { MountsReply } from '../proto/generated/anvil/node/v1/MountsReply.ts'
import type { Mount } from '../proto/generated/anvil/node/v1/Mount.ts'
import type { ProcessesReply } from '../proto/generated/anvil/node/v1/ProcessesReply.ts'
import type { Process } from '../proto/generated/anvil/node/v1/Process.ts'
import type { OperationsReply } from '../proto/generated/anvil/node/v1/OperationsReply.ts'
import type { OperationReply } from '../proto/generated/anvil/node/v1/OperationReply.ts'
import type { Operation } from '../proto/generated/anvil/node/v1/Operation.ts'
import type { LogLine } from '../proto/generated/anvil/node/v1/LogLine.ts'
import { renderTable, type Column } from './output.ts'
import type { NodeOutcome } from './node-fanout.ts'

/** How a unary verb's reply becomes table rows (JSON and YAML print the reply as it came). */
export type TableView<R, Row> = { readonly rows: (reply: R) => readonly Row[], readonly columns: readonly Column<Row>[] }

/** 3d4h, 5h12m, 7m30s, 42s: an uptime at a glance. */
export function shortDuration (seconds: number): string {
  const s = Math.max(0, Math.floor(seconds))
  const d = Math.floor(s / 86_400)
  const h = Math.floor((s % 86_400) / 3600)
  const m = Math.floor((s % 3600) / 60)
  if (d > 0) return `${d}d${h}h`
  if (h > 0) return `${h}h${m}m`
  if (m > 0) return `${m}m${s % 60}s`
  return `${s}s`
}

const bytes = (n: number): string => humanBytes(n)
const since = (ms: number, now: number): string | null => ms === 0 ? null : shortDuration((now - ms) / 1000)

export const VERSION_VIEW: TableView<VersionReply, VersionReply> = {
  rows: r => [r],
  columns: [
    { header: 'MACHINE', get: v => v.machineId },
    { header: 'HOSTNAME', get: v => v.hostname },
    { header: 'IMAGE', get: v => v.imageName === '' ? null : `${v.imageName}:${v.imageVersion}` },
    { header: 'SLOT', get: v => v.slot },
    { header: 'CONFIG', get: v => v.configGeneration },
    { header: 'KERNEL', get: v => v.kernel },
    { header: 'NODE.JS', get: v => v.nodeJs },
    { header: 'ARCH', get: v => v.arch },
    { header: 'UPTIME', get: v => shortDuration(v.uptimeSeconds) }
  ]
}

export const servicesView = (now: number): TableView<ServicesReply, Service> => ({
  rows: r => r.services,
  columns: [
    { header: 'SERVICE', get: s => s.id },
    { header: 'STATE', get: s => s.state },
    { header: 'HEALTH', get: s => s.health },
    { header: 'PID', get: s => s.pid === 0 ? null : s.pid },
    { header: 'RESTARTS', get: s => s.restarts },
    { header: 'UPTIME', get: s => since(s.startedAtMs, now) },
    { header: 'LAST EXIT', get: s => s.lastExit }
  ]
})

export const MEMORY_VIEW: TableView<MemoryReply, MemoryReply> = {
  rows: r => [r],
  columns: [
    { header: 'TOTAL', get: m => bytes(m.totalBytes) },
    { header: 'USED', get: m => bytes(Math.max(0, m.totalBytes - m.availableBytes)) },
    { header: 'AVAILABLE', get: m => bytes(m.availableBytes) },
    { header: 'FREE', get: m => bytes(m.freeBytes) },
    { header: 'BUFFERS', get: m => bytes(m.buffersBytes) },
    { header: 'CACHED', get: m => bytes(m.cachedBytes) },
    { header: 'SWAP', get: m => m.swapTotalBytes === 0 ? null : `${bytes(m.swapTotalBytes - m.swapFreeBytes)} of ${bytes(m.swapTotalBytes)}` }
  ]
}

export const DISKS_VIEW: TableView<DisksReply, Disk> = {
  rows: r => r.disks,
  columns: [
    { header: 'DISK', get: d => d.name },
    { header: 'SIZE', get: d => bytes(d.sizeBytes) },
    { header: 'MODEL', get: d => d.model },
    { header: 'SERIAL', get: d => d.serial },
    { header: 'WWN', get: d => d.wwn },
    { header: 'TYPE', get: d => d.rotational ? 'hdd' : 'ssd' },
    { header: 'RO', get: d => d.readOnly ? 'yes' : null },
    { header: 'PARTITIONS', get: d => d.partitions.map(p => p.name === '' ? p.device : `${p.name}(${p.device})`) }
  ]
}

export const MOUNTS_VIEW: TableView<MountsReply, Mount> = {
  rows: r => r.mounts,
  columns: [
    { header: 'SOURCE', get: m => m.source },
    { header: 'TARGET', get: m => m.target },
    { header: 'TYPE', get: m => m.fstype },
    { header: 'SIZE', get: m => m.sizeBytes === 0 ? null : bytes(m.sizeBytes) },
    { header: 'AVAILABLE', get: m => m.sizeBytes === 0 ? null : bytes(m.availableBytes) },
    { header: 'OPTIONS', get: m => m.options }
  ]
}

export const PROCESSES_VIEW: TableView<ProcessesReply, Process> = {
  rows: r => r.processes,
  columns: [
    { header: 'PID', get: p => p.pid },
    { header: 'PPID', get: p => p.ppid },
    { header: 'STATE', get: p => p.state },
    { header: 'THREADS', get: p => p.threads },
    { header: 'RSS', get: p => bytes(p.rssBytes) },
    { header: 'CPU', get: p => `${p.cpuSeconds.toFixed(2)}s` },
    { header: 'COMMAND', get: p => p.args.length === 0 ? `[${p.command}]` : p.args.join(' ') }
  ]
}

export const OPERATION_VIEW: TableView<OperationReply, Operation> = {
  rows: r => r.operation === null ? [] : [r.operation],
  columns: [
    { header: 'OPERATION', get: o => o.id },
    { header: 'KIND', get: o => o.kind },
    { header: 'STATE', get: o => o.state },
    { header: 'PHASE', get: o => o.phase },
    { header: 'ERROR', get: o => o.error }
  ]
}

/** A node's operations (Operations), or one (GetOperation), with slots and versions. */
export const OPERATIONS_VIEW: TableView<OperationsReply, Operation> = {
  rows: r => [...r.operations],
  columns: [
    { header: 'OPERATION', get: o => o.id },
    { header: 'KIND', get: o => o.kind },
    { header: 'STATE', get: o => o.state },
    { header: 'PHASE', get: o => o.phase },
    { header: 'SLOT', get: o => o.fromSlot === '' ? '' : `${o.fromSlot}→${o.toSlot}` },
    { header: 'VERSION', get: o => o.fromVersion === '' && o.toVersion === '' ? '' : `${o.fromVersion}→${o.toVersion}` },
    { header: 'STARTED', get: o => Number(o.startedAtMs) > 0 ? new Date(Number(o.startedAtMs)).toISOString() : '' },
    { header: 'ERROR', get: o => o.error }
  ]
}

/** The answers of every node that answered in one table, with a NODE column first. */
export function renderNodeTable<R, Row> (outcomes: ReadonlyArray<NodeOutcome<R>>, view: TableView<R, Row>): string {
  const rows = outcomes.flatMap(o => 'result' in o ? view.rows(o.result).map(row => ({ node: o.node, row })) : [])
  if (!outcomes.some(o => 'result' in o)) return ''
  const columns: Array<Column<{ node: string, row: Row }>> = [
    { header: 'NODE', get: r => r.node },
    ...view.columns.map(c => ({ header: c.header, get: (r: { node: string, row: Row }) => c.get(r.row) }))
  ]
  return renderTable(rows, columns)
}

/** One log line for the terminal: `TIME  TEXT`, after the node (padded to `width`) when several. */
export function logLineText (line: LogLine, node: string | undefined, width = 0): string {
  const time = new Date(Number(line.timeMs)).toISOString()
  return `${node === undefined ? '' : `${node.padEnd(width)}  `}${time}  ${line.text}\n`
}
