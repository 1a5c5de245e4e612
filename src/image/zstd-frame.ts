import { spawn } from 'node:child_process'
import { once } from 'node:events'

// One chunk of a whole-disk image → one independent zstd frame (docs/image.md "The artifact").
// Node 20 has no zstd, so this runs the zstd binary with an explicit argv. -T2: zstd's
// multi-threaded format gives the same bytes for any thread count >= 1 (measured: -T1/-T2/-T4
// equal; --single-thread differs), so CI machines of any size agree. --no-check: no XXH64 of the
// frame's content; the manifest's signed SHA-256 of the chunk is the check, and a frame without
// its own lets a flipped byte be reported as the chunk it spoils, before anything is written.

/** The zstd arguments for level `level`, plus `extra` (tests: --no-compress-literals). */
export function zstdArgs (level: number, extra: readonly string[] = []): string[] {
  return ['-q', `-${level}`, '-T2', '--no-check', '--no-progress', ...extra, '-c']
}

/** Compresses `chunk` into one zstd frame. */
export async function zstdFrame (chunk: Buffer, args: readonly string[]): Promise<Buffer> {
  const zstd = spawn('zstd', [...args], { stdio: ['pipe', 'pipe', 'pipe'] })
  const out: Buffer[] = []
  let stderr = ''
  zstd.stdout.on('data', (d: Buffer) => out.push(d))
  zstd.stderr.on('data', (d: Buffer) => { if (stderr.length < 4096) stderr += d.toString() })
  zstd.stdin.on('error', () => {}) // zstd died early: its exit status says why
  const closed = once(zstd, 'close')
  zstd.stdin.end(chunk)
  const [code] = await closed as [number | null]
  if (code !== 0) throw new Error(`zstd exited with ${code}: ${stderr.trim()}`)
  return Buffer.concat(out)
}

/**
 * Frames by chunk hash: an image is mostly identical chunks (zeroes), and equal inputs give equal
 * frames, so each distinct chunk is compressed once.
 */
export class FrameCache {
  readonly #args: readonly string[]
  readonly #frames = new Map<string, Buffer>()

  constructor (args: readonly string[]) { this.#args = args }

  async frame (chunk: Buffer, sha256: string): Promise<Buffer> {
    let frame = this.#frames.get(sha256)
    if (frame === undefined) {
      frame = await zstdFrame(chunk, this.#args)
      this.#frames.set(sha256, frame)
    }
    return frame
  }
}
