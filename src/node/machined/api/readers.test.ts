import assert from 'node:assert/strict'
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { after, test } from 'node:test'
import { STATE_SCHEMA, type StatePayload } from '../../../node-state/record.ts'
import { partName, readDisks } from './disks.ts'
import { parseMeminfo, readMemory } from './memory.ts'
import { parseMountLine, readMounts } from './mounts.ts'
import { MAX_ARG_CHARS, MAX_ARGS, parseCmdline, parseProcStat, readProcesses } from './processes.ts'
import type { NodeRoots } from './roots.ts'
import { readVersion } from './version.ts'

const base = mkdtempSync(join(tmpdir(), 'anvil-node-api-'))
after(() => { rmSync(base, { recursive: true, force: true }) })

/** A tree of files: { 'proc/meminfo': 'text' } under a fresh directory. */
function tree (files: Record<string, string | Buffer>): string {
  const root = mkdtempSync(join(base, 't-'))
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true })
    writeFileSync(join(root, path), content)
  }
  return root
}

const rootsOf = (root: string): NodeRoots => ({ proc: join(root, 'proc'), sys: join(root, 'sys'), dev: join(root, 'dev'), etcAnvil: join(root, 'etc/anvil') })

test('meminfo: kB are KiB, missing fields 0', async () => {
  const root = tree({ 'proc/meminfo': 'MemTotal:        2030036 kB\nMemFree:          101112 kB\nMemAvailable:    1500000 kB\nBuffers:            2048 kB\nCached:           300000 kB\nSwapCached:            0 kB\nHugePages_Total:       0\nSwapTotal:             0 kB\nSwapFree:              0 kB\n' })
  assert.deepEqual(await readMemory(rootsOf(root)), {
    totalBytes: 2030036 * 1024, freeBytes: 101112 * 1024, availableBytes: 1500000 * 1024, buffersBytes: 2048 * 1024, cachedBytes: 300000 * 1024, swapTotalBytes: 0, swapFreeBytes: 0
  })
  assert.equal(parseMeminfo('MemTotal: 4 kB\n').availableBytes, 0)
})

test('mounts: escapes decoded, pseudo file systems 0, a vanished target tolerated, a real one sized', async () => {
  const real = mkdtempSync(join(base, 'mnt with space-'))
  const escaped = real.replace(/ /g, '\\040')
  const root = tree({
    'proc/self/mounts': [
      '/dev/loop0 / squashfs ro,relatime 0 0',
      'proc /proc proc rw,nosuid 0 0',
      `/dev/vda6 ${escaped} ext4 rw,relatime 0 0`,
      'tmpfs /gone/away tmpfs rw 0 0',
      'garbage',
      ''
    ].join('\n')
  })
  const mounts = await readMounts({ roots: rootsOf(root) })
  assert.deepEqual(mounts.map(m => m.target), ['/', '/proc', real, '/gone/away'])
  const [slash, proc, mnt, gone] = mounts
  assert.equal(proc?.sizeBytes, 0)
  assert.equal(proc?.fstype, 'proc')
  assert.ok((mnt?.sizeBytes as number) > 0, 'statfs of a real directory has a size')
  assert.ok((slash?.sizeBytes as number) > 0)
  assert.deepEqual([gone?.sizeBytes, gone?.availableBytes], [0, 0])
  assert.equal(mnt?.options, 'rw,relatime')
  assert.equal(parseMountLine('a b'), undefined)
})

test('processes: comm with spaces and parentheses, capped args, a pid without files skipped', async () => {
  // Fields after the comm: state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime priority nice num_threads ...
  const stat = (pid: number, comm: string, state: string, ppid: number, utime: number, stime: number, threads: number): string =>
    `${pid} (${comm}) ${state} ${ppid} ${pid} ${pid} 0 -1 4194560 100 0 0 0 ${utime} ${stime} 0 0 20 0 ${threads} 0 12345 1000000 250 18446744073709551615\n`
  const longArgs = Array.from({ length: 70 }, (_, i) => i === 0 ? 'x'.repeat(300) : `a${i}`)
  const root = tree({
    'proc/1/stat': stat(1, 'tini', 'S', 0, 5, 3, 1),
    'proc/1/status': 'Name:\ttini\nState:\tS (sleeping)\nVmRSS:\t     812 kB\nThreads:\t1\n',
    'proc/1/cmdline': Buffer.from('/sbin/tini\0--\0/usr/bin/node\0'),
    'proc/1/comm': 'tini\n',
    'proc/42/stat': stat(42, 'a) b', 'R', 1, 250, 50, 3),
    'proc/42/status': 'Name:\ta) b\nState:\tR (running)\nVmRSS:\t   20480 kB\nThreads:\t3\n',
    'proc/42/cmdline': Buffer.from(longArgs.join('\0') + '\0'),
    'proc/42/comm': 'a) b\n',
    // A kernel thread: no VmRSS, empty cmdline.
    'proc/2/stat': stat(2, 'kthreadd', 'S', 0, 0, 0, 1),
    'proc/2/status': 'Name:\tkthreadd\nThreads:\t1\n',
    'proc/2/cmdline': '',
    'proc/2/comm': 'kthreadd\n',
    // Gone mid-read: stat is there, the rest not.
    'proc/77/stat': stat(77, 'ghost', 'Z', 1, 0, 0, 1),
    'proc/meminfo': 'MemTotal: 1 kB\n',
    'proc/self/stat': 'not a pid directory'
  })
  const ps = await readProcesses(rootsOf(root))
  assert.deepEqual(ps.map(p => p.pid), [1, 2, 42])
  const weird = ps.find(p => p.pid === 42)
  assert.equal(weird?.command, 'a) b')
  assert.equal(weird?.state, 'R')
  assert.equal(weird?.ppid, 1)
  assert.equal(weird?.threads, 3)
  assert.equal(weird?.rssBytes, 20480 * 1024)
  assert.equal(weird?.cpuSeconds, 3)
  assert.equal(weird?.args?.length, MAX_ARGS)
  assert.equal(weird?.args?.[0], 'x'.repeat(MAX_ARG_CHARS))
  assert.deepEqual(ps.find(p => p.pid === 1)?.args, ['/sbin/tini', '--', '/usr/bin/node'])
  const kthread = ps.find(p => p.pid === 2)
  assert.deepEqual([kthread?.rssBytes, kthread?.args], [0, []])
  assert.equal(parseProcStat('7 (x) S'), undefined)
  assert.deepEqual(parseCmdline(Buffer.from('a\0\0b\0')), ['a', '', 'b'])
})

test('processes: this test process is in the real /proc, with its own argv', async () => {
  const ps = await readProcesses({ proc: '/proc' })
  const me = ps.find(p => p.pid === process.pid)
  assert.ok(me !== undefined)
  assert.equal(me.ppid, process.ppid)
  // argv0 is the argv[0] the kernel was given, exactly what /proc/PID/cmdline starts with.
  assert.equal(me.args?.[0], process.argv0)
  assert.ok((me.rssBytes as number) > 0)
})

test('disks: a disk with two partitions and their GPT names; loop devices left out', async () => {
  const root = tree({
    'sys/block/vda/size': '41943040\n',
    'sys/block/vda/serial': 'TESTDISK0001\n',
    'sys/block/vda/ro': '0\n',
    'sys/block/vda/queue/rotational': '1\n',
    'sys/block/vda/vda1/partition': '1\n',
    'sys/block/vda/vda1/size': '2048\n',
    'sys/block/vda/vda1/uevent': 'MAJOR=252\nMINOR=1\nDEVNAME=vda1\nDEVTYPE=partition\nPARTN=1\nPARTNAME=ANVIL-ESP\n',
    'sys/block/vda/vda10/partition': '10\n',
    'sys/block/vda/vda10/size': '32768\n',
    'sys/block/vda/vda10/uevent': 'MAJOR=252\nMINOR=10\nDEVNAME=vda10\nDEVTYPE=partition\nPARTN=10\nPARTNAME=ANVIL-STATE\n',
    'sys/block/vda/queue/logical_block_size': '512\n',
    'sys/block/loop0/size': '1000\n'
  })
  const disks = await readDisks(rootsOf(root))
  assert.deepEqual(disks, [{
    name: 'vda',
    sizeBytes: 41943040 * 512,
    model: '',
    serial: 'TESTDISK0001',
    wwn: '',
    rotational: true,
    readOnly: false,
    partitions: [
      { number: 1, name: 'ANVIL-ESP', device: 'vda1', sizeBytes: 2048 * 512 },
      { number: 10, name: 'ANVIL-STATE', device: 'vda10', sizeBytes: 32768 * 512 }
    ]
  }])
  assert.equal(partName('PARTN=2\n'), '')
})

test('version: STATE, the slot from the command line, kernel, boot id, uptime, hostname', async () => {
  const root = tree({
    'proc/cmdline': 'console=ttyS0 anvil.slot=B anvil.try=1 quiet\n',
    'proc/sys/kernel/osrelease': '6.1.0-28-amd64\n',
    'proc/sys/kernel/random/boot_id': '0b1d8c52-9d43-4a0e-9f2c-7ad2ab3c3e6a\n',
    'proc/sys/kernel/hostname': 'node-1\n',
    'proc/uptime': '1234.56 2000.00\n'
  })
  const state = {
    schema: STATE_SCHEMA,
    machineId: 'm-0001',
    install: { imageName: 'anvil-node', imageVersion: '0.2.0', manifestSha256: '0'.repeat(64), slot: 'B', disk: 'vda', installedAt: 0 },
    config: { yaml: '', signature: '', generation: 7 },
    trust: { configKey: '', imageKeys: [] },
    server: { host: '10.0.0.1', port: 50051, fingerprint: '' }
  } satisfies StatePayload
  assert.deepEqual(await readVersion({ roots: rootsOf(root), state }), {
    machineId: 'm-0001',
    hostname: 'node-1',
    imageName: 'anvil-node',
    imageVersion: '0.2.0',
    slot: 'B',
    configGeneration: 7,
    kernel: '6.1.0-28-amd64',
    nodeJs: process.version,
    arch: process.arch,
    bootId: '0b1d8c52-9d43-4a0e-9f2c-7ad2ab3c3e6a',
    uptimeSeconds: 1234.56
  })
  const bare = tree({ 'etc/anvil/release.json': '{"version":"0.1.0","build":"x"}' })
  const v = await readVersion({ roots: rootsOf(bare), state: undefined })
  assert.deepEqual([v.machineId, v.imageVersion, v.slot, v.kernel, v.uptimeSeconds], ['', '0.1.0', '', '', 0])
})
