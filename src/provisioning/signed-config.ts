import type { SecretBox } from '../lib/secret-box.ts'
import type { Clock } from '../inventory/ports.ts'
import { signConfig } from '../signing/config-signature.ts'
import type { SecretKey } from '../signing/minisign.ts'
import { configSealContext, type ConfigStore, type StoredMachineConfig } from './install-ports.ts'

/** What signing a machine config needs: the store, the seal, the config key, the clock and the expiry. */
export type ConfigSigner = {
  readonly configs: Pick<ConfigStore, 'addNext'>
  readonly secrets: SecretBox
  readonly configKey: SecretKey
  readonly clock: Clock
  /** How long the signature stays valid for the node to take it. */
  readonly ttlMs: number
}

/**
 * The machine's next config generation: `text` (the canonical YAML) signed for that machine,
 * generation and expiry, and stored sealed, in one transaction. What an install carries
 * (`taskId`) and what ApplyConfig sends a running node (no task) are made the same way.
 */
export async function storeNextConfig (s: ConfigSigner, machineId: string, text: string, taskId: string | null, now = s.clock.now()): Promise<StoredMachineConfig> {
  const expires = new Date(now + s.ttlMs)
  return await s.configs.addNext(machineId, (generation) => ({
    configSealed: s.secrets.seal(text, configSealContext(machineId, generation)),
    signature: signConfig(Buffer.from(text, 'utf8'), s.configKey, { machineId, generation, expiresAt: expires }),
    expiresAt: Math.floor(expires.getTime() / 1000),
    taskId,
    createdAt: now
  }))
}
