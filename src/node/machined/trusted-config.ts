/**
 * The config check the node makes before it applies anything (issue 10: "nodes verify before they
 * write and again before they apply"): the signature with the trusted config key, bound to this
 * machine, no older than the generation the node last reported (no replay); then the schema.
 * STATE's config is not judged by its expiry again: it was checked against the clock when the
 * installer or apply-config accepted it, and a node must keep booting it long after (ApplyConfig's
 * candidates are checked against the clock). The trusted key is the one baked into the image (/etc/anvil/keys/config.pub) when the
 * build had one, else the one the installer put in STATE: the baked key is what lets a node refuse
 * a config from a compromised server; without it the node trusts what its install was given.
 */
import { parseMachineConfig } from '../../machine-config/parse.ts'
import type { MachineConfig } from '../../machine-config/schema.ts'
import type { StatePayload } from '../../node-state/record.ts'
import { verifyConfig } from '../../signing/config-signature.ts'
import { decodePublicKey } from '../../signing/minisign.ts'

export type TrustedConfig = {
  readonly config: MachineConfig
  readonly generation: number
  readonly keyId: string
  readonly keySource: 'image' | 'state'
}

/**
 * Verifies and parses STATE's config. `bakedKey` is the baked public key file's text, undefined
 * when the image has none. Throws the CodedError of the first check that fails.
 */
export function trustedConfig (state: StatePayload, bakedKey: string | undefined): TrustedConfig {
  return verifyNodeConfig(state, { yaml: state.config.yaml, signature: state.config.signature, minGeneration: state.reported?.configGeneration ?? 0 }, bakedKey, 'accepted')
}

/**
 * The same checks for a config that is not (yet) STATE's: ApplyConfig's, which must be above the
 * running generation (`minGeneration` its successor). The key and machine are STATE's.
 */
export function verifyNodeConfig (state: StatePayload, candidate: { readonly yaml: string, readonly signature: string, readonly minGeneration: number }, bakedKey: string | undefined, now: Date | 'accepted'): TrustedConfig {
  const keySource = bakedKey === undefined ? 'state' : 'image'
  const key = decodePublicKey(bakedKey ?? state.trust.configKey)
  const binding = verifyConfig(Buffer.from(candidate.yaml, 'utf8'), candidate.signature, key, {
    machineId: state.machineId,
    minGeneration: candidate.minGeneration,
    now
  })
  return { config: parseMachineConfig(candidate.yaml), generation: binding.generation, keyId: binding.keyId, keySource }
}
