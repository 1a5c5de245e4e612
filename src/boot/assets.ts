import { realpath, stat } from 'node:fs/promises'
import { isAbsolute, join, normalize, sep } from 'node:path'
import { CodedError } from '../lib/errors.ts'

/** A boot asset that may be served: its real path on disk and its size. */
export type ResolvedAsset = { readonly path: string, readonly size: number, readonly mtimeMs: number }

/**
 * Maps a requested name (TFTP filename or HTTP path under /assets/) to a file inside the boot
 * assets root. Refuses, with ERR_PATH_TRAVERSAL, absolute paths, `..` segments, NUL bytes and
 * links whose target leaves the root; ERR_ASSET_NOT_FOUND when nothing regular is there.
 * Both TFTP and HTTP serve through this one function, so confinement is decided in one place.
 */
export class BootAssets {
  readonly root: string
  #realRoot: string | undefined

  constructor (root: string) {
    this.root = root
  }

  async #rootReal (): Promise<string> {
    this.#realRoot ??= await realpath(this.root)
    return this.#realRoot
  }

  async resolve (requested: string): Promise<ResolvedAsset> {
    // PXE ROMs send names with a leading slash or backslashes; both mean "from the root".
    const name = requested.replace(/\\/g, '/').replace(/^\/+/, '')
    if (name.length === 0) throw new CodedError('ERR_ASSET_NOT_FOUND', 'empty file name')
    if (name.includes('\0') || isAbsolute(name) || name.split('/').includes('..')) {
      throw new CodedError('ERR_PATH_TRAVERSAL', `refused path outside the boot assets: ${JSON.stringify(requested)}`)
    }
    const root = await this.#rootReal()
    const candidate = join(root, normalize(name))
    let real: string
    try {
      real = await realpath(candidate)
    } catch {
      throw new CodedError('ERR_ASSET_NOT_FOUND', `no such boot asset: ${name}`)
    }
    if (real !== root && !real.startsWith(root + sep)) {
      throw new CodedError('ERR_PATH_TRAVERSAL', `refused link leaving the boot assets: ${JSON.stringify(requested)}`)
    }
    const st = await stat(real)
    if (!st.isFile()) throw new CodedError('ERR_ASSET_NOT_FOUND', `not a file: ${name}`)
    return { path: real, size: st.size, mtimeMs: st.mtimeMs }
  }
}
