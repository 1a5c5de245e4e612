import { mkdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { LabApi } from './api.ts'
import { startAnvil, REPO_ROOT, type AnvilProcess, type DhcpMode } from './anvil.ts'
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
  readonly logLevel?: string
  /** Progress lines for a human (the CLI prints them; tests may ignore them). */
  readonly onProgress?: (message: string) => void
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
  /** The namespace of the site DHCP server (proxy mode only). */
  readonly siteNs: string | undefined
  startVm (identity: VmIdentity): Promise<LabVm>
  stopVm (name: string): Promise<void>
  /** Plugs another namespace (a test client) into the bridge; removed by stop(). */
  attachClient (role: string, address?: string): Promise<string>
  /** The shell line that points the CLI at this lab. */
  cliHint (): string
  stop (): Promise<void>
  /** What is still there after stop(): namespaces, the host link, processes we started. */
  leftovers (): Promise<string[]>
}

/** What a crashed lab left behind, so `npm run lab -- --cleanup` can remove it. */
export type LabState = { ns: string, namespaces: string[], hostIf: string, pids: number[] }

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
  const taps = new Set<string>()
  const state: LabState = { ns, namespaces: [ns], hostIf: '', pids: [] }
  const saveState = (s: LabState = state): void => writeFileSync(join(runDir, 'state.json'), JSON.stringify(s, null, 2) + '\n')
  const daemons: Daemon[] = []
  const namespaces = new Set<string>([ns])
  const track = (d: Daemon): Daemon => {
    daemons.push(d)
    state.pids.push(d.pid)
    saveState()
    teardown.push(`stop ${d.name}`, async () => await stopDaemon(d))
    return d
  }
  try {
    const hostLink = await chooseHostLink(ns)
    state.hostIf = hostLink.hostIf
    saveState()
    await createRackNetwork(ns, hostLink, teardown)
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
    const anvil = await startAnvil(ns, { runDir, dhcpMode: options.dhcpMode, apiAddress: hostLink.nsAddress, ...(options.logLevel === undefined ? {} : { logLevel: options.logLevel }) }, teardown)
    state.pids.push(anvil.daemon.pid)
    daemons.push(anvil.daemon)
    saveState()
    progress(`anvil serving (dhcp ${options.dhcpMode}), log ${anvil.daemon.logFile}`)

    const startVm = async (identity: VmIdentity): Promise<LabVm> => {
      if (vms.has(identity.name)) throw new Error(`${identity.name} is already running`)
      // A tap outlives its VM until teardown, so a VM can be stopped and started again.
      if (!taps.has(identity.tap)) {
        await addTap(ns, identity.tap, teardown)
        taps.add(identity.tap)
      }
      await prepareVm(identity, runDir)
      const files = vmFiles(runDir, identity)
      const daemon = track(startDaemon({ name: identity.name, argv: inNamespace(ns, qemuArgv(identity, runDir)), logFile: files.stdoutLog }))
      const vm = { identity, daemon, serialLog: files.serialLog }
      vms.set(identity.name, vm)
      progress(`${identity.name}: ${identity.firmware} ${identity.mac} serial ${identity.serial} uuid ${identity.uuid}, console ${files.serialLog}`)
      return vm
    }
    const lab: Lab = {
      ns,
      runDir,
      hostLink,
      anvil,
      api: new LabApi(anvil.endpoint, anvil.tokenFile),
      vms,
      siteNs,
      startVm,
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
        saveState()
      },
      leftovers: async () => {
        const present = new Set(await listNamespaces())
        const left = [...namespaces].filter(n => present.has(n)).map(n => `namespace ${n}`)
        if (await tryRun(['ip', 'link', 'show', hostLink.hostIf])) left.push(`link ${hostLink.hostIf}`)
        for (const d of daemons) if (d.alive()) left.push(`${d.name} (pid ${d.pid})`)
        return left
      }
    }
    for (const vm of options.vms ?? []) await startVm(vm)
    return lab
  } catch (err) {
    const failures = await teardown.run()
    if (failures.length > 0) progress(`teardown after a failed start left: ${failures.join('; ')}`)
    else saveState(Object.assign(state, { pids: [], namespaces: [] }))
    throw err
  }
}
