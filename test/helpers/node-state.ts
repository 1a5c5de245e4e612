// A STATE record as the installer writes it, for the node's first-boot tests: a machine config
// signed with a test config key for one machine, the server to report to, and the node token.
import { closeSync, openSync, writeSync } from 'node:fs'
import { COPY_OFFSETS, encodeStateCopy, STATE_SCHEMA, type StatePayload } from '../../src/node-state/record.ts'
import { signConfig } from '../../src/signing/config-signature.ts'
import { publicKeyString } from '../../src/signing/keys.ts'
import type { SecretKey } from '../../src/signing/minisign.ts'

/** A valid v1alpha1 machine config: one NIC by MAC, static or DHCP. */
export function machineConfigYaml (o: { hostname?: string, mac: string, address?: string, gateway?: string, nameserver?: string }): string {
  const iface = o.address === undefined
    ? `    - mac: "${o.mac}"\n      dhcp: true\n`
    : `    - mac: "${o.mac}"\n      addresses: ["${o.address}"]\n${o.gateway === undefined ? '' : `      routes:\n        - to: 0.0.0.0/0\n          via: ${o.gateway}\n`}`
  return `version: v1alpha1
kind: MachineConfig
hostname: ${o.hostname ?? 'node-1'}
install:
  disk:
    serial: TESTDISK0001
network:
  interfaces:
${iface}${o.nameserver === undefined ? '' : `  nameservers: [${o.nameserver}]\n`}`
}

export type InstalledStateOptions = {
  readonly machineId: string
  readonly configKey: SecretKey
  readonly yaml: string
  readonly server: StatePayload['server']
  readonly token: string
  readonly generation?: number
  readonly expiresAt?: Date
  /** Sign for this machine instead (a config for another machine). */
  readonly signedFor?: string
}

/** What the installer writes to STATE after a verified install. */
export function installedState (o: InstalledStateOptions): StatePayload {
  const generation = o.generation ?? 1
  const signature = signConfig(Buffer.from(o.yaml), o.configKey, { machineId: o.signedFor ?? o.machineId, generation, expiresAt: o.expiresAt ?? new Date(Date.now() + 86_400_000) })
  return {
    schema: STATE_SCHEMA,
    machineId: o.machineId,
    install: { imageName: 'anvil-node', imageVersion: '0.1.0', manifestSha256: '0'.repeat(64), slot: 'A', disk: 'vda', installedAt: Date.now() },
    config: { yaml: o.yaml, signature, generation },
    trust: { configKey: publicKeyString(o.configKey), imageKeys: [] },
    server: o.server,
    credential: { nodeToken: o.token }
  }
}

/** Both copies, sequence 1, at `offset` of `file` (the STATE partition's start), as the installer writes them. */
export function writeStatePartition (file: string, offset: number, payload: StatePayload): void {
  const fd = openSync(file, 'r+')
  try {
    const copy = encodeStateCopy(payload, 1n)
    for (const o of COPY_OFFSETS) writeSync(fd, copy, 0, copy.length, offset + o)
  } finally {
    closeSync(fd)
  }
}
