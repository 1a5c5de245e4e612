import { timingSafeEqual } from 'node:crypto'
import fastify, { LogController, type FastifyBaseLogger, type FastifyInstance } from 'fastify'
import { CodedError } from '../lib/errors.ts'
import type { Logger } from '../log/logger.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Machine, MachineEvent } from '../inventory/machine.ts'
import { MachineState, UuidStatus } from '../inventory/machine.ts'
import { errorHandler, notFoundHandler } from './errors.ts'
import { openApiDocument } from './openapi.ts'
import type { BmcJson, EventView, MachineView } from './api-types.ts'
import type { BmcRegistry, BmcView } from '../power/bmc-registry.ts'
import type { PowerService } from '../power/power-service.ts'
import { registerPowerRoutes } from './power-routes.ts'
import { registerDiscoveryRoutes } from './discovery-routes.ts'
import { registerImageRoutes } from './image-routes.ts'
import type { ImageService } from '../images/image-service.ts'
import type { DiscoveryService } from '../provisioning/discovery-service.ts'
import type { ProvisionService } from '../provisioning/provision-service.ts'
import { installJson, registerProvisionRoutes } from './provision-routes.ts'
import type { OperationsService } from '../provisioning/operations.ts'
import { registerOperationRoutes } from './operation-routes.ts'
import { registerCertRoutes, type ClientCertIssuer } from './cert-routes.ts'
import type { RolloutService } from '../provisioning/rollout-service.ts'
import { registerRolloutRoutes } from './rollout-routes.ts'
import { renderPrometheus, type MetricFamily } from './metrics.ts'

export type ApiAppDeps = {
  readonly machines: MachineService
  /** The bearer token every call must carry. */
  readonly adminToken: string
  /** Metric families for GET /metrics (Prometheus), gathered at scrape time. */
  readonly metrics?: () => Promise<MetricFamily[]>
  readonly log: Logger
  /** BMCs and power; without them the power routes are absent and machines show `bmc: null`. */
  readonly power?: { readonly registry: BmcRegistry, readonly service: PowerService }
  /** Hardware, acceptance and wipes; without it those routes are absent. */
  readonly discovery?: DiscoveryService
  /** The image catalogue; without it the image routes are absent. */
  readonly images?: ImageService
  /** The boot listener's base URL (http://address:port), where nodes fetch artifacts; without it no /release route. */
  readonly bootBaseUrl?: () => string
  /** Installs (POST .../provision, `install` in a machine's view); without it those are absent. */
  readonly provision?: ProvisionService
  /** Every long task (wipe, install) as an operation; without it the operation routes are absent. */
  readonly operations?: OperationsService
  /** The node CA (client certificates for the node API); without it the /api/v1/certs routes are absent. */
  readonly nodeCa?: ClientCertIssuer
  /** Fleet upgrades (POST /api/v1/machines/upgrade); without it that route is absent. */
  readonly rollouts?: RolloutService
}

/** A machine as the API shows it: times as ISO 8601 strings, its BMC without the password. */
export function machineJson (m: Machine, bmc?: BmcView): MachineView {
  return {
    ...m,
    createdAt: new Date(m.createdAt).toISOString(),
    updatedAt: new Date(m.updatedAt).toISOString(),
    lastSeenAt: new Date(m.lastSeenAt).toISOString(),
    bmc: bmc === undefined ? null : bmcJson(bmc)
  }
}

/** A BMC as the API shows it. Built field by field, so nothing secret can ride along. */
export function bmcJson (b: BmcView): BmcJson {
  return { address: b.address, port: b.port, user: b.username, cipherSuite: b.cipherSuite, updatedAt: new Date(b.updatedAt).toISOString() }
}

export function eventJson (e: MachineEvent): EventView {
  return { id: e.id, at: new Date(e.at).toISOString(), source: e.source, type: e.type, message: e.message, mac: e.mac, data: e.data }
}

function tokenMatches (header: string | undefined, token: Buffer): boolean {
  if (header === undefined) return false
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header)
  if (m === null) return false
  const given = Buffer.from(m[1] as string)
  return given.length === token.length && timingSafeEqual(given, token)
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const

/** The admin REST API (its own listener). Never listens by itself: tests use app.inject. */
export function buildApiApp (deps: ApiAppDeps): FastifyInstance {
  const app = fastify({ loggerInstance: deps.log.child({ svc: 'api' }) as FastifyBaseLogger, logController: new LogController({ disableRequestLogging: true }), return503OnClosing: true })
  const token = Buffer.from(deps.adminToken)
  app.setErrorHandler(errorHandler(deps.log))
  app.setNotFoundHandler(notFoundHandler)
  app.addHook('onRequest', async (req) => {
    if (!tokenMatches(req.headers.authorization, token)) {
      throw new CodedError('ERR_UNAUTHORIZED', 'missing or wrong bearer token (see <dataDir>/admin.token)')
    }
  })

  app.get('/api/v1/openapi.json', async () => openApiDocument)

  // Prometheus scrapes with the same bearer token (authorization.credentials_file).
  app.get('/metrics', async (_req, reply) => {
    const families = deps.metrics === undefined ? [] : await deps.metrics()
    const machines = await deps.machines.list()
    const byState = new Map<string, number>(Object.values(MachineState).map(s => [s, 0]))
    for (const m of machines) byState.set(m.state, (byState.get(m.state) ?? 0) + 1)
    families.push({ name: 'anvil_machines', help: 'machines in the inventory by lifecycle state', type: 'gauge', samples: [...byState].map(([state, value]) => ({ labels: { state }, value })) })
    return await reply.type('text/plain; version=0.0.4; charset=utf-8').send(renderPrometheus(families))
  })

  app.get<{ Querystring: { state?: MachineState, uuidStatus?: UuidStatus } }>('/api/v1/machines', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          state: { type: 'string', enum: Object.values(MachineState) },
          uuidStatus: { type: 'string', enum: Object.values(UuidStatus) }
        }
      }
    }
  }, async (req) => {
    const filter = { ...(req.query.state === undefined ? {} : { state: req.query.state }), ...(req.query.uuidStatus === undefined ? {} : { uuidStatus: req.query.uuidStatus }) }
    const bmcs = await deps.power?.registry.views() ?? new Map<string, BmcView>()
    return { items: (await deps.machines.list(filter)).map(m => machineJson(m, bmcs.get(m.id))) }
  })

  const view = async (key: string): Promise<MachineView> => {
    const m = await deps.machines.get(key)
    const json = machineJson(m, await deps.power?.registry.view(m.id))
    if (deps.provision === undefined) return json
    const install = await deps.provision.installView(m.id)
    return { ...json, install: install === null ? null : installJson(install) }
  }

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id', { schema: { params: idParams } }, async (req) => await view(req.params.id))

  app.get<{ Params: { id: string }, Querystring: { after?: number, limit?: number } }>('/api/v1/machines/:id/events', {
    schema: {
      params: idParams,
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: { after: { type: 'integer', minimum: 0 }, limit: { type: 'integer', minimum: 1, maximum: 10000 } }
      }
    }
  }, async (req) => {
    const options = { ...(req.query.after === undefined ? {} : { afterId: req.query.after }), ...(req.query.limit === undefined ? {} : { limit: req.query.limit }) }
    return { items: (await deps.machines.events(req.params.id, options)).map(eventJson) }
  })
  if (deps.discovery !== undefined) registerDiscoveryRoutes(app, { discovery: deps.discovery, view })
  if (deps.images !== undefined) registerImageRoutes(app, deps.images, deps.bootBaseUrl)
  if (deps.provision !== undefined) registerProvisionRoutes(app, { provision: deps.provision, view })
  if (deps.operations !== undefined) registerOperationRoutes(app, deps.operations)
  if (deps.rollouts !== undefined) registerRolloutRoutes(app, deps.rollouts)
  if (deps.nodeCa !== undefined) registerCertRoutes(app, deps.nodeCa)
  if (deps.power !== undefined) registerPowerRoutes(app, { machines: deps.machines, registry: deps.power.registry, power: deps.power.service, view })
  return app
}
