// Discovery (issue 4): power-on to complete hardware report per VM (a BIOS VM alone, a UEFI VM
// alone, three VMs at once), and Anvil's zero-wipe rate against busybox dd in a VM with the same
// settings. Runs the lab (lab/start-lab.ts: namespace anvbd-<random>, Anvil authoritative, the
// real boot environment) and the helpers of the discovery lab test; see docs/benchmarks.md.
import { existsSync, readFileSync, rmSync } from 'node:fs'
import { join } from 'node:path'
import { Teardown, listNamespaces, testNamespaceName } from '../lab/netns.ts'
import { OVMF } from '../lab/qemu.ts'
import { startLab, type Lab } from '../lab/start-lab.ts'
import { buildBootenv } from '../test/helpers/lab-discovery-bootenv.ts'
import { OutOfTime, checkTime, dir, fmt, median, table, type BenchContext, type Section } from './context.ts'
import { bootGroup, BootGroup, type BootSample } from './discovery-boot.ts'
import { benchWipe, WIPE_VM, type WipeSamples } from './discovery-wipe.ts'
import { run, which } from './proc.ts'

/** The discovery section of docs/benchmarks.md. */
export type DiscoverySection = Section & { readonly id: 'discovery' }

const MiB = 1 << 20
let active: { teardown: Teardown, lab: Lab | undefined } | undefined

/** Stops whatever a discovery run left running (VMs, Anvil, namespaces); bench/run.ts calls it on Ctrl-C too. */
export async function stopDiscovery (): Promise<void> {
  const a = active
  active = undefined
  if (a === undefined) return
  const failures = await a.teardown.run()
  if (a.lab !== undefined) await a.lab.stop().catch((err: unknown) => { failures.push((err as Error).message) })
  if (failures.length > 0) process.stderr.write(`bench discovery: teardown left work undone: ${failures.join('; ')}\n`)
}

/** Why the benchmark cannot run here, or undefined. */
function missing (repo: string): string | undefined {
  const files = ['/bin/busybox', '/dev/net/tun', OVMF.code, OVMF.vars, join(repo, 'node_modules/.bin/esbuild'), join(repo, 'src/agent/main.ts'), join(repo, 'boot-assets/snponly.efi')]
  const absent = [...['qemu-system-x86_64', 'dnsmasq', 'zstd', 'cpio', 'depmod', 'strip'].filter(p => which(p) === undefined), ...files.filter(f => !existsSync(f))]
  return absent.length === 0 ? undefined : `missing ${absent.join(', ')} (as root: bash lab/setup.sh)`
}

/** Runs both measurements and returns the section. */
export async function benchDiscovery (ctx: BenchContext): Promise<DiscoverySection> {
  const why = missing(ctx.repo)
  if (why !== undefined) return { id: 'discovery', markdown: `Not run: ${why}.` }
  const rounds = ctx.rounds ?? (ctx.quick ? 1 : 4)
  const wipeRounds = ctx.rounds ?? (ctx.quick ? 2 : 7)
  const wipeBytes = (ctx.quick ? 256 : 1024) * MiB
  const home = join(ctx.runDir, 'discovery')
  // A fresh run directory: the lab's database lives there, and an old one would answer for new VMs.
  rmSync(home, { recursive: true, force: true })
  dir(home)
  const scratch = dir(join(ctx.scratch, 'discovery'))
  const stale = (await listNamespaces()).filter(n => n.startsWith('anvbd-'))
  if (stale.length > 0) ctx.log(`discovery: namespaces left by an earlier run (remove them with ip netns del): ${stale.join(', ')}`)
  const ns = testNamespaceName('anvbd')
  const notes: string[] = []
  const boots: BootSample[] = []
  let wipe: WipeSamples | undefined
  let stopped: string | undefined
  const started = Date.now()
  active = { teardown: new Teardown(), lab: undefined }
  try {
    const env = await buildBootenv()
    const benchEnv = await buildBootenv({ out: join(home, 'bootenv-dd'), agentEntry: join(ctx.repo, 'bench/discovery-dd-agent.ts') })
    ctx.log(`discovery: boot environments ready (${env.seconds.toFixed(1)} s, bench one ${benchEnv.seconds.toFixed(1)} s)`)
    const lab = await startLab({ ns, runDir: join(home, 'lab'), dhcpMode: 'authoritative', logLevel: 'info', anvilConfig: { discovery: { autoAccept: [{ 'system.serial': WIPE_VM.serial }] } } })
    active.lab = lab
    const teardown = active.teardown
    try {
      for (let r = 0; r < rounds; r++) {
        for (const group of Object.values(BootGroup)) {
          checkTime(ctx)
          const got = await bootGroup(lab, teardown, group, r)
          boots.push(...got)
          ctx.log(`discovery boot round ${r + 1} ${group}: ${got.map(b => `${b.vm} ${b.firmware} ${b.report.toFixed(1)} s`).join(', ')}`)
        }
      }
    } catch (err) {
      if (err instanceof OutOfTime) stopped = err.message
      else notes.push(`power-on rounds: ${(err as Error).message.split('\n')[0] ?? ''}`)
    }
    try {
      checkTime(ctx)
      wipe = await benchWipe({ lab, teardown, env: benchEnv, ddNs: `${ns}-dd`, dir: dir(join(home, 'dd')), scratch, bytes: wipeBytes, rounds: wipeRounds, log: ctx.log })
    } catch (err) {
      if (err instanceof OutOfTime) stopped = err.message
      else notes.push(`zero-wipe rounds: ${(err as Error).message.split('\n')[0] ?? ''}`)
    }
  } finally {
    await stopDiscovery()
    rmSync(scratch, { recursive: true, force: true })
  }
  const facts = await environmentFacts(ctx.repo)
  return { id: 'discovery', markdown: render({ boots, wipe, notes, stopped, facts, rounds, wipeRounds, wipeBytes, minutes: (Date.now() - started) / 60_000 }) }
}

async function environmentFacts (repo: string): Promise<string> {
  const qemu = (await run(['qemu-system-x86_64', '--version'], { timeoutMs: 5000 })).stdout.split('\n')[0]?.replace('QEMU emulator version ', '') ?? '?'
  const pkg = async (name: string): Promise<string> => (await run(['dpkg-query', '-W', name], { timeoutMs: 5000 })).stdout.trim().split(/\s+/)[1] ?? '?'
  let kernel = '?'
  try {
    kernel = /^kernel: (\S+ \S+)/m.exec(readFileSync(join(repo, 'boot-assets/bootenv/PROVENANCE'), 'utf8'))?.[1] ?? '?'
  } catch { /* not built */ }
  return `QEMU ${qemu} (TCG, \`-m 512 -smp 1\`), OVMF ${await pkg('ovmf')}, busybox-static ${await pkg('busybox-static')}, boot environment kernel ${kernel}`
}

type RenderInput = { boots: readonly BootSample[], wipe: WipeSamples | undefined, notes: readonly string[], stopped: string | undefined, facts: string, rounds: number, wipeRounds: number, wipeBytes: number, minutes: number }

/** "median (min–max)" in seconds, or "–". */
function spread (xs: ReadonlyArray<number | undefined>): string {
  const v = xs.filter((x): x is number => x !== undefined && Number.isFinite(x))
  if (v.length === 0) return '–'
  return `${fmt(median(v))} (${fmt(Math.min(...v))}–${fmt(Math.max(...v))})`
}

function bootRows (boots: readonly BootSample[]): string[][] {
  const rows: Array<{ label: string, pick: (b: BootSample) => boolean }> = [
    { label: 'BIOS VM alone', pick: b => b.group === 'bios' },
    { label: 'UEFI VM alone', pick: b => b.group === 'uefi' },
    { label: 'three at once: the two BIOS VMs', pick: b => b.group === 'three' && b.firmware === 'bios' },
    { label: 'three at once: the UEFI VM', pick: b => b.group === 'three' && b.firmware === 'uefi' },
    { label: 'three at once: all three', pick: b => b.group === 'three' }
  ]
  return rows.map(({ label, pick }) => {
    const s = boots.filter(pick)
    return [label, String(s.length), spread(s.map(b => b.report)), spread(s.map(b => b.offer)), spread(s.map(b => b.script)), spread(s.map(b => b.agentStartUptime)), spread(s.map(b => b.connected))]
  })
}

function render (i: RenderInput): string {
  const out = [
    `Lab: ${i.facts}. Namespace \`anvbd-<random>\`, Anvil authoritative DHCP, VMs PXE boot through Anvil (BIOS: QEMU's iPXE ROM; UEFI: OVMF → snponly.efi) into the real boot environment; the whole run took ${i.minutes.toFixed(1)} minutes.`,
    '',
    `**Power-on to complete hardware report**, ${i.rounds} round(s), every VM a new machine with one 64 MiB virtio disk; seconds from QEMU's start to the report's arrival at the server (\`reportedAt\` of \`GET /api/v1/machines/:id/hardware\`), median (min–max). Breakdown from the machine's timeline: Anvil's first DHCP offer, the boot-environment script served (\`http.script\`), the agent's gRPC session opened (\`agent.connected\`; the report follows within a fraction of a second); and, on the guest's own clock, the kernel's uptime when init started the agent (console line \`anvil-init: [T] starting agent\`): what follows it up to the report is Node starting, the inventory read and the TLS connection.`,
    '',
    table(['VMs', 'samples', 'hardware report (s)', 'first DHCP offer (s)', 'script served (s)', 'agent started (guest uptime, s)', 'agent connected (s)'], bootRows(i.boots)),
    ''
  ]
  const w = i.wipe
  if (w !== undefined) {
    const a = median(w.anvil)
    const rate = (xs: readonly number[] | undefined): string => {
      const v = xs ?? []
      return v.length === 0 ? '–' : `${fmt(median(v), 0)} (${fmt(Math.min(...v), 0)}–${fmt(Math.max(...v), 0)})`
    }
    const vs = (xs: readonly number[] | undefined): string => { const d = median(xs ?? []); return Number.isFinite(a) && Number.isFinite(d) && d > 0 ? `${(a / d).toFixed(2)}×` : '–' }
    out.push(
      `**Zero-wipe rate**, ${i.wipeRounds} round(s) on a ${i.wipeBytes / MiB} MiB raw virtio disk (a file on /dev/shm filled with 0xa5 first, \`cache=writethrough,discard=ignore\` as in the lab test), MiB/s, median (min–max). Anvil: \`POST /api/v1/machines/:id/wipe {"method":"zeroes","disks":["vda"]}\` on the lab VM (PXE booted, auto-accepted), the rate from the erase report's bytesWritten / durationMs (the agent's 16 MiB O_DIRECT writes, the final sync and its 64-sample read-back). dd: a second VM with the same QEMU settings and disk, booted straight from \`-kernel/-initrd\` with a bench-only boot environment (\`buildBootenv\` with \`bench/discovery-dd-agent.ts\` as the agent), runs busybox \`dd if=/dev/zero of=/dev/vda bs=4M count=N oflag=direct\` (and \`bs=16M\`), timed around the process in the guest. Both VMs stay up; the rounds alternate which goes first.`,
      '',
      table(['Writer', 'MiB/s', 'Anvil / this'], [
        ['Anvil zeroes wipe (erase report)', rate(w.anvil), '1.00×'],
        ['busybox `dd bs=4M oflag=direct`', rate(w.dd['4M']), vs(w.dd['4M'])],
        ['busybox `dd bs=16M oflag=direct`', rate(w.dd['16M']), vs(w.dd['16M'])]
      ]),
      '',
      'Checks:',
      ...w.checks.map(c => `- ${c}`)
    )
  }
  if (i.notes.length > 0) out.push('', 'Failures:', ...i.notes.map(n => `- ${n}`))
  if (i.stopped !== undefined) out.push('', `Stopped early: ${i.stopped}`)
  return out.join('\n')
}
