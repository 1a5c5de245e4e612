// The lab step of issue 11's reset (for the lead's e2e, not run by any unit tier): a provisioned
// VM is reset through the node API with an admin certificate minted by Anvil's node CA, Anvil sees
// it go resetting → ready (its agent wiped every disk), and the host reads the VM's disk file: no
// valid STATE copy, no bootable slot in grubenv, EPHEMERAL's ends zeroed when it exists.
import assert from 'node:assert/strict'
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import type { Lab } from '../../lab/start-lab.ts'
import type { ImageManifest } from '../../src/image/manifest.ts'
import { api, cli, readDisk } from './lab-install.ts'

export type LabResetOptions = {
  /** The machine id of a provisioned VM whose apid answers. */
  readonly machineId: string
  /** The node's address (its install.node.addresses[0] without the prefix). */
  readonly ip: string
  /** A name for the files this step writes in the lab's run directory. */
  readonly name: string
  readonly graceful?: boolean
  readonly wipe?: 'state' | 'ephemeral' | 'all'
  /** Up to ready (default 15 min: a TCG VM reboots, PXE boots the agent, the agent wipes). */
  readonly timeoutMs?: number
  /** The VM's disk file and the image's manifest: when given, the host checks what was wiped. */
  readonly disk?: { readonly file: string, readonly manifest: ImageManifest }
}

export type LabResetResult = {
  readonly seconds: number
  /** The states `--wait` printed, in order. */
  readonly states: readonly string[]
  readonly output: string
}

/**
 * `anvil -n IP reset [--graceful] --wipe W --wait -o table` from inside the lab's namespace, then
 * the timeline and, with `disk`, the VM's disk file. Asserts the machine ends `ready` through
 * `resetting`, the timeline holds node.reset (when the node told Anvil) and the wipe, and the disk
 * holds no STATE and no bootable slot. The VM must be stopped by the caller before its disk file
 * is read if its agent still holds it open (the agent's wipe is over once the machine is ready).
 */
export async function resetLabNode (lab: Lab, o: LabResetOptions): Promise<LabResetResult> {
  const env = { ANVIL_HOME: join(lab.runDir, `anvil-home-reset-${o.name}`) }
  const bundle = join(lab.runDir, `${o.name}.admin.pem`)
  writeFileSync(bundle, await cli(lab, ['certs', 'client', '--role', 'admin', '--name', 'e2e-reset'], 60_000, { stdoutOnly: true }), { mode: 0o600 })
  await cli(lab, ['context', 'add', 'lab-reset', '--endpoint', o.ip, '--cert', bundle], 30_000, { env })
  const before = await api(lab, 'GET', `/api/v1/machines/${o.machineId}`)
  assert.equal(before.body?.state, 'provisioned', `the machine is provisioned before its reset: ${JSON.stringify(before.body?.state)}`)
  const started = Date.now()
  const timeoutMs = o.timeoutMs ?? 900_000
  const args = ['-n', o.ip, 'reset', '--wipe', o.wipe ?? 'all', '--wait', '--timeout', `${Math.round(timeoutMs / 1000)}s`, ...(o.graceful === true ? ['--graceful'] : [])]
  const output = await cli(lab, args, timeoutMs + 60_000, { env, inLab: true })
  const seconds = (Date.now() - started) / 1000
  const states = [...output.matchAll(new RegExp(`${o.machineId}: (\\w+)`, 'g'))].map(m => m[1] ?? '')
  assert.ok(states.includes('resetting'), `the machine went resetting: ${output}`)
  assert.equal(states.at(-1), 'ready', output)
  const after = await api(lab, 'GET', `/api/v1/machines/${o.machineId}`)
  assert.equal(after.body?.state, 'ready')
  const events = await api(lab, 'GET', `/api/v1/machines/${o.machineId}/events?limit=10000`)
  const types = ((events.body?.items ?? []) as Array<{ type: string }>).map(e => e.type)
  if (o.graceful === true) assert.ok(types.includes('node.reset'), `a graceful reset told Anvil: ${types.join(' ')}`)
  assert.ok(types.includes('wipe.done'), `the agent's wipe is in the timeline: ${types.join(' ')}`)
  if (o.disk !== undefined) {
    const facts = await readDisk(o.disk.file, o.disk.manifest)
    assert.equal(facts.state, undefined, 'no valid STATE copy is left')
    if (facts.grubenv !== undefined) {
      const g = facts.grubenv
      assert.ok(g.A_OK !== '1' && g.B_OK !== '1' && (g.A_LEFT ?? '0') === '0' && (g.B_LEFT ?? '0') === '0', `no slot bootable: ${JSON.stringify(g)}`)
    }
  }
  console.log(`# ${o.name}: reset (${o.graceful === true ? 'graceful' : 'forced'}, wipe ${o.wipe ?? 'all'}) to ready in ${seconds.toFixed(0)} s`)
  return { seconds, states, output }
}
