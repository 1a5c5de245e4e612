import { join } from 'node:path'
import type { MemoryReplyInput } from '../../../proto/generated/anvil/node/v1/MemoryReply.ts'
import { readHead, type NodeRoots } from './roots.ts'

// /proc/meminfo (proc(5)): "Name:   value kB" lines; the kernel prints kB and means KiB
// (fs/proc/meminfo.c show_val_kb shifts by 10).

/** MemoryReply from /proc/meminfo's text; missing fields are 0. Pure. */
export function parseMeminfo (text: string): MemoryReplyInput {
  const kb = new Map<string, number>()
  for (const line of text.split('\n')) {
    const m = /^([A-Za-z0-9_()]+):\s+(\d+)(?:\s+kB)?\s*$/.exec(line)
    if (m !== null) kb.set(m[1] as string, Number(m[2]))
  }
  const bytes = (name: string): number => (kb.get(name) ?? 0) * 1024
  return {
    totalBytes: bytes('MemTotal'),
    freeBytes: bytes('MemFree'),
    availableBytes: bytes('MemAvailable'),
    buffersBytes: bytes('Buffers'),
    cachedBytes: bytes('Cached'),
    swapTotalBytes: bytes('SwapTotal'),
    swapFreeBytes: bytes('SwapFree')
  }
}

/** The Memory RPC's answer, read now. */
export async function readMemory (roots: Pick<NodeRoots, 'proc'>): Promise<MemoryReplyInput> {
  return parseMeminfo((await readHead(join(roots.proc, 'meminfo'), 64 * 1024)).toString('latin1'))
}
