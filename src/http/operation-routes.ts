import type { FastifyInstance } from 'fastify'
import type { OperationsService, OperationView } from '../provisioning/operations.ts'
import type { OperationJson } from './api-types.ts'

const iso = (t: number | null): string | null => t === null ? null : new Date(t).toISOString()

/** An operation as the API shows it: times as ISO 8601 strings. */
export function operationJson (o: OperationView): OperationJson {
  const { rollout, ...rest } = o
  return {
    ...rest,
    createdAt: iso(o.createdAt) as string,
    startedAt: iso(o.startedAt),
    finishedAt: iso(o.finishedAt),
    cancelRequestedAt: iso(o.cancelRequestedAt),
    progressAt: iso(o.progressAt),
    progress: o.progress.map(p => ({ ...p, at: iso(p.at) as string })),
    ...(rollout === undefined ? {} : { rollout: { ...rollout, machines: rollout.machines.map(m => ({ ...m, startedAt: iso(m.startedAt), finishedAt: iso(m.finishedAt) })) } })
  }
}

// Operation ids are task ids (t-<uuid>, the shape the cancel route accepts) or rollout ids (r-<uuid>).
const operationId = { type: 'string', minLength: 1, maxLength: 64, pattern: '^[tr]-[0-9a-f-]{1,62}$' } as const

type ListQuery = { machine?: string, state?: string, kind?: string, limit?: number, before?: string }

/**
 * GET /api/v1/operations and /api/v1/operations/:id. The filters' values are checked by the
 * operations service (one place, with the field named); the schema only bounds their size.
 */
export function registerOperationRoutes (app: FastifyInstance, operations: OperationsService): void {
  app.get<{ Querystring: ListQuery }>('/api/v1/operations', {
    schema: {
      querystring: {
        type: 'object',
        additionalProperties: false,
        properties: {
          machine: { type: 'string', minLength: 1, maxLength: 128 },
          state: { type: 'string', maxLength: 32 },
          kind: { type: 'string', maxLength: 32 },
          limit: { type: 'integer' },
          before: operationId
        }
      }
    }
  }, async (req) => {
    const q = req.query
    const list = await operations.list({
      ...(q.machine === undefined ? {} : { machine: q.machine }),
      ...(q.state === undefined ? {} : { state: q.state }),
      ...(q.kind === undefined ? {} : { kind: q.kind }),
      ...(q.limit === undefined ? {} : { limit: q.limit }),
      ...(q.before === undefined ? {} : { before: q.before })
    })
    return { operations: list.map(operationJson) }
  })

  app.get<{ Params: { id: string } }>('/api/v1/operations/:id', {
    schema: { params: { type: 'object', required: ['id'], properties: { id: operationId } } }
  }, async (req): Promise<OperationJson> => operationJson(await operations.get(req.params.id)))
}
