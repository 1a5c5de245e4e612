import type { FastifyInstance } from 'fastify'
import { MAX_SELECTOR_LENGTH } from '../provisioning/machine-selector.ts'
import { ROLLOUT_LIMITS, type RolloutService } from '../provisioning/rollout-service.ts'
import { rolloutOperationView } from '../provisioning/rollout-view.ts'
import type { OperationJson } from './api-types.ts'
import { operationJson } from './operation-routes.ts'

type UpgradeBody = { selector: string, image: string, maxParallel?: number, healthTimeoutS?: number, force?: boolean }

/**
 * POST /api/v1/machines/upgrade: a rolling upgrade of the machines a selector picks, to a ready
 * image; 202 with the rollout as an operation (GET /api/v1/operations/{id} follows it). The
 * values are checked by the rollout service (one place, with the field named); the schema only
 * bounds their size.
 */
export function registerRolloutRoutes (app: FastifyInstance, rollouts: RolloutService): void {
  app.post<{ Body: UpgradeBody }>('/api/v1/machines/upgrade', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['selector', 'image'],
        properties: {
          selector: { type: 'string', minLength: 1, maxLength: MAX_SELECTOR_LENGTH },
          image: { type: 'string', minLength: 1, maxLength: 130 },
          maxParallel: { type: 'integer', minimum: 1, maximum: ROLLOUT_LIMITS.maxParallel },
          healthTimeoutS: { type: 'integer', minimum: ROLLOUT_LIMITS.healthTimeoutS.min, maximum: ROLLOUT_LIMITS.healthTimeoutS.max },
          force: { type: 'boolean' }
        }
      }
    }
  }, async (req, reply) => {
    const b = req.body
    const record = await rollouts.start({
      selector: b.selector,
      image: b.image,
      ...(b.maxParallel === undefined ? {} : { maxParallel: b.maxParallel }),
      ...(b.healthTimeoutS === undefined ? {} : { healthTimeoutS: b.healthTimeoutS }),
      ...(b.force === undefined ? {} : { force: b.force })
    })
    const operation: OperationJson = operationJson(rolloutOperationView(record))
    return await reply.code(202).send({ operation })
  })
}
