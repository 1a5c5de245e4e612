import { CodedError, isCodedError } from '../lib/errors.ts'
import type { SecretBox } from '../lib/secret-box.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { Clock } from '../inventory/ports.ts'
import type { ImageStore } from '../images/ports.ts'
import { encodePublicKeyString, type PublicKey } from '../signing/minisign.ts'
import type { TaskInput, TaskResult } from './agent-gateway.ts'
import { newSecret, secretHash } from './agent-auth.ts'
import type { StoredTask } from './discovery-ports.ts'
import { humanBytes } from './hardware-summary.ts'
import { configSealContext, type ConfigStore, type InstallFacts, type InstallHandler, type InstallParams, type NodeTokenStore } from './install-ports.ts'
import type { LifecycleService } from './lifecycle-service.ts'
import { describeTask } from './tasks.ts'

export type InstallTasksOptions = {
  readonly lifecycle: LifecycleService
  readonly images: Pick<ImageStore, 'get'>
  readonly configs: Pick<ConfigStore, 'get' | 'latestInstall'>
  readonly tokens: NodeTokenStore
  readonly secrets: SecretBox
  /** The config key's public half: the node checks the config's signature with it. */
  readonly configKey: PublicKey
  /** The image keys the server verifies imports with (its own image.pub and images.trustedKeys). */
  readonly imageKeys: () => readonly PublicKey[]
  /** The boot listener's base URL, as the iPXE scripts use it (http://10.77.0.1:8080). */
  readonly baseUrl: () => string
  readonly events: BootEventSink
  readonly clock: Clock
  /** How long the node's report token stays valid (default DEFAULT_NODE_TOKEN_TTL_MS). */
  readonly nodeTokenTtlMs?: number
  /**
   * After a committed install: set the machine's boot device to its disk, persistent, through its
   * BMC, read it back, and power-cycle it, so the machine starts from its disk. Resolves with what
   * was done, or undefined when it has no BMC. Its failure is recorded, never fatal.
   */
  readonly bootFromDisk?: (machineId: string) => Promise<string | undefined>
  /**
   * Without a BMC (or when it failed): ask the machine's agent to reboot (an in-band task). The
   * boot planner answers its network boot with local-disk, so it comes up from its disk either way.
   */
  readonly rebootInBand?: (machineId: string) => Promise<void>
}

/** 24 h for the installed node to boot and report in. */
export const DEFAULT_NODE_TOKEN_TTL_MS = 24 * 3_600_000

/** Longest agent error kept in a state reason (it arrives from the machine). */
const MAX_REASON = 512

/**
 * The agents' side of the install: builds the InstallTask an agent receives (the config unsealed
 * only here, sent only over the agent's TLS channel; a fresh one-time node token, of which only the
 * hash is stored) and takes its result (in the timeline, the lifecycle moved, the boot device set).
 * Neither the config nor the token is ever logged or recorded.
 */
export class InstallTasks implements InstallHandler, InstallFacts {
  readonly #o: InstallTasksOptions

  constructor (options: InstallTasksOptions) {
    this.#o = options
  }

  async taskInput (task: StoredTask): Promise<TaskInput> {
    const p = task.params as InstallParams
    const image = await this.#o.images.get(p.image.name, p.image.version)
    if (image?.state !== 'ready') {
      throw new CodedError('ERR_IMAGE_UNAVAILABLE', `image ${p.image.name}:${p.image.version} is ${image === undefined ? 'no longer in the catalogue' : 'not ready'}`, { ...p.image })
    }
    const stored = await this.#o.configs.get(task.machineId, p.configGeneration)
    if (stored === undefined) throw new CodedError('ERR_INVALID_STATE', `machine ${task.machineId} has no config generation ${p.configGeneration}`, { id: task.machineId, generation: p.configGeneration })
    const config = this.#o.secrets.open(stored.configSealed, configSealContext(task.machineId, p.configGeneration))
    const nodeToken = newSecret()
    const now = this.#o.clock.now()
    await this.#o.tokens.issueNodeToken({ tokenHash: secretHash(nodeToken), machineId: task.machineId, taskId: task.id, configGeneration: p.configGeneration, issuedAt: now, expiresAt: now + (this.#o.nodeTokenTtlMs ?? DEFAULT_NODE_TOKEN_TTL_MS) })
    const keys = new Map(this.#o.imageKeys().map(k => [k.keyId, encodePublicKeyString(k)]))
    return {
      id: task.id,
      install: {
        imageName: image.name,
        imageVersion: image.version,
        imageUrl: `${this.#o.baseUrl()}/images/${encodeURIComponent(image.name)}/${encodeURIComponent(image.version)}`,
        manifest: Buffer.from(image.manifest, 'utf8'),
        manifestSignature: image.signature,
        imageKeys: [...keys.values()],
        disk: p.disk.name,
        diskSerial: p.disk.serial,
        diskWwn: p.disk.wwn,
        diskSizeBytes: p.disk.sizeBytes,
        config: Buffer.from(config, 'utf8'),
        configSignature: stored.signature,
        configKey: encodePublicKeyString(this.#o.configKey),
        machineId: task.machineId,
        configGeneration: p.configGeneration,
        nodeToken
      }
    }
  }

  async finished (task: StoredTask, r: TaskResult, cancelled: boolean): Promise<void> {
    const { machineId } = task
    if (r.ok && !cancelled) {
      this.#o.events.record({ source: 'api', type: EventType.installWritten, machineId, message: `${describeTask(task)} written: ${written(r.install)}`, data: { taskId: task.id, ...reportData(r.install) } })
      await this.#bootFromDisk(machineId, task.id)
      return
    }
    if (cancelled && r.ok && r.install?.committed === true) {
      // The agent committed before the cancel reached it (it was offline, or the cancel came after
      // its last check): the disk is bootable although the machine went back to ready. Say so, and
      // revoke the node's token, so the node that may boot from it cannot report in for a
      // cancelled install; the next provision makes the disk unbootable before it writes.
      await this.#o.tokens.revokeNodeTokens(task.id)
      this.#o.events.record({ source: 'api', type: EventType.installFailed, machineId, message: `${describeTask(task)} was cancelled, but its agent had already committed it: ${written(r.install)}. The disk is bootable; its node may not report in (its token is revoked), and the next install or wipe overwrites it`, data: { taskId: task.id, error: 'cancelled after it committed', ...reportData(r.install) } })
      return
    }
    const error = (r.error || 'the agent gave no reason').slice(0, MAX_REASON)
    this.#o.events.record({ source: 'api', type: EventType.installFailed, machineId, message: `${describeTask(task)} ${cancelled ? 'stopped after its cancel' : 'failed'}: ${error}${r.install?.committed === true ? '' : ' (the disk was not made bootable)'}`, data: { taskId: task.id, error, ...reportData(r.install) } })
    if (cancelled) return
    try {
      await this.#o.lifecycle.apply(machineId, { type: 'installFailed', taskId: task.id, error }, { source: 'inventory' })
    } catch (err) {
      // Moved on meanwhile (maintenance, a reject): the failure is in the timeline, the state stays.
      if (!isCodedError(err) || err.code !== 'ERR_INVALID_STATE') throw err
    }
  }

  async installWritten (machineId: string): Promise<boolean> {
    return (await this.#o.configs.latestInstall(machineId))?.state === 'done'
  }

  /**
   * The reboot into the installed disk is the server's decision, so it is made once: through the
   * BMC when there is one (boot device disk, persistent and read back, then a power cycle: a warm
   * reboot would keep a firmware's network-first order), else by the agent in band.
   */
  async #bootFromDisk (machineId: string, taskId: string): Promise<void> {
    try {
      if (await this.#o.bootFromDisk?.(machineId) !== undefined) return
    } catch (err) {
      const why = isCodedError(err) ? `${err.message} [${err.code}]` : 'internal error'
      this.#o.events.record({ source: 'power', type: EventType.powerBootDevice, machineId, message: `could not boot the machine from its disk through the BMC after the install (${why}): its agent reboots it instead, and Anvil answers its network boots with local-disk`, data: { taskId, device: 'disk', ok: false } })
    }
    await this.#o.rebootInBand?.(machineId)
  }
}

function written (rep: TaskResult['install']): string {
  if (rep === null) return 'the agent sent no install report'
  const rate = rep.writeMs > 0 ? `, ${humanBytes(Math.round(rep.bytesWritten / (rep.writeMs / 1000)))}/s` : ''
  return `${humanBytes(rep.bytesWritten)} to ${rep.disk} in ${(rep.durationMs / 1000).toFixed(1)} s${rate}, ${rep.verified ? 'verified' : 'NOT verified'}, ${rep.committed ? 'committed' : 'not committed'}${rep.slot === '' ? '' : ` (slot ${rep.slot})`}`
}

function reportData (rep: TaskResult['install']): Record<string, unknown> {
  if (rep === null) return {}
  return { disk: rep.disk, bytes: rep.bytesWritten, durationMs: rep.durationMs, writeMs: rep.writeMs, rate: rep.writeMs > 0 ? Math.round(rep.bytesWritten / (rep.writeMs / 1000)) : null, verified: rep.verified, committed: rep.committed, slot: rep.slot, imageSha256: rep.imageSha256 }
}
