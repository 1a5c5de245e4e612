// The signed install with real pieces, end to end (issue 10): two VMs behind simulated BMCs (one
// SeaBIOS, one OVMF), Anvil's authoritative DHCP, the real boot environment and the node image built
// and signed with the lab's own keys, as a site builds it.
//   enrol + BMC → accept → fast wipe (Anvil powers each VM on through its BMC) → ready →
//   `anvil images import` → `anvil machines provision ID --image anvil-node --config machine.yaml`
//   → the agent verifies and writes the image and the signed config, the disk is made bootable last,
//   Anvil sets boot device disk through the BMC and power-cycles it into slot A, the node verifies its
//   config, takes its address by DHCP and reports in → `provisioned`.
// Then, on the BIOS VM, the faults: a byte flipped in the stored image, and a config signature
// changed in the database after it was signed; each is refused before anything bootable is
// written, the machine goes to `error` with the reason, and the host finds no partition table.
import assert from 'node:assert/strict'
import { existsSync, readdirSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { test } from 'node:test'
import Database from 'better-sqlite3'
import { REPO_ROOT } from '../../lab/anvil.ts'
import type { ApiEvent } from '../../lab/api.ts'
import type { LabBmc } from '../../lab/bmc.ts'
import { enrollBmc } from '../../lab/enroll.ts'
import { waitFor } from '../../lab/proc.ts'
import { vmFiles, vmIdentity, type VmIdentity } from '../../lab/qemu.ts'
import type { Lab } from '../../lab/start-lab.ts'
import { DiscoveryApi, waitForTask } from '../helpers/lab-discovery.ts'
import { buildBootenv } from '../helpers/lab-discovery-bootenv.ts'
import { startTestLab } from '../helpers/lab-env.ts'
import { framePlan } from '../../src/agent/install-plan.ts'
import { api, buildLabImage, cli, copyKeys, flipByte, labMachineConfig, readDisk, removeLabImage, restoreByte, type LabImage } from '../helpers/lab-install.ts'
import { resetLabNode } from '../helpers/lab-reset.ts'
import { labUpgradeAndRollback } from '../helpers/lab-upgrade.ts'
import { bmcDiagnostics, labPowerSkipReason, waitForTimeline } from '../helpers/lab-power.ts'
import { skipReason } from '../helpers/requirements.ts'

const skip = labPowerSkipReason() ?? skipReason('the install flow lab test', {
  root: true,
  programs: ['apt-get', 'dpkg-deb', 'depmod', 'modprobe', 'strip', 'cpio', 'zstd', 'sfdisk', 'grub-mkimage', 'mkfs.vfat', 'mcopy', 'mksquashfs'],
  files: ['/bin/busybox', join(REPO_ROOT, 'node_modules/.bin/esbuild'), '/usr/lib/grub/i386-pc/boot.img', '/usr/lib/grub/x86_64-efi/linux.mod']
})
if (skip !== undefined) console.log(`# skipping the install flow test: ${skip}`)

const GiB = 1 << 30
/** PXE to the agent's hardware report under TCG: 16–23 s measured; generous for a loaded CI with two VMs. */
const REPORT_TIMEOUT_MS = 240_000
const WIPE_TIMEOUT_MS = 120_000
/** Provision to provisioned: the write and read-back of 1.1 GB under TCG, a reboot, GRUB, the node. */
const INSTALL_TIMEOUT_MS = 420_000
/** From provisioned to apid answering: trustd's certificate, then apid's start (two Node starts under TCG). */
const NODE_API_TIMEOUT_MS = 180_000

const s = (ms: number): string => (ms / 1000).toFixed(1)

/** The lifecycle changes of a timeline, as from→to. */
function states (events: readonly ApiEvent[]): string[] {
  return events.filter(e => e.type === 'machine.state').map(e => `${String(e.data?.from)}→${String(e.data?.to)}`)
}

/** A VM's disk, grown to 2 GiB (sparse): the install target, chosen in the config by its serial. */
function growDisk (lab: Lab, vm: VmIdentity): string {
  const file = vmFiles(lab.runDir, vm).disk
  truncateSync(file, 2 * GiB)
  return file
}

/** Enrols, accepts and fast-wipes a BMC'd VM; resolves once it is ready (Anvil powered it on). */
async function toReady (lab: Lab, bmc: LabBmc): Promise<string> {
  const discovery = new DiscoveryApi(lab)
  const { id } = await enrollBmc(lab.api, bmc)
  await discovery.accept(id)
  const wipe = await api(lab, 'POST', `/api/v1/machines/${id}/wipe`, { method: 'fast' })
  assert.equal(wipe.status, 202, JSON.stringify(wipe.body))
  await waitForTimeline(lab, bmc, id, ['agent.connected', 'agent.hardware'], REPORT_TIMEOUT_MS)
  const done = await waitForTask(discovery, id, String(wipe.body.id), WIPE_TIMEOUT_MS)
  assert.equal(done.state, 'done', `wipe of ${bmc.vm.name}: ${done.error ?? ''}`)
  assert.equal((await discovery.machine(id)).state, 'ready')
  return id
}

/** Waits until the machine's state is one of `wanted`; the error carries the console and the timeline. */
async function waitForState (lab: Lab, bmc: LabBmc, id: string, wanted: readonly string[], timeoutMs: number): Promise<string> {
  const discovery = new DiscoveryApi(lab)
  try {
    return await waitFor(`${bmc.vm.name} to be ${wanted.join(' or ')}`, timeoutMs, async () => {
      const m = await discovery.machine(id)
      return wanted.includes(m.state) ? m.state : undefined
    }, { intervalMs: 1_000 })
  } catch (err) {
    const events = await lab.api.events(id)
    throw new Error(`${(err as Error).message}\n--- timeline ---\n${events.slice(-40).map(e => `${e.type}: ${e.message}`).join('\n')}\n${bmcDiagnostics(lab, bmc)}`)
  }
}

/** `anvil machines provision`, as an operator types it; answers the operation id it printed. */
async function provision (lab: Lab, id: string, configFile: string): Promise<string> {
  const out = await cli(lab, ['machines', 'provision', id, '--image', 'anvil-node', '--config', configFile])
  const op = /\bt-[0-9a-f-]{36}\b/.exec(out)?.[0]
  assert.ok(op !== undefined, `provision printed an operation id: ${out}`)
  return op
}

/**
 * Issue 11's first proof on a real node: trustd got apid's certificate from Anvil's node CA
 * (node.certified), and the CLI, with a reader certificate minted by that CA, talks to the node
 * over mutual TLS, through apid to machined: `version` and `services` answer, and a reader's
 * `reboot` is refused with ERR_NODE_ROLE_DENIED (the node stays up).
 */
async function nodeApiAnswers (lab: Lab, bmc: LabBmc, id: string): Promise<string> {
  await waitForTimeline(lab, bmc, id, ['node.certified'], NODE_API_TIMEOUT_MS)
  const env = { ANVIL_HOME: join(lab.runDir, `anvil-home-${bmc.vm.name}`) }
  const bundle = join(lab.runDir, `${bmc.vm.name}.reader.pem`)
  writeFileSync(bundle, await cli(lab, ['certs', 'client', '--role', 'reader', '--name', 'e2e'], 60_000, { stdoutOnly: true }), { mode: 0o600 })
  const view = await api(lab, 'GET', `/api/v1/machines/${id}`)
  const ip = String(view.body?.install?.node?.addresses?.[0] ?? '').split('/')[0] ?? ''
  assert.match(ip, /^10\.77\./, `the node's address: ${JSON.stringify(view.body?.install?.node)}`)
  await cli(lab, ['context', 'add', 'lab', '--endpoint', ip, '--cert', bundle], 30_000, { env })
  // apid starts once trustd wrote its certificate: a few seconds after node.certified.
  let last = ''
  const version = await waitFor(`${bmc.vm.name}'s apid to answer`, NODE_API_TIMEOUT_MS, async () => {
    try {
      return JSON.parse(await cli(lab, ['-n', id, 'version', '-o', 'json'], 30_000, { env, stdoutOnly: true, inLab: true })) as Array<{ node: string, result?: Record<string, unknown> }>
    } catch (err) {
      last = (err as Error).message
      return undefined
    }
  }, { intervalMs: 2_000 }).catch((err: unknown) => { throw new Error(`${(err as Error).message}; last: ${last}\n${bmcDiagnostics(lab, bmc)}`) })
  assert.equal(version.length, 1)
  assert.equal(version[0]?.result?.machineId, id, JSON.stringify(version))
  assert.equal(version[0]?.result?.slot, 'A')
  assert.equal(version[0]?.result?.imageVersion, '0.1.0')
  const services = JSON.parse(await cli(lab, ['-n', ip, 'services', '-o', 'json'], 30_000, { env, stdoutOnly: true, inLab: true })) as Array<{ result?: { services?: Array<{ id: string, state: string }> } }>
  const running = (services[0]?.result?.services ?? []).filter(s => s.state === 'running').map(s => s.id)
  for (const daemon of ['machined', 'trustd', 'apid']) assert.ok(running.includes(daemon), `${daemon} runs: ${JSON.stringify(services)}`)
  await assert.rejects(cli(lab, ['-n', ip, 'reboot'], 30_000, { env, inLab: true }), /ERR_NODE_ROLE_DENIED/)
  assert.equal((await bmc.chassis()).power, 'on', 'the reader\'s reboot was refused: the node stays up')
  console.log(`# ${bmc.vm.name}: the node API answers over mutual TLS at ${ip}`)
  return ip
}

/**
 * The installed node's life after the install (issue 11), on one VM: powered on again from its
 * disk, its node API answers; an upgrade to 0.2.0 (the same build, another version, signed with
 * the same keys) boots slot B and commits; a rollback boots slot A with 0.1.0 again; a graceful
 * reset through the node API (wipe all) returns the machine to `ready` through `resetting`, and
 * the host then reads the disk.
 */
async function nodeLife (lab: Lab, bmc: LabBmc, id: string, image: LabImage, disk: string): Promise<void> {
  const next = await buildLabImage({ version: '0.2.0', keysFrom: image })
  try {
    await lab.api.powerAction(id, 'on')
    await nodeApiAnswers(lab, bmc, id)
    await labUpgradeAndRollback(lab, bmc, id, next)
  } finally {
    rmSync(next.dir, { recursive: true, force: true })
  }
  const view = await api(lab, 'GET', `/api/v1/machines/${id}`)
  const ip = String(view.body?.install?.node?.addresses?.[0] ?? '').split('/')[0] ?? ''
  await resetLabNode(lab, { machineId: id, ip, name: bmc.vm.name, graceful: true, wipe: 'all' })
  await lab.api.powerAction(id, 'off')
  const facts = await readDisk(disk, image.manifest)
  assert.equal(facts.state, undefined, `no STATE record is left on the disk: ${JSON.stringify(facts.state?.payload.machineId)}`)
}

/** The flow of one VM from ready to provisioned; returns the seconds it took. */
async function installOne (lab: Lab, bmc: LabBmc, id: string, image: LabImage, disk: string): Promise<number> {
  const configFile = join(lab.runDir, `${bmc.vm.name}.machine.yaml`)
  writeFileSync(configFile, labMachineConfig(`node-${bmc.vm.name}`, bmc.vm.mac, `${bmc.vm.serial}D`))
  assert.match(await cli(lab, ['config', 'validate', configFile]), /valid|ok/i)
  const started = Date.now()
  const op = await provision(lab, id, configFile)
  const state = await waitForState(lab, bmc, id, ['provisioned', 'error'], INSTALL_TIMEOUT_MS)
  const took = Date.now() - started
  const events = await lab.api.events(id)
  const types = events.map(e => e.type)
  assert.equal(state, 'provisioned', `${bmc.vm.name}: ${events.slice(-20).map(e => `${e.type}: ${e.message}`).join('\n')}`)

  // The operation: done, with the install's report as its result.
  const operation = await api(lab, 'GET', `/api/v1/operations/${op}`)
  assert.equal(operation.status, 200)
  assert.equal(operation.body.kind, 'install')
  assert.equal(operation.body.state, 'done')
  assert.equal(operation.body.result?.verified, true)
  assert.equal(operation.body.result?.committed, true)
  assert.equal(operation.body.result?.slot, 'A')
  assert.equal(operation.body.result?.bytesWritten, image.manifest.artifact.size)

  // The timeline tells the whole story, in order.
  const order = ['install.queued', 'install.started', 'install.progress', 'install.written', 'node.reported'].map(t => types.indexOf(t))
  assert.ok(order.every((n, i) => n >= 0 && (i === 0 || n > (order[i - 1] ?? -1))), `timeline order ${order.join(' ')}: ${types.join(', ')}`)
  assert.deepEqual(states(events).slice(-2), ['ready→installing', 'installing→provisioned'], states(events).join(', '))
  const bootDevice = events.filter(e => e.type === 'power.boot-device').at(-1)
  assert.equal(bootDevice?.data?.device, 'disk', `the BMC was set to boot from disk: ${JSON.stringify(bootDevice)}`)
  assert.equal((await bmc.chassis()).boot, 'default', 'ipmi_sim holds the disk (its "default") as the boot device')
  const written = types.indexOf('install.written')
  assert.ok(events.slice(written).some(e => e.type === 'power.action' && e.data?.action === 'cycle'), 'Anvil power-cycled it through its BMC into its disk')

  // `anvil machines show`: the image, the slot and the config generation the node reported.
  const show = await cli(lab, ['machines', 'show', id])
  assert.match(show, /provisioned/)
  assert.match(show, /anvil-node/)
  assert.match(show, /slot\s*:?\s*A/i)
  assert.match(show, /generation\s*:?\s*1/i)
  const timeline = await cli(lab, ['machines', 'timeline', id])
  assert.match(timeline, /node\.reported|reported in/)

  await nodeApiAnswers(lab, bmc, id)

  // From the host, with the VM off: sfdisk reads the table, STATE holds the record (credential
  // spent, identity made on the node), grubenv has slot A committed by the node.
  await lab.api.powerAction(id, 'off')
  const facts = await readDisk(disk, image.manifest)
  assert.deepEqual(facts.partitions?.map(p => p.name), image.manifest.layout.partitions.map(p => p.name).concat(facts.partitions?.some(p => p.name === 'ANVIL-EPHEMERAL') === true ? ['ANVIL-EPHEMERAL'] : []))
  assert.equal(facts.state?.payload.machineId, id, facts.stateError)
  assert.equal(facts.state?.payload.config.generation, 1)
  assert.equal(facts.state?.payload.credential, undefined, 'the one-time node token was dropped after the report')
  assert.ok(facts.state?.payload.identity !== undefined, 'the node made its identity key')
  assert.equal(facts.grubenv?.A_OK, '1', `grubenv: ${JSON.stringify(facts.grubenv)}`)
  return took / 1000
}

/** The config signature of the machine's newest config, changed in the database (a corrupted or tampered store). */
function tamperConfigSignature (lab: Lab, machineId: string): void {
  const db = new Database(join(lab.runDir, 'var', 'anvil.db'))
  try {
    const row = db.prepare('SELECT generation, signature FROM machine_configs WHERE machine_id = ? ORDER BY generation DESC LIMIT 1').get(machineId) as { generation: number, signature: string } | undefined
    assert.ok(row !== undefined, 'the provision stored a signed config')
    const lines = row.signature.split('\n')
    const sig = lines[1] ?? ''
    // One base64 character of the Ed25519 signature, changed: still well formed, no longer valid.
    lines[1] = sig.slice(0, 20) + (sig[20] === 'A' ? 'B' : 'A') + sig.slice(21)
    db.prepare('UPDATE machine_configs SET signature = ? WHERE machine_id = ? AND generation = ?').run(lines.join('\n'), machineId, row.generation)
  } finally {
    db.close()
  }
}

/** The imported artifact in the lab server's image store. */
function storedArtifact (lab: Lab): string {
  const dir = join(lab.runDir, 'var', 'images')
  const file = readdirSync(dir).find(f => f.endsWith('.raw.zst'))
  assert.ok(file !== undefined, `an artifact in ${dir}: ${readdirSync(dir).join(', ')}`)
  return join(dir, file)
}

/** A provision that must be refused by the agent: the machine ends in error, nothing bootable on the disk. */
async function refusedInstall (lab: Lab, bmc: LabBmc, id: string, image: LabImage, disk: string, configFile: string, expect: RegExp, meanwhile: () => void = () => {}): Promise<void> {
  const op = await provision(lab, id, configFile)
  meanwhile()
  assert.equal(await waitForState(lab, bmc, id, ['error', 'provisioned'], INSTALL_TIMEOUT_MS), 'error')
  const m = await new DiscoveryApi(lab).machine(id)
  assert.match(m.stateReason ?? '', expect, `state reason: ${m.stateReason ?? ''}`)
  const operation = await api(lab, 'GET', `/api/v1/operations/${op}`)
  assert.equal(operation.body.state, 'failed')
  assert.match(String(operation.body.error), expect)
  assert.notEqual(operation.body.result?.committed, true, 'the refused install never made the disk bootable')
  const events = await lab.api.events(id)
  assert.ok(events.some(e => e.type === 'install.failed'), events.map(e => e.type).join(', '))
  const facts = await readDisk(disk, image.manifest)
  assert.equal(facts.partitions, undefined, `no partition table on the disk: ${JSON.stringify(facts.partitions)}`)
}

test('install flow: discovered, wiped, provisioned with a signed image and config on SeaBIOS and OVMF; a tampered config and a tampered image are refused', { skip, timeout: 1_800_000 }, async (t) => {
  const started = Date.now()
  const [env, image] = await Promise.all([buildBootenv(), buildLabImage()])
  console.log(`# boot environment ${env.seconds.toFixed(1)} s, node image ${image.seconds.toFixed(1)} s (${image.dir})`)
  const bios = vmIdentity(1, 'bios')
  const uefi = vmIdentity(2, 'uefi')
  const faulty = vmIdentity(3, 'bios')
  const testLab = await startTestLab('authoritative', 'debug', {
    bmcs: [bios, uefi, faulty],
    prefix: 'anvinst',
    // The site's keys: the image was signed with them and has their public halves baked in.
    seedDataDir: (dataDir) => { copyKeys(image, dataDir) }
  })
  let passed = false
  t.after(async () => {
    await testLab.cleanup(!passed)
    if (passed) removeLabImage(image)
  })
  const { lab } = testLab
  const bmcOf = (vm: VmIdentity): LabBmc => {
    const b = lab.bmcs.get(vm.name)
    assert.ok(b !== undefined)
    return b
  }
  const [biosBmc, uefiBmc, faultyBmc] = [bmcOf(bios), bmcOf(uefi), bmcOf(faulty)]
  const [biosDisk, uefiDisk, faultyDisk] = [growDisk(lab, bios), growDisk(lab, uefi), growDisk(lab, faulty)]

  // All three discovered and wiped at once, while the image is imported through the CLI.
  const [biosId, uefiId, faultyId] = await Promise.all([toReady(lab, biosBmc), toReady(lab, uefiBmc), toReady(lab, faultyBmc), (async () => {
    assert.match(await cli(lab, ['images', 'import', image.manifestFile]), /anvil-node/)
    assert.match(await cli(lab, ['images', 'list']), /anvil-node\s+0\.1\.0\s+ready/)
  })()])
  assert.ok(biosId !== undefined && uefiId !== undefined && faultyId !== undefined)
  const readyAt = Date.now()

  // The faulty VM's config: its signature is changed in the store right after it was signed, before
  // the agent (booted again through the BMC: the VM is powered off first) takes the task.
  const faultyConfig = join(lab.runDir, `${faulty.name}.machine.yaml`)
  writeFileSync(faultyConfig, labMachineConfig(`node-${faulty.name}`, faulty.mac, `${faulty.serial}D`))
  await lab.api.powerAction(faultyId, 'off')

  // The two good installs at once, and the tampered config beside them.
  const [biosSeconds, uefiSeconds] = await Promise.all([
    installOne(lab, biosBmc, biosId, image, biosDisk),
    installOne(lab, uefiBmc, uefiId, image, uefiDisk),
    refusedInstall(lab, faultyBmc, faultyId, image, faultyDisk, faultyConfig, /signature/i, () => { tamperConfigSignature(lab, faultyId) })
  ])
  console.log(`# install: provision → provisioned BIOS ${biosSeconds.toFixed(1)} s, UEFI ${uefiSeconds.toFixed(1)} s (with a third VM refusing its config); ready after ${s(readyAt - started)} s`)

  // The tampered image: one byte of the stored artifact flipped, on the faulty VM made
  // ready again (error → accept → wipe), then the byte restored.
  const discovery = new DiscoveryApi(lab)
  await discovery.accept(faultyId)
  const wipe = await api(lab, 'POST', `/api/v1/machines/${faultyId}/wipe`, { method: 'fast' })
  assert.equal(wipe.status, 202, JSON.stringify(wipe.body))
  assert.equal((await waitForTask(discovery, faultyId, String(wipe.body.id), WIPE_TIMEOUT_MS)).state, 'done')
  const life = nodeLife(lab, biosBmc, biosId, image, biosDisk)
  life.catch(() => {}) // awaited below, after the tampered image
  const artifact = storedArtifact(lab)
  // Mid-frame of the largest chunk the install fetches (a zero chunk's frame is never fetched).
  const frame = framePlan(image.manifest.artifact).data.map((d) => d.frame).sort((a, b) => (b.end - b.start) - (a.end - a.start))[0]
  assert.ok(frame !== undefined)
  const at = frame.start + Math.floor((frame.end - frame.start) / 2)
  const old = await flipByte(artifact, at)
  try {
    await refusedInstall(lab, faultyBmc, faultyId, image, faultyDisk, faultyConfig, /chunk|hash|sha-?256|decompress|zstd|corrupt/i)
  } finally {
    await restoreByte(artifact, at, old)
  }
  assert.ok(existsSync(artifact))
  await life
  assert.ok(lab.anvil.daemon.alive(), 'anvil is still running')
  console.log(`# install flow: whole test ${s(Date.now() - started)} s`)
  passed = true
})
