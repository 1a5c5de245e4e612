import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { WipeTask } from '../proto/generated/anvil/provisioning/v1/WipeTask.ts'
import { prng } from '../lib/prng.ts'
import { wipeDisks, type WipeProgress } from './wipe.ts'

// Plain files stand in for disks: ROOT/dev/NAME is the "device", ROOT/sys/block/NAME its sysfs
// directory (partitions), ROOT/proc/mounts what is mounted.
const MIB = 1024 * 1024
const PATTERN = 0xa5

function machine (disks: Array<{ name: string, mib: number, parts?: Array<[number, number]> }>, mounts = ''): string {
  const root = mkdtempSync(join(tmpdir(), 'anvil-wipe-'))
  mkdirSync(join(root, 'dev'))
  mkdirSync(join(root, 'proc'))
  writeFileSync(join(root, 'proc/mounts'), mounts)
  for (const d of disks) {
    writeFileSync(join(root, 'dev', d.name), Buffer.alloc(d.mib * MIB, PATTERN))
    mkdirSync(join(root, 'sys/block', d.name), { recursive: true })
    ;(d.parts ?? []).forEach(([startMib, sizeMib], i) => {
      const dir = join(root, 'sys/block', d.name, `${d.name}${i + 1}`)
      mkdirSync(dir)
      writeFileSync(join(dir, 'partition'), `${i + 1}\n`)
      writeFileSync(join(dir, 'start'), `${startMib * MIB / 512}\n`)
      writeFileSync(join(dir, 'size'), `${sizeMib * MIB / 512}\n`)
    })
  }
  return root
}

const disk = (name: string, mib: number, extra: Partial<DiskInput> = {}): DiskInput =>
  ({ name, serial: `SER-${name}`, sizeBytes: mib * MIB, readOnly: false, discard: false, ...extra })
const task = (method: WipeTask['method'], disks: string[] = []): WipeTask => ({ method, disks, verifySamples: 8 })

/** Every MiB of the file: 'z' all zero, 'p' all pattern, '?' mixed. */
function map (file: string): string {
  const b = readFileSync(file)
  let out = ''
  for (let off = 0; off < b.length; off += MIB) {
    const m = b.subarray(off, off + MIB)
    out += m.every((x) => x === 0) ? 'z' : m.every((x) => x === PATTERN) ? 'p' : '?'
  }
  return out
}

test('fast: zeroes exactly the first/last MiB of the disk and of each partition; the pattern elsewhere is intact', async (t) => {
  const root = machine([{ name: 'vda', mib: 16, parts: [[1, 6], [7, 8]] }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const notes: string[] = []
  const [report] = await wipeDisks(task('FAST'), [disk('vda', 16)], { root, log: (l) => notes.push(l) })
  // disk [0,1) [15,16); vda1 = [1,7): [1,2) [6,7); vda2 = [7,15): [7,8) [14,15); MD 0.90/1.0 fall in the last MiB.
  assert.equal(map(join(root, 'dev/vda')), 'zzppppzzppppppzz')
  assert.deepEqual(report, { disk: 'vda', serial: 'SER-vda', method: 'fast', bytesWritten: 6 * MIB, durationMs: report?.durationMs, verified: true, refused: '' })
  assert.ok(notes.some((n) => n.includes('discard: not supported')))
})

test('fast on a disk that supports discard calls the discard step', async (t) => {
  const root = machine([{ name: 'vda', mib: 4 }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const discarded: string[] = []
  await wipeDisks(task('FAST'), [disk('vda', 4, { discard: true })], { root, discard: async (p) => { discarded.push(p); return 'ok' } })
  assert.deepEqual(discarded, [join(root, 'dev/vda')])
})

test('zeroes: every byte of every selected disk is zero, in parallel, with monotonic progress that reaches the total', async (t) => {
  const root = machine([{ name: 'vda', mib: 12 }, { name: 'vdb', mib: 5 }, { name: 'vdc', mib: 3 }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const progress: WipeProgress[] = []
  const reports = await wipeDisks(task('ZEROES', ['vda', 'vdb']), [disk('vda', 12), disk('vdb', 5), disk('vdc', 3)],
    { root, onProgress: (p) => progress.push(p), chunkBytes: MIB, syncEveryBytes: 2 * MIB, random: prng(7) })
  assert.equal(map(join(root, 'dev/vda')), 'z'.repeat(12))
  assert.equal(map(join(root, 'dev/vdb')), 'z'.repeat(5))
  assert.equal(map(join(root, 'dev/vdc')), 'ppp') // not selected
  assert.deepEqual(reports.map((r) => [r.disk, r.method, r.bytesWritten, r.verified, r.refused]),
    [['vda', 'zeroes', 12 * MIB, true, ''], ['vdb', 'zeroes', 5 * MIB, true, '']])
  for (const name of ['vda', 'vdb']) {
    for (const phase of ['wipe', 'verify'] as const) {
      const seen = progress.filter((p) => p.disk === name && p.phase === phase)
      assert.ok(seen.length >= 2, `${name} ${phase}`)
      for (let i = 1; i < seen.length; i++) assert.ok((seen[i]?.bytesDone ?? 0) >= (seen[i - 1]?.bytesDone ?? 0))
      assert.equal(seen.at(-1)?.bytesDone, seen.at(-1)?.bytesTotal)
    }
    assert.equal(progress.filter((p) => p.disk === name && p.phase === 'wipe').at(-1)?.bytesTotal, (name === 'vda' ? 12 : 5) * MIB)
  }
})

test('refused and untouched: a disk with a mounted partition, the boot disk, a read-only disk, an unknown name', async (t) => {
  const root = machine([{ name: 'vda', mib: 2, parts: [[1, 1]] }, { name: 'vdb', mib: 2 }, { name: 'vdc', mib: 2 }],
    '/dev/vda1 /mnt ext4 rw 0 0\nproc /proc proc rw 0 0\n')
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const reports = await wipeDisks(task('ZEROES', ['vda', 'vdb', 'vdc', 'sdz']),
    [disk('vda', 2), disk('vdb', 2), disk('vdc', 2, { readOnly: true })], { root, bootDisk: 'vdb' })
  assert.deepEqual(reports.map((r) => [r.disk, r.refused, r.bytesWritten, r.verified]), [
    ['vda', 'vda1 is mounted on /mnt', 0, false],
    ['vdb', 'the boot environment was loaded from this disk', 0, false],
    ['vdc', 'the disk is read-only', 0, false],
    ['sdz', 'no disk named sdz in the hardware report', 0, false]
  ])
  for (const name of ['vda', 'vdb', 'vdc']) assert.equal(map(join(root, 'dev', name)), 'pp')
})

test('a verification that reads back non-zero data reports verified=false', async (t) => {
  const root = machine([{ name: 'vda', mib: 2 }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  // The discard step stands in for a device that does not keep what it was given.
  const [report] = await wipeDisks(task('FAST'), [disk('vda', 2, { discard: true })], {
    root,
    discard: async (p) => { writeFileSync(p, Buffer.alloc(2 * MIB, 1)); return 'scribbled' }
  })
  assert.equal(report?.verified, false)
})

test('cancel: a zero wipe stops at its next chunk on every disk, skips the read-back, and reports how far each got', async (t) => {
  const root = machine([{ name: 'vda', mib: 16 }, { name: 'vdb', mib: 16 }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const ctl = new AbortController()
  const seen: WipeProgress[] = []
  const reports = await wipeDisks(task('ZEROES'), [disk('vda', 16), disk('vdb', 16)], {
    root,
    chunkBytes: MIB,
    direct: false,
    progressIntervalMs: 0,
    signal: ctl.signal,
    onProgress: (p) => {
      seen.push(p)
      // The third MiB of vda is written: cancel. vdb stops at its next chunk too.
      if (p.disk === 'vda' && p.bytesDone === 3 * MIB) ctl.abort()
    }
  })
  const vda = Number(reports.find(r => r.disk === 'vda')?.bytesWritten)
  const vdb = Number(reports.find(r => r.disk === 'vdb')?.bytesWritten)
  assert.equal(vda, 3 * MIB)
  assert.ok(vdb < 16 * MIB, `vdb stopped early: ${vdb}`)
  for (const r of reports) assert.equal(r.verified, false, `${r.disk ?? ''} is not claimed verified`)
  assert.equal(map(join(root, 'dev/vda')), 'zzz' + 'p'.repeat(13), 'exactly what the report says was written, nothing half-written')
  assert.equal(map(join(root, 'dev/vdb')), 'z'.repeat(vdb / MIB) + 'p'.repeat(16 - vdb / MIB))
  assert.ok(!seen.some(p => p.phase === 'verify'), 'no read-back after a cancel')
})

test('cancel before anything was written: every disk reports 0 bytes and the disks are untouched', async (t) => {
  const root = machine([{ name: 'vda', mib: 4 }])
  t.after(() => rmSync(root, { recursive: true, force: true }))
  const ctl = new AbortController()
  ctl.abort()
  const [r] = await wipeDisks(task('FAST'), [disk('vda', 4, { discard: true })], { root, signal: ctl.signal, discard: async () => { throw new Error('no discard after a cancel') } })
  assert.deepEqual([r?.bytesWritten, r?.verified, r?.refused], [0, false, ''])
  assert.equal(map(join(root, 'dev/vda')), 'pppp')
})
