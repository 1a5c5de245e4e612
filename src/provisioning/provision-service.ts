import { randomUUID } from 'node:crypto'
import { CodedError, isCodedError } from '../lib/errors.ts'
import type { SecretBox } from '../lib/secret-box.ts'
import type { BootEventSink } from '../inventory/events.ts'
import { EventType } from '../inventory/event-types.ts'
import type { MachineService } from '../inventory/machine-service.ts'
import { MachineState, type Machine } from '../inventory/machine.ts'
import type { Clock } from '../inventory/ports.ts'
import { decodeManifest } from '../image/manifest.ts'
import { parseImageRef, pickInstallImage } from '../images/image-pick.ts'
import type { ImageStore } from '../images/ports.ts'
import { matchInstallDisk } from '../machine-config/install-disk.ts'
import { invalidMachineConfig, type MachineConfigIssue } from '../machine-config/issues.ts'
import { parseMachineConfig, validateMachineConfig } from '../machine-config/parse.ts'
import { renderMachineConfig } from '../machine-config/render.ts'
import type { MachineConfig } from '../machine-config/schema.ts'
import type { SecretKey } from '../signing/minisign.ts'
import type { AgentService } from './agent-service.ts'
import { NO_PROGRESS, type DiscoveryStore, type StoredTask } from './discovery-ports.ts'
import { type ConfigStore, type InstallParams, type NodeView } from './install-ports.ts'
import type { Applied, LifecycleService } from './lifecycle-service.ts'
import { step } from './lifecycle.ts'
import { storeNextConfig, type ConfigSigner } from './signed-config.ts'
import { describeTask } from './tasks.ts'

export type ProvisionOptions = {
  readonly machines: MachineService
  readonly lifecycle: LifecycleService
  readonly agents: Pick<AgentService, 'wake' | 'isConnected'>
  readonly hardware: Pick<DiscoveryStore, 'getHardware'>
  readonly images: Pick<ImageStore, 'list'>
  readonly configs: ConfigStore
  /** Seals the config YAML at rest (the key BMC passwords use: <dataDir>/secret.key). */
  readonly secrets: SecretBox
  /** The config key (<dataDir>/config.key) that signs every machine config. */
  readonly configKey: SecretKey
  readonly events: BootEventSink
  readonly clock: Clock
  /** How long a signed config stays valid for the node to take (default DEFAULT_CONFIG_TTL_MS). */
  readonly configTtlMs?: number
  /** Boots a machine whose agent is away (as DiscoveryOptions.bootForTask); failures are recorded. */
  readonly bootForTask?: (machineId: string) => Promise<string>
}

/** What an operator asks for: `name[:version]`, the machine config YAML, and optionally the disk (overriding install.disk). */
export type ProvisionRequest = { readonly image: string, readonly config: string, readonly disk?: unknown }

/** A queued install: the task's id is the operation's. */
export type Provisioned = {
  readonly task: StoredTask
  readonly machine: Machine
  readonly image: InstallParams['image']
  readonly disk: InstallParams['disk']
  readonly configGeneration: number
}

/** The machine's newest install as the API shows it, with what its node last reported. */
export type InstallView = {
  readonly task: StoredTask
  readonly image: InstallParams['image']
  readonly disk: InstallParams['disk']
  readonly configGeneration: number
  readonly node: NodeView | null
}

/** 24 h: the node must take its config (install and first boot) within a day of the request. */
export const DEFAULT_CONFIG_TTL_MS = 24 * 3_600_000

const IMAGE_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/
const IMAGE_VERSION = /^[0-9A-Za-z.+_~-]{1,64}$/

/**
 * The operator's side of the install: checks a provision request against the machine (its state,
 * its reported disks), the image catalogue and the config's schema before anything is stored;
 * then signs the config for the machine's next generation, stores it sealed, and queues the
 * install task with the machine's move to installing in one compare-and-set commit. The agent's
 * side of the task is InstallTasks (install-tasks.ts).
 */
export class ProvisionService {
  readonly #o: ProvisionOptions

  constructor (options: ProvisionOptions) {
    this.#o = options
  }

  async provision (key: string, request: ProvisionRequest): Promise<Provisioned> {
    const machine = await this.#o.machines.get(key)
    // Refused before any work when the machine is not ready (the lifecycle decides again at commit).
    step(machine, { type: 'provision', taskId: '', description: '' }, { machineId: machine.id })
    const image = await this.#image(request.image)
    const manifest = decodeManifest(Buffer.from(image.manifest, 'utf8'))
    const config = withDisk(parseMachineConfig(request.config), request.disk)
    const disk = await this.#disk(machine.id, config, manifest.layout.minDiskBytes)
    const text = renderMachineConfig(config)
    const taskId = `t-${randomUUID()}`
    const now = this.#o.clock.now()
    const stored = await storeNextConfig(this.#signer(), machine.id, text, taskId, now)
    const params: InstallParams = { image: { name: image.name, version: image.version }, disk, configGeneration: stored.generation }
    const task: StoredTask = { id: taskId, machineId: machine.id, kind: 'install', params, state: 'queued', error: null, createdAt: now, startedAt: null, finishedAt: null, sessionId: null, cancelRequestedAt: null, ...NO_PROGRESS }
    let applied: Applied
    try {
      applied = await this.#o.lifecycle.apply(machine.id, { type: 'provision', taskId, description: describeTask(task) }, { source: 'api', tasks: [task] })
    } catch (err) {
      // Another request moved the machine first: this config never leaves the server.
      await this.#o.configs.remove(machine.id, stored.generation)
      throw err
    }
    this.#o.events.record({
      source: 'api',
      type: EventType.installQueued,
      machineId: machine.id,
      message: `${describeTask(task)} queued: image ${image.name}:${image.version}, disk ${disk.name} (serial ${disk.serial === '' ? 'none' : disk.serial}), config generation ${stored.generation}`,
      // Never the config's content: it may hold secrets.
      data: { taskId, image: params.image, disk, configGeneration: stored.generation }
    })
    await this.#after(applied, taskId)
    return { task, machine: applied.machine, image: params.image, disk, configGeneration: stored.generation }
  }

  /**
   * A new config for a provisioned machine's running node (ApplyConfig): validated as `anvil
   * config validate` validates (ERR_VALIDATION with each issue's key path), rendered canonical,
   * signed for the next generation and stored sealed as provision() does. ERR_INVALID_STATE when
   * the machine is not provisioned. The text is the caller's own: it is returned, never logged.
   */
  async nextConfig (key: string, yaml: string): Promise<{ machineId: string, generation: number, config: string, signature: string }> {
    const machine = await this.#o.machines.get(key)
    if (machine.state !== MachineState.provisioned) {
      throw new CodedError('ERR_INVALID_STATE', `machine ${machine.id} is ${machine.state}: only a provisioned machine's node takes a new config (else provision it)`, { id: machine.id, state: machine.state })
    }
    let config: MachineConfig
    try {
      config = parseMachineConfig(yaml)
    } catch (err) {
      if (!isCodedError(err) || err.code !== 'ERR_MACHINE_CONFIG_INVALID') throw err
      const issues = (err.details?.issues ?? []) as MachineConfigIssue[]
      throw new CodedError('ERR_VALIDATION', err.message, { issues })
    }
    const text = renderMachineConfig(config)
    const stored = await storeNextConfig(this.#signer(), machine.id, text, null)
    return { machineId: machine.id, generation: stored.generation, config: text, signature: stored.signature }
  }

  #signer (): ConfigSigner {
    return { configs: this.#o.configs, secrets: this.#o.secrets, configKey: this.#o.configKey, clock: this.#o.clock, ttlMs: this.#o.configTtlMs ?? DEFAULT_CONFIG_TTL_MS }
  }

  /** The machine's newest install and its node's last report; null when it was never provisioned. */
  async installView (key: string): Promise<InstallView | null> {
    const m = await this.#o.machines.get(key)
    const task = await this.#o.configs.latestInstall(m.id)
    if (task === undefined) return null
    const p = task.params as InstallParams
    return { task, image: p.image, disk: p.disk, configGeneration: p.configGeneration, node: (await this.#o.configs.node(m.id)) ?? null }
  }

  async #image (ref: string): Promise<Awaited<ReturnType<ImageStore['list']>>[number]> {
    const { name, version } = parseImageRef(ref)
    if (!IMAGE_NAME.test(name) || (version !== undefined && !IMAGE_VERSION.test(version))) {
      throw new CodedError('ERR_VALIDATION', `not an image reference: ${JSON.stringify(ref.slice(0, 80))} (NAME or NAME:VERSION)`)
    }
    return pickInstallImage(await this.#o.images.list(name), name, version)
  }

  /** The one reported disk the config's selector picks, never the one the environment booted from, big enough for the image. */
  async #disk (machineId: string, config: MachineConfig, minDiskBytes: number): Promise<InstallParams['disk']> {
    const hw = await this.#o.hardware.getHardware(machineId)
    if (hw === undefined) throw new CodedError('ERR_NO_HARDWARE', `machine ${machineId} has not reported its hardware yet, so no install disk can be chosen (its discovery agent reports it at boot)`, { id: machineId })
    const bootDisk = await this.#o.configs.bootDisk(machineId)
    const d = matchInstallDisk(config.install.disk, hw.report.disks.filter(d => d.name !== bootDisk))
    if (d.sizeBytes < minDiskBytes) {
      throw new CodedError('ERR_INSTALL_DISK_TOO_SMALL', `disk ${d.name} (serial ${d.serial === '' ? 'none' : d.serial}) holds ${d.sizeBytes} bytes; the image needs at least ${minDiskBytes}`, { disk: d.name, sizeBytes: d.sizeBytes, minDiskBytes })
    }
    return { name: d.name, serial: d.serial, wwn: d.wwn, sizeBytes: d.sizeBytes }
  }

  /** What the committed change still needs: wake the agent, or boot the machine if it has none. */
  async #after (applied: Applied, taskId: string): Promise<void> {
    const id = applied.machine.id
    this.#o.agents.wake(id)
    if (this.#o.agents.isConnected(id) || this.#o.bootForTask === undefined) return
    try {
      const how = await this.#o.bootForTask(id)
      this.#o.events.record({ source: 'api', type: EventType.taskBoot, machineId: id, message: `no agent connected for task ${taskId}: ${how}`, data: { taskId } })
    } catch (err) {
      const why = err instanceof Error ? err.message : String(err)
      this.#o.events.record({ source: 'api', type: EventType.taskBoot, machineId: id, message: `no agent connected for task ${taskId}, and it could not be booted (${why}): the task waits for its next network boot`, data: { taskId } })
    }
  }
}

/**
 * The config with the request's disk selector in place of install.disk, validated as a whole, so
 * what is signed is what is installed. Issues of the selector are reported at `disk.*`.
 */
function withDisk (config: MachineConfig, disk: unknown): MachineConfig {
  if (disk === undefined) return config
  try {
    return validateMachineConfig({ ...config, install: { ...config.install, disk } })
  } catch (err) {
    if (!isCodedError(err) || err.code !== 'ERR_MACHINE_CONFIG_INVALID') throw err
    const issues = (err.details?.issues ?? []) as MachineConfigIssue[]
    throw invalidMachineConfig(issues.map(i => ({ path: i.path.replace(/^install\.disk/, 'disk'), message: i.message })), 'install disk selector')
  }
}
