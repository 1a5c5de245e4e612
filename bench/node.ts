// The node (issue 11): one lab VM installed with the node image (as `bench install` does), then,
// on the provisioned node, under TCG:
// - memory at rest: the RSS of machined, trustd and apid (the node API's Processes), and the whole
//   node's use (MemTotal − MemAvailable), a minute after it came up, against Talos's published
//   minimum for a worker node (1 GiB of RAM);
// - apid `Version` latency from 50 concurrent clients, each on its own mutual-TLS connection, from
//   inside the lab's namespace (bench/node-load.ts), p50/p99;
// - the upgrade round trip (`anvil -n NODE upgrade --image anvil-node:0.2.0 --wait`: command to
//   committed) and the rollback (`anvil -n NODE rollback --wait`: command to the old slot running).
import { rmSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { Teardown, listNamespaces, testNamespaceName } from '../lab/netns.ts'
import { waitFor } from '../lab/proc.ts'
import { vmIdentity } from '../lab/qemu.ts'
import { startLab, type Lab } from '../lab/start-lab.ts'
import { buildBootenv } from '../test/helpers/lab-discovery-bootenv.ts'
import { api, buildLabImage, cli, copyKeys, labMachineConfig, removeLabImage, type LabImage } from '../test/helpers/lab-install.ts'
import { fmt, table, dir, type BenchContext, type Section } from './context.ts'
import { diskOnShm, labMissing, readyAndOff } from './install.ts'
import { run } from './proc.ts'

export type NodeSection = Section & { readonly id: 'node' }

const MiB = 1 << 20
/** Talos Linux's minimum memory for a worker node (docs.siderolabs.com/talos/v1.15/getting-started/system-requirements). */
const TALOS_WORKER_MIN_BYTES = 1024 * MiB
const CLIENTS = 50
const LOAD_SECONDS = 20
const REST_MS = 60_000

let active: { teardown: Teardown, lab: Lab | undefined } | undefined

export async function stopNode (): Promise<void> {
  const a = active
  active = undefined
  if (a === undefined) return
  const failures = await a.teardown.run()
  if (a.lab !== undefined) await a.lab.stop().catch((err: unknown) => { failures.push((err as Error).message) })
  if (failures.length > 0) process.stderr.write(`bench node: teardown left work undone: ${failures.join('; ')}\n`)
}

type Figures = {
  rss?: { daemons: Array<{ name: string, bytes: number }>, nodeUsedBytes: number, totalBytes: number }
  load?: { calls: number, errors: number, p50Ms: number, p99Ms: number, maxMs: number, perSecond: number, firstError?: string }
  upgrade?: { seconds: number, slot: string, version: string }
  rollback?: { seconds: number, slot: string, version: string }
  notes: string[]
}

type NodeJson<T> = Array<{ node: string, result?: T, error?: { code: string, message: string } }>

async function nodeCli<T> (lab: Lab, env: Record<string, string>, args: readonly string[], timeoutMs = 60_000): Promise<T> {
  const out = JSON.parse(await cli(lab, [...args, '-o', 'json'], timeoutMs, { env, stdoutOnly: true, inLab: true })) as NodeJson<T>
  const first = out[0]
  if (first?.result === undefined) throw new Error(`anvil ${args.join(' ')}: ${JSON.stringify(first?.error ?? out)}`)
  return first.result
}

export async function benchNode (ctx: BenchContext): Promise<NodeSection> {
  const why = labMissing(ctx.repo)
  if (why !== undefined) return { id: 'node', markdown: `Not run: ${why}.` }
  const home = join(ctx.runDir, 'node')
  rmSync(home, { recursive: true, force: true })
  dir(home)
  const scratch = dir(join(ctx.scratch, 'node'))
  const stale = (await listNamespaces()).filter(n => n.startsWith('anvbn-'))
  if (stale.length > 0) ctx.log(`node: namespaces left by an earlier run (remove them with ip netns del): ${stale.join(', ')}`)
  const figures: Figures = { notes: [] }
  const started = Date.now()
  active = { teardown: new Teardown(), lab: undefined }
  let images: LabImage[] = []
  try {
    await buildBootenv()
    // One after the other: the second is signed with the first's keys (and has them baked in).
    const base = await buildLabImage()
    images = [base]
    const next = await buildLabImage({ version: '0.2.0', keysFrom: base })
    images.push(next)
    ctx.log(`node: images ${images.map(i => `${i.manifest.version} ${i.seconds.toFixed(0)} s`).join(', ')}`)
    const lab = await startLab({ ns: testNamespaceName('anvbn'), runDir: join(home, 'lab'), dhcpMode: 'authoritative', logLevel: 'info', beforeAnvil: async () => { copyKeys(base, join(home, 'lab', 'var')) } })
    active.lab = lab
    for (const image of images) await cli(lab, ['images', 'import', image.manifestFile])
    const vm = vmIdentity(1, 'bios')
    const bmc = await lab.startBmc(vm)
    diskOnShm(lab, vm, scratch)
    const id = await readyAndOff(lab, bmc)
    const provision = await api(lab, 'POST', `/api/v1/machines/${id}/provision`, { image: 'anvil-node:0.1.0', config: labMachineConfig(`node-${vm.name}`, vm.mac, `${vm.serial}D`) })
    if (provision.status !== 202) throw new Error(`provision: HTTP ${provision.status} ${JSON.stringify(provision.body)}`)
    await waitFor('the node certified', 600_000, async () => (await lab.api.events(id)).some(e => e.type === 'node.certified') ? true : undefined, { intervalMs: 1000 })
    const view = await api(lab, 'GET', `/api/v1/machines/${id}`)
    const ip = String(view.body?.install?.node?.addresses?.[0] ?? '').split('/')[0] ?? ''
    const env = { ANVIL_HOME: join(home, 'anvil-home') }
    const bundle = join(home, 'admin.pem')
    writeFileSync(bundle, await cli(lab, ['certs', 'client', '--role', 'admin', '--name', 'bench'], 60_000, { stdoutOnly: true }), { mode: 0o600 })
    await cli(lab, ['context', 'add', 'bench', '--endpoint', ip, '--cert', bundle], 30_000, { env })
    await waitFor('apid to answer', 300_000, async () => await nodeCli(lab, env, ['-n', ip, 'version']).catch(() => undefined), { intervalMs: 2000 })
    ctx.log(`node: ${id} provisioned and answering at ${ip}; at rest for ${REST_MS / 1000} s`)
    await new Promise((resolve) => setTimeout(resolve, REST_MS))

    const processes = await nodeCli<{ processes: Array<{ pid: number, args: string[], rssBytes: number }> }>(lab, env, ['-n', ip, 'processes'])
    const memory = await nodeCli<{ totalBytes: number, availableBytes: number }>(lab, env, ['-n', ip, 'memory'])
    const daemons = ['machined', 'trustd', 'apid'].map(name => ({ name, bytes: processes.processes.filter(p => p.args.includes(name) && p.args.some(a => a.endsWith('anvil-node.mjs'))).reduce((n, p) => n + p.rssBytes, 0) }))
    figures.rss = { daemons, nodeUsedBytes: memory.totalBytes - memory.availableBytes, totalBytes: memory.totalBytes }
    ctx.log(`node: RSS ${daemons.map(d => `${d.name} ${fmt(d.bytes / MiB)} MiB`).join(', ')}; node uses ${fmt(figures.rss.nodeUsedBytes / MiB)} of ${fmt(memory.totalBytes / MiB)} MiB`)

    const load = await run(['ip', 'netns', 'exec', lab.ns, process.execPath, '--import', 'tsx', join(ctx.repo, 'bench/node-load.ts'), '--address', ip, '--bundle', bundle, '--clients', String(CLIENTS), '--seconds', String(LOAD_SECONDS)], { timeoutMs: (LOAD_SECONDS + 120) * 1000 })
    figures.load = JSON.parse(load.stdout.trim().split('\n').at(-1) ?? '{}') as NonNullable<Figures['load']>
    ctx.log(`node: Version from ${CLIENTS} clients: p50 ${fmt(figures.load?.p50Ms)} ms, p99 ${fmt(figures.load?.p99Ms)} ms, ${fmt(figures.load?.perSecond, 0)}/s, ${figures.load?.errors ?? '?'} errors`)

    const timed = async (args: readonly string[]): Promise<{ seconds: number, slot: string, version: string }> => {
      const t0 = Date.now()
      await cli(lab, args, 900_000, { env, inLab: true })
      const seconds = (Date.now() - t0) / 1000
      const v = await nodeCli<{ slot: string, imageVersion: string }>(lab, env, ['-n', ip, 'version'])
      return { seconds, slot: v.slot, version: v.imageVersion }
    }
    figures.upgrade = await timed(['-n', ip, 'upgrade', '--image', `anvil-node:${next.manifest.version}`, '--wait'])
    ctx.log(`node: upgrade to ${next.manifest.version} committed in ${fmt(figures.upgrade.seconds)} s (slot ${figures.upgrade.slot}, ${figures.upgrade.version})`)
    figures.rollback = await timed(['-n', ip, 'rollback', '--wait'])
    ctx.log(`node: rollback in ${fmt(figures.rollback.seconds)} s (slot ${figures.rollback.slot}, ${figures.rollback.version})`)
  } catch (err) {
    figures.notes.push((err as Error).message.split('\n')[0] ?? '')
  } finally {
    await stopNode()
    rmSync(scratch, { recursive: true, force: true })
    for (const image of images) removeLabImage(image)
  }
  const qemu = (await run(['qemu-system-x86_64', '--version'], { timeoutMs: 5000 })).stdout.split('\n')[0]?.replace('QEMU emulator version ', '') ?? '?'
  return { id: 'node', markdown: render(figures, qemu, (Date.now() - started) / 60_000) }
}

function render (f: Figures, qemu: string, minutes: number): string {
  const out = [`Lab: QEMU ${qemu} (TCG, \`-m 512 -smp 1\`), one BIOS VM installed with anvil-node 0.1.0 (Anvil authoritative DHCP, the VM behind an ipmi_sim BMC); the whole run took ${minutes.toFixed(1)} minutes.`, '']
  if (f.rss !== undefined) {
    const sum = f.rss.daemons.reduce((n, d) => n + d.bytes, 0)
    out.push(`**Memory at rest**, ${REST_MS / 1000} s after the node API first answered (\`anvil -n NODE processes\` RSS, \`anvil -n NODE memory\`), against Talos's published minimum for a worker node (1 GiB RAM; Talos documents no figure for its own daemons). RSS counts shared pages (the one Node binary and bundle the three processes map), so the three RSS add up to more than the whole node uses:`, '',
      table(['what', 'MiB'], [...f.rss.daemons.map(d => [`${d.name} RSS`, fmt(d.bytes / MiB)]), ['machined + trustd + apid', fmt(sum / MiB)], ['the whole node in use (MemTotal − MemAvailable)', fmt(f.rss.nodeUsedBytes / MiB)], ['the VM\'s memory (MemTotal)', fmt(f.rss.totalBytes / MiB)], ['Talos worker minimum', fmt(TALOS_WORKER_MIN_BYTES / MiB)]]), '')
  }
  if (f.load !== undefined) {
    out.push(`**apid \`Version\` latency**, ${CLIENTS} clients each on its own mutual-TLS connection, back to back for ${LOAD_SECONDS} s from the lab's namespace (\`bench/node-load.ts\`); apid forwards each call to machined over its unix socket. The node is one emulated CPU (TCG):`, '',
      table(['calls', 'errors', 'calls/s', 'p50 (ms)', 'p99 (ms)', 'max (ms)'], [[String(f.load.calls), String(f.load.errors), fmt(f.load.perSecond, 0), fmt(f.load.p50Ms), fmt(f.load.p99Ms), fmt(f.load.maxMs)]]), '')
    if (f.load.firstError !== undefined) out.push(`First error: ${f.load.firstError}`, '')
  }
  if (f.upgrade !== undefined || f.rollback !== undefined) {
    out.push('**Upgrade and rollback**, seconds from the command to its end as `--wait` sees it (upgrade: the new slot written, verified, booted and committed by the health gate; rollback: the old slot running again):', '',
      table(['operation', 'seconds', 'then running'], [
        ...(f.upgrade === undefined ? [] : [['`upgrade --image anvil-node:0.2.0 --wait`', fmt(f.upgrade.seconds), `slot ${f.upgrade.slot}, ${f.upgrade.version}`]]),
        ...(f.rollback === undefined ? [] : [['`rollback --wait`', fmt(f.rollback.seconds), `slot ${f.rollback.slot}, ${f.rollback.version}`]])
      ]), '')
  }
  if (f.notes.length > 0) out.push('Failures:', ...f.notes.map(n => `- ${n}`))
  return out.join('\n').trimEnd()
}
