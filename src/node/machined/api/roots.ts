import { open } from 'node:fs/promises'

/**
 * Where the node API's readers find the machine: /proc, /sys, /dev and /etc/anvil on the node,
 * temporary trees in tests. Every reader takes these rather than absolute paths.
 */
export type NodeRoots = {
  readonly proc: string
  readonly sys: string
  readonly dev: string
  readonly etcAnvil: string
}

/**
 * At most `maxBytes` of a file. /proc files report size 0 and some are unbounded in principle
 * (a process's cmdline is as long as its argv), so nothing here trusts readFile's size.
 */
export async function readHead (path: string, maxBytes: number): Promise<Buffer> {
  const handle = await open(path, 'r')
  try {
    const buf = Buffer.alloc(maxBytes)
    let filled = 0
    while (filled < maxBytes) {
      const { bytesRead } = await handle.read(buf, filled, maxBytes - filled, null)
      if (bytesRead === 0) break
      filled += bytesRead
    }
    return buf.subarray(0, filled)
  } finally {
    await handle.close()
  }
}

/** A small text file, trimmed; undefined when missing or unreadable. */
export async function readTrimmed (path: string, maxBytes = 4096): Promise<string | undefined> {
  try {
    return (await readHead(path, maxBytes)).toString('utf8').trim()
  } catch {
    return undefined
  }
}
