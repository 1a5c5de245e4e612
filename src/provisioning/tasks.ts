import type { StoredTask, WipeParams } from './discovery-ports.ts'
import type { InstallParams } from './install-ports.ts'

/** A task in a few words, for the timeline. */
export function describeTask (t: StoredTask): string {
  if (t.kind === 'install') {
    const p = t.params as InstallParams
    return `install of ${p.image.name}:${p.image.version} to ${p.disk.name} (task ${t.id})`
  }
  if (t.kind !== 'wipe') return `${t.kind} task ${t.id}`
  const p = t.params as WipeParams
  return `${p.method} wipe of ${p.disks.length === 0 ? 'every disk' : p.disks.join(', ')} (task ${t.id})`
}
