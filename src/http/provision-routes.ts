import type { FastifyInstance } from 'fastify'
import { MAX_DOCUMENT_BYTES } from '../machine-config/parse.ts'
import type { InstallView, ProvisionService } from '../provisioning/provision-service.ts'
import type { InstallJson, MachineView, ProvisionView, SignedConfigView } from './api-types.ts'

export type ProvisionRouteDeps = {
  readonly provision: ProvisionService
  readonly view: (machineId: string) => Promise<MachineView>
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const
/** JSON escapes a YAML's newlines and quotes: room for a whole 256 KiB config, and not much more. */
const BODY_LIMIT = 4 * MAX_DOCUMENT_BYTES

/** An install as the API shows it (built field by field: a config's content never rides along). */
export function installJson (v: InstallView): InstallJson {
  const iso = (t: number | null): string | null => t === null ? null : new Date(t).toISOString()
  return {
    operationId: v.task.id,
    state: v.task.state,
    error: v.task.error,
    image: { name: v.image.name, version: v.image.version },
    disk: { name: v.disk.name, serial: v.disk.serial, wwn: v.disk.wwn, sizeBytes: v.disk.sizeBytes },
    configGeneration: v.configGeneration,
    createdAt: iso(v.task.createdAt) as string,
    finishedAt: iso(v.task.finishedAt),
    node: v.node === null ? null : { image: v.node.imageName, version: v.node.imageVersion, slot: v.node.slot, configGeneration: v.node.configGeneration, addresses: [...v.node.addresses], hostname: v.node.hostname, reportedAt: iso(v.node.reportedAt) as string }
  }
}

/** POST /api/v1/machines/:id/provision: queue the signed install of an image and a machine config. */
export function registerProvisionRoutes (app: FastifyInstance, deps: ProvisionRouteDeps): void {
  app.post<{ Params: { id: string }, Body: { image: string, config: string, disk?: Record<string, unknown> } }>('/api/v1/machines/:id/provision', {
    bodyLimit: BODY_LIMIT,
    schema: {
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['image', 'config'],
        properties: {
          image: { type: 'string', minLength: 1, maxLength: 130 },
          // Characters, not bytes: parseMachineConfig refuses a document over 256 KiB of UTF-8.
          config: { type: 'string', minLength: 1, maxLength: MAX_DOCUMENT_BYTES },
          // Its keys and values are the config's install.disk, checked there with precise messages.
          disk: { type: 'object', maxProperties: 16 }
        }
      }
    }
  }, async (req, reply) => {
    const r = await deps.provision.provision(req.params.id, { image: req.body.image, config: req.body.config, ...(req.body.disk === undefined ? {} : { disk: req.body.disk }) })
    const answer: ProvisionView = { operationId: r.task.id, machine: await deps.view(r.machine.id), image: r.image, disk: r.disk, configGeneration: r.configGeneration }
    return await reply.code(202).send(answer)
  })
  registerConfigRoutes(app, deps)
}

/**
 * POST /api/v1/machines/:id/config: a new config for a provisioned machine's running node, signed
 * for its next generation (ProvisionService.nextConfig) → 201 { generation, config, signature }:
 * the canonical text that was signed (its exact bytes are what the node verifies) and the
 * signature file. The node applies it when handed both (anvil -n NODE apply-config).
 */
export function registerConfigRoutes (app: FastifyInstance, deps: Pick<ProvisionRouteDeps, 'provision'>): void {
  app.post<{ Params: { id: string }, Body: { config: string } }>('/api/v1/machines/:id/config', {
    bodyLimit: BODY_LIMIT,
    schema: {
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['config'],
        properties: { config: { type: 'string', minLength: 1, maxLength: MAX_DOCUMENT_BYTES } }
      }
    }
  }, async (req, reply) => {
    const r = await deps.provision.nextConfig(req.params.id, req.body.config)
    const answer: SignedConfigView = { machineId: r.machineId, generation: r.generation, config: r.config, signature: r.signature }
    return await reply.code(201).send(answer)
  })
}
