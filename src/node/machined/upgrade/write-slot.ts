/**
 * An upgrade's bytes: the image's slot partition written into the node's target slot partition,
 * through the install's own stream (src/agent/install-stream.ts with a window: only the frames of
 * the slot's non-zero chunks fetched by Range, every chunk checked against the signed manifest
 * before it is written, zero chunks by zeroes), then the whole slot read back and every chunk
 * checked again (O_DIRECT where the device takes it, so the bytes come from the medium).
 */
import { openBlockDevice, openReadBack, type BlockDevice, type ReadBack } from '../../../agent/block-device.ts'
import type { Decompress } from '../../../agent/install-decompress.ts'
import type { FetchOptions } from '../../../agent/install-fetch.ts'
import { chunkMatches } from '../../../agent/install-plan.ts'
import { streamImage } from '../../../agent/install-stream.ts'
import type { ZeroOut } from '../../../agent/install-zero.ts'
import type { ImageManifest } from '../../../image/manifest.ts'
import { CodedError } from '../../../lib/errors.ts'
import type { ByteRange } from './plan.ts'

export type SlotPhase = 'fetch' | 'write' | 'verify'

export type WriteSlotArgs = {
  readonly manifest: ImageManifest
  /** The image bytes of its slot partition (plan.ts slotImageRange). */
  readonly window: ByteRange
  readonly url: string
  /** The target slot partition's device node and size. */
  readonly device: string
  readonly deviceBytes: number
  readonly decompress: Decompress
  readonly zeroOut?: ZeroOut | undefined
  readonly fetch?: Pick<FetchOptions, 'backoff' | 'maxAttempts' | 'idleTimeoutMs'> | undefined
  readonly log: (line: string) => void
  readonly progress: (phase: SlotPhase, done: number, total: number) => void
  readonly signal?: AbortSignal | undefined
}

const ZERO_PIECE = 16 * 1024 * 1024

/** Writes and verifies the slot; throws the stream's or the read-back's CodedError. */
export async function writeSlot (a: WriteSlotArgs): Promise<void> {
  const bytes = a.window.end - a.window.start
  if (bytes > a.deviceBytes) throw new CodedError('ERR_VALIDATION', `the image's slot is ${bytes} bytes; ${a.device} holds ${a.deviceBytes}`)
  let dev: BlockDevice | undefined
  let zeroDev: { dev: BlockDevice, zeros: Buffer } | undefined
  let reader: ReadBack | undefined
  try {
    dev = (await openBlockDevice(a.device, false, 0)).dev
    zeroDev = await openBlockDevice(a.device, true, ZERO_PIECE)
    await streamImage({
      manifest: a.manifest,
      url: a.url,
      dev,
      zeroDev,
      zeroOut: a.zeroOut,
      decompress: a.decompress,
      signal: a.signal,
      log: a.log,
      fetch: a.fetch,
      window: a.window,
      progress: (phase, done, total) => { a.progress(phase === 'download' ? 'fetch' : 'write', done, total) },
      onWritten: () => {}
    })
    reader = await openReadBack(a.device, a.manifest.artifact.chunkSize)
    await readBack(reader, a)
  } finally {
    await reader?.close()
    await zeroDev?.dev.close()
    await dev?.close()
  }
}

/** Every chunk of the window, read from the slot and compared with its signed hash. */
async function readBack (reader: ReadBack, a: WriteSlotArgs): Promise<void> {
  const { artifact } = a.manifest
  const total = a.window.end - a.window.start
  a.progress('verify', 0, total)
  for (let imageAt = a.window.start; imageAt < a.window.end; imageAt += artifact.chunkSize) {
    if (a.signal?.aborted === true) throw new CodedError('ERR_AGENT_CANCELLED', 'the upgrade was cancelled')
    const index = imageAt / artifact.chunkSize
    const length = Math.min(artifact.chunkSize, a.window.end - imageAt)
    const at = imageAt - a.window.start
    const buf = await reader.read(length, at)
    if (buf.length !== length || !chunkMatches(buf, artifact.chunks[index] ?? '')) {
      throw new CodedError('ERR_INSTALL_READBACK', `slot ${a.device}: chunk ${index} (slot bytes ${at} to ${at + length - 1}) reads back differently from what was written and verified`, { chunk: index, offset: at })
    }
    a.progress('verify', at + length, total)
  }
}
