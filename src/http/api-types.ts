/**
 * The admin API's JSON, as the server sends it and its clients (the CLI, the lab) read it. One
 * declaration, so a field added on one side is a type error on the other.
 */
import type { ImageView } from '../images/image-service.ts'
import type { Machine } from '../inventory/machine.ts'
import type { HardwareReport } from '../provisioning/agent-gateway.ts'
import type { EraseReportRecord, StoredTask } from '../provisioning/discovery-ports.ts'
import type { OperationView } from '../provisioning/operations.ts'
import type { RolloutDetail, RolloutMachineView } from '../provisioning/rollout-view.ts'

/**
 * A machine: GET /api/v1/machines and /api/v1/machines/:id. The domain's Machine with its times as
 * ISO 8601 strings (machineJson spreads the domain object, so the two cannot drift apart).
 */
export type MachineView = Omit<Machine, 'createdAt' | 'updatedAt' | 'lastSeenAt'> & {
  readonly createdAt: string
  readonly updatedAt: string
  readonly lastSeenAt: string
  /** The machine's BMC, never with its password; null when it has none. */
  readonly bmc: BmcJson | null
  /** One machine (GET /api/v1/machines/:id and the answers about one machine): its newest install; null when never provisioned. */
  readonly install?: InstallJson | null
}

/** The disk an install writes, as the hardware report named it when the install was planned. */
export type InstallDiskJson = { readonly name: string, readonly serial: string, readonly wwn: string, readonly sizeBytes: number }

/** POST /api/v1/machines/:id/provision (202): the queued install. Its operation id is the task's. */
export type ProvisionView = {
  readonly operationId: string
  readonly machine: MachineView
  readonly image: { readonly name: string, readonly version: string }
  readonly disk: InstallDiskJson
  readonly configGeneration: number
}

/** POST /api/v1/machines/:id/config: the signed next config (the text is exactly what was signed). */
export type SignedConfigView = {
  readonly machineId: string
  readonly generation: number
  readonly config: string
  readonly signature: string
}

/** A machine's newest install, with what its node last reported of itself (machine_nodes). */
export type InstallJson = {
  readonly operationId: string
  readonly state: StoredTask['state']
  readonly error: string | null
  readonly image: { readonly name: string, readonly version: string }
  readonly disk: InstallDiskJson
  readonly configGeneration: number
  readonly createdAt: string
  readonly finishedAt: string | null
  readonly node: { readonly image: string, readonly version: string, readonly slot: string, readonly configGeneration: number, readonly addresses: readonly string[], readonly hostname: string | null, readonly reportedAt: string } | null
}

/** A BMC as the API shows it: GET/PUT /api/v1/machines/:id/bmc. There is no password field, ever. */
export type BmcJson = {
  readonly address: string
  readonly port: number
  readonly user: string
  readonly cipherSuite: 'auto' | 3 | 17
  readonly updatedAt: string
}

/** GET/POST /api/v1/machines/:id/power. `action` and `tookMs` only after a POST. */
export type PowerStateView = {
  readonly machineId: string
  readonly state: 'on' | 'off'
  readonly action?: string
  readonly tookMs?: number
}

/** GET/POST /api/v1/machines/:id/boot-device: the boot flags as the BMC reads them back. */
export type BootDeviceView = {
  readonly machineId: string
  readonly device: 'pxe' | 'disk' | 'none' | 'other'
  readonly persistent: boolean
  readonly efi: boolean
  /** False when the BMC does not vouch for persistent/efi (ipmi_sim, for one). */
  readonly valid: boolean
}

/** GET /api/v1/power: every machine with a BMC, each with its state or the error that prevented reading it. */
export type PowerStatusView = {
  readonly machines: readonly { readonly machineId: string, readonly state?: 'on' | 'off', readonly error?: { readonly code: string, readonly message: string } }[]
}

/** A timeline event: GET /api/v1/machines/:id/events. */
export type EventView = {
  readonly id: number
  readonly at: string
  readonly source: string
  readonly type: string
  readonly message: string
  readonly mac: string | null
  readonly data: Record<string, unknown> | null
}

/** GET /api/v1/machines/:id/hardware: the agent's latest report (src/proto/provisioning.proto HardwareReport). */
export type HardwareView = { readonly machineId: string, readonly reportedAt: string, readonly hardware: HardwareReport }

/** A task (GET /api/v1/machines/:id/tasks, POST .../wipe) with live per-disk progress while it runs. */
export type TaskJson = Omit<StoredTask, 'createdAt' | 'startedAt' | 'finishedAt' | 'cancelRequestedAt'> & {
  readonly createdAt: string
  readonly startedAt: string | null
  readonly finishedAt: string | null
  readonly cancelRequestedAt: string | null
  readonly progress: readonly { readonly disk: string, readonly phase: string, readonly bytesDone: number, readonly bytesTotal: number, readonly rateBytesPerSecond: number, readonly at: string }[]
}

/** POST /api/v1/machines/:id/wipe and POST .../tasks: the queued task, and its operation id (the same id). */
export type QueuedTaskJson = TaskJson & { readonly operationId: string }

/** An operation: GET /api/v1/operations[/:id]. Its times as ISO 8601 strings. */
export type OperationJson = Omit<OperationView, 'createdAt' | 'startedAt' | 'finishedAt' | 'cancelRequestedAt' | 'progressAt' | 'progress' | 'rollout'> & {
  readonly createdAt: string
  readonly startedAt: string | null
  readonly finishedAt: string | null
  readonly cancelRequestedAt: string | null
  readonly progressAt: string | null
  readonly progress: TaskJson['progress']
  /** A rollout's machines and outcomes (times as ISO 8601); absent for a task. */
  readonly rollout?: Omit<RolloutDetail, 'machines'> & {
    readonly machines: ReadonlyArray<Omit<RolloutMachineView, 'startedAt' | 'finishedAt'> & { readonly startedAt: string | null, readonly finishedAt: string | null }>
  }
}

/** POST /api/v1/machines/:id/tasks/:task/cancel (and /cancel): the machine after, and what was cancelled. */
export type CancelView = { readonly machine: MachineView, readonly cancelled: readonly TaskJson[] }

/** One disk's erase report: GET /api/v1/machines/:id/erase-reports. */
export type EraseReportView = Omit<EraseReportRecord, 'machineId' | 'at'> & { readonly at: string }

/** An image: GET /api/v1/images[/:name[:version]]; POST adds `upload`, the artifact's PUT path. */
export type ImageJson = Omit<ImageView, 'importedAt' | 'readyAt'> & {
  readonly importedAt: string
  readonly readyAt: string | null
}

/** POST /api/v1/certs/client: the body. `publicKey` is an Ed25519 SPKI PEM; the private key never travels. */
export type ClientCertInput = {
  readonly role: string
  readonly publicKey: string
  /** The certificate's CN (who it is for); the role when absent. */
  readonly name?: string
  /** "8h", "30m" (src/lib/duration.ts); 8 h when absent, 5 minutes to 7 days. */
  readonly ttl?: string
}

/** POST /api/v1/certs/client (201): the client certificate and the CA it chains to, both PEM. */
export type ClientCertJson = {
  readonly certificate: string
  readonly ca: string
  readonly role: string
  readonly name: string
  readonly notAfter: string
}

/** GET /api/v1/certs/ca: the node CA certificate (PEM) and the SHA-256 of its DER (lower-case hex). */
export type NodeCaJson = { readonly ca: string, readonly fingerprint: string }
