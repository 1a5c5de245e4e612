import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { REPO_ROOT, type DhcpMode } from '../../lab/anvil.ts'
import { listNamespaces, testNamespaceName } from '../../lab/netns.ts'
import { OVMF, type VmIdentity } from '../../lab/qemu.ts'
import { startLab, type Lab, type LabOptions } from '../../lab/start-lab.ts'

function hasProgram (name: string): boolean {
  try {
    execFileSync('sh', ['-c', 'command -v "$1"', 'sh', name], { stdio: 'ignore' })
    return true
  } catch {
    return false
  }
}

/**
 * Why the lab tier cannot run here, or undefined when it can. In CI (CI=true) a missing piece is
 * a failure, not a skip: CI is root and runs lab/setup.sh first, so nothing may be skipped there.
 */
export function labSkipReason (): string | undefined {
  const missing: string[] = []
  if (process.getuid?.() !== 0) missing.push('root (network namespaces and taps)')
  for (const p of ['ip', 'qemu-system-x86_64', 'dnsmasq', 'curl']) if (!hasProgram(p)) missing.push(`program ${p}`)
  if (!existsSync('/dev/net/tun')) missing.push('/dev/net/tun')
  for (const f of [OVMF.code, OVMF.vars]) if (!existsSync(f)) missing.push(`${f} (package ovmf)`)
  for (const f of ['snponly.efi', 'undionly.kpxe']) {
    if (!existsSync(join(REPO_ROOT, 'boot-assets', f))) missing.push(`boot-assets/${f} (committed: git checkout -- boot-assets/${f})`)
  }
  if (!existsSync(join(REPO_ROOT, 'src/bin/anvil.ts'))) missing.push('src/bin/anvil.ts (the server)')
  if (missing.length === 0) return undefined
  const reason = `lab tier needs ${missing.join(', ')}; as root, run bash lab/setup.sh`
  if (process.env.CI === 'true') throw new Error(`CI must not skip the lab tier: ${reason}`)
  return reason
}

/** What a test may change about its lab (see LabOptions in lab/start-lab.ts). */
export type TestLabOptions = {
  readonly bmcs?: readonly VmIdentity[]
  readonly prefix?: string
  readonly anvilConfig?: LabOptions['anvilConfig']
  readonly beforeAnvil?: LabOptions['beforeAnvil']
  /** Fills the lab's data directory (<runDir>/var) before its Anvil first starts (keys a test made). */
  readonly seedDataDir?: (dataDir: string) => void
}

/** A lab for one test: its own namespace (anvlab-<random>) and run directory. */
export type TestLab = { readonly lab: Lab, readonly runDir: string, cleanup (failed: boolean): Promise<void> }

/**
 * Starts a lab for a test; cleanup() stops it, checks nothing is left, and removes the run directory
 * unless the test failed. `bmcs`: VMs to give simulated BMCs (powered off), in a namespace named
 * with `prefix` (anvbmc for the power tests, so they are told apart from the boot tests' anvlab).
 */
export async function startTestLab (dhcpMode: DhcpMode, logLevel = 'debug', options: TestLabOptions = {}): Promise<TestLab> {
  const ns = testNamespaceName(options.prefix)
  const runDir = mkdtempSync(join(tmpdir(), `${ns}-`))
  options.seedDataDir?.(join(runDir, 'var'))
  const lab = await startLab({
    ns,
    runDir,
    dhcpMode,
    logLevel,
    ...(options.bmcs === undefined ? {} : { bmcs: options.bmcs }),
    ...(options.anvilConfig === undefined ? {} : { anvilConfig: options.anvilConfig }),
    ...(options.beforeAnvil === undefined ? {} : { beforeAnvil: options.beforeAnvil })
  })
  return {
    lab,
    runDir,
    cleanup: async (failed) => {
      await lab.stop()
      const left = [...await lab.leftovers(), ...(await listNamespaces()).filter(n => n === ns || n.startsWith(`${ns}-`))]
      if (left.length > 0) throw new Error(`lab teardown left: ${left.join(', ')}`)
      if (failed || process.env.ANVLAB_KEEP === '1') {
        console.log(`# lab run directory kept for inspection: ${runDir}`)
      } else {
        rmSync(runDir, { recursive: true, force: true })
      }
    }
  }
}
