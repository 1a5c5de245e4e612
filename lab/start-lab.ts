import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabApi } from './api.ts'
import { startAnvil, REPO_ROOT, type AnvilProcess, type DhcpMode } from './anvil.ts'
import { BMC_NET, chassisDir, chassisQemuPid, createMgmtNetwork, startBmc, type LabBmc } from './bmc.ts'
import { raArgv, siteDhcpArgv } from './dnsmasq.ts'
import { LAB_NET, Teardown, addTap, attachHost, chooseHostLink, createRackNetwork, inNamespace, listNamespaces, type HostLink } from './netns.ts'
import { startDaemon, stopDaemon, tryRun, type Daemon } from './proc.ts'
import { prepareVm, qemuArgv, vmFiles, type VmIdentity } from './qemu.ts'

export type LabOptions = {
  /** Network namespace name: "rack" for the interactive lab, anvlab-<random> in tests. */
  readonly ns: string
  /** Where configs, logs, the database and VM files go (created if missing). */
  readonly runDir: string
  readonly dhcpMode: DhcpMode
  /** VMs to start once Anvil is ready; more can be started later with startVm(). */
  readonly vms?: readonly VmIdentity[]
  /** VMs that get a simulated BMC and stay powered off until a BMC powers them on (lab/bmc.ts). */
  readonly bmcs?: readonly VmIdentity[]
  readonly logLevel?: string
  /** Config sections merged over the lab's Anvil config (lab/anvil.ts anvilConfig). */
  readonly anvilConfig?: Readonly<Record<string, unknown>>
  /** Progress lines for a human (the CLI prints them; tests may ignore them). */
  readonly onProgress?: (message: string) => void
  /** Runs once the namespace and its bridge exist, just before Anvil starts (tests change the network here). */
  readonly beforeAnvil?: (ns: string) => Promise<void>
}

/** A running VM: its identity, its QEMU process and its console log. */
export type LabVm = { readonly identity: VmIdentity, readonly daemon: Daemon, readonly serialLog: string }

/** A running lab; stop() undoes everything it created, in reverse order. */
export type Lab = {
  readonly ns: string
  readonly runDir: string
  readonly hostLink: HostLink
  readonly anvil: AnvilProcess
  readonly api: LabApi
  readonly vms: ReadonlyMap<string, LabVm>
  /** VMs behind simulated BMCs, by VM name. */
  readonly bmcs: ReadonlyMap<string, LabBmc>
  /** The namespace of the site DHCP server (proxy mode only). */
  readonly siteNs: string | undefined
  startVm (identity: VmIdentity): Promise<LabVm>
  stopVm (name: string): Promise<void>
  /** Gives a VM a BMC on the management segment; the VM stays off until the BMC powers it on. */
  startBmc (identity: VmIdentity): Promise<LabBmc>
  /** Plugs another namespace (a test client) into the bridge; removed by stop(). */
  attachClient (role: string, address?: string): Promise<string>
  /** The shell line that points the CLI at this lab. */
  cliHint (): string
  stop (): Promise<void>
  /** What is still there after stop(): namespaces, the host link, processes we started. */
  leftovers (): Promise<string[]>
}

/** What a crashed lab left behind, so `npm run lab -- --cleanup` can remove it. */
export type LabState = {
  ns: string
  namespaces: string[]
  hostIf: string
  pids: number[]
  /** Chassis directories of the BMCs: the QEMU a BMC started is in its qemu.pid. */
  chassisDirs?: string[]
}

/**
 * Brings up the lab: namespace, bridge and host link, router advertisements, the site DHCP server
 * (proxy mode), `anvil serve`, then the VMs. On any failure everything created so far is removed.
 */
export async function startLab (options: LabOptions): Promise<Lab> {
  const { ns, runDir } = options
  const progress = options.onProgress ?? (() => {})
  mkdirSync(runDir, { recursive: true })
  const teardown = new Teardown()
  const vms = new Map<string, LabVm>()
  const bmcs = new Map<string, LabBmc>()
  const taps = new Set<string>()
  const state: LabState = { ns, namespaces: [ns], hostIf: '', pids: [] }
  const saveState = (s: LabState = state): void => writeFileSync(join(runDir, 'state.json'), JSON.stringify(s, null, 2) + '\n')
  const daemons: Daemon[] = []
  const namespaces = new Set<string>([ns])
  /** Records a process for state.json and leftovers(); its starter stops it. */
  const record = (d: Daemon): void => {
    daemons.push(d)
    state.pids.push(d.pid)
    saveState()
  }
  const track = (d: Daemon): Daemon => {
    record(d)
    teardown.push(`stop ${d.name}`, async () => await stopDaemon(d))
    return d
  }
  try {
    const hostLink = await chooseHostLink(ns)
    state.hostIf = hostLink.hostIf
    saveState()
    await createRackNetwork(ns, hostLink, teardown)
    await createMgmtNetwork(ns)
    progress(`namespace ${ns}: br0 ${LAB_NET.serverAddress}/24 + ${LAB_NET.ipv6}, API link ${hostLink.hostAddress} ↔ ${hostLink.nsAddress}`)
    track(startDaemon({ name: 'dnsmasq-ra', argv: inNamespace(ns, raArgv(runDir)), logFile: join(runDir, 'dnsmasq-ra.log') }))
    let siteNs: string | undefined
    if (options.dhcpMode === 'proxy') {
      siteNs = await attachHost(ns, 'site', LAB_NET.siteAddress, teardown)
      state.namespaces.push(siteNs)
      namespaces.add(siteNs)
      track(startDaemon({ name: 'site-dhcp', argv: inNamespace(siteNs, siteDhcpArgv(runDir)), logFile: join(runDir, 'site-dhcp.log') }))
      progress(`site DHCP server (dnsmasq, no PXE) at ${LAB_NET.siteAddress} in ${siteNs}`)
    }
    await options.beforeAnvil?.(ns)
    const anvil = await startAnvil(ns, { runDir, dhcpMode: options.dhcpMode, apiAddress: hostLink.nsAddress, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }), ...(options.anvilConfig === undefined ? {} : { extra: options.anvilConfig }) }, teardown)
    state.pids.push(anvil.daemon.pid)
    daemons.push(anvil.daemon)
    saveState()
    progress(`anvil serving (dhcp ${options.dhcpMode}), log ${anvil.daemon.logFile}`)

    // A tap outlives its VM until teardown, so a VM can be stopped and started again.
    const ensureTap = async (identity: VmIdentity): Promise<void> => {
      if (taps.has(identity.tap)) return
      await addTap(ns, identity.tap, teardown)
      taps.add(identity.tap)
    }
    const startVm = async (identity: VmIdentity): Promise<LabVm> => {
      if (vms.has(identity.name) || bmcs.has(identity.name)) throw new Error(`${identity.name} is already running`)
      await ensureTap(identity)
      await prepareVm(identity, runDir)
      const files = vmFiles(runDir, identity)
      const daemon = track(startDaemon({ name: identity.name, argv: inNamespace(ns, qemuArgv(identity, runDir)), logFile: files.stdoutLog }))
      const vm = { identity, daemon, serialLog: files.serialLog }
      vms.set(identity.name, vm)
      progress(`${identity.name}: ${identity.firmware} ${identity.mac} serial ${identity.serial} uuid ${identity.uuid}, console ${files.serialLog}`)
      return vm
    }
    const startVmBmc = async (identity: VmIdentity): Promise<LabBmc> => {
      if (vms.has(identity.name) || bmcs.has(identity.name)) throw new Error(`${identity.name} is already running`)
      await ensureTap(identity)
      state.chassisDirs = [...(state.chassisDirs ?? []), chassisDir(runDir, identity)]
      saveState()
      const bmc = await startBmc(ns, identity, runDir, { teardown, record })
      bmcs.set(identity.name, bmc)
      progress(`${identity.name}: ${identity.firmware} ${identity.mac}, powered off; BMC ${bmc.address}:${bmc.port} user ${bmc.user} password ${bmc.password}, console ${bmc.serialLog}`)
      return bmc
    }
    const lab: Lab = {
      ns,
      runDir,
      hostLink,
      anvil,
      api: new LabApi(anvil.endpoint, anvil.tokenFile),
      vms,
      bmcs,
      siteNs,
      startVm,
      startBmc: startVmBmc,
      stopVm: async (name) => {
        const vm = vms.get(name)
        if (vm === undefined) return
        await stopDaemon(vm.daemon)
        vms.delete(name)
      },
      attachClient: async (role, address) => {
        const peer = await attachHost(ns, role, address, teardown)
        state.namespaces.push(peer)
        namespaces.add(peer)
        saveState()
        return peer
      },
      cliHint: () => `ANVIL_ENDPOINT=${anvil.endpoint} ANVIL_TOKEN_FILE=${anvil.tokenFile} ${join(REPO_ROOT, 'bin/anvil')} machines list`,
      stop: async () => {
        const failures = await teardown.run()
        if (failures.length > 0) throw new Error(`lab teardown left work undone:\n  ${failures.join('\n  ')}`)
        state.pids = []
        state.namespaces = []
        state.chassisDirs = []
        saveState()
      },
      leftovers: async () => {
        const present = new Set(await listNamespaces())
        const left = [...namespaces].filter(n => present.has(n)).map(n => `namespace ${n}`)
        if (await tryRun(['ip', 'link', 'show', hostLink.hostIf])) left.push(`link ${hostLink.hostIf}`)
        for (const d of daemons) if (d.alive()) left.push(`${d.name} (pid ${d.pid})`)
        for (const b of bmcs.values()) {
          const pid = await chassisQemuPid(b.dir, b.vm)
          if (pid !== undefined) left.push(`QEMU of ${b.vm.name} (pid ${pid})`)
        }
        return left
      }
    }
    for (const vm of options.vms ?? []) await startVm(vm)
    for (const vm of options.bmcs ?? []) await startVmBmc(vm)
    if ((options.bmcs ?? []).length > 0) progress(`BMCs on ${BMC_NET.iface} ${BMC_NET.anvilAddress}/${BMC_NET.prefixLength} (Anvil's side), port ${BMC_NET.port}`)
    return lab
  } catch (err) {
    const failures = await teardown.run()
    if (failures.length > 0) progress(`teardown after a failed start left: ${failures.join('; ')}`)
    else saveState(Object.assign(state, { pids: [], namespaces: [], chassisDirs: [] }))
    throw err
  }
}
