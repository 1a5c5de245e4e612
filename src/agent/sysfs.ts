import { readFile, readdir, readlink, realpath, stat } from 'node:fs/promises'
import { posix } from 'node:path'

// The one fs layer the inventory readers use: every path is relative to `root`, so tests point
// the readers at a captured tree (test/fixtures/agent/vm1) instead of the live /proc and /sys.

/** A tree of /proc, /sys and /dev files rooted at `root` ('/' on the machine, a fixture in tests). */
export class SysTree {
  readonly root: string

  constructor (root = '/') { this.root = root }

  /** The absolute path of `path` (given as on the machine, e.g. '/sys/block') under the root. */
  path (path: string): string { return posix.join(this.root, path) }

  /** The file's text, trimmed; undefined when it is missing or unreadable (sysfs answers EINVAL for some). */
  async text (path: string): Promise<string | undefined> {
    try {
      return (await readFile(this.path(path), 'latin1')).trim()
    } catch {
      return undefined
    }
  }

  /** The file's bytes, or undefined. */
  async bytes (path: string): Promise<Buffer | undefined> {
    try {
      return await readFile(this.path(path))
    } catch {
      return undefined
    }
  }

  /** A decimal or 0x-prefixed integer file, or undefined when missing or not a number. */
  async int (path: string): Promise<number | undefined> {
    const t = await this.text(path)
    if (t === undefined || t === '') return undefined
    const n = Number(t)
    return Number.isFinite(n) ? n : undefined
  }

  /** Entry names of a directory, sorted; [] when it is missing. */
  async list (path: string): Promise<string[]> {
    try {
      return (await readdir(this.path(path))).sort(naturalCompare)
    } catch {
      return []
    }
  }

  /**
   * Where a sysfs symlink points, as a path on the machine: the link's directory is resolved for
   * real (it may itself be reached through links, like /sys/class/net/eth0), the target textually
   * (so a captured tree need not hold it). Undefined when it is not a link.
   */
  async link (path: string): Promise<string | undefined> {
    try {
      const target = await readlink(this.path(path))
      const rootReal = await realpath(this.root)
      const dirReal = await realpath(this.path(posix.dirname(posix.join('/', path))))
      const dir = rootReal === '/' ? dirReal : dirReal.slice(rootReal.length)
      return posix.resolve(dir === '' ? '/' : dir, target)
    } catch {
      return undefined
    }
  }

  /** True when the path exists (any kind of file). */
  async exists (path: string): Promise<boolean> {
    try {
      await stat(this.path(path))
      return true
    } catch {
      return false
    }
  }
}

/** Orders names like `ls -v`: eth2 before eth10, cpu9 before cpu10. */
export function naturalCompare (a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true })
}
