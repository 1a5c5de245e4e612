import type { Config } from '../config/schema.ts'
import type { Logger } from '../log/logger.ts'
import type { Db } from '../db/open.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import type { Timeline } from '../inventory/timeline.ts'
import { systemClock } from '../inventory/ports.ts'
import { SqliteBmcStore } from '../db/bmc-store.ts'
import { SecretBox } from '../lib/secret-box.ts'
import { BmcRegistry } from '../power/bmc-registry.ts'
import { PowerService } from '../power/power-service.ts'
import type { PowerAction } from '../power/bmc.ts'
import { IpmiBmcClient } from '../power/ipmi-bmc-client.ts'
import { IpmiSession } from '../ipmi/client.ts'
import { ensureSecretKey } from './data-dir-secrets.ts'

/** Power, wired: BMC records sealed with the data dir's key, pooled native IPMI sessions, the policy. */
export type PowerParts = {
  readonly registry: BmcRegistry
  readonly power: PowerService
  /** RMCP+ sessions held open (a metric). */
  readonly openSessions: () => number
  readonly close: () => Promise<void>
}

export function wirePower (config: Config, dataDir: string, db: Db, machines: MachineService, timeline: Timeline, log: Logger,
  onAction?: (machineId: string, action: PowerAction) => Promise<void>): PowerParts {
  const { key, file, created } = ensureSecretKey(dataDir)
  if (created) log.info({ file }, 'wrote a new key for BMC passwords at rest: back it up with the database')
  const registry = new BmcRegistry({ machines, store: new SqliteBmcStore(db), secrets: new SecretBox(key), events: timeline, clock: systemClock })
  const ipmiLog = log.child({ svc: 'ipmi' })
  const client = new IpmiBmcClient({
    open: async (target) => await IpmiSession.open(target, { logger: ipmiLog }),
    timeoutMs: config.power.ipmi.timeout,
    retries: config.power.ipmi.retries,
    idleCloseMs: config.power.ipmi.idleClose
  })
  const power = new PowerService({ registry, client, events: timeline, clock: systemClock, config: config.power, ...(onAction === undefined ? {} : { onAction }) })
  return { registry, power, openSessions: () => client.size, close: async () => { await client.close() } }
}
