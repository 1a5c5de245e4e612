import { mdSuperblockOffsets } from './probe.ts'

// Pure: which byte ranges a fast wipe zeroes, and where a verification reads. No I/O here.

/** A half-open byte range [start, end). */
export type Range = { start: number, end: number }

/** A partition as /sys/block/DISK/PART/{start,size} give it, in bytes. */
export type PartitionExtent = { name: string, start: number, size: number }

const MIB = 1024 * 1024

/**
 * Every signature location on a disk of `size` bytes: its first and last MiB (MBR, GPT primary
 * and backup header at the last LBA — UEFI 2.10 §5.3.1 — and most superblocks), the whole-disk MD
 * 0.90 and 1.0 superblocks (md_p.h, md.c), and the first and last MiB of every partition (a
 * filesystem, LVM label or MD superblock inside it). Sorted and merged.
 */
export function fastWipeRanges (size: number, partitions: readonly PartitionExtent[]): Range[] {
  const ranges: Range[] = [{ start: 0, end: MIB }, { start: size - MIB, end: size }]
  const md = mdSuperblockOffsets(size)
  ranges.push({ start: md.v090, end: md.v090 + 64 * 1024 }, { start: md.v10, end: md.v10 + 8 * 1024 })
  for (const p of partitions) {
    ranges.push({ start: p.start, end: p.start + Math.min(MIB, p.size) })
    ranges.push({ start: p.start + Math.max(0, p.size - MIB), end: p.start + p.size })
  }
  return merge(ranges.map((r) => ({ start: Math.max(0, r.start), end: Math.min(size, r.end) })).filter((r) => r.end > r.start))
}

/** Sorts and joins overlapping or touching ranges. */
export function merge (ranges: readonly Range[]): Range[] {
  const sorted = [...ranges].sort((a, b) => a.start - b.start)
  const out: Range[] = []
  for (const r of sorted) {
    const last = out.at(-1)
    if (last !== undefined && r.start <= last.end) last.end = Math.max(last.end, r.end)
    else out.push({ ...r })
  }
  return out
}

/** Total bytes in a set of ranges. */
export function rangeBytes (ranges: readonly Range[]): number {
  return ranges.reduce((s, r) => s + r.end - r.start, 0)
}

/**
 * Blocks a zero-wipe verification reads: the first and last block and `samples` more at offsets
 * from `random` (a [0,1) source, seeded in tests), aligned to `block`.
 */
export function verifySampleRanges (size: number, samples: number, block: number, random: () => number): Range[] {
  const blocks = Math.floor(size / block)
  if (blocks === 0) return size > 0 ? [{ start: 0, end: size }] : []
  const picks = [0, blocks - 1]
  for (let i = 0; i < samples; i++) picks.push(Math.floor(random() * blocks))
  const ranges = picks.map((b) => ({ start: b * block, end: b * block + block }))
  if (size % block !== 0) ranges.push({ start: blocks * block, end: size }) // the tail past the last whole block
  return merge(ranges)
}
