import { mkdirSync, existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Config } from '../config/schema.ts'
import type { Logger } from '../log/logger.ts'
import type { Service } from '../lib/service.ts'
import { openDatabase, type Db } from '../db/open.ts'
import { SqliteMachineStore } from '../db/machine-store.ts'
import { Timeline } from '../inventory/timeline.ts'
import { MachineService } from '../inventory/machine-service.ts'
import { systemClock } from '../inventory/ports.ts'
import { TokenBucket } from '../lib/rate-limit.ts'
import { BootAssets } from '../boot/assets.ts'
import { FileCache } from '../boot/file-cache.ts'
import { buildBootApp } from '../http/boot-app.ts'
import { buildApiApp } from '../http/api-app.ts'
import { counterFamilies, type MetricFamily } from '../http/metrics.ts'
import { createDhcpService } from '../dhcp/server.ts'
import { createTftpService } from '../tftp/server.ts'
import { loadLockstep, type LockstepEngine } from '../tftp/lockstep-native.ts'
import { SqliteLeaseStore } from '../db/lease-store.ts'
import { ensureAdminToken, ensureDataDir, ensureSecretKey } from './data-dir-secrets.ts'
import { SecretBox } from '../lib/secret-box.ts'
import { SqliteConfigStore } from '../db/config-store.ts'
import { SqliteNodeTokens } from '../db/node-tokens.ts'
import { InstallTasks } from '../provisioning/install-tasks.ts'
import { ProvisionService } from '../provisioning/provision-service.ts'
import { ensureSigningKeys } from '../signing/keys.ts'
import { decodePublicKey } from '../signing/minisign.ts'
import { ImageService } from '../images/image-service.ts'
import { SqliteImageStore } from '../db/image-store.ts'
import { wirePower } from './wire-power.ts'
import { SqliteDiscoveryStore } from '../db/discovery-store.ts'
import { DiscoveryService } from '../provisioning/discovery-service.ts'
import { AgentService } from '../provisioning/agent-service.ts'
import { OperationsService } from '../provisioning/operations.ts'
import { SqliteOperationStore } from '../db/operation-store.ts'
import { LifecycleService } from '../provisioning/lifecycle-service.ts'
import { SqliteLifecycleStore } from '../db/lifecycle-store.ts'
import { BOOTENV_INITRD, BOOTENV_KERNEL } from '../boot/ipxe-script.ts'
import { needsFacts, planBoot, type BootPlan } from '../provisioning/boot-planner.ts'
import { createProvisioningService } from '../grpc/provisioning-server.ts'
import { SqliteNodeReportStore } from '../db/node-report-store.ts'
import { NodeReportService } from '../provisioning/node-report-service.ts'
import { NodeCertificateService, nodeServerCa } from '../provisioning/node-certificates.ts'
import { NodeNoticeService } from '../provisioning/node-notices.ts'
import { ensureServerCertificate } from '../grpc/tls.ts'
import { ensureNodeCa } from '../pki/node-ca.ts'
import { bindErrorMessage, detectServerAddress, fastifyService } from './listen.ts'
import { loadNodeProto } from '../grpc/proto.ts'
import { SqliteRolloutStore } from '../db/rollout-store.ts'
import { RolloutService } from '../provisioning/rollout-service.ts'
import { rolloutConnector } from '../node-client/rollout-connector.ts'

/** A started server: what it bound, and how to stop it. */
export type RunningServer = {
  readonly db: Db
  readonly machines: MachineService
  readonly timeline: Timeline
  readonly adminToken: string
  readonly serverAddress: string
  /** Services that started, by name → a printable address. */
  readonly listening: Readonly<Record<string, string>>
  /** Services that could not start, with the reason (a privileged port, say). */
  readonly failed: Readonly<Record<string, string>>
  stop (): Promise<void>
}

/**
 * A service that may fail to bind without taking the others down. `make` runs when its turn
 * comes, so DHCP can be built knowing the port HTTP actually bound.
 */
type Part = { readonly name: string, readonly make: () => Service, readonly what: string, readonly key: string, readonly listen: string, readonly describe: () => string }

/**
 * The composition root: opens the database, builds the domain, and starts every listener the
 * config asks for. A listener that cannot bind is reported with the config key to change; the
 * rest still run.
 */
export async function startServer (config: Config, log: Logger): Promise<RunningServer> {
  const dataDir = resolve(config.dataDir)
  ensureDataDir(dataDir)
  const db = openDatabase(join(dataDir, 'anvil.db'))
  const { token, file: tokenFile, created } = ensureAdminToken(dataDir)
  if (created) log.info({ file: tokenFile }, 'wrote a new admin API token')
  // The image and config keys (anvil keys show prints their public halves).
  const signing = await ensureSigningKeys(dataDir)
  for (const [name, key] of [['image', signing.image], ['config', signing.config]] as const) {
    if (key.tightened) log.warn({ key: name }, `the ${name} signing key was readable by others: now 0600; consider it exposed and rotate it`)
    log.info({ key: name, keyId: key.keyId, origin: key.origin }, `${name} signing key`)
  }

  const store = new SqliteMachineStore(db)
  const timeline = new Timeline({ store, clock: systemClock, onError: (err) => log.error({ err }, 'could not write timeline events') })
  const discoveryStore = new SqliteDiscoveryStore(db)
  const leases = new SqliteLeaseStore(db)
  const machines = new MachineService({
    store,
    timeline,
    clock: systemClock,
    reportedMacs: async (id) => (await discoveryStore.getHardware(id))?.report.nics.map(n => n.mac) ?? [],
    newMachines: new TokenBucket(config.discovery.newMachinesPerMinute)
  })
  // Discovery is told of power changes (an agent cut off by a power-off or reset ends its session);
  // it is built below, and power actions only happen once the server is up.
  const { registry, power, openSessions, close: closePower } = wirePower(config, dataDir, db, machines, timeline, log,
    async (machineId, action) => { await agents.machinePowerChanged(machineId, action) })

  const bootRoot = resolve(config.bootAssets)
  if (!existsSync(bootRoot)) {
    log.warn({ bootAssets: bootRoot }, 'the boot assets folder does not exist: creating it empty (the iPXE first stages are committed in the repository\'s boot-assets/; point bootAssets there)')
    mkdirSync(bootRoot, { recursive: true })
  }
  const assets = new BootAssets(bootRoot)
  const cache = new FileCache({ maxFileBytes: config.assetCache.maxFileMiB * 2 ** 20, maxBytes: config.assetCache.maxTotalMiB * 2 ** 20 })
  const server = config.server.address === undefined ? detectServerAddress(config.dhcp.interface) : { address: config.server.address, how: 'server.address' }
  log.info({ address: server.address, how: server.how }, 'machines reach this server at this address')

  const lifecycle = new LifecycleService({ machines, store: new SqliteLifecycleStore(db, store), timeline, clock: systemClock })
  const imageStore = new SqliteImageStore(db)
  const trustedImageKeys = () => [signing.image.publicKey, ...config.images.trustedKeys.map(k => decodePublicKey(k))]
  // Machine configs are sealed at rest with the key BMC passwords use (wirePower made it above).
  const secrets = new SecretBox(ensureSecretKey(dataDir).key)
  const configs = new SqliteConfigStore(db)
  const installs = new InstallTasks({
    lifecycle,
    images: imageStore,
    configs,
    tokens: new SqliteNodeTokens(db),
    secrets,
    configKey: signing.config.publicKey,
    imageKeys: trustedImageKeys,
    baseUrl: () => baseUrl(),
    events: timeline,
    clock: systemClock,
    // After a committed install: the disk first, persistently, read back (as `anvil bootdev` does),
    // then a power cycle, so the firmware starts over with the disk first.
    bootFromDisk: async (machineId) => {
      if (await registry.view(machineId) === undefined) return undefined
      const machine = await machines.get(machineId)
      await power.setBootDevice(machineId, { device: 'disk', persistent: true, efi: machine.firmware === 'efi' })
      await power.act(machineId, 'cycle')
      return 'boot device set to disk (persistent) and power-cycled through its BMC'
    },
    rebootInBand: async (machineId) => { await discovery.queueAgentTask(machineId, 'reboot', 'queued by Anvil: the install is written, and no BMC booted the machine from its disk') }
  })
  const agents = new AgentService({
    machines,
    lifecycle,
    store: discoveryStore,
    events: timeline,
    clock: systemClock,
    tokenTtlMs: config.discovery.tokenTtl,
    autoAccept: config.discovery.autoAccept,
    // In authoritative mode, the address our own DHCP leased to one of the machine's MACs.
    ...(config.dhcp.mode !== 'authoritative' ? {} : { leasedAddress: async (machineId: string) => leases.boundAddressOf((await machines.get(machineId)).macs, Date.now()) }),
    onError: (err) => { log.error({ err }, 'agent session upkeep or a progress write failed') },
    install: installs
  })
  // Work for a machine whose agent is away: through its BMC, PXE next and power on if off.
  const bootForTask = async (machineId: string): Promise<string> => {
    const machine = await machines.get(machineId)
    await power.setBootDevice(machineId, { device: 'pxe', persistent: false, efi: machine.firmware === 'efi' })
    if ((await power.status(machineId)).state === 'on') return 'boot device set to PXE through its BMC; it is on, so its agent takes the task at its next network boot (anvil power reset to hurry it)'
    await power.act(machineId, 'on')
    return 'boot device set to PXE and powered on through its BMC'
  }
  const discovery = new DiscoveryService({
    machines,
    lifecycle,
    agents,
    store: discoveryStore,
    events: timeline,
    clock: systemClock,
    bootForTask
  })
  const provision = new ProvisionService({
    machines, lifecycle, agents, hardware: discoveryStore, images: imageStore, configs, secrets, configKey: signing.config.secretKey, events: timeline, clock: systemClock, bootForTask
  })
  // The agent pins this certificate by the fingerprint in its kernel command line.
  const cert = await ensureServerCertificate(dataDir, { ip: server.address })
  log.info({ fingerprint: cert.fingerprint }, 'provisioning gRPC certificate (agents pin this SHA-256)')
  // The node CA: nodes' apid trusts it; `anvil certs client` gets operators' certificates from it.
  const nodeCa = await ensureNodeCa(dataDir)
  if (nodeCa.tightened) log.warn({ file: nodeCa.keyFile }, 'the node CA key was readable by others: now 0600; consider it exposed')
  log.info({ fingerprint: nodeCa.fingerprint, origin: nodeCa.origin }, 'node CA certificate (nodes trust it for the node API)')
  const nodeStore = new SqliteNodeReportStore(db)
  const nodeReports = new NodeReportService({ store: nodeStore, machines, lifecycle, events: timeline, clock: systemClock })
  const nodeCertificates = new NodeCertificateService({ nodes: nodeStore, machines, ca: nodeServerCa(nodeCa), events: timeline, clock: systemClock })
  const nodeNotices = new NodeNoticeService({
    nodes: nodeStore,
    machines,
    reset: async (machineId, requestedBy) => {
      const r = await discovery.reset(machineId, { requestedBy })
      return { state: r.machine.state, taskId: r.task.id }
    },
    events: timeline,
    clock: systemClock
  })
  const grpc = createProvisioningService({ listen: config.grpc.listen, gateway: agents, nodeReports, nodeCertificates, nodeNotices, tls: cert, log })

  let httpPort = 0
  const bootenvBuilt = async (): Promise<boolean> => {
    try {
      await Promise.all([assets.resolve(BOOTENV_KERNEL), assets.resolve(BOOTENV_INITRD)])
      return true
    } catch {
      return false
    }
  }
  const images = new ImageService({ store: imageStore, dir: join(dataDir, 'images'), trustedKeys: trustedImageKeys, clock: systemClock })
  const bootApp = buildBootApp({
    machines,
    lifecycle,
    addressOf: (mac) => timeline.ipForMac(mac),
    images,
    assets,
    events: timeline,
    baseUrl: () => baseUrl(),
    capabilities: { recheckSeconds: 30 },
    agent: {
      available: bootenvBuilt,
      prepare: async (machineId, peerIp) => ({ grpc: `${server.address}:${grpc.address().port}`, token: await agents.issueToken(machineId, peerIp), fingerprint: cert.fingerprint })
    },
    cache,
    installFacts: installs,
    log
  })
  const http = fastifyService('http', bootApp, config.http.listen)
  // The one boot planner, asked by DHCP (by MAC) and TFTP (by the address DHCP saw) as HTTP asks it.
  const planForMac = async (mac: string): Promise<BootPlan | undefined> => {
    const machine = await store.findByMac(mac)
    if (machine === undefined) return undefined
    return planBoot(machine, { recheckSeconds: 30, bootenv: await bootenvBuilt() }, { installWritten: needsFacts(machine) && await installs.installWritten(machine.id) })
  }
  const planForIp = async (ip: string): Promise<BootPlan | undefined> => {
    const mac = timeline.macForIp(ip)
    return mac === undefined ? undefined : await planForMac(mac)
  }
  const tftp = createTftpService({ listen: config.tftp.listen, assets, events: timeline, log, limits: config.tftp, cache, lockstep: lockstepEngine(config, log), plan: planForIp })
  let dhcp: ReturnType<typeof createDhcpService> | undefined
  const metrics = async (): Promise<MetricFamily[]> => [
    ...(config.tftp.enabled ? counterFamilies('tftp', tftp.stats(), ['active']) : []),
    ...(dhcp === undefined ? [] : counterFamilies('dhcp', dhcp.stats())),
    { name: 'anvil_ipmi_sessions', help: 'IPMI RMCP+ sessions held open to BMCs (reused across commands)', type: 'gauge', samples: [{ value: openSessions() }] },
    { name: 'anvil_agent_sessions', help: 'discovery agents connected over gRPC', type: 'gauge', samples: [{ value: agents.connectedAgents }] },
    { name: 'anvil_new_machines_rate_limited_total', help: 'boots of unknown MACs refused by discovery.newMachinesPerMinute', type: 'counter', samples: [{ value: machines.rateLimited }] }
  ]
  // Fleet upgrades: Anvil dials each node's apid as an admin client of its own node CA.
  const rolloutStore = new SqliteRolloutStore(db)
  const rollouts = new RolloutService({
    store: rolloutStore,
    machines,
    node: async (machineId) => await configs.node(machineId),
    release: async (ref) => {
      const r = await images.release(ref)
      return { ...r, artifactUrl: `${baseUrl()}/images/${encodeURIComponent(r.name)}/${encodeURIComponent(r.version)}` }
    },
    connector: rolloutConnector({ proto: await loadNodeProto(), ca: nodeCa }),
    events: timeline,
    clock: systemClock,
    onError: (err, rolloutId) => { log.error({ err, rolloutId }, 'a rollout stopped on an internal error') }
  })
  const leftRunning = await rollouts.recover()
  if (leftRunning > 0) log.warn({ rollouts: leftRunning }, 'rollouts a previous run left running were ended failed (not resumed): see anvil operations list --kind rollout')
  const operations = new OperationsService({ store: new SqliteOperationStore(db), machine: async (key) => await machines.get(key), progress: (taskId) => agents.progressOf(taskId), rollouts: rolloutStore })
  const api = fastifyService('api', buildApiApp({ machines, adminToken: token, log, metrics, power: { registry, service: power }, discovery, images, bootBaseUrl: () => baseUrl(), provision, operations, nodeCa, rollouts }), config.api.listen)

  const baseUrl = (): string => `http://${server.address}:${httpPort}`
  const host = (listen: string): string => listen.slice(0, listen.lastIndexOf(':'))
  const parts: Part[] = [
    { name: 'http', make: () => http, what: 'HTTP boot', key: 'http.listen', listen: config.http.listen, describe: () => `${host(config.http.listen)}:${http.port()}` },
    { name: 'api', make: () => api, what: 'the admin API', key: 'api.listen', listen: config.api.listen, describe: () => `${host(config.api.listen)}:${api.port()}` },
    { name: 'grpc', make: () => grpc, what: 'the provisioning gRPC service', key: 'grpc.listen', listen: config.grpc.listen, describe: () => `${host(config.grpc.listen)}:${grpc.address().port}` }
  ]
  if (config.tftp.enabled) {
    parts.push({ name: 'tftp', make: () => tftp, what: 'TFTP', key: 'tftp.listen', listen: config.tftp.listen, describe: () => `${host(config.tftp.listen)}:${tftp.address().port}` })
  }
  if (config.dhcp.mode !== 'off') {
    parts.push({
      name: 'dhcp',
      make: () => {
        dhcp = createDhcpService({
          config: config.dhcp,
          serverAddress: () => server.address,
          httpBaseUrl: baseUrl,
          bootAssets: assets,
          leaseStore: config.dhcp.mode === 'authoritative' ? leases : undefined,
          events: timeline,
          plan: planForMac,
          log
        })
        return dhcp
      },
      what: `DHCP (${config.dhcp.mode} mode)`,
      key: config.dhcp.mode === 'proxy' ? 'dhcp.listen / dhcp.proxyListen' : 'dhcp.listen',
      listen: config.dhcp.mode === 'proxy' ? `${config.dhcp.listen} and ${config.dhcp.proxyListen}` : config.dhcp.listen,
      describe: () => {
        const a = dhcp?.addresses()
        return a === undefined ? '' : [a.dhcp, a.proxy].filter(x => x !== undefined).map(x => `${x.address}:${x.port}`).join(', ')
      }
    })
  }

  const controller = new AbortController()
  const started: Service[] = []
  const listening: Record<string, string> = {}
  const failed: Record<string, string> = {}
  for (const part of parts) {
    const service = part.make()
    try {
      await service.start(controller.signal)
      started.push(service)
      listening[part.name] = part.describe()
      if (service === http) httpPort = http.port()
    } catch (err) {
      // Services wrap the socket error; the errno in the cause is what says "needs root" or "in use".
      const cause = err instanceof Error && err.cause !== undefined ? err.cause : err
      const message = bindErrorMessage(cause, part.what, part.key, part.listen)
      failed[part.name] = message
      log.error({ service: part.name, key: part.key }, message)
    }
  }

  const prune = async (): Promise<void> => {
    try {
      const now = Date.now()
      const n = await store.pruneEvents({ before: now - config.retention.events, unattachedBefore: now - config.retention.unattachedEvents, perMachine: config.retention.eventsPerMachine })
      if (n > 0) log.info({ deleted: n }, 'pruned timeline events past their retention (retention.*)')
    } catch (err) {
      log.error({ err }, 'pruning old events failed')
    }
  }
  await prune()
  const pruneTimer = setInterval(() => { void prune() }, 3600_000)
  pruneTimer.unref()
  // Spent and expired tokens and session credentials go; tasks of sessions gone past their grace are queued again.
  const agentTimer = setInterval(() => { agents.prune().catch((err: unknown) => { log.error({ err }, 'agent upkeep failed') }) }, 60_000)
  agentTimer.unref()

  let stopping: Promise<void> | undefined
  const stop = async (): Promise<void> => {
    stopping ??= (async () => {
      controller.abort()
      await rollouts.stop()
      clearInterval(pruneTimer)
      clearInterval(agentTimer)
      for (const service of started.reverse()) {
        try {
          await service.stop()
        } catch (err) {
          log.error({ err, service: service.name }, 'service did not stop cleanly')
        }
      }
      await closePower()
      await timeline.flush()
      db.$client.close()
    })()
    await stopping
  }
  log.info({ listening, failed: Object.keys(failed) }, 'anvil ready')
  return { db, machines, timeline, adminToken: token, serverAddress: server.address, listening, failed, stop }
}

/** The native lock-step TFTP engine when it is wanted and built; otherwise say why, once. */
function lockstepEngine (config: Config, log: Logger): LockstepEngine | undefined {
  if (!config.tftp.enabled || !config.tftp.nativeLockstep) return undefined
  const loaded = loadLockstep()
  if (loaded.engine === undefined) {
    log.warn({ component: 'tftp' }, `lock-step TFTP transfers run on the event loop (several times slower): ${loaded.reason}`)
    return undefined
  }
  loaded.engine.configure({ spinMicros: config.tftp.spinMicros })
  log.debug({ component: 'tftp', module: loaded.path, spinMicros: config.tftp.spinMicros }, 'lock-step TFTP transfers run on the native engine')
  return loaded.engine
}
