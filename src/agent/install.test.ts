import { before, test, type TestContext } from 'node:test'
import assert from 'node:assert/strict'
import { createHash } from 'node:crypto'
import { readFileSync, rmSync } from 'node:fs'
import { open } from 'node:fs/promises'
import { join } from 'node:path'
import { COPY_OFFSETS, COPY_READ_BYTES, pickState } from '../node-state/record.ts'
import type { AgentMessageInput } from '../proto/generated/anvil/provisioning/v1/AgentMessage.ts'
import type { DiskInput } from '../proto/generated/anvil/provisioning/v1/Disk.ts'
import type { InstallTask } from '../proto/generated/anvil/provisioning/v1/InstallTask.ts'
import { signConfig } from '../signing/config-signature.ts'
import { encodePublicKeyString, generateSecretKey } from '../signing/minisign.ts'
import { skipReason } from '../../test/helpers/requirements.ts'
import {
  buildTestImage, CONFIG_YAML, fakeMachine, LAST_CHUNK_RANDOM, installTask, MACHINE_ID, MIB, NODE_TOKEN, oldDisk, serveImages, sfdiskTable,
  type Fault, type TestImage
} from '../../test/helpers/install-image.ts'
import { installImage, InstallError, type InstallOptions, type InstallProgress } from './install.ts'
import { framePlan } from './install-plan.ts'
import { TaskDispatcher } from './tasks.ts'

// The install end to end against real peers: a real GPT image compressed by the real zstd and
// signed, served by a real HTTP server on 127.0.0.1 (Range, cuts, stalls), written to a regular
// file standing in for /dev/vda under a temporary root, checked afterwards with sfdisk.

const skip = skipReason('install tests', { programs: ['zstd', 'sfdisk'] })
const DISK = { name: 'vda', serial: 'VDA-SERIAL-1', wwn: 'naa.5000c500a1b2c3d4', mib: 64 }
const SERVER = { host: '10.0.0.1', port: 50051, fingerprint: 'ab'.repeat(32) }
const ARTIFACT = '/images/anvil-node/0.1.0'
let img: TestImage

before(async () => { if (skip === undefined) img = await buildTestImage() })

type Run = { root: string, file: string, initial: Buffer, logs: string[], progress: InstallProgress[], ranges: Array<string | undefined> }
type Setup = {
  task?: Partial<InstallTask>
  artifact?: Buffer
  /** Where the server has the artifact (the task asks for ARTIFACT). */
  serveAt?: string
  faults?: Fault[]
  disk?: typeof DISK
  reported?: DiskInput[]
  options?: Partial<InstallOptions>
  /** Runs once the server stalls (cancel tests). */
  onProgress?: (p: InstallProgress) => void
}

function reportedDisk (d: typeof DISK): DiskInput {
  return { name: d.name, serial: d.serial, wwn: d.wwn, sizeBytes: d.mib * MIB }
}

/** One install on a fresh machine; resolves with its report or its error, and what it left. */
async function run (t: TestContext, s: Setup = {}): Promise<Run & { result: Awaited<ReturnType<typeof installImage>> | InstallError }> {
  const disk = s.disk ?? DISK
  const initial = oldDisk(disk.mib)
  const root = fakeMachine(disk, initial)
  const server = await serveImages(new Map([[s.serveAt ?? ARTIFACT, s.artifact ?? img.compressed]]), s.faults)
  t.after(async () => {
    await server.close()
    rmSync(root, { recursive: true, force: true })
  })
  const logs: string[] = []
  const progress: InstallProgress[] = []
  const task = installTask(img, server.url(ARTIFACT), { name: disk.name, serial: disk.serial, wwn: disk.wwn, sizeBytes: disk.mib * MIB }, s.task)
  let result
  try {
    result = await installImage(task, s.reported ?? [reportedDisk(disk)], {
      root,
      server: SERVER,
      log: (l) => logs.push(l),
      onProgress: (p) => { progress.push(p); s.onProgress?.(p) },
      fetch: { backoff: async () => {} },
      progressIntervalMs: 0,
      ...s.options
    })
  } catch (err) {
    assert.ok(err instanceof InstallError, `not an InstallError: ${String(err)}`)
    result = err
  }
  return { root, file: join(root, 'dev', disk.name), initial, logs, progress, ranges: server.ranges, result }
}

function failed (r: { result: unknown }): InstallError {
  assert.ok(r.result instanceof InstallError, 'the install should have failed')
  assert.equal(r.result.report.committed, false)
  return r.result
}

/** No partition table a firmware or Linux could use: LBA 0..33 and the last MiB zero, sfdisk finds none. */
function assertUnbootable (file: string): void {
  const b = readFileSync(file)
  assert.ok(b.subarray(0, 34 * 512).every((x) => x === 0), 'LBA 0..33 zero')
  assert.ok(b.subarray(b.length - MIB).every((x) => x === 0), 'last MiB zero')
  assert.equal(sfdiskTable(file), undefined, 'sfdisk finds no partition table')
}

function assertUntouched (r: Run): void {
  assert.ok(readFileSync(r.file).equals(r.initial), 'the disk is byte for byte what it was')
  assert.equal(sfdiskTable(r.file)?.partitions[0]?.name, 'old-root', 'the old table is still there')
}

/** Flips one byte of a copy. */
function flip (b: Buffer, at: number): Buffer {
  const c = Buffer.from(b)
  c[at] = (c[at] ?? 0) ^ 0x01
  return c
}

/** Where `raw[at, at+len)` (bytes no earlier match repeats) lies verbatim in the .zst; `last` for the last occurrence. */
function compressedOffsetOf (at: number, len: number, last = false): number {
  const needle = img.raw.subarray(at, at + len)
  const i = last ? img.compressed.lastIndexOf(needle) : img.compressed.indexOf(needle)
  assert.ok(i >= 0, `raw bytes at ${at} not found verbatim in the compressed artifact`)
  return i
}

test('a good install: the disk holds the image, STATE holds the record, sfdisk reads the table; report and progress', { skip }, async (t) => {
  const r = await run(t)
  assert.ok(!(r.result instanceof InstallError), r.result instanceof InstallError ? r.result.message : '')
  const { artifact } = img.manifest
  assert.deepEqual(r.result, { disk: 'vda', bytesWritten: artifact.size, durationMs: r.result.durationMs, writeMs: r.result.writeMs, imageSha256: artifact.sha256, verified: true, slot: 'A', committed: true })
  const disk = readFileSync(r.file)
  assert.ok(disk.subarray(0, img.state.start).equals(img.raw.subarray(0, img.state.start)), 'everything before STATE is the image')
  assert.ok(disk.subarray(img.state.end, artifact.size).equals(img.raw.subarray(img.state.end)), 'everything after STATE is the image')
  assert.ok(disk.subarray(disk.length - MIB).every((x) => x === 0), 'the old backup table at the end of the disk is gone')
  const at = (off: number): Buffer => disk.subarray(img.state.start + off, img.state.start + off + COPY_READ_BYTES)
  const state = pickState([at(COPY_OFFSETS[0]), at(COPY_OFFSETS[1])])
  assert.equal(state.seq, 1n)
  assert.equal(state.payload.machineId, MACHINE_ID)
  assert.deepEqual({ ...state.payload.install, installedAt: 0 }, { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: createSha(img.manifestBytes), slot: 'A', disk: 'vda', installedAt: 0 })
  assert.equal(state.payload.config.yaml, CONFIG_YAML)
  assert.equal(state.payload.config.generation, 3)
  assert.deepEqual(state.payload.server, SERVER)
  assert.deepEqual(state.payload.trust, { configKey: encodePublicKeyString(img.configKey.publicKey), imageKeys: [encodePublicKeyString(img.imageKey.publicKey)] })
  assert.equal(state.payload.credential?.nodeToken, NODE_TOKEN)
  const table = sfdiskTable(r.file)
  assert.deepEqual(table?.partitions.map((p) => [p.name, p.start, p.size]), [
    ['BIOS', 2048, 2048], ['EFI', 4096, 4096], ['ANVIL-A', 8192, 16384], ['ANVIL-B', 24576, 8192], ['ANVIL-STATE', 32768, 32768]
  ])
  const phases = [...new Set(r.progress.map((p) => p.phase))]
  assert.deepEqual(phases, ['write', 'download', 'verify', 'state', 'commit'])
  const lastWrite = r.progress.filter((p) => p.phase === 'write').at(-1)
  const { primary, backup } = img.manifest.layout.tables
  assert.deepEqual([lastWrite?.bytesDone, lastWrite?.bytesTotal], [artifact.size - primary.length - backup.length, artifact.size - primary.length - backup.length], 'every byte but the tables written')
  const plan = framePlan(artifact)
  assert.deepEqual(plan.data.map((d) => d.index), [0, 1, 2, 8], 'the test image: chunks 3 to 7 are zero')
  assert.equal(r.progress.filter((p) => p.phase === 'download').at(-1)?.bytesDone, plan.fetchBytes)
  assert.deepEqual(r.ranges, plan.fetch.map((f) => `bytes=${f.start}-${f.end - 1}`), 'only the data chunks\' frames are fetched')
  const said = JSON.stringify([r.logs, r.progress])
  assert.ok(!said.includes(NODE_TOKEN) && !said.includes('s3cr3t'), 'no secret in the log or the progress')
  assert.ok(r.logs.some((l) => l.includes('committed')))
})

test('resume: a connection cut mid-stream, twice, still installs; the log says where it resumed', { skip }, async (t) => {
  const r = await run(t, { faults: [{ kind: 'cut', afterBytes: MIB + 123 }, { kind: 'cut', afterBytes: 3 * MIB }] })
  assert.ok(!(r.result instanceof InstallError), r.result instanceof InstallError ? r.result.message : '')
  assert.equal(r.result.committed, true)
  const [head, tail] = framePlan(img.manifest.artifact).fetch
  assert.ok(head !== undefined && tail !== undefined && head.end > 4 * MIB + 123)
  assert.deepEqual(r.ranges, [`bytes=0-${head.end - 1}`, `bytes=${MIB + 123}-${head.end - 1}`, `bytes=${4 * MIB + 123}-${head.end - 1}`, `bytes=${tail.start}-${tail.end - 1}`])
  assert.equal(r.logs.filter((l) => l.includes('resuming from byte')).length, 2)
  assert.ok(sfdiskTable(r.file) !== undefined)
})

test('a connection that never gets anywhere: ERR_IMAGE_FETCH after the bounded attempts, and no table', { skip }, async (t) => {
  const r = await run(t, { faults: Array.from({ length: 8 }, () => ({ kind: 'cut' as const, afterBytes: 0 })) })
  const err = failed(r)
  assert.equal(err.code, 'ERR_IMAGE_FETCH')
  assert.equal(err.step, 'stream')
  assert.match(err.message, /gave up after 8 attempts/)
  assert.equal(r.logs.filter((l) => l.includes('resuming')).length, 7)
  assertUnbootable(r.file)
})

test('an artifact the server does not have (404): ERR_IMAGE_FETCH, no table', { skip }, async (t) => {
  const r = await run(t, { serveAt: '/images/anvil-node/9.9.9' })
  assert.equal(failed(r).code, 'ERR_IMAGE_FETCH')
  assert.match(failed(r).message, /HTTP 404/)
  assertUnbootable(r.file)
})

// Refused before anything is written: the disk keeps even its old table.
const refusedBeforeWriting: Array<[string, () => Setup, string]> = [
  ['a flipped byte in the manifest', () => ({ task: { manifest: flip(img.manifestBytes, 200) } }), 'ERR_SIGNATURE_INVALID'],
  ['a flipped character in the manifest signature', () => ({ task: { manifestSignature: flipSignature(img.manifestSignature) } }), 'ERR_SIGNATURE_INVALID'],
  ['a manifest signed by an untrusted key', () => ({ task: { imageKeys: [encodePublicKeyString(generateSecretKey().publicKey)] } }), 'ERR_SIGNATURE_KEY_MISMATCH'],
  ['a task naming another version than the signature', () => ({ task: { imageVersion: '0.2.0' } }), 'ERR_SIGNATURE_COMMENT_UNEXPECTED'],
  ['a flipped byte in the config', () => ({ task: { config: flip(Buffer.from(CONFIG_YAML), 20) } }), 'ERR_SIGNATURE_INVALID'],
  ['a flipped character in the config signature', () => ({ task: { configSignature: flipSignature(installTask(img, '', diskOf()).configSignature) } }), 'ERR_SIGNATURE_INVALID'],
  ['a config signed for another machine', () => ({ task: { configSignature: configSig({ machineId: 'm-other' }) } }), 'ERR_CONFIG_WRONG_MACHINE'],
  ['a config of an older generation', () => ({ task: { configSignature: configSig({ generation: 2 }) } }), 'ERR_CONFIG_REPLAYED'],
  ['a config of another generation than the task', () => ({ task: { configSignature: configSig({ generation: 4 }) } }), 'ERR_SIGNATURE_COMMENT_UNEXPECTED'],
  ['an expired config', () => ({ task: { configSignature: configSig({ expiresAt: new Date(Date.now() - 1000) }) } }), 'ERR_CONFIG_EXPIRED'],
  ['a config that expired by the node\'s clock', () => ({ options: { now: () => new Date(Date.now() + 2 * 3600_000) } }), 'ERR_CONFIG_EXPIRED'],
  ['a disk whose serial changed', () => ({ task: { diskSerial: 'ANOTHER-DISK' } }), 'ERR_INSTALL_DISK_CHANGED'],
  ['a disk whose size changed', () => ({ task: { diskSizeBytes: 128 * MIB } }), 'ERR_INSTALL_DISK_CHANGED'],
  ['a disk not in the hardware report', () => ({ task: { disk: 'vdb' } }), 'ERR_INSTALL_DISK_CHANGED'],
  ['a disk too small for the image', () => ({ disk: { ...DISK, mib: 44 } }), 'ERR_INSTALL_DISK_TOO_SMALL'],
  ['the boot disk', () => ({ options: { bootDisk: 'vda' } }), 'ERR_INSTALL_DISK_NONE']
]

for (const [what, setup, code] of refusedBeforeWriting) {
  test(`refused before writing: ${what} → ${code}; the disk is untouched`, { skip }, async (t) => {
    const r = await run(t, setup())
    assert.equal(failed(r).code, code, failed(r).message)
    assert.equal(failed(r).report.bytesWritten, 0)
    assertUntouched(r)
  })
}

test('refused before writing: a disk that vanished from sysfs and /dev → ERR_INSTALL_DISK_CHANGED', { skip }, async (t) => {
  const r = await run(t, { reported: [reportedDisk(DISK), { name: 'vdb', serial: 'B', wwn: '', sizeBytes: 64 * MIB }], task: { disk: 'vdb', diskSerial: 'B', diskWwn: '' } })
  const err = failed(r)
  assert.equal(err.code, 'ERR_INSTALL_DISK_CHANGED')
  assert.match(err.message, /\/dev\/vdb is gone/)
  assertUntouched(r)
})

// Refused while streaming or after: the old table is gone and no new one was written.
const refusedAfterWriting: Array<[string, () => Buffer, string, RegExp]> = [
  ['early (chunk 0, the BIOS partition)', () => flip(img.compressed, compressedOffsetOf(MIB + 4096, 32) + 7), 'ERR_IMAGE_CHUNK_MISMATCH', /chunk 0 /],
  ['inside the primary table range (the PMBR boot code)', () => flip(img.compressed, compressedOffsetOf(100, 32) + 3), 'ERR_IMAGE_CHUNK_MISMATCH', /chunk 0 /],
  ['in the last chunk', () => flip(img.compressed, compressedOffsetOf(LAST_CHUNK_RANDOM + 4096, 32) + 9), 'ERR_IMAGE_CHUNK_MISMATCH', /chunk 8 /],
  ['in the backup table', () => flip(img.compressed, compressedOffsetOf(img.raw.length - 512, 20, true) + 17), 'ERR_IMAGE_CHUNK_MISMATCH', /chunk 8 /],
  ['in a frame\'s magic number (it does not decompress)', () => flip(img.compressed, framePlan(img.manifest.artifact).fetch.at(-1)?.start ?? 0), 'ERR_IMAGE_HASH_MISMATCH', /does not decompress/]
]

for (const [where, artifact, code, message] of refusedAfterWriting) {
  test(`a flipped byte of the compressed artifact ${where} → ${code}; no partition table`, { skip }, async (t) => {
    const r = await run(t, { artifact: artifact() })
    const err = failed(r)
    assert.equal(err.code, code, err.message)
    assert.equal(err.step, 'stream')
    assert.match(err.message, message)
    assertUnbootable(r.file)
  })
}

test('a flipped byte in a zero chunk\'s frame: that frame is never fetched, and the disk is still exactly the image', { skip }, async (t) => {
  const plan = framePlan(img.manifest.artifact)
  const zeroFrame = plan.fetch[0]?.end ?? 0 // chunk 3's frame follows chunks 0..2
  assert.ok(!plan.data.some((d) => d.index === 3), 'chunk 3 is a zero chunk')
  const r = await run(t, { artifact: flip(img.compressed, zeroFrame + 1) })
  assert.ok(!(r.result instanceof InstallError), r.result instanceof InstallError ? r.result.message : '')
  const disk = readFileSync(r.file)
  assert.ok(disk.subarray(0, img.state.start).equals(img.raw.subarray(0, img.state.start)))
})

test('zero chunks by the kernel\'s BLKZEROOUT when it takes them: exactly the zero runs, nothing else; the disk is the image', { skip }, async (t) => {
  const calls: Array<[number, number]> = []
  const zeroOut = async (device: string, offset: number, length: number): Promise<void> => {
    calls.push([offset, length])
    const fh = await open(device, 'r+')
    try { await fh.write(Buffer.alloc(length), 0, length, offset) } finally { await fh.close() }
  }
  const r = await run(t, { options: { zeroOut } })
  assert.ok(!(r.result instanceof InstallError), r.result instanceof InstallError ? r.result.message : '')
  const plan = framePlan(img.manifest.artifact)
  assert.deepEqual(calls, plan.zeroRuns.map((z) => [z.start, z.end - z.start]))
  assert.ok(r.logs.some((l) => new RegExp(`zero chunks \\(${img.manifest.artifact.size - plan.dataBytes} bytes by BLKZEROOUT, 0 written\\)`).test(l)), r.logs.join('\n'))
  const disk = readFileSync(r.file)
  assert.ok(disk.subarray(0, img.state.start).equals(img.raw.subarray(0, img.state.start)))
})

test('a BLKZEROOUT the kernel refuses (a file, not a block device): the zero chunks are written instead, and the log says so', { skip }, async (t) => {
  const r = await run(t, { options: { zeroOut: async () => { throw new Error('Inappropriate ioctl for device') } } })
  assert.ok(!(r.result instanceof InstallError), r.result instanceof InstallError ? r.result.message : '')
  assert.ok(r.logs.some((l) => /BLKZEROOUT refused \(Inappropriate ioctl for device\): writing the zero chunks instead/.test(l)))
  const disk = readFileSync(r.file)
  assert.ok(disk.subarray(0, img.state.start).equals(img.raw.subarray(0, img.state.start)))
  assert.ok(disk.subarray(img.state.end, img.manifest.artifact.size).equals(img.raw.subarray(img.state.end)))
})

test('cancel mid-stream: ERR_AGENT_CANCELLED, never committed, no table', { skip }, async (t) => {
  const abort = new AbortController()
  const r = await run(t, {
    faults: [{ kind: 'stall', afterBytes: 6 * MIB }],
    options: { signal: abort.signal, batchBytes: 4 * MIB },
    onProgress: (p) => { if (p.phase === 'write' && p.bytesDone >= 4 * MIB) abort.abort() }
  })
  const err = failed(r)
  assert.equal(err.code, 'ERR_AGENT_CANCELLED')
  assert.equal(err.step, 'stream')
  assert.ok(Number(err.report.bytesWritten) > 0, 'it had written before the cancel')
  assert.ok(!r.progress.some((p) => p.phase === 'commit'))
  assertUnbootable(r.file)
})

test('the dispatcher: an install task gives progress and exactly one result; the agent keeps serving (the server reboots the machine)', { skip }, async (t) => {
  const root = fakeMachine(DISK, oldDisk(DISK.mib))
  const server = await serveImages(new Map([[ARTIFACT, img.compressed]]))
  t.after(async () => { await server.close(); rmSync(root, { recursive: true, force: true }) })
  const sent: AgentMessageInput[] = []
  const d = new TaskDispatcher({
    send: (m) => sent.push(m),
    disks: [reportedDisk(DISK)],
    wipe: async () => [],
    install: installImage,
    server: SERVER,
    root,
    log: () => {}
  })
  const task = installTask(img, server.url(ARTIFACT), diskOf())
  assert.equal(await d.submit({ id: 'i1', kind: 'install', install: task }), 'continue')
  // The environment ends only with the server's reboot task (or its power cycle).
  assert.equal(await d.submit({ id: 'r1', kind: 'reboot', reboot: {} }), 'reboot')
  assert.equal(await d.final, 'reboot')
  const results = sent.filter((m) => m.result?.taskId === 'i1')
  assert.equal(results.length, 1)
  assert.equal(results[0]?.result?.ok, true)
  assert.equal(results[0]?.result?.install?.committed, true)
  assert.deepEqual(results[0]?.result?.eraseReports, [])
  const progress = sent.filter((m) => m.progress !== undefined).map((m) => m.progress)
  assert.ok(progress.length > 0 && progress.every((p) => p?.taskId === 'i1' && p.disk === 'vda'))
  assert.deepEqual([...new Set(progress.map((p) => p?.phase))].sort(), ['commit', 'download', 'state', 'verify', 'write'])
  assert.ok(sfdiskTable(join(root, 'dev/vda')) !== undefined)
})

test('the dispatcher: a refused install answers not ok with the code, committed=false, and the agent carries on', { skip }, async (t) => {
  const root = fakeMachine(DISK, oldDisk(DISK.mib))
  t.after(() => { rmSync(root, { recursive: true, force: true }) })
  const sent: AgentMessageInput[] = []
  const d = new TaskDispatcher({ send: (m) => sent.push(m), disks: [reportedDisk(DISK)], wipe: async () => [], install: installImage, server: SERVER, root, log: () => {} })
  const task = installTask(img, 'http://127.0.0.1:1/x', diskOf(), { configSignature: configSig({ machineId: 'm-other' }) })
  assert.equal(await d.submit({ id: 'i2', kind: 'install', install: task }), 'continue')
  assert.equal(sent.length, 1)
  assert.equal(sent[0]?.result?.ok, false)
  assert.match(sent[0]?.result?.error ?? '', /^install failed: ERR_CONFIG_WRONG_MACHINE: config: /)
  assert.equal(sent[0]?.result?.install?.committed, false)
})

function diskOf (): { name: string, serial: string, wwn: string, sizeBytes: number } {
  return { name: DISK.name, serial: DISK.serial, wwn: DISK.wwn, sizeBytes: DISK.mib * MIB }
}

function configSig (over: Partial<{ machineId: string, generation: number, expiresAt: Date }>): string {
  return signConfig(Buffer.from(CONFIG_YAML), img.configKey, { machineId: MACHINE_ID, generation: 3, expiresAt: new Date(Date.now() + 3600_000), ...over })
}

/** The signature line is the second; its 60th character lies in the Ed25519 signature (past algorithm and key id). */
function flipSignature (file: string): string {
  const lines = file.split('\n')
  const line = lines[1] ?? ''
  lines[1] = line.slice(0, 60) + (line[60] === 'A' ? 'B' : 'A') + line.slice(61)
  return lines.join('\n')
}

function createSha (b: Buffer): string {
  return createHash('sha256').update(b).digest('hex')
}
