import { statfs } from 'node:fs/promises'
import { join } from 'node:path'
import type { MountInput } from '../../../proto/generated/anvil/node/v1/Mount.ts'
import { readHead, type NodeRoots } from './roots.ts'

// /proc/self/mounts (proc(5), the fstab(5) format): "source target fstype options 0 0", with
// space, tab, newline and backslash in a field written as octal escapes (\040 \011 \012 \134,
// fs/proc_namespace.c mangle()).

/** File systems with no storage behind them: statfs answers, but its numbers mean nothing to an operator. */
const PSEUDO = new Set([
  'proc', 'sysfs', 'devpts', 'cgroup', 'cgroup2', 'securityfs', 'debugfs', 'tracefs', 'pstore',
  'bpf', 'mqueue', 'hugetlbfs', 'configfs', 'fusectl', 'efivarfs', 'autofs', 'binfmt_misc', 'nsfs',
  'rpc_pipefs', 'selinuxfs', 'ramfs'
])

/** More mounts than any node has; a reply stays bounded even inside a container with thousands. */
const MAX_MOUNTS = 4096

export type StatFs = (path: string) => Promise<{ bsize: number, blocks: number, bavail: number }>

export type MountsOptions = {
  readonly roots: Pick<NodeRoots, 'proc'>
  /** fs.promises.statfs unless a test passes its own. */
  readonly statfs?: StatFs
}

/** One mounts line's fields, escapes decoded; undefined for a line that is not one. Pure. */
export function parseMountLine (line: string): Omit<MountInput, 'sizeBytes' | 'availableBytes'> | undefined {
  const f = line.split(' ')
  if (f.length < 4 || f.slice(0, 4).some(x => x === '')) return undefined
  const [source, target, fstype, options] = f.map(unescapeMountField) as [string, string, string, string]
  return { source, target, fstype, options }
}

/** The kernel's octal escapes (\NNN) back to characters. */
export function unescapeMountField (s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_m, oct: string) => String.fromCharCode(parseInt(oct, 8)))
}

/** The Mounts RPC's answer: every mount with its size; 0 for pseudo file systems and for any statfs that fails. */
export async function readMounts (o: MountsOptions): Promise<MountInput[]> {
  const text = (await readHead(join(o.roots.proc, 'self/mounts'), 4 << 20)).toString('utf8')
  const stat: StatFs = o.statfs ?? (async (p) => await statfs(p))
  const out: MountInput[] = []
  for (const line of text.split('\n')) {
    if (out.length >= MAX_MOUNTS) break
    const m = parseMountLine(line)
    if (m === undefined) continue
    let sizeBytes = 0
    let availableBytes = 0
    if (!PSEUDO.has(m.fstype ?? '')) {
      try {
        const s = await stat(m.target ?? '')
        sizeBytes = s.blocks * s.bsize
        availableBytes = s.bavail * s.bsize
      } catch {
        // A mount gone since the table was read, or one we may not stat: listed, sizes 0.
      }
    }
    out.push({ ...m, sizeBytes, availableBytes })
  }
  return out
}
