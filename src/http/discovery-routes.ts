import type { FastifyInstance } from 'fastify'
import type { DiscoveryService, TaskView } from '../provisioning/discovery-service.ts'
import type { EraseReportRecord, WipeMethod } from '../provisioning/discovery-ports.ts'
import type { CancelView, EraseReportView, HardwareView, MachineView, QueuedTaskJson, TaskJson } from './api-types.ts'

export type DiscoveryRouteDeps = {
  readonly discovery: DiscoveryService
  readonly view: (machineId: string) => Promise<MachineView>
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const
const iso = (t: number | null): string | null => t === null ? null : new Date(t).toISOString()

function taskJson (t: TaskView): TaskJson {
  return { ...t, createdAt: iso(t.createdAt) as string, startedAt: iso(t.startedAt), finishedAt: iso(t.finishedAt), cancelRequestedAt: iso(t.cancelRequestedAt), progress: t.progress.map(p => ({ ...p, at: iso(p.at) as string })) }
}

/** A task just queued: an operation too, whose id is the task's (GET /api/v1/operations/:id). */
function queuedJson (t: TaskView): QueuedTaskJson {
  return { ...taskJson(t), operationId: t.id }
}

const taskParams = { type: 'object', required: ['id', 'task'], properties: { id: idParams.properties.id, task: { type: 'string', minLength: 1, maxLength: 64, pattern: '^t-[0-9a-f-]{1,62}$' } } } as const

function eraseJson (e: EraseReportRecord): EraseReportView {
  const { machineId: _m, ...rest } = e
  return { ...rest, at: iso(e.at) as string }
}

/** Hardware, the acceptance gate, wipes, resets and their reports. */
export function registerDiscoveryRoutes (app: FastifyInstance, deps: DiscoveryRouteDeps): void {
  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/hardware', { schema: { params: idParams } }, async (req): Promise<HardwareView> => {
    const hw = await deps.discovery.hardware(req.params.id)
    return { machineId: hw.machineId, reportedAt: iso(hw.reportedAt) as string, hardware: hw.report }
  })

  app.post<{ Params: { id: string } }>('/api/v1/machines/:id/accept', { schema: { params: idParams } }, async (req): Promise<MachineView> => {
    return await deps.view((await deps.discovery.accept(req.params.id)).id)
  })

  app.post<{ Params: { id: string } }>('/api/v1/machines/:id/reject', { schema: { params: idParams } }, async (req): Promise<MachineView> => {
    return await deps.view((await deps.discovery.reject(req.params.id)).id)
  })

  app.post<{ Params: { id: string }, Body: { method?: WipeMethod, disks?: string[] } | undefined }>('/api/v1/machines/:id/wipe', {
    schema: {
      params: idParams,
      body: {
        type: 'object',
        additionalProperties: false,
        properties: {
          method: { enum: ['fast', 'zeroes'] },
          disks: { type: 'array', maxItems: 256, items: { type: 'string', pattern: '^[A-Za-z0-9_.:-]{1,64}$' } }
        }
      }
    }
  }, async (req, reply) => {
    const task = await deps.discovery.wipe(req.params.id, { method: req.body?.method ?? 'fast', disks: req.body?.disks ?? [] })
    return await reply.code(202).send(queuedJson({ ...task, progress: [] }))
  })

  // A provisioned (or failed) machine back to ready without its node: the lifecycle's reset, its
  // wipe queued for the agent and the machine booted into it (for a node that cannot reset itself).
  app.post<{ Params: { id: string }, Body: { method?: WipeMethod } | undefined }>('/api/v1/machines/:id/reset', {
    schema: { params: idParams, body: { type: 'object', additionalProperties: false, properties: { method: { enum: ['fast', 'zeroes'] } } } }
  }, async (req, reply) => {
    const { task } = await deps.discovery.reset(req.params.id, { method: req.body?.method ?? 'fast' })
    return await reply.code(202).send(queuedJson({ ...task, progress: [] }))
  })

  app.post<{ Params: { id: string }, Body: { kind: 'reboot' | 'powerOff' } }>('/api/v1/machines/:id/tasks', {
    schema: { params: idParams, body: { type: 'object', additionalProperties: false, required: ['kind'], properties: { kind: { enum: ['reboot', 'powerOff'] } } } }
  }, async (req, reply) => {
    const task = await deps.discovery.queueAgentTask(req.params.id, req.body.kind)
    return await reply.code(202).send(queuedJson({ ...task, progress: [] }))
  })

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/tasks', { schema: { params: idParams } }, async (req) => {
    return { items: (await deps.discovery.taskViews(req.params.id)).map(taskJson) }
  })

  const cancel = async (id: string, task?: string): Promise<CancelView> => {
    const r = await deps.discovery.cancel(id, task)
    return { machine: await deps.view(r.machine.id), cancelled: r.cancelled.map(t => taskJson({ ...t, progress: [] })) }
  }
  app.post<{ Params: { id: string, task: string } }>('/api/v1/machines/:id/tasks/:task/cancel', { schema: { params: taskParams } }, async (req) => await cancel(req.params.id, req.params.task))
  app.post<{ Params: { id: string } }>('/api/v1/machines/:id/cancel', { schema: { params: idParams } }, async (req) => await cancel(req.params.id))

  app.post<{ Params: { id: string }, Body: { enabled: boolean } }>('/api/v1/machines/:id/maintenance', {
    schema: { params: idParams, body: { type: 'object', additionalProperties: false, required: ['enabled'], properties: { enabled: { type: 'boolean' } } } }
  }, async (req): Promise<MachineView> => {
    return await deps.view((await deps.discovery.maintenance(req.params.id, req.body.enabled)).id)
  })

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/erase-reports', { schema: { params: idParams } }, async (req) => {
    return { items: (await deps.discovery.eraseReports(req.params.id)).map(eraseJson) }
  })
}
