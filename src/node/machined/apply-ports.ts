/**
 * ApplyConfig's ports on a real node: STATE on its partition (found by GPT name each time, read
 * fresh so a write by another operation is never lost), and the live changes as files under the
 * node's roots and programs run with an explicit argv (execFile, never a shell).
 */
import { execFile } from 'node:child_process'
import { writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { PartitionName } from '../../image/layout.ts'
import { CodedError } from '../../lib/errors.ts'
import type { NodeRoots } from './api/roots.ts'
import type { LivePort, StatePort } from './apply-config.ts'
import { findPartition, readState, writeState } from './disk-io.ts'
import { listLinks } from './first-boot.ts'
import type { Argv } from './network-plan.ts'

/** Where the node's resolvers are (the first boot writes the same file). */
export const RESOLV_CONF = '/run/resolv.conf'

/** Runs `argv` without a shell; rejects with its stderr's first line when it fails or times out. */
export async function execArgv (argv: Argv, timeoutMs: number): Promise<void> {
  const [file, ...args] = argv
  await new Promise<void>((resolve, reject) => {
    execFile(file, args, { timeout: timeoutMs, maxBuffer: 1 << 20 }, (err, _stdout, stderr) => {
      if (err === null) resolve()
      else reject(new Error(`${String(stderr).split('\n')[0]?.trim() ?? ''} (${err.message.split('\n')[0] ?? ''})`.slice(0, 300)))
    })
  })
}

/** STATE's partition; a node without one has nothing to apply a config to. */
export function nodeStatePort (roots: Pick<NodeRoots, 'sys' | 'dev'>): StatePort {
  const device = async (): Promise<string> => {
    const p = await findPartition(roots, PartitionName.state)
    if (p === undefined) throw new CodedError('ERR_STATE_INVALID', `no ${PartitionName.state} partition: this node was never installed, so it has no config to change`)
    return p.device
  }
  return {
    read: async () => (await readState(await device())).payload,
    update: async (change) => {
      const dev = await device()
      const current = await readState(dev)
      const next = change(current.payload)
      await writeState(dev, next, current.seq + 1n, current.nextCopy)
      return next
    }
  }
}

/** The live changes through the node's roots: hostname and sysctls in /proc/sys, NICs from /sys. */
export function nodeLivePort (roots: NodeRoots, o: { exec: LivePort['exec'], resolvConf?: string }): LivePort {
  return {
    exec: o.exec,
    links: async () => await listLinks(roots.sys),
    writeHostname: async (name) => { await writeFile(join(roots.proc, 'sys/kernel/hostname'), name) },
    writeResolvConf: async (text) => { await writeFile(o.resolvConf ?? RESOLV_CONF, text, { mode: 0o644 }) },
    // sysctl(8) notation: dots separate, a slash inside a segment is a dot of the name (eth0/100 is
    // eth0.100). The schema's segments are letters, digits and _@+:- around the slashes
    // (sysctlKeyProblem), so no name is empty, "." or "..": nothing leaves /proc/sys.
    writeSysctl: async (key, value) => { await writeFile(join(roots.proc, 'sys', ...key.split('.').map(s => s.replaceAll('/', '.'))), value) }
  }
}
