// The boot environment on its own, before (and independent of) the real agent: an initramfs built
// by boot-assets/build-bootenv.sh with a stand-in agent (test/helpers/lab-discovery-standin-agent.ts)
// boots in QEMU straight from -kernel/-initrd; init loads the modules, takes a DHCP lease from
// dnsmasq on the BOOTIF NIC only, runs the stand-in, which reports what it sees over HTTP, and then
// acts on the stand-in's exit status. One BIOS VM (four disks on four buses, an IPMI KCS BMC, two
// NICs), one UEFI VM (OVMF, no BOOTIF). The BIOS VM's BMC is Debian's ipmi_sim behind QEMU's
// ipmi-bmc-extern (LAB-NOTES "IPMI with ipmi_sim"), its LAN channel given an address and MAC over
// RMCP+ before the VM boots; the stand-in reads them back in band with the real agent's reader
// (ipmitool -I open through /dev/ipmi0). Namespace anvdsc-<random>.
import assert from 'node:assert/strict'
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { after, before, test } from 'node:test'
import { REPO_ROOT } from '../../lab/anvil.ts'
import { IPMI_SIM_EMU, ipmiSimLanConf } from '../../lab/ipmi-sim-config.ts'
import { Teardown, inNamespace, listNamespaces, testNamespaceName } from '../../lab/netns.ts'
import { run, startDaemon, stopDaemon, tryRun, waitFor, type Daemon } from '../../lab/proc.ts'
import { OVMF } from '../../lab/qemu.ts'
import { tail } from '../helpers/lab-boot.ts'
import { buildBootenv, startStandinNetwork, STANDIN_NET, type BuiltBootenv, type StandinNetwork } from '../helpers/lab-discovery-bootenv.ts'
import { diskArgv, type LabDisk } from '../helpers/lab-discovery-disks.ts'
import type { StandinReport } from '../helpers/lab-discovery-standin-agent.ts'
import { skipReason } from '../helpers/requirements.ts'

const skip = skipReason('the boot environment lab test', {
  root: true,
  programs: ['ip', 'qemu-system-x86_64', 'dnsmasq', 'apt-get', 'dpkg-deb', 'depmod', 'modprobe', 'strip', 'cpio', 'zstd', 'ipmi_sim', 'ipmitool'],
  files: ['/bin/busybox', '/dev/net/tun', OVMF.code, OVMF.vars, join(REPO_ROOT, 'node_modules/.bin/esbuild')]
})

type StandinVm = {
  readonly name: string
  readonly firmware: 'bios' | 'uefi'
  readonly uuid: string
  readonly serial: string
  /** model: QEMU's NIC device (virtio-net-pci unless given), to prove a server NIC driver works. */
  readonly nics: ReadonlyArray<{ readonly mac: string, readonly tap: string, readonly model?: 'e1000e' }>
  /** The NIC named in BOOTIF, or none (init then brings up every NIC). */
  readonly bootMac?: string
  readonly disks: readonly LabDisk[]
  readonly ipmi: boolean
  readonly exit: number
}

const MiB = 1 << 20

/**
 * The BIOS VM's BMC: ipmi_sim in the namespace, QEMU's KCS wired to its `serial 15 ... codec VM`
 * port, its LAN channel 1 (RMCP+ on the namespace's loopback) given this address and MAC.
 */
const SIM_BMC = { serialPort: 9002, lanPort: 6230, user: 'admin', password: 'anvbi-pw', ip: '10.77.9.11', mac: '52:54:00:b1:00:11' } as const

/** Starts ipmi_sim in `ns` and sets its LAN channel's address and MAC over RMCP+ (cipher suite 3: LAB-NOTES). */
async function startSimBmc (ns: string, dir: string, teardown: Teardown): Promise<void> {
  mkdirSync(join(dir, 'state'), { recursive: true })
  writeFileSync(join(dir, 'lan.conf'), ipmiSimLanConf({
    name: 'anvbi-dsc1',
    address: '127.0.0.1',
    port: SIM_BMC.lanPort,
    guid: 'a4e1ab00007840008000000000000011',
    vmSerialPort: SIM_BMC.serialPort,
    users: [{ name: SIM_BMC.user, password: SIM_BMC.password, priv: 'admin' }]
  }))
  writeFileSync(join(dir, 'bmc.emu'), IPMI_SIM_EMU)
  const sim = startDaemon({ name: 'ipmi_sim', argv: inNamespace(ns, ['ipmi_sim', '-c', join(dir, 'lan.conf'), '-f', join(dir, 'bmc.emu'), '-s', join(dir, 'state'), '-n']), logFile: join(dir, 'ipmi_sim.log') })
  teardown.push('stop ipmi_sim', async () => await stopDaemon(sim))
  const ipmitool = (...cmd: string[]): string[] => inNamespace(ns, ['ipmitool', '-I', 'lanplus', '-C', '3', '-H', '127.0.0.1', '-p', String(SIM_BMC.lanPort), '-U', SIM_BMC.user, '-P', SIM_BMC.password, '-N', '1', '-R', '2', ...cmd])
  await waitFor('ipmi_sim to answer over RMCP+', 10_000, async () => await tryRun(ipmitool('mc', 'info'), 5000) ? true : undefined, {
    intervalMs: 100, giveUp: () => sim.alive() ? undefined : `ipmi_sim exited; see ${sim.logFile}`
  })
  for (const set of [['ipsrc', 'static'], ['ipaddr', SIM_BMC.ip], ['macaddr', SIM_BMC.mac]]) await run(ipmitool('lan', 'set', '1', ...set))
  const printed = await run(ipmitool('lan', 'print', '1'))
  assert.match(printed, new RegExp(`IP Address +: ${SIM_BMC.ip.replaceAll('.', '\\.')}\n`), 'the BMC took the address before the VM boots')
}

function vmArgv (vm: StandinVm, env: BuiltBootenv, runDir: string, reportUrl: string): string[] {
  const append = ['console=ttyS0', 'panic=-1', 'quiet', 'anvil.failwait=1', `anvil.standin.report=${reportUrl}`, `anvil.standin.exit=${vm.exit}`]
  if (vm.bootMac !== undefined) append.push(`BOOTIF=01-${vm.bootMac.replaceAll(':', '-')}`)
  const argv = [
    'qemu-system-x86_64', '-name', `anvdsc-${vm.name}`, '-machine', 'pc,accel=tcg', '-m', '512', '-smp', '1',
    '-nographic', '-serial', `file:${join(runDir, `${vm.name}.serial.log`)}`, '-monitor', 'none', '-no-reboot',
    '-smbios', `type=1,manufacturer=Anvil Lab,product=VM,serial=${vm.serial},uuid=${vm.uuid}`,
    '-kernel', env.vmlinuz, '-initrd', env.initrd, '-append', append.join(' ')
  ]
  if (vm.firmware === 'uefi') {
    const vars = join(runDir, `${vm.name}.OVMF_VARS.fd`)
    copyFileSync(OVMF.vars, vars)
    argv.push('-nodefaults', '-drive', `if=pflash,format=raw,unit=0,readonly=on,file=${OVMF.code}`, '-drive', `if=pflash,format=raw,unit=1,file=${vars}`)
  }
  vm.nics.forEach((nic, i) => {
    argv.push('-netdev', `tap,id=net${i},ifname=${nic.tap},script=no,downscript=no`, '-device', `${nic.model ?? 'virtio-net-pci'},netdev=net${i},mac=${nic.mac},romfile=`)
  })
  if (vm.ipmi) {
    // reconnect=10: QEMU keeps trying should ipmi_sim's serial port not be there yet.
    argv.push('-chardev', `socket,id=ipmi0,host=127.0.0.1,port=${SIM_BMC.serialPort},reconnect=10`,
      '-device', 'ipmi-bmc-extern,chardev=ipmi0,id=bmc0', '-device', 'isa-ipmi-kcs,bmc=bmc0')
  }
  return [...argv, ...diskArgv(vm.disks)]
}

function disk (runDir: string, vm: string, id: string, bus: LabDisk['bus'], serial: string, bytes: number): LabDisk {
  const file = join(runDir, `${vm}.${id}.raw`)
  writeFileSync(file, '')
  truncateSync(file, bytes)
  return { id, file, bus, serial, bytes }
}

let runDir = ''
let env: BuiltBootenv | undefined
let net: StandinNetwork | undefined
const teardown = new Teardown()
const ns = testNamespaceName('anvdsc')
let failed = false

before(async () => {
  if (skip !== undefined) return
  runDir = mkdtempSync(join(tmpdir(), `${ns}-`))
  env = await buildBootenv({ out: join(runDir, 'bootenv'), agentEntry: join(REPO_ROOT, 'test/helpers/lab-discovery-standin-agent.ts') })
  console.log(`# stand-in boot environment built in ${env.seconds.toFixed(1)} s: ${env.output.trim().split('\n').at(-1) ?? ''}`)
})

after(async () => {
  if (skip !== undefined) return
  const failures = await teardown.run()
  const left = (await listNamespaces()).filter(n => n === ns)
  if (failed || process.env.ANVLAB_KEEP === '1') console.log(`# run directory kept: ${runDir}`)
  else rmSync(runDir, { recursive: true, force: true })
  assert.deepEqual([...failures, ...left], [], 'teardown left work undone')
})

/** Boots the VMs together, waits (bounded) for each QEMU to end by itself, returns the reports. */
async function bootAll (vms: readonly StandinVm[]): Promise<Map<string, { report: StandinReport, console: string, code: number | null }>> {
  if (env === undefined) throw new Error('no boot environment')
  const taps = vms.flatMap(vm => vm.nics.map(n => n.tap))
  net = await startStandinNetwork(ns, runDir, taps, teardown)
  const network = net
  if (vms.some(vm => vm.ipmi)) {
    const started = performance.now()
    await startSimBmc(ns, join(runDir, 'bmc'), teardown)
    console.log(`# ipmi_sim started and its LAN channel set in ${Math.round(performance.now() - started)} ms`)
  }
  const running: Array<{ vm: StandinVm, daemon: Daemon }> = []
  for (const vm of vms) {
    const daemon = startDaemon({ name: vm.name, argv: inNamespace(ns, vmArgv(vm, env, runDir, network.reportUrl(vm.name))), logFile: join(runDir, `${vm.name}.qemu.log`) })
    teardown.push(`stop ${vm.name}`, async () => await stopDaemon(daemon))
    running.push({ vm, daemon })
  }
  const results = new Map<string, { report: StandinReport, console: string, code: number | null }>()
  for (const { vm, daemon } of running) {
    const serialLog = join(runDir, `${vm.name}.serial.log`)
    try {
      // Ending by itself is the point: poweroff -f and reboot -f (with -no-reboot) both end QEMU.
      await waitFor(`${vm.name} to power off or reboot`, 240_000, () => daemon.alive() ? undefined : true, { intervalMs: 500 })
    } catch (err) {
      failed = true
      throw new Error(`${(err as Error).message}\n--- ${vm.name} console ---\n${tail(serialLog, 3000)}`)
    }
    const report = network.report(vm.name) as StandinReport | undefined
    const consoleText = readFileSync(serialLog, 'latin1')
    if (report === undefined) {
      failed = true
      throw new Error(`${vm.name} sent no report\n--- console ---\n${tail(serialLog, 3000)}`)
    }
    results.set(vm.name, { report, console: consoleText, code: daemon.child.exitCode })
  }
  return results
}

test('the boot environment boots BIOS and UEFI, loads its drivers, configures the BOOTIF NIC and runs the agent', { skip, timeout: 420_000 }, async () => {
  const bios: StandinVm = {
    name: 'dsc1',
    firmware: 'bios',
    uuid: 'a4e1ab00-0078-4000-8000-000000000011',
    serial: 'DSC0001',
    // The BOOTIF NIC is an Intel 82574L (e1000e): DHCP through it proves a server NIC driver works.
    nics: [{ mac: '52:54:00:78:00:11', tap: 'tapd11' }, { mac: '52:54:00:78:00:12', tap: 'tapd12', model: 'e1000e' }],
    bootMac: '52:54:00:78:00:12',
    disks: [
      disk(runDir, 'dsc1', 'd0', 'virtio', 'VIRT-DSC1', 8 * MiB),
      disk(runDir, 'dsc1', 'd1', 'nvme', 'NVME-DSC1', 16 * MiB),
      disk(runDir, 'dsc1', 'd2', 'sata', 'SATA-DSC1', 12 * MiB),
      disk(runDir, 'dsc1', 'd3', 'scsi', 'SCSI-DSC1', 10 * MiB)
    ],
    ipmi: true,
    exit: 0
  }
  const uefi: StandinVm = {
    name: 'dsc2',
    firmware: 'uefi',
    uuid: 'a4e1ab00-0078-4000-8000-000000000021',
    serial: 'DSC0002',
    nics: [{ mac: '52:54:00:78:00:21', tap: 'tapd21' }],
    disks: [disk(runDir, 'dsc2', 'd0', 'virtio', 'VIRT-DSC2', 8 * MiB)],
    ipmi: false,
    exit: 10
  }
  const results = await bootAll([bios, uefi])
  try {
    for (const vm of [bios, uefi]) {
      const r = results.get(vm.name)
      assert.ok(r !== undefined)
      const { report } = r
      assert.equal(report.node, process.version, 'the node in the initramfs is this machine\'s')
      assert.equal(report.productUuid, vm.uuid)
      assert.equal(report.productSerial, vm.serial)
      assert.ok(report.dmiTableBytes > 0, 'SMBIOS table readable at /sys/firmware/dmi/tables/DMI')
      assert.ok(report.grpcMethods.includes('anvil.provisioning.v1.Provisioning'), `proto loaded beside the bundle: ${report.grpcMethods.join(', ')}`)
      assert.match(report.resolvConf, new RegExp(`nameserver ${STANDIN_NET.serverAddress.replaceAll('.', '\\.')}`))
      // Every disk on every bus, with the serial and size QEMU was given.
      const seen = report.disks.map(d => `${d.serial}=${d.bytes}`).sort()
      assert.deepEqual(seen, vm.disks.map(d => `${d.serial}=${d.bytes}`).sort(), `disks: ${JSON.stringify(report.disks)}`)
      // Only the BOOTIF NIC is configured when BOOTIF is given; every NIC otherwise.
      for (const nic of vm.nics) {
        const iface = Object.values(report.addresses).find(a => a.mac === nic.mac)
        assert.ok(iface !== undefined, `${nic.mac} present: ${JSON.stringify(report.addresses)}`)
        const expectAddress = vm.bootMac === undefined || vm.bootMac === nic.mac
        assert.equal(iface.ipv4.length, expectAddress ? 1 : 0, `${nic.mac}: ${iface.ipv4.join(', ')}`)
        for (const ip of iface.ipv4) assert.match(ip, /^10\.77\.0\.1\d\d$/)
      }
      assert.match(r.console, /anvil-init: \[[\d.]+\] loaded \d+ modules/)
      assert.doesNotMatch(r.console, /can't access tty|job control turned off|login:/, 'never a shell or a login prompt')
    }
    const biosResult = results.get(bios.name)
    const uefiResult = results.get(uefi.name)
    assert.ok(biosResult !== undefined && uefiResult !== undefined)
    for (const m of ['virtio_net', 'virtio_blk', 'virtio_scsi', 'nvme', 'ahci', 'sd_mod', 'ipmi_si', 'ipmi_devintf', 'e1000e', 'igb', 'ixgbe', 'i40e', 'bnxt_en', 'mlx5_core']) {
      assert.ok(biosResult.report.modules.includes(m), `module ${m} loaded: ${biosResult.report.modules.join(' ')}`)
    }
    assert.equal(biosResult.report.ipmiDevice, true, '/dev/ipmi0 with a KCS BMC')
    assert.equal(uefiResult.report.ipmiDevice, false)
    // The BMC's LAN address and MAC, read in band (ipmitool -I open through /dev/ipmi0).
    assert.deepEqual(biosResult.report.bmc, { ip: SIM_BMC.ip, mac: SIM_BMC.mac, ipSource: 'static' }, biosResult.report.bmcLog.join('\n'))
    assert.equal(uefiResult.report.bmc, null, 'no /dev/ipmi0, no BMC')
    console.log(`# BMC read in band in ${biosResult.report.bmcMs} ms: ${biosResult.report.bmcLog.join(' / ')}`)
    // Exit 0 → poweroff -f; exit 10 → reboot -f (QEMU's -no-reboot turns that into an exit too).
    assert.match(biosResult.console, /anvil-init: \[[\d.]+\] agent done: power off/)
    assert.match(biosResult.console, /reboot: Power down/)
    assert.match(uefiResult.console, /anvil-init: \[[\d.]+\] agent done: reboot/)
    assert.match(uefiResult.console, /reboot: Restarting system/)
    for (const { console: text } of results.values()) {
      const lines = text.split('\n').filter(l => l.startsWith('anvil-init: ')).map(l => l.trim())
      console.log(`# ${lines.join('\n# ')}`)
    }
  } catch (err) {
    failed = true
    throw err
  }
})
