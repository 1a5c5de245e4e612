import type { FastifyInstance } from 'fastify'
import type { MachineService } from '../inventory/machine-service.ts'
import { CodedError } from '../lib/errors.ts'
import { validateBmcInput, type BmcInput, type BmcRegistry } from '../power/bmc-registry.ts'
import type { PowerService } from '../power/power-service.ts'
import { PowerAction, type BootDevice } from '../power/bmc.ts'
import type { BmcJson, BootDeviceView, MachineView, PowerStateView, PowerStatusView } from './api-types.ts'

export type PowerRouteDeps = {
  readonly machines: MachineService
  readonly registry: BmcRegistry
  readonly power: PowerService
  /** The machine view (shared with the inventory routes), with the BMC attached. */
  readonly view: (machineId: string) => Promise<MachineView>
}

const idParams = { type: 'object', required: ['id'], properties: { id: { type: 'string', minLength: 1, maxLength: 128 } } } as const

/** IPMI v2.0 bounds user names to 16 bytes and passwords to 20; the registry checks bytes, this the shape. */
const bmcBody = {
  type: 'object',
  additionalProperties: false,
  required: ['address', 'user', 'password'],
  properties: {
    address: { type: 'string', minLength: 1, maxLength: 253 },
    port: { type: 'integer', minimum: 1, maximum: 65535 },
    user: { type: 'string', maxLength: 16 },
    password: { type: 'string', maxLength: 20 },
    cipherSuite: { enum: ['auto', 3, 17] }
  }
} as const

type BmcBody = { address: string, port?: number, user: string, password: string, cipherSuite?: 'auto' | 3 | 17 }

function bmcInput (b: BmcBody): BmcInput {
  return { address: b.address, port: b.port, username: b.user, password: b.password, cipherSuite: b.cipherSuite }
}

/** Enrolment, BMCs and power: the routes that reach a machine out of band. */
export function registerPowerRoutes (app: FastifyInstance, deps: PowerRouteDeps): void {
  app.post<{ Body: { mac: string, uuid?: string, serial?: string, bmc?: BmcBody } }>('/api/v1/machines', {
    schema: {
      body: {
        type: 'object',
        additionalProperties: false,
        required: ['mac'],
        properties: { mac: { type: 'string', maxLength: 64 }, uuid: { type: 'string', maxLength: 64 }, serial: { type: 'string', maxLength: 128 }, bmc: bmcBody }
      }
    }
  }, async (req, reply) => {
    const { mac, uuid, serial, bmc } = req.body
    // Check the BMC before creating anything, so a bad request leaves no half-enrolled machine.
    const input = bmc === undefined ? undefined : bmcInput(bmc)
    if (input !== undefined) validateBmcInput(input)
    const machine = await deps.machines.enroll({ mac, uuid, serial })
    if (input !== undefined) await deps.registry.set(machine.id, input)
    return await reply.code(201).send(await deps.view(machine.id))
  })

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/bmc', { schema: { params: idParams } }, async (req): Promise<BmcJson> => {
    const machine = await deps.machines.get(req.params.id)
    const view = (await deps.view(machine.id)).bmc
    if (view === null) throw new CodedError('ERR_NO_BMC', `machine ${machine.id} has no BMC`, { id: machine.id })
    return view
  })

  app.put<{ Params: { id: string }, Body: BmcBody }>('/api/v1/machines/:id/bmc', { schema: { params: idParams, body: bmcBody } }, async (req): Promise<MachineView> => {
    const machine = await deps.machines.get(req.params.id)
    await deps.registry.set(machine.id, bmcInput(req.body))
    return await deps.view(machine.id)
  })

  app.delete<{ Params: { id: string } }>('/api/v1/machines/:id/bmc', { schema: { params: idParams } }, async (req, reply) => {
    await deps.registry.remove(req.params.id)
    return await reply.code(204).send()
  })

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/power', { schema: { params: idParams } }, async (req): Promise<PowerStateView> => {
    return await deps.power.status(req.params.id)
  })

  app.post<{ Params: { id: string }, Body: { action: PowerAction } }>('/api/v1/machines/:id/power', {
    schema: { params: idParams, body: { type: 'object', additionalProperties: false, required: ['action'], properties: { action: { enum: Object.values(PowerAction) } } } }
  }, async (req): Promise<PowerStateView> => {
    const r = await deps.power.act(req.params.id, req.body.action)
    return { machineId: r.machineId, state: r.state, action: r.action, tookMs: r.tookMs }
  })

  app.get<{ Params: { id: string } }>('/api/v1/machines/:id/boot-device', { schema: { params: idParams } }, async (req): Promise<BootDeviceView> => {
    const { machineId, reading } = await deps.power.bootDevice(req.params.id)
    return { machineId, ...reading }
  })

  app.post<{ Params: { id: string }, Body: { device: BootDevice, persistent?: boolean, efi?: boolean } }>('/api/v1/machines/:id/boot-device', {
    schema: {
      params: idParams,
      body: { type: 'object', additionalProperties: false, required: ['device'], properties: { device: { enum: ['pxe', 'disk'] }, persistent: { type: 'boolean' }, efi: { type: 'boolean' } } }
    }
  }, async (req): Promise<BootDeviceView> => {
    const machine = await deps.machines.get(req.params.id)
    const reading = await deps.power.setBootDevice(machine.id, { device: req.body.device, persistent: req.body.persistent ?? false, efi: req.body.efi ?? false })
    return { machineId: machine.id, ...reading }
  })

  app.get('/api/v1/power', async (): Promise<PowerStatusView> => {
    return { machines: await deps.power.statusAll() }
  })
}
