import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { CodedError } from '../lib/errors.ts'

// The decompressor the install pipes the artifact through. Node 20 has no zstd, so the default
// is the `zstd` binary of the boot environment (boot-assets/build-bootenv.sh), run with an
// explicit argv: stdin the compressed bytes, stdout the raw ones. Back-pressure is the pipes':
// a slow disk stalls the reader of `output`, zstd blocks on its stdout, its stdin fills, and
// `write` waits for it to drain, so memory stays bounded.

/** One running decompression. */
export type Decompressor = {
  /** Feeds compressed bytes; resolves once they are accepted (after a drain when the pipe is full). */
  write: (bytes: Buffer) => Promise<void>
  /** No more input. */
  end: () => void
  /** The raw bytes, in order. */
  readonly output: AsyncIterable<Buffer>
  /** Resolves when the decompressor exited cleanly; rejects (ERR_IMAGE_HASH_MISMATCH) when the input did not decompress. */
  readonly done: Promise<void>
  /** Stops it (the install failed elsewhere). */
  kill: () => void
}

/** Starts one decompression. */
export type Decompress = () => Decompressor

const STDERR_CAP = 4096

/** `zstd -d -c -q`: the default Decompress. `program` is for tests (a zstd elsewhere). */
export function zstdDecompress (program = 'zstd'): Decompressor {
  const child = spawn(program, ['-d', '-c', '-q'], { stdio: ['pipe', 'pipe', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (d: Buffer) => { if (stderr.length < STDERR_CAP) stderr += d.toString('utf8').slice(0, STDERR_CAP - stderr.length) })
  child.stdin.on('error', () => {}) // EPIPE when zstd stops early: its exit status says why (done)
  let killed = false
  const done = (async () => {
    let code: number | null
    let sig: NodeJS.Signals | null
    try {
      // events.once rejects when 'error' comes first (spawn failed: ENOENT).
      [code, sig] = await once(child, 'close') as [number | null, NodeJS.Signals | null]
    } catch (err) {
      throw new CodedError('ERR_INTERNAL', `cannot run ${program}: ${(err as Error).message}`)
    }
    if (code === 0) return
    if (killed) throw new CodedError('ERR_INTERNAL', `${program} was stopped`)
    const first = stderr.split('\n').find((l) => l.trim() !== '') ?? `exit status ${code ?? sig ?? '?'}`
    throw new CodedError('ERR_IMAGE_HASH_MISMATCH', `the compressed artifact does not decompress (${program}: ${first.trim()}): it is not the manifest's artifact`, { exitCode: code })
  })()
  done.catch(() => {}) // observed by the caller; never an unhandled rejection
  return {
    async write (bytes) {
      if (child.stdin.write(bytes)) return
      try {
        await Promise.race([once(child.stdin, 'drain'), done.then(() => { throw new Error(`${program} exited before its input ended`) })])
      } catch (err) {
        await done // its reason, when it has one, is better than EPIPE
        throw err
      }
    },
    end () { child.stdin.end() },
    output: child.stdout,
    done,
    kill () {
      killed = true
      child.kill('SIGKILL')
    }
  }
}
