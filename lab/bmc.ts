// A simulated BMC per lab VM: Debian's `ipmi_sim` (OpenIPMI) on the lab's management segment, whose
// chassis-control program (lab/chassis-control.sh) starts, stops and resets that VM's QEMU and
// honours the boot device (LAB-NOTES "IPMI with ipmi_sim"). The VM starts powered off.
import { mkdirSync, writeFileSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { REPO_ROOT } from './anvil.ts'
import { inNamespace, type Teardown } from './netns.ts'
import { run, sleep, startDaemon, stopDaemon, waitFor, type Daemon } from './proc.ts'
import { monitorPort, prepareVm, qemuArgv, vmFiles, writeBootDisk, type VmIdentity } from './qemu.ts'
import { IPMI_SIM_EMU, ipmiSimLanConf } from './ipmi-sim-config.ts'

/**
 * The management segment: a bridge with no ports (the kernel here has no dummy interfaces) that
 * carries Anvil's address and one address per BMC. Every address on it is local to the namespace,
 * so Anvil reaches the BMCs and the VMs on br0 do not.
 */
export const BMC_NET = {
  iface: 'mgmt0',
  anvilAddress: '10.77.1.1',
  prefixLength: 24,
  /** RMCP's port (IPMI v2.0 §13.1.1). */
  port: 623,
  /** ipmi_sim user 2, administrator (LAB-NOTES). */
  user: 'admin'
} as const

/** BMC of VM `index`: 10.77.1.(10 + index), so vm1's BMC is 10.77.1.11. */
export function bmcAddress (index: number): string {
  return `10.77.1.${10 + index}`
}

/** The lab's BMC password for a VM: one per BMC, so an enrolment with the wrong one fails. */
export function bmcPassword (vm: VmIdentity): string {
  return `anvil-${vm.name}`
}

/** What the chassis behind a BMC holds right now. */
export type ChassisState = { readonly power: 'on' | 'off', readonly boot: string, readonly qemuPid: number | undefined }

/** A running simulated BMC and the VM it powers. */
export type LabBmc = {
  readonly vm: VmIdentity
  readonly address: string
  readonly port: number
  readonly user: string
  readonly password: string
  /** The chassis directory: qemu.args, boot, qemu.pid, chassis.log, qemu.log. */
  readonly dir: string
  readonly serialLog: string
  readonly daemon: Daemon
  /** Power (is this VM's QEMU running, not a zombie) and the stored boot device, read from the files. */
  chassis (): Promise<ChassisState>
  /** Stops the VM's QEMU if it runs, by the PID in its pid file (and only if that is this VM's QEMU). */
  powerOff (): Promise<void>
}

/** Creates mgmt0 with Anvil's management address; removed with the namespace. */
export async function createMgmtNetwork (ns: string): Promise<void> {
  const inNs = (...args: string[]): string[] => ['ip', '-n', ns, ...args]
  await run(inNs('link', 'add', BMC_NET.iface, 'type', 'bridge'))
  await run(inNs('addr', 'add', `${BMC_NET.anvilAddress}/${BMC_NET.prefixLength}`, 'dev', BMC_NET.iface))
  await run(inNs('link', 'set', BMC_NET.iface, 'up'))
}

/** Where a VM's BMC keeps its config, state and chassis files. */
export function chassisDir (runDir: string, vm: VmIdentity): string {
  return join(runDir, `${vm.name}.bmc`)
}

/** Reads /proc/PID/{stat,cmdline}: the PID when it is this VM's QEMU and not a zombie. */
async function liveQemu (pid: number, vm: VmIdentity): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3)
    if (state === 'Z' || state === 'X') return undefined
    const cmdline = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0')
    return cmdline.includes(`anvil-lab-${vm.name}`) ? pid : undefined
  } catch {
    return undefined
  }
}

/** The running QEMU of a chassis directory, from its pid file. */
export async function chassisQemuPid (dir: string, vm: VmIdentity): Promise<number | undefined> {
  const text = await readFile(join(dir, 'qemu.pid'), 'utf8').catch(() => '')
  const pid = Number.parseInt(text.trim(), 10)
  return Number.isInteger(pid) && pid > 0 ? await liveQemu(pid, vm) : undefined
}

/** SIGTERM, then SIGKILL after 5 s; bounded wait until the PID is gone or a zombie. */
async function stopQemu (dir: string, vm: VmIdentity): Promise<void> {
  const pid = await chassisQemuPid(dir, vm)
  if (pid === undefined) return
  process.kill(pid, 'SIGTERM')
  for (let i = 0; i < 100; i++) {
    if (await liveQemu(pid, vm) === undefined) return
    if (i === 50) process.kill(pid, 'SIGKILL')
    await sleep(100)
  }
  throw new Error(`QEMU of ${vm.name} (pid ${pid}) did not exit`)
}

/** ipmitool's argv against a lab BMC, run inside the namespace (cipher suite 3: LAB-NOTES). */
export function ipmitoolArgv (ns: string, bmc: { address: string, user: string, password: string }, command: readonly string[]): string[] {
  return inNamespace(ns, ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', bmc.address, '-U', bmc.user, '-P', bmc.password, '-N', '1', '-R', '2', ...command])
}

export type StartBmcHooks = {
  /** Receives the undo steps: stop ipmi_sim, then power the VM off. */
  readonly teardown: Teardown
  /** Records a process we started (state.json for --cleanup, leftovers()); stopping it is ours. */
  readonly record: (daemon: Daemon) => void
}

/** Writes a VM's chassis directory: QEMU's argv, monitor port, firmware, boot device, ipmi_sim's config. */
function writeChassisDir (dir: string, vm: VmIdentity, runDir: string, address: string, password: string): void {
  mkdirSync(join(dir, 'state'), { recursive: true })
  const port = monitorPort(vm.index)
  // QEMU's own argv, no `ip netns exec`: ipmi_sim, and so the chassis program, run in the namespace.
  writeFileSync(join(dir, 'qemu.args'), qemuArgv(vm, runDir, { monitorPort: port }).join('\n') + '\n')
  writeFileSync(join(dir, 'monitor.port'), `${port}\n`)
  writeFileSync(join(dir, 'firmware'), `${vm.firmware}\n`)
  // A new machine in a provisioning rack network-boots: `anvil power on ID` alone PXE boots it.
  // (`bootdev disk` later stores "default": the VM's own order, its disk first.)
  writeFileSync(join(dir, 'boot'), 'pxe\n')
  writeFileSync(join(dir, 'lan.conf'), ipmiSimLanConf({
    name: `anvil-lab-${vm.name}-bmc`,
    address,
    port: BMC_NET.port,
    guid: `a4e1ab00007740008000000000000${(0x10 + vm.index).toString(16).padStart(3, '0')}`,
    // ipmi_sim splits this on spaces: no spaces in the run directory (mkdtemp and lab/run have none).
    chassisControl: `/bin/sh ${join(REPO_ROOT, 'lab/chassis-control.sh')} ${dir}`,
    users: [{ name: BMC_NET.user, password, priv: 'admin' }]
  }))
  writeFileSync(join(dir, 'bmc.emu'), IPMI_SIM_EMU)
}

/**
 * Prepares VM `vm` powered off (its disk, its QEMU argv for the chassis program) and starts its
 * BMC on bmcAddress(vm.index):623 inside `ns`; resolves once ipmitool reads "power is off" from it.
 * The VM's tap must exist. Teardown stops ipmi_sim first (nothing can power the VM on again), then the VM.
 */
export async function startBmc (ns: string, vm: VmIdentity, runDir: string, hooks: StartBmcHooks): Promise<LabBmc> {
  const dir = chassisDir(runDir, vm)
  const files = vmFiles(runDir, vm)
  const address = bmcAddress(vm.index)
  const password = bmcPassword(vm)
  await prepareVm(vm, runDir)
  await writeBootDisk(files.disk)
  writeChassisDir(dir, vm, runDir, address, password)
  await run(['ip', '-n', ns, 'addr', 'add', `${address}/${BMC_NET.prefixLength}`, 'dev', BMC_NET.iface])
  hooks.teardown.push(`power off ${vm.name}`, async () => await stopQemu(dir, vm))
  const daemon = startDaemon({
    name: `${vm.name}-bmc`,
    argv: inNamespace(ns, ['ipmi_sim', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n']),
    logFile: join(dir, 'ipmi_sim.log')
  })
  hooks.record(daemon)
  hooks.teardown.push(`stop ${daemon.name}`, async () => await stopDaemon(daemon))
  const bmc: LabBmc = {
    vm,
    address,
    port: BMC_NET.port,
    user: BMC_NET.user,
    password,
    dir,
    serialLog: files.serialLog,
    daemon,
    chassis: async () => {
      const qemuPid = await chassisQemuPid(dir, vm)
      const boot = (await readFile(join(dir, 'boot'), 'utf8').catch(() => 'default')).trim()
      return { power: qemuPid === undefined ? 'off' : 'on', boot, qemuPid }
    },
    powerOff: async () => await stopQemu(dir, vm)
  }
  await waitFor(`${daemon.name} answering on ${address}:${BMC_NET.port}`, 15_000, async () => {
    const out = await run(ipmitoolArgv(ns, bmc, ['chassis', 'power', 'status']), { timeoutMs: 5_000 })
    return /Chassis Power is off/.test(out) ? true : undefined
  }, { intervalMs: 200, giveUp: () => daemon.alive() ? undefined : `ipmi_sim exited; see ${daemon.logFile}` })
  return bmc
}
