/**
 * The node's raw disk access: partitions found by their GPT name in sysfs (the kernel's
 * /sys/class/block/<dev>/uevent carries PARTNAME=), STATE's two copies read and one written,
 * and grubenv's first sector rewritten in place. Every write is pwrite + fdatasync, then read
 * back and compared: a disk or controller that drops writes is caught here, not at next boot.
 */
import { open, readdir, readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { decodeGrubenv, encodeGrubenv, GRUBENV_SIZE } from '../../image/grub.ts'
import { CodedError } from '../../lib/errors.ts'
import { COPY_OFFSETS, COPY_READ_BYTES, encodeStateCopy, pickState, type StatePayload } from '../../node-state/record.ts'
import { locateGrubenv } from './esp-grubenv.ts'

/** Where sysfs and the device nodes are (tests point them at a directory of their own). */
export type DiskRoots = { readonly sys: string, readonly dev: string }

/** A partition: its device node and its size in bytes. */
export type Partition = { readonly name: string, readonly device: string, readonly bytes: number }

/** The partition whose GPT name is `partName`; undefined when none has it. Two with it: an error. */
export async function findPartition (roots: DiskRoots, partName: string): Promise<Partition | undefined> {
  const base = join(roots.sys, 'class/block')
  const found: Partition[] = []
  for (const entry of (await readdir(base)).sort()) {
    let uevent: string
    try {
      uevent = await readFile(join(base, entry, 'uevent'), 'utf8')
    } catch {
      continue
    }
    const fields = new Map(uevent.split('\n').map(l => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)] as const))
    if (fields.get('DEVTYPE') !== 'partition' || fields.get('PARTNAME') !== partName) continue
    const sectors = Number((await readFile(join(base, entry, 'size'), 'utf8')).trim())
    found.push({ name: entry, device: join(roots.dev, fields.get('DEVNAME') ?? entry), bytes: sectors * 512 })
  }
  if (found.length > 1) throw new CodedError('ERR_STATE_INVALID', `${found.length} partitions are named ${partName} (${found.map(p => p.name).join(', ')}): which disk is this node's is unclear`)
  return found[0]
}

async function readAt (device: string, offset: number, length: number): Promise<Buffer> {
  const fh = await open(device, 'r')
  try {
    const buf = Buffer.alloc(length)
    const { bytesRead } = await fh.read(buf, 0, length, offset)
    return buf.subarray(0, bytesRead)
  } finally {
    await fh.close()
  }
}

/** Writes `data` at `offset`, fdatasyncs, reads it back; throws when the bytes differ. */
async function writeVerified (device: string, offset: number, data: Buffer, what: string): Promise<void> {
  const fh = await open(device, 'r+')
  try {
    let done = 0
    while (done < data.length) done += (await fh.write(data, done, data.length - done, offset + done)).bytesWritten
    await fh.datasync()
  } finally {
    await fh.close()
  }
  if (!(await readAt(device, offset, data.length)).equals(data)) throw new CodedError('ERR_STATE_INVALID', `${what}: read back differs from what was written to ${device}`)
}

/** STATE's current record (pickState over both copies); throws ERR_STATE_INVALID when neither is valid. */
export async function readState (device: string): Promise<ReturnType<typeof pickState>> {
  const copies = await Promise.all(COPY_OFFSETS.map(async o => await readAt(device, o, COPY_READ_BYTES)))
  return pickState([copies[0] ?? Buffer.alloc(0), copies[1] ?? Buffer.alloc(0)])
}

/**
 * Writes `payload` as sequence `seq` into copy `copy` (the one that does not hold the current
 * record, so a power loss mid-write leaves that one), then checks that pickState now returns it.
 */
export async function writeState (device: string, payload: StatePayload, seq: bigint, copy: 0 | 1): Promise<ReturnType<typeof pickState>> {
  await writeVerified(device, COPY_OFFSETS[copy], encodeStateCopy(payload, seq), `STATE copy ${copy}`)
  const now = await readState(device)
  if (now.seq !== seq || now.copy !== copy) throw new CodedError('ERR_STATE_INVALID', `STATE copy ${copy} was written but the current record is copy ${now.copy} seq ${now.seq}`)
  return now
}

/**
 * Commits `slot` in grubenv: `<slot>_OK=1`, every other variable as it was. Returns false when
 * it was committed already.
 */
export async function commitSlot (esp: string, slot: 'A' | 'B'): Promise<boolean> {
  return await rewriteGrubenv(esp, vars => vars[`${slot}_OK`] === '1' ? undefined : { ...vars, [`${slot}_OK`]: '1' })
}

/** grubenv's variables as they are on the ESP now. */
export async function readGrubenv (esp: string): Promise<Record<string, string>> {
  const { offset } = await grubenvAt(esp)
  return decodeGrubenv(await readAt(esp, offset, GRUBENV_SIZE))
}

/**
 * Rewrites grubenv's variables with `change` (undefined: leave it as it is; returns false then).
 * Only the block's first 512-byte sector is written (where the build put every variable): one
 * sector, which a disk writes whole or not at all, as GRUB's save_env does; then read back.
 */
export async function rewriteGrubenv (esp: string, change: (vars: Readonly<Record<string, string>>) => Readonly<Record<string, string>> | undefined): Promise<boolean> {
  const { offset } = await grubenvAt(esp)
  const block = await readAt(esp, offset, GRUBENV_SIZE)
  const next = change(decodeGrubenv(block))
  if (next === undefined) return false
  const bytes = encodeGrubenv(next)
  if (!bytes.subarray(512).equals(block.subarray(512))) throw new CodedError('ERR_STATE_INVALID', 'grubenv: the variables do not fit its first sector')
  await writeVerified(esp, offset, bytes.subarray(0, 512), 'grubenv')
  return true
}

async function grubenvAt (esp: string): Promise<{ offset: number }> {
  const { offset, size } = locateGrubenv(readSync(await readAll(esp)))
  if (size !== GRUBENV_SIZE) throw new CodedError('ERR_STATE_INVALID', `grub/grubenv is ${size} bytes, not ${GRUBENV_SIZE}`)
  return { offset }
}

/** The ESP's first MiBs (boot sector, FATs, the first directories) as one buffer. */
async function readAll (esp: string): Promise<Buffer> {
  return await readAt(esp, 0, ESP_READ_BYTES)
}

/** Enough of the ESP for its FATs and the first clusters (the build makes grub/ and grubenv first). */
const ESP_READ_BYTES = 4 << 20

function readSync (buf: Buffer): (offset: number, length: number) => Buffer {
  return (offset, length) => {
    if (offset + length > buf.length) throw new CodedError('ERR_STATE_INVALID', `grubenv: the ESP's structures lie beyond its first ${buf.length} bytes`)
    return buf.subarray(offset, offset + length)
  }
}

/** Writes zeroes over [offset, offset + length) of `device` in 1 MiB writes, then fdatasync. */
export async function zeroRange (device: string, offset: number, length: number): Promise<void> {
  const zero = Buffer.alloc(Math.min(length, 1 << 20))
  const fh = await open(device, 'r+')
  try {
    for (let done = 0; done < length;) {
      const n = Math.min(zero.length, length - done)
      done += (await fh.write(zero, 0, n, offset + done)).bytesWritten
    }
    await fh.datasync()
  } finally {
    await fh.close()
  }
}
