import { join } from 'node:path'
import type { StatePayload } from '../../../node-state/record.ts'
import type { VersionReplyInput } from '../../../proto/generated/anvil/node/v1/VersionReply.ts'
import { parseNodeCmdline } from '../cmdline.ts'
import { readTrimmed, type NodeRoots } from './roots.ts'

export type VersionOptions = {
  readonly roots: NodeRoots
  /** The STATE record machined read at boot; undefined on an image booted without an install. */
  readonly state: StatePayload | undefined
}

/**
 * The Version RPC's answer. Image and generation come from STATE (what the installer put in the
 * running slot); without STATE the image's own /etc/anvil/release.json still names the version.
 * Every file is optional: a missing one leaves its field empty rather than failing the call.
 */
export async function readVersion (o: VersionOptions): Promise<VersionReplyInput> {
  const proc = (p: string): Promise<string | undefined> => readTrimmed(join(o.roots.proc, p))
  const [cmdline, osrelease, bootId, uptime, hostname] = await Promise.all([
    readTrimmed(join(o.roots.proc, 'cmdline'), 64 * 1024), proc('sys/kernel/osrelease'),
    proc('sys/kernel/random/boot_id'), proc('uptime'), proc('sys/kernel/hostname')
  ])
  const slot = parseNodeCmdline(cmdline ?? '').slot
  // After an upgrade STATE's slots say what each slot holds; before one, the install's record.
  const running = slot === undefined ? undefined : o.state?.slots?.[slot]
  return {
    machineId: o.state?.machineId ?? '',
    hostname: hostname ?? '',
    imageName: running?.imageName ?? o.state?.install.imageName ?? '',
    imageVersion: running?.imageVersion ?? o.state?.install.imageVersion ?? (await releaseVersion(o.roots)),
    slot: slot ?? '',
    configGeneration: o.state?.config.generation ?? 0,
    kernel: osrelease ?? '',
    nodeJs: process.version,
    arch: process.arch,
    bootId: bootId ?? '',
    uptimeSeconds: parseUptime(uptime ?? '')
  }
}

/** The first field of /proc/uptime ("12345.67 23456.78": seconds up, seconds idle); 0 if unreadable. */
export function parseUptime (text: string): number {
  const n = Number(text.trim().split(/\s+/)[0])
  return Number.isFinite(n) && n >= 0 ? n : 0
}

async function releaseVersion (roots: NodeRoots): Promise<string> {
  const text = await readTrimmed(join(roots.etcAnvil, 'release.json'))
  if (text === undefined) return ''
  try {
    const v = (JSON.parse(text) as { version?: unknown }).version
    return typeof v === 'string' ? v : ''
  } catch {
    return ''
  }
}
