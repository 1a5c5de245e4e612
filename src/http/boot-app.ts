import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify'
import type { BootAssets, ResolvedAsset } from '../boot/assets.ts'
import type { FileCache } from '../boot/file-cache.ts'
import { renderChainScript, renderMachineScript, renderWaitScript, type AgentBoot } from '../boot/ipxe-script.ts'
import { isCodedError } from '../lib/errors.ts'
import type { Logger } from '../log/logger.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Timeline } from '../inventory/timeline.ts'
import { BootMessage, needsFacts, planBoot, runsAgent, type BootCapabilities } from '../provisioning/boot-planner.ts'
import type { InstallFacts } from '../provisioning/install-ports.ts'
import type { LifecycleService } from '../provisioning/lifecycle-service.ts'
import { MachineState } from '../inventory/machine.ts'
import { normalizeMac } from '../lib/mac.ts'
import { errorHandler, notFoundHandler } from './errors.ts'
import { sendAsset } from './static-file.ts'

export type BootAppDeps = {
  readonly machines: MachineService
  /** An enrolled machine's first boot is a lifecycle event (enrolled → discovered). */
  readonly lifecycle: LifecycleService
  readonly assets: BootAssets
  /** The timeline; script decisions are flushed before the script is sent. */
  readonly events: Timeline
  /** What machines use to reach this listener, e.g. http://10.77.0.1:8080 (known once it listens). */
  readonly baseUrl: () => string
  readonly capabilities: Omit<BootCapabilities, 'bootenv'>
  /** The discovery environment; without it machines wait at the iPXE prompt. */
  readonly agent?: AgentBootProvider
  /** Files served from memory when they fit (shared with TFTP); streamed from disk otherwise. */
  readonly cache?: FileCache
  /**
   * The address DHCP saw this MAC take, when it saw one (Anvil's lease, or the site server's in
   * proxy mode). A script request naming that MAC from another address gets no agent token: it is
   * someone else asking in the machine's name.
   */
  readonly addressOf?: (mac: string) => string | undefined
  /** Ready images' artifacts, served to installing agents at /images/<name>/<version> (Range, ETag). */
  readonly images?: { artifactFile (name: string, version: string): Promise<ResolvedAsset> }
  /** Whether an installing machine's image is written (then its network boot gets its local disk). */
  readonly installFacts?: InstallFacts
  readonly log: Logger
}

/** Hands a machine the discovery environment: is it built, and a fresh token for this boot. */
export interface AgentBootProvider {
  /** The kernel and initramfs exist (checked per request, so a build lands without a restart). */
  available (): Promise<boolean>
  /**
   * A single-use token for this machine, bound to the address that fetched the script, with the
   * gRPC endpoint and the certificate fingerprint.
   */
  prepare (machineId: string, peerIp: string): Promise<AgentBoot>
}

type ScriptQuery = Partial<Record<'uuid' | 'mac' | 'serial' | 'manufacturer' | 'product' | 'platform' | 'buildarch', string>>

/** Peer address without the IPv4-mapped prefix. */
function peerIp (ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip
}

/** iPXE sends "" for unset settings; treat those as absent. */
function present (v: string | undefined): string | undefined {
  return v === undefined || v.trim() === '' ? undefined : v
}

/** The machine-facing HTTP app: iPXE scripts and boot assets. Never listens by itself. */
export function buildBootApp (deps: BootAppDeps): FastifyInstance {
  const app = fastify({ loggerInstance: deps.log.child({ svc: 'http' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true })
  app.setErrorHandler(errorHandler(deps.log))
  app.setNotFoundHandler(notFoundHandler)

  app.get<{ Querystring: ScriptQuery }>('/boot.ipxe', async (req, reply) => {
    const ip = peerIp(req.ip)
    void reply.type('text/plain; charset=utf-8').header('Cache-Control', 'no-store')
    const mac = present(req.query.mac)
    if (mac === undefined) {
      deps.events.record({ source: 'http', type: 'http.chain', ip, message: `served the identity chain script to ${ip}: iPXE reports its SMBIOS UUID, serial and MAC on the next request`, data: { ip } })
      return renderChainScript(deps.baseUrl())
    }
    const q = req.query
    let registered
    try {
      registered = await deps.machines.registerBoot({
        mac, uuid: present(q.uuid), serial: present(q.serial), manufacturer: present(q.manufacturer), product: present(q.product), platform: present(q.platform), buildarch: present(q.buildarch), ip
      })
    } catch (err) {
      // iPXE runs only a 200: a machine held back by the new-machine limit is told to wait and ask again.
      if (isCodedError(err) && err.code === 'ERR_RATE_LIMITED') return renderWaitScript(BootMessage.busy, 10 + Math.floor(Math.random() * 20), deps.baseUrl())
      throw err
    }
    const { created } = registered
    let machine = registered.machine
    if (machine.state === MachineState.enrolled) {
      try {
        machine = (await deps.lifecycle.apply(machine.id, { type: 'boot' }, { source: 'inventory' })).machine
      } catch (err) {
        // Another request moved it first (an operator accepted it meanwhile): plan from that state.
        if (!(isCodedError(err) && err.code === 'ERR_INVALID_STATE')) throw err
        machine = await deps.machines.get(machine.id)
      }
    }
    const bootenv = await deps.agent?.available() ?? false
    const installWritten = needsFacts(machine) && deps.installFacts !== undefined ? await deps.installFacts.installWritten(machine.id) : false
    let decision = planBoot(machine, { ...deps.capabilities, bootenv }, { installWritten })
    const dhcpSaw = deps.addressOf?.(normalizeMac(mac))
    if (runsAgent(decision) && dhcpSaw !== undefined && dhcpSaw !== ip) {
      deps.events.record({ source: 'http', type: 'http.refused', machineId: machine.id, ip, message: `no agent token for ${ip}: it asked for the script of MAC ${normalizeMac(mac)}, which DHCP saw take ${dhcpSaw}`, data: { ip, dhcpAddress: dhcpSaw } })
      decision = { kind: 'wait', message: BootMessage.addressMismatch, recheckSeconds: deps.capabilities.recheckSeconds }
    }
    const agent = runsAgent(decision) ? await deps.agent?.prepare(machine.id, ip) : undefined
    deps.events.record({
      source: 'http',
      type: 'http.script',
      machineId: machine.id,
      ip,
      message: `served the ${decision.kind} script${created ? ' to a new machine' : ''} (${machine.state}): ${decision.message}`,
      data: { decision: decision.kind, state: machine.state, platform: q.platform ?? null, buildarch: q.buildarch ?? null, uuid: q.uuid ?? null, ip }
    })
    await deps.events.flush()
    return renderMachineScript(machine, decision, deps.baseUrl(), agent)
  })

  const serveAsset = async (req: FastifyRequest<{ Params: { '*': string } }>, reply: FastifyReply): Promise<void> => {
    const ip = peerIp(req.ip)
    const name = req.params['*']
    let asset
    try {
      asset = await deps.assets.resolve(name)
    } catch (err) {
      if (isCodedError(err) && err.code === 'ERR_PATH_TRAVERSAL') {
        deps.log.warn({ ip, name }, 'refused a boot asset path outside the root')
        deps.events.record({ source: 'http', type: 'http.refused', ip, message: `refused ${JSON.stringify(name)} to ${ip}: the path leaves the boot assets`, data: { name } })
      }
      throw err
    }
    const cached = req.method === 'HEAD' ? undefined : await deps.cache?.whole(asset)
    const started = process.hrtime.bigint()
    reply.hijack()
    const bytes = sendAsset(req.raw, reply.raw, asset, cached)
    reply.raw.on('finish', () => {
      if (bytes === 0 || req.method === 'HEAD') return
      const ms = Number(process.hrtime.bigint() - started) / 1e6
      const range = req.headers.range
      deps.events.record({ source: 'http', type: 'http.asset', ip, message: `sent ${name} (${bytes.toLocaleString('en')} bytes${range === undefined ? '' : `, ${range}`}) in ${(ms / 1000).toFixed(2)} s`, data: { file: name, bytes, range: range ?? null, durationMs: Math.round(ms) } })
    })
  }
  // Fastify answers HEAD through this GET route too (exposeHeadRoutes); sendAsset sends no body then.
  app.get('/assets/*', serveAsset)

  // Images are public (a signature, not secrecy, protects them): the agent verifies every chunk.
  const images = deps.images
  if (images !== undefined) {
    app.get<{ Params: { name: string, version: string } }>('/images/:name/:version', {
      schema: { params: { type: 'object', required: ['name', 'version'], properties: { name: { type: 'string', pattern: '^[a-z0-9][a-z0-9-]{0,62}$' }, version: { type: 'string', pattern: '^[0-9A-Za-z.+_~-]{1,64}$' } } } }
    }, async (req, reply) => {
      const asset = await images.artifactFile(req.params.name, req.params.version)
      reply.hijack()
      sendAsset(req.raw, reply.raw, asset)
    })
  }
  return app
}
