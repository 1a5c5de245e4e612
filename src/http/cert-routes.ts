import type { FastifyInstance } from 'fastify'
import { CodedError, isCodedError } from '../lib/errors.ts'
import { parseDuration } from '../lib/duration.ts'
import type { NodeCa } from '../pki/node-ca.ts'
import type { ClientCertInput, ClientCertJson, NodeCaJson } from './api-types.ts'

/** What the routes need of the node CA (src/pki/node-ca.ts). */
export type ClientCertIssuer = Pick<NodeCa, 'certPem' | 'fingerprint' | 'issueClient'>

/**
 * POST /api/v1/certs/client and GET /api/v1/certs/ca. The schema only bounds sizes; role, key
 * and lifetime are checked by the CA, which answers with ERR_CERT_ROLE_INVALID, ERR_CERT_KEY_INVALID
 * or ERR_CERT_TTL_INVALID.
 */
export function registerCertRoutes (app: FastifyInstance, ca: ClientCertIssuer): void {
  app.post<{ Body: ClientCertInput }>('/api/v1/certs/client', {
    // An Ed25519 SPKI PEM is 113 bytes: nothing legitimate comes near this.
    bodyLimit: 16 * 1024,
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['role', 'publicKey'],
        properties: {
          role: { type: 'string', maxLength: 32 },
          publicKey: { type: 'string', minLength: 1, maxLength: 4096 },
          name: { type: 'string', minLength: 1, maxLength: 64 },
          ttl: { type: 'string', minLength: 1, maxLength: 32 }
        }
      }
    }
  }, async (req, reply) => {
    const { role, publicKey, name, ttl } = req.body
    const issued = ca.issueClient({ role, publicKey, name: name ?? role, ...(ttl === undefined ? {} : { ttlMs: ttlMs(ttl) }) })
    // The audit trail: who, which role, until when (a certificate is no secret, its key stays with the caller).
    req.log.info({ role, name: name ?? role, serial: issued.serialNumber, notAfter: issued.notAfter.toISOString() }, 'issued a node API client certificate')
    const body: ClientCertJson = { certificate: issued.certPem, ca: ca.certPem, role, name: name ?? role, notAfter: issued.notAfter.toISOString() }
    return await reply.code(201).send(body)
  })

  app.get('/api/v1/certs/ca', async (): Promise<NodeCaJson> => ({ ca: ca.certPem, fingerprint: ca.fingerprint }))
}

function ttlMs (ttl: string): number {
  try {
    return parseDuration(ttl)
  } catch (err) {
    if (isCodedError(err)) throw new CodedError('ERR_CERT_TTL_INVALID', err.message)
    throw err
  }
}
