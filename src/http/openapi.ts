import { MachineState, UuidStatus } from '../inventory/machine.ts'

const errorSchema = {
  type: 'object',
  required: ['error'],
  properties: {
    error: {
      type: 'object',
      required: ['code', 'message'],
      properties: { code: { type: 'string', example: 'ERR_MACHINE_NOT_FOUND' }, message: { type: 'string' }, details: { type: 'object' } }
    }
  }
}

const errorResponse = (description: string) => ({ description, content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } } })

const idParam = { name: 'id', in: 'path', required: true, description: 'Machine id, or a MAC, SMBIOS UUID or serial that names one machine', schema: { type: 'string' } }

/** OpenAPI 3.1 description of the admin API (GET /api/v1/openapi.json). */
export const openApiDocument = {
  openapi: '3.1.0',
  info: { title: 'Anvil admin API', version: '1', description: 'Inventory and boot timeline of the machines Anvil provisions. Every call needs `Authorization: Bearer <token>` (the server writes it to <dataDir>/admin.token).' },
  security: [{ bearer: [] }],
  components: {
    securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } },
    schemas: {
      Error: errorSchema,
      Machine: {
        type: 'object',
        properties: {
          id: { type: 'string', example: 'm-0k3v9q2a' },
          uuid: { type: ['string', 'null'], description: 'SMBIOS UUID when trusted as identity' },
          reportedUuid: { type: ['string', 'null'] },
          uuidStatus: { type: 'string', enum: Object.values(UuidStatus) },
          serial: { type: ['string', 'null'] },
          manufacturer: { type: ['string', 'null'] },
          product: { type: ['string', 'null'] },
          firmware: { type: ['string', 'null'], enum: ['pcbios', 'efi', null] },
          arch: { type: ['string', 'null'] },
          ip: { type: ['string', 'null'] },
          macs: { type: 'array', items: { type: 'string' } },
          state: { type: 'string', enum: Object.values(MachineState) },
          stateReason: { type: ['string', 'null'] },
          createdAt: { type: 'string', format: 'date-time' },
          updatedAt: { type: 'string', format: 'date-time' },
          lastSeenAt: { type: 'string', format: 'date-time' }
        }
      },
      Event: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          source: { type: 'string', enum: ['dhcp', 'tftp', 'http', 'api', 'inventory'] },
          type: { type: 'string', example: 'dhcp.offer' },
          message: { type: 'string', description: 'What happened and why' },
          mac: { type: ['string', 'null'] },
          data: { type: ['object', 'null'] }
        }
      }
    }
  },
  paths: {
    '/api/v1/machines': {
      get: {
        summary: 'List machines',
        parameters: [
          { name: 'state', in: 'query', schema: { type: 'string', enum: Object.values(MachineState) } },
          { name: 'uuidStatus', in: 'query', schema: { type: 'string', enum: Object.values(UuidStatus) } }
        ],
        responses: {
          200: { description: 'Machines', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Machine' } } } } } } },
          400: errorResponse('ERR_VALIDATION'),
          401: errorResponse('ERR_UNAUTHORIZED')
        }
      }
    },
    '/api/v1/machines/{id}': {
      get: {
        summary: 'One machine',
        parameters: [idParam],
        responses: {
          200: { description: 'The machine', content: { 'application/json': { schema: { $ref: '#/components/schemas/Machine' } } } },
          401: errorResponse('ERR_UNAUTHORIZED'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND'),
          409: errorResponse('ERR_AMBIGUOUS_MACHINE')
        }
      }
    },
    '/api/v1/machines/{id}/events': {
      get: {
        summary: 'The machine\'s timeline, oldest first',
        parameters: [
          idParam,
          { name: 'after', in: 'query', description: 'Only events with a greater id', schema: { type: 'integer', minimum: 0 } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 10000, default: 1000 } }
        ],
        responses: {
          200: { description: 'Events', content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: { $ref: '#/components/schemas/Event' } } } } } } },
          401: errorResponse('ERR_UNAUTHORIZED'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND')
        }
      }
    },
    '/api/v1/openapi.json': { get: { summary: 'This document', responses: { 200: { description: 'OpenAPI 3.1' } } } },
    '/metrics': {
      get: {
        summary: 'Prometheus metrics: DHCP and TFTP counters, machines by state',
        responses: { 200: { description: 'Prometheus text format 0.0.4', content: { 'text/plain': {} } }, 401: errorResponse('ERR_UNAUTHORIZED') }
      }
    }
  }
} as const
