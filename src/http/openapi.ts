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

const json = (description: string, schema: string) => ({ description, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } })
const body = (schema: string) => ({ required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${schema}` } } } })
const BMC_ERRORS = {
  409: errorResponse('ERR_NO_BMC'),
  502: errorResponse('ERR_BMC_AUTH, ERR_BMC_CIPHER_UNSUPPORTED, ERR_BMC_COMPLETION, ERR_BMC_PROTOCOL, ERR_BMC_READBACK'),
  504: errorResponse('ERR_BMC_UNREACHABLE')
}

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
          lastSeenAt: { type: 'string', format: 'date-time' },
          bmc: { oneOf: [{ $ref: '#/components/schemas/Bmc' }, { type: 'null' }] },
          install: { description: 'One machine only: its newest install, null when never provisioned', oneOf: [{ $ref: '#/components/schemas/Install' }, { type: 'null' }] }
        }
      },
      InstallDisk: {
        type: 'object',
        description: 'The install disk as the hardware report named it when the install was planned; the agent refuses a disk whose serial, WWN or size changed',
        properties: { name: { type: 'string', example: 'nvme0n1' }, serial: { type: 'string' }, wwn: { type: 'string' }, sizeBytes: { type: 'integer' } }
      },
      Install: {
        type: 'object',
        properties: {
          operationId: { type: 'string', description: 'The install task (GET /api/v1/operations/{id})' },
          state: { enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
          error: { type: ['string', 'null'] },
          image: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
          disk: { $ref: '#/components/schemas/InstallDisk' },
          configGeneration: { type: 'integer', minimum: 1 },
          createdAt: { type: 'string', format: 'date-time' },
          finishedAt: { type: ['string', 'null'], format: 'date-time' },
          node: {
            description: 'What the installed node last reported of itself; null before its first report',
            oneOf: [{ type: 'null' }, { type: 'object', properties: { image: { type: 'string' }, version: { type: 'string' }, slot: { enum: ['A', 'B'] }, configGeneration: { type: 'integer' }, addresses: { type: 'array', items: { type: 'string' } }, hostname: { type: ['string', 'null'] }, reportedAt: { type: 'string', format: 'date-time' } } }]
          }
        }
      },
      ProvisionInput: {
        type: 'object',
        required: ['image', 'config'],
        additionalProperties: false,
        properties: {
          image: { type: 'string', example: 'anvil-node:1.3.0', description: 'NAME (its highest ready semver version) or NAME:VERSION' },
          config: { type: 'string', maxLength: 262144, description: 'The machine config YAML (docs/machine-config.md), at most 256 KiB; stored sealed, signed for this machine and its next generation' },
          disk: { type: 'object', description: 'An install disk selector (serial, wwn, model, minSize, maxSize, transport, rotational) that replaces the config\'s install.disk' }
        }
      },
      Provisioned: {
        type: 'object',
        properties: {
          operationId: { type: 'string' },
          machine: { $ref: '#/components/schemas/Machine' },
          image: { type: 'object', properties: { name: { type: 'string' }, version: { type: 'string' } } },
          disk: { $ref: '#/components/schemas/InstallDisk' },
          configGeneration: { type: 'integer', minimum: 1 }
        }
      },
      Bmc: {
        type: 'object',
        description: 'A BMC as shown: the password is write-only and never returned',
        properties: {
          address: { type: 'string' },
          port: { type: 'integer', default: 623 },
          user: { type: 'string' },
          cipherSuite: { enum: ['auto', 3, 17] },
          updatedAt: { type: 'string', format: 'date-time' }
        }
      },
      BmcInput: {
        type: 'object',
        required: ['address', 'user', 'password'],
        additionalProperties: false,
        properties: {
          address: { type: 'string', description: 'IPv4 address or host name' },
          port: { type: 'integer', minimum: 1, maximum: 65535, default: 623 },
          user: { type: 'string', maxLength: 16 },
          password: { type: 'string', maxLength: 20, writeOnly: true, description: 'Sealed with AES-256-GCM at rest' },
          cipherSuite: { enum: ['auto', 3, 17], default: 'auto' }
        }
      },
      Power: { type: 'object', properties: { machineId: { type: 'string' }, state: { enum: ['on', 'off'] }, action: { type: 'string' }, tookMs: { type: 'integer' } } },
      BootDevice: {
        type: 'object',
        properties: {
          machineId: { type: 'string' },
          device: { enum: ['pxe', 'disk', 'none', 'other'] },
          persistent: { type: 'boolean' },
          efi: { type: 'boolean' },
          valid: { type: 'boolean', description: 'False when the BMC does not vouch for persistent/efi' }
        }
      },
      Operation: {
        type: 'object',
        description: 'A long task (wipe, install, reboot, power off): its id is the task id; or a rollout (r-…, kind rollout, docs/upgrades.md)',
        properties: {
          id: { type: 'string', example: 't-6f1c0d3e-…' },
          machineId: { type: ['string', 'null'], description: 'null for a rollout' },
          kind: { enum: ['wipe', 'install', 'reboot', 'powerOff', 'rollout'] },
          state: { enum: ['queued', 'running', 'done', 'failed', 'cancelled'] },
          phase: { type: ['string', 'null'], description: 'wipe: wipe | verify; install: download | write | verify | state | commit' },
          bytesDone: { type: ['integer', 'null'], description: 'summed over the disks reported so far' },
          bytesTotal: { type: ['integer', 'null'] },
          percent: { type: ['integer', 'null'], minimum: 0, maximum: 100, description: '100 once done; null before the first progress report' },
          progressAt: { type: ['string', 'null'], format: 'date-time' },
          progress: { type: 'array', description: 'live per-disk progress while it runs', items: { type: 'object', properties: { disk: { type: 'string' }, phase: { type: 'string' }, bytesDone: { type: 'integer' }, bytesTotal: { type: 'integer' }, rateBytesPerSecond: { type: 'integer' }, at: { type: 'string', format: 'date-time' } } } },
          error: { type: ['string', 'null'] },
          result: { type: ['object', 'null'], description: 'once ended: a wipe\'s { method, disks: [{ disk, bytesWritten, verified, refused }] }; an install\'s InstallReport' },
          createdAt: { type: 'string', format: 'date-time' },
          startedAt: { type: ['string', 'null'], format: 'date-time' },
          finishedAt: { type: ['string', 'null'], format: 'date-time' },
          cancelRequestedAt: { type: ['string', 'null'], format: 'date-time' },
          rollout: { type: 'object', description: 'a rollout only: selector, image, maxParallel, healthTimeoutS, force, machinesDone, machinesTotal, errorCode, machines: [{ machineId, state, address, fromVersion, toVersion, nodeOperationId, phase, error, errorCode, startedAt, finishedAt }]' }
        }
      },
      ClientCertInput: {
        type: 'object',
        required: ['role', 'publicKey'],
        additionalProperties: false,
        properties: {
          role: { enum: ['admin', 'operator', 'reader'], description: 'The certificate\'s O: what its holder may call on a node (docs/node-api.md)' },
          publicKey: { type: 'string', maxLength: 4096, description: 'The holder\'s Ed25519 public key, SPKI PEM ("-----BEGIN PUBLIC KEY-----"); the private key never leaves the client' },
          name: { type: 'string', minLength: 1, maxLength: 64, description: 'The CN: who the certificate is for (audit); the role when absent' },
          ttl: { type: 'string', example: '8h', description: 'Lifetime, 5m to 7d; 8h when absent' }
        }
      },
      ClientCert: {
        type: 'object',
        properties: {
          certificate: { type: 'string', description: 'The client certificate, PEM (EKU clientAuth, O=role, CN=name)' },
          ca: { type: 'string', description: 'The node CA certificate it chains to, PEM' },
          role: { enum: ['admin', 'operator', 'reader'] },
          name: { type: 'string' },
          notAfter: { type: 'string', format: 'date-time' }
        }
      },
      NodeCa: {
        type: 'object',
        properties: {
          ca: { type: 'string', description: 'The node CA certificate, PEM' },
          fingerprint: { type: 'string', pattern: '^[0-9a-f]{64}$', description: 'SHA-256 of its DER, lower-case hex' }
        }
      },
      Event: {
        type: 'object',
        properties: {
          id: { type: 'integer' },
          at: { type: 'string', format: 'date-time' },
          source: { type: 'string', enum: ['dhcp', 'tftp', 'http', 'api', 'inventory', 'power'] },
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
      },
      post: {
        summary: 'Enrol a machine before it boots (matched by MAC or SMBIOS UUID at its first boot), optionally with its BMC',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['mac'], properties: { mac: { type: 'string' }, uuid: { type: 'string' }, serial: { type: 'string' }, bmc: { $ref: '#/components/schemas/BmcInput' } } } } } },
        responses: { 201: json('The enrolled machine', 'Machine'), 400: errorResponse('ERR_VALIDATION, ERR_INVALID_MAC, ERR_INVALID_UUID, ERR_INVALID_BMC'), 409: errorResponse('ERR_MACHINE_EXISTS') }
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
    '/api/v1/machines/{id}/bmc': {
      get: { summary: 'The machine\'s BMC (no password)', parameters: [idParam], responses: { 200: json('The BMC', 'Bmc'), 404: errorResponse('ERR_MACHINE_NOT_FOUND'), 409: errorResponse('ERR_NO_BMC') } },
      put: { summary: 'Set or replace the machine\'s BMC', parameters: [idParam], requestBody: body('BmcInput'), responses: { 200: json('The machine', 'Machine'), 400: errorResponse('ERR_INVALID_BMC, ERR_VALIDATION'), 404: errorResponse('ERR_MACHINE_NOT_FOUND') } },
      delete: { summary: 'Forget the machine\'s BMC', parameters: [idParam], responses: { 204: { description: 'Removed' }, 409: errorResponse('ERR_NO_BMC') } }
    },
    '/api/v1/machines/{id}/power': {
      get: { summary: 'Power state, asked of the BMC now', parameters: [idParam], responses: { 200: json('Power state', 'Power'), 404: errorResponse('ERR_MACHINE_NOT_FOUND'), ...BMC_ERRORS } },
      post: {
        summary: 'Chassis control (on, off, cycle, reset, soft), answered once the BMC reads back the resulting state',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['action'], properties: { action: { enum: ['on', 'off', 'cycle', 'reset', 'soft'] } } } } } },
        responses: { 200: json('Power state read back', 'Power'), 400: errorResponse('ERR_VALIDATION'), 404: errorResponse('ERR_MACHINE_NOT_FOUND'), ...BMC_ERRORS }
      }
    },
    '/api/v1/machines/{id}/boot-device': {
      get: { summary: 'Boot flags as the BMC reports them', parameters: [idParam], responses: { 200: json('Boot flags', 'BootDevice'), ...BMC_ERRORS } },
      post: {
        summary: 'Set the next boot device, then read it back',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['device'], properties: { device: { enum: ['pxe', 'disk'] }, persistent: { type: 'boolean', default: false }, efi: { type: 'boolean', default: false } } } } } },
        responses: { 200: json('Boot flags read back', 'BootDevice'), 400: errorResponse('ERR_VALIDATION'), ...BMC_ERRORS }
      }
    },
    '/api/v1/machines/{id}/hardware': {
      get: { summary: 'The hardware the discovery agent reported (SMBIOS, CPU, memory, disks, NICs, PCI, BMC): the HardwareReport of src/proto/provisioning.proto', parameters: [idParam], responses: { 200: { description: '{ machineId, reportedAt, hardware }' }, 404: errorResponse('ERR_MACHINE_NOT_FOUND, ERR_NO_HARDWARE') } }
    },
    '/api/v1/machines/{id}/accept': {
      post: { summary: 'Accept a machine: nothing destructive happens before this', parameters: [idParam], responses: { 200: json('The machine', 'Machine'), 409: errorResponse('ERR_INVALID_STATE') } }
    },
    '/api/v1/machines/{id}/reject': {
      post: { summary: 'Reject a machine: it boots from its local disk and is left alone', parameters: [idParam], responses: { 200: json('The machine', 'Machine'), 409: errorResponse('ERR_INVALID_STATE') } }
    },
    '/api/v1/machines/{id}/wipe': {
      post: {
        summary: 'Queue a wipe for an accepted machine\'s agent: fast (signature areas, discard) or zeroes (every byte)',
        parameters: [idParam],
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { method: { enum: ['fast', 'zeroes'], default: 'fast' }, disks: { type: 'array', items: { type: 'string' }, description: 'disk names; default every disk' } } } } } },
        responses: { 202: { description: 'The queued task, with `operationId` (the same id: GET /api/v1/operations/{id})' }, 409: errorResponse('ERR_NOT_ACCEPTED, ERR_TASK_PENDING') }
      }
    },
    '/api/v1/machines/{id}/reset': {
      post: {
        summary: 'Reset a provisioned (or failed) machine without its node: provisioned → resetting, a wipe of every disk queued for its discovery agent and the machine booted into it through its BMC (PXE next); the wipe brings it to ready. For a node that cannot reset itself (`anvil -n NODE reset` is the node\'s own)',
        parameters: [idParam],
        requestBody: { content: { 'application/json': { schema: { type: 'object', properties: { method: { enum: ['fast', 'zeroes'], default: 'fast' } } } } } },
        responses: { 202: { description: 'The queued wipe task, with `operationId` (the same id: GET /api/v1/operations/{id})' }, 409: errorResponse('ERR_INVALID_STATE') }
      }
    },
    '/api/v1/machines/{id}/tasks': {
      get: { summary: 'The machine\'s agent tasks, with live per-disk progress while one runs', parameters: [idParam], responses: { 200: { description: '{ items: Task[] }' } } },
      post: {
        summary: 'Ask the machine\'s discovery agent to reboot or power off (in band, after queued work)',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['kind'], properties: { kind: { enum: ['reboot', 'powerOff'] } } } } } },
        responses: { 202: { description: 'The queued task, with `operationId`' }, 409: errorResponse('ERR_INVALID_STATE') }
      }
    },
    '/api/v1/machines/{id}/tasks/{task}/cancel': {
      post: {
        summary: 'Stop a task: a queued one never starts, a running one stops at its next safe point (its erase report says how far it got); the machine leaves the state that task was doing',
        parameters: [idParam, { name: 'task', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: '{ machine, cancelled: Task[] }' }, 404: errorResponse('ERR_TASK_NOT_FOUND'), 409: errorResponse('ERR_TASK_FINISHED, ERR_INVALID_STATE') }
      }
    },
    '/api/v1/machines/{id}/cancel': {
      post: { summary: 'Stop the machine\'s current task (as /tasks/{task}/cancel)', parameters: [idParam], responses: { 200: { description: '{ machine, cancelled: Task[] }' }, 404: errorResponse('ERR_TASK_NOT_FOUND') } }
    },
    '/api/v1/machines/{id}/maintenance': {
      post: {
        summary: 'Maintenance on: Anvil leaves the machine alone (boots it from disk, gives it no tasks; pending ones are cancelled); off: it returns to the state it was in',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['enabled'], properties: { enabled: { type: 'boolean' } } } } } },
        responses: { 200: json('The machine', 'Machine'), 409: errorResponse('ERR_INVALID_STATE') }
      }
    },
    '/api/v1/machines/{id}/provision': {
      post: {
        summary: 'Install a ready image and a signed machine config on a ready machine: checked against its reported disks and the image before anything is stored; the machine becomes installing and its agent takes the task (or its BMC boots it into the discovery environment)',
        parameters: [idParam],
        requestBody: body('ProvisionInput'),
        responses: {
          202: json('The queued install; follow it with GET /api/v1/operations/{operationId}', 'Provisioned'),
          400: errorResponse('ERR_VALIDATION, ERR_MACHINE_CONFIG_INVALID (details.issues: every problem with its key path; a disk selector\'s at disk.*)'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND, ERR_IMAGE_NOT_FOUND, ERR_NO_HARDWARE'),
          409: errorResponse('ERR_INVALID_STATE (the machine is not ready), ERR_IMAGE_UNAVAILABLE (only pending versions)'),
          422: errorResponse('ERR_INSTALL_DISK_NONE, ERR_INSTALL_DISK_AMBIGUOUS, ERR_INSTALL_DISK_TOO_SMALL')
        }
      }
    },
    '/api/v1/machines/upgrade': {
      post: {
        summary: 'Rolling upgrade of the provisioned machines a selector picks (key=value[,key=value]) to a ready image, maxParallel at a time, stopping at the first failure; everything is checked before anything starts',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['selector', 'image'], additionalProperties: false, properties: { selector: { type: 'string', example: 'state=provisioned' }, image: { type: 'string', example: 'anvil-node:0.2.0' }, maxParallel: { type: 'integer', minimum: 1, maximum: 64 }, healthTimeoutS: { type: 'integer', minimum: 30, maximum: 3600 }, force: { type: 'boolean' } } } } } },
        responses: {
          202: { description: 'The rollout as an operation: { operation }; follow it with GET /api/v1/operations/{id}', content: { 'application/json': { schema: { type: 'object', properties: { operation: { $ref: '#/components/schemas/Operation' } } } } } },
          400: errorResponse('ERR_VALIDATION'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND (nothing matches), ERR_IMAGE_NOT_FOUND'),
          409: errorResponse('ERR_IMAGE_NOT_READY, ERR_INVALID_STATE (a selected machine is not provisioned), ERR_NODE_BUSY (one is in a running rollout)'),
          502: errorResponse('ERR_NODE_UNREACHABLE (a selected machine reported no address)')
        }
      }
    },
    '/api/v1/machines/{id}/config': {
      post: {
        summary: 'Sign a new machine config for a provisioned machine\'s running node (its next generation, stored sealed as an install\'s): the node applies it when handed both (`anvil -n NODE apply-config FILE`)',
        parameters: [idParam],
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['config'], properties: { config: { type: 'string', description: 'the machine config YAML (docs/machine-config.md)' } } } } } },
        responses: {
          201: { description: '{ machineId, generation, config (the canonical text that was signed: send its exact bytes), signature (minisign file) }' },
          400: errorResponse('ERR_VALIDATION (details.issues: every problem with its key path, as `anvil config validate` lists them)'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND'),
          409: errorResponse('ERR_INVALID_STATE (the machine is not provisioned)')
        }
      }
    },
    '/api/v1/images': {
      get: { summary: 'Every imported image and version', responses: { 200: { description: '{ items: Image[] }' } } },
      post: {
        summary: 'Import a signed image manifest: its signature is verified against the trusted image keys before anything is stored; the image is pending until its artifact is uploaded',
        requestBody: { required: true, content: { 'application/json': { schema: { type: 'object', required: ['manifest', 'signature'], properties: { manifest: { type: 'string', description: 'the manifest file\'s exact text' }, signature: { type: 'string', description: 'its minisign signature file' } } } } } },
        responses: { 201: { description: 'The pending image and its upload path' }, 409: errorResponse('ERR_IMAGE_EXISTS'), 422: errorResponse('ERR_SIGNATURE_INVALID, ERR_SIGNATURE_KEY_MISMATCH, ERR_SIGNATURE_MALFORMED, ERR_SIGNATURE_COMMENT_UNEXPECTED') }
      }
    },
    '/api/v1/images/{name}/{version}/artifact': {
      put: {
        summary: 'Upload a pending image\'s artifact (application/octet-stream): hashed while it streams, kept only when its size and SHA-256 are the manifest\'s',
        parameters: [{ name: 'name', in: 'path', required: true, schema: { type: 'string' } }, { name: 'version', in: 'path', required: true, schema: { type: 'string' } }],
        responses: { 200: { description: 'The ready image' }, 409: errorResponse('ERR_IMAGE_EXISTS'), 422: errorResponse('ERR_IMAGE_SIZE_MISMATCH, ERR_IMAGE_HASH_MISMATCH') }
      }
    },
    '/api/v1/images/{ref}': {
      get: { summary: 'One image, NAME (its newest ready version) or NAME:VERSION, with its manifest', parameters: [{ name: 'ref', in: 'path', required: true, schema: { type: 'string' } }], responses: { 200: { description: 'The image' }, 404: errorResponse('ERR_IMAGE_NOT_FOUND') } }
    },
    '/api/v1/machines/{id}/erase-reports': {
      get: { summary: 'Per-disk erase reports: serial, method, bytes, duration, verified, or why a disk was refused', parameters: [idParam], responses: { 200: { description: '{ items: EraseReport[] }' } } }
    },
    '/api/v1/operations': {
      get: {
        summary: 'Operations of every machine, newest first',
        parameters: [
          { name: 'machine', in: 'query', description: 'Machine id, or a MAC, SMBIOS UUID or serial', schema: { type: 'string' } },
          { name: 'state', in: 'query', schema: { enum: ['queued', 'running', 'done', 'failed', 'cancelled'] } },
          { name: 'kind', in: 'query', schema: { enum: ['wipe', 'install', 'reboot', 'powerOff'] } },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 500, default: 50 } },
          { name: 'before', in: 'query', description: 'An operation id: the page after it (older)', schema: { type: 'string' } }
        ],
        responses: {
          200: { description: 'Operations', content: { 'application/json': { schema: { type: 'object', properties: { operations: { type: 'array', items: { $ref: '#/components/schemas/Operation' } } } } } } },
          400: errorResponse('ERR_VALIDATION (details.field names the parameter)'),
          404: errorResponse('ERR_MACHINE_NOT_FOUND, ERR_OPERATION_NOT_FOUND (before)')
        }
      }
    },
    '/api/v1/operations/{id}': {
      get: {
        summary: 'One operation with its phase, bytes, per-disk live progress and result',
        parameters: [{ name: 'id', in: 'path', required: true, description: 'Operation (task) id', schema: { type: 'string' } }],
        responses: { 200: json('The operation', 'Operation'), 400: errorResponse('ERR_VALIDATION'), 404: errorResponse('ERR_OPERATION_NOT_FOUND') }
      }
    },
    '/api/v1/power': {
      get: {
        summary: 'Power state of every machine with a BMC, queried concurrently over reused sessions',
        responses: { 200: { description: 'One line per machine: its state, or the error that kept it from being read', content: { 'application/json': { schema: { type: 'object', properties: { machines: { type: 'array', items: { type: 'object', properties: { machineId: { type: 'string' }, state: { enum: ['on', 'off'] }, error: { type: 'object', properties: { code: { type: 'string' }, message: { type: 'string' } } } } } } } } } } } }
      }
    },
    '/api/v1/certs/client': {
      post: {
        summary: 'Issue a short-lived client certificate for the node API, signed by the node CA, for the Ed25519 public key given (`anvil certs client` makes the key pair locally)',
        requestBody: body('ClientCertInput'),
        responses: {
          201: json('The certificate and the CA', 'ClientCert'),
          400: errorResponse('ERR_CERT_ROLE_INVALID, ERR_CERT_KEY_INVALID, ERR_CERT_TTL_INVALID, ERR_VALIDATION'),
          401: errorResponse('ERR_UNAUTHORIZED')
        }
      }
    },
    '/api/v1/certs/ca': {
      get: { summary: 'The node CA certificate, which nodes trust for their API and clients trust for nodes\' server certificates', responses: { 200: json('The CA', 'NodeCa'), 401: errorResponse('ERR_UNAUTHORIZED') } }
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
