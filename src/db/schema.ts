import { sqliteTable, text, integer, index, primaryKey } from 'drizzle-orm/sqlite-core'

/**
 * Machines: one row per physical machine, keyed by our own id. Its identity is composite:
 * the SMBIOS UUID when it can be trusted, otherwise its MAC set (machine_macs).
 */
export const machines = sqliteTable('machines', {
  id: text('id').primaryKey(),
  /** SMBIOS system UUID, lower case; null when missing or untrustworthy (see uuidStatus). */
  uuid: text('uuid'),
  /** What the firmware reported, kept even when we do not trust it. */
  reportedUuid: text('reported_uuid'),
  /** valid | missing | invalid (all-zero, all-FF, malformed) | duplicate (seen on other hardware) */
  uuidStatus: text('uuid_status').notNull(),
  serial: text('serial'),
  manufacturer: text('manufacturer'),
  product: text('product'),
  /** iPXE ${platform}: pcbios | efi */
  firmware: text('firmware'),
  /** iPXE ${buildarch}: i386 | x86_64 | arm64 */
  arch: text('arch'),
  ip: text('ip'),
  state: text('state').notNull(),
  stateReason: text('state_reason'),
  /** In maintenance: the lifecycle state to return to when it ends; null otherwise. */
  heldState: text('held_state'),
  createdAt: integer('created_at').notNull(),
  updatedAt: integer('updated_at').notNull(),
  lastSeenAt: integer('last_seen_at').notNull()
}, (t) => [
  index('machines_uuid').on(t.uuid),
  index('machines_serial').on(t.serial)
])

/** Every MAC a machine has shown us; a MAC belongs to at most one machine. */
export const machineMacs = sqliteTable('machine_macs', {
  mac: text('mac').primaryKey(),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  firstSeenAt: integer('first_seen_at').notNull(),
  lastSeenAt: integer('last_seen_at').notNull()
}, (t) => [index('machine_macs_machine').on(t.machineId)])

/**
 * The timeline: every decision with its reason. Events seen before the machine is known
 * (DHCP, TFTP of a first boot) carry the MAC and are attached when the machine is recorded.
 */
export const events = sqliteTable('events', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  machineId: text('machine_id').references(() => machines.id, { onDelete: 'cascade' }),
  mac: text('mac'),
  at: integer('at').notNull(),
  /** dhcp | tftp | http | api | inventory | power */
  source: text('source').notNull(),
  /** Dotted type, e.g. dhcp.offer, tftp.transfer, http.script, machine.created */
  type: text('type').notNull(),
  /** One human sentence: what happened and why. */
  message: text('message').notNull(),
  /** JSON object with the details (options negotiated, bytes, durations, ...). */
  data: text('data')
}, (t) => [
  index('events_machine').on(t.machineId, t.id),
  index('events_unattached_mac').on(t.mac, t.machineId),
  // Retention deletes by age.
  index('events_at').on(t.at)
])

/**
 * DHCP leases (authoritative mode). Offers live in memory only (RFC 2131 §4.3.1 lets a
 * server forget them); a row is written, durably, before the ACK that binds it is sent.
 */
export const leases = sqliteTable('leases', {
  /** The address as an unsigned 32-bit integer (cheap range scans for free addresses). */
  address: integer('address').primaryKey(),
  subnet: text('subnet').notNull(),
  mac: text('mac').notNull(),
  /** Option 61 client identifier as hex, when the client sent one; else null (keyed by MAC). */
  clientId: text('client_id'),
  hostname: text('hostname'),
  /** bound | released | declined | expired */
  state: text('state').notNull(),
  startsAt: integer('starts_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  updatedAt: integer('updated_at').notNull()
})
// No secondary indexes on leases: the server holds them in memory and reads the table whole at
// start, and each index cost every lease write a B-tree update (measured on the DHCP benchmark).

/** Small key-value table for server state that must survive restarts (schema facts, secrets' ids). */
export const meta = sqliteTable('meta', {
  key: text('key').primaryKey(),
  value: text('value').notNull()
})

/**
 * A machine's BMC. The password is sealed (AES-256-GCM, src/lib/secret-box.ts) with the key in
 * <dataDir>/secret.key and the machine id as additional data; it never leaves the server.
 */
export const bmcs = sqliteTable('bmcs', {
  machineId: text('machine_id').primaryKey().references(() => machines.id, { onDelete: 'cascade' }),
  /** IPv4 address or host name. */
  address: text('address').notNull(),
  port: integer('port').notNull(),
  username: text('username').notNull(),
  passwordSealed: text('password_sealed').notNull(),
  /** auto | 3 | 17 */
  cipherSuite: text('cipher_suite').notNull(),
  updatedAt: integer('updated_at').notNull()
})

/** The latest hardware report of each machine, as the agent sent it (JSON of the proto message). */
export const machineHardware = sqliteTable('machine_hardware', {
  machineId: text('machine_id').primaryKey().references(() => machines.id, { onDelete: 'cascade' }),
  report: text('report').notNull(),
  reportedAt: integer('reported_at').notNull()
})

/**
 * One-time tokens the boot script hands the discovery agent. Only a SHA-256 of the token is kept:
 * the database alone cannot impersonate an agent. A token is spent by its first session.
 */
export const agentTokens = sqliteTable('agent_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  issuedAt: integer('issued_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at'),
  /** The address that fetched the boot script carrying this token: the only one it works from. */
  peerIp: text('peer_ip')
}, (t) => [index('agent_tokens_machine').on(t.machineId)])

/**
 * An agent's session credential, handed out in its welcome after the boot token was spent: with
 * it the agent reconnects after a server restart or a network blip and carries on with its task.
 * Bound to one machine and one address, bounded in time (renewed at each reconnect); only a
 * SHA-256 of it is kept.
 */
export const agentSessions = sqliteTable('agent_sessions', {
  credentialHash: text('credential_hash').primaryKey(),
  /** Stable across reconnects: tasks are handed to a session, and only it may report on them. */
  sessionId: text('session_id').notNull(),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  peerIp: text('peer_ip'),
  issuedAt: integer('issued_at').notNull(),
  expiresAt: integer('expires_at').notNull()
}, (t) => [index('agent_sessions_machine').on(t.machineId)])

/** Work for a machine's agent (wipe, reboot, power off): queued until an agent takes it. */
export const tasks = sqliteTable('tasks', {
  id: text('id').primaryKey(),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  /** wipe | install | reboot | powerOff */
  kind: text('kind').notNull(),
  /** JSON: the task's parameters (method, disks). */
  params: text('params').notNull(),
  /** queued | running | done | failed | cancelled */
  state: text('state').notNull(),
  error: text('error'),
  /** The agent session the task was handed to: only that session may report progress or a result. */
  sessionId: text('session_id'),
  /** An operator cancelled it while it ran: the agent is told to stop at its next safe point. */
  cancelRequestedAt: integer('cancel_requested_at'),
  createdAt: integer('created_at').notNull(),
  startedAt: integer('started_at'),
  finishedAt: integer('finished_at'),
  /**
   * The operation's progress as last reported (throttled), so every server process and a restart
   * see it: phase (wipe: wipe | verify; install: download | write | verify | state | commit), bytes.
   */
  phase: text('phase'),
  bytesDone: integer('bytes_done'),
  bytesTotal: integer('bytes_total'),
  progressAt: integer('progress_at'),
  /** JSON: what the task produced (an install's InstallReport; a wipe's summary), once it ended. */
  result: text('result')
}, (t) => [
  index('tasks_machine').on(t.machineId, t.state),
  // `anvil operations list`: newest first over every machine.
  index('tasks_created').on(t.createdAt)
])

/** Per-disk outcome of a wipe: what was erased, how, and whether it read back as zeroes. */
export const eraseReports = sqliteTable('erase_reports', {
  id: integer('id').primaryKey({ autoIncrement: true }),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  taskId: text('task_id').notNull(),
  disk: text('disk').notNull(),
  serial: text('serial'),
  method: text('method').notNull(),
  bytesWritten: integer('bytes_written').notNull(),
  durationMs: integer('duration_ms').notNull(),
  verified: integer('verified', { mode: 'boolean' }).notNull(),
  /** Non-null: the disk was left untouched, and why. */
  refused: text('refused'),
  at: integer('at').notNull()
}, (t) => [index('erase_reports_machine').on(t.machineId, t.id)])

/**
 * Node OS images Anvil can install: a signed manifest (src/image/manifest.ts) and its whole-disk
 * artifact. A row is `pending` from the verified manifest until its artifact is uploaded and
 * matches the manifest's size and SHA-256, then `ready`; only ready images are installed.
 */
export const images = sqliteTable('images', {
  name: text('name').notNull(),
  version: text('version').notNull(),
  /** The manifest's exact bytes (what the signature covers). */
  manifest: text('manifest').notNull(),
  /** The detached minisign signature over those bytes. */
  signature: text('signature').notNull(),
  /** The image key that verified it. */
  keyId: text('key_id').notNull(),
  /** pending | ready */
  state: text('state').notNull(),
  /** The artifact's file under <dataDir>/images/. */
  file: text('file').notNull(),
  compressedSize: integer('compressed_size').notNull(),
  size: integer('size').notNull(),
  importedAt: integer('imported_at').notNull(),
  readyAt: integer('ready_at')
}, (t) => [primaryKey({ columns: [t.name, t.version] })])

/**
 * The signed machine configs Anvil issued, one row per (machine, generation). The YAML may hold
 * secrets, so it is sealed like BMC passwords (src/lib/secret-box.ts, additional data: machine id
 * and generation); the signature (minisign, trusted comment binding machine, generation, expiry) is
 * public. Generations only grow: the node refuses an older one.
 */
export const machineConfigs = sqliteTable('machine_configs', {
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  generation: integer('generation').notNull(),
  configSealed: text('config_sealed').notNull(),
  signature: text('signature').notNull(),
  /** Unix seconds, as in the signature's trusted comment. */
  expiresAt: integer('expires_at').notNull(),
  /** The install task that carries it to the machine. */
  taskId: text('task_id'),
  createdAt: integer('created_at').notNull()
}, (t) => [primaryKey({ columns: [t.machineId, t.generation] })])

/**
 * One-time tokens for an installed node's first report (ReportIn), written to the node's STATE by
 * its install task. Only a SHA-256 is kept; a token is bound to one machine, one install task and
 * one config generation, and spent by its first report.
 */
export const nodeTokens = sqliteTable('node_tokens', {
  tokenHash: text('token_hash').primaryKey(),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  taskId: text('task_id').notNull(),
  configGeneration: integer('config_generation').notNull(),
  issuedAt: integer('issued_at').notNull(),
  expiresAt: integer('expires_at').notNull(),
  usedAt: integer('used_at')
}, (t) => [index('node_tokens_machine').on(t.machineId)])

/**
 * What an installed node last said of itself: its identity key (made on the node; only the public
 * half is ever here), the image and slot it runs and the config generation it applied.
 */
export const machineNodes = sqliteTable('machine_nodes', {
  machineId: text('machine_id').primaryKey().references(() => machines.id, { onDelete: 'cascade' }),
  /** Ed25519 SPKI DER, base64. */
  publicKey: text('public_key').notNull(),
  imageName: text('image_name').notNull(),
  imageVersion: text('image_version').notNull(),
  slot: text('slot').notNull(),
  configGeneration: integer('config_generation').notNull(),
  /** JSON array of CIDR strings. */
  addresses: text('addresses').notNull(),
  hostname: text('hostname'),
  bootId: text('boot_id'),
  firstReportedAt: integer('first_reported_at').notNull(),
  reportedAt: integer('reported_at').notNull()
})

/**
 * Fleet upgrades (`anvil machines upgrade`): one row per rollout, an operation of its own beside
 * the tasks (a rollout is no one machine's task, and no agent may ever claim it); its machines are
 * in rollout_machines. `anvil operations` reads both tables.
 */
export const rollouts = sqliteTable('rollouts', {
  /** r-<uuid>: an operation id, as a task's t-<uuid>. */
  id: text('id').primaryKey(),
  /** The selector as given (key=value[,key=value]). */
  selector: text('selector').notNull(),
  imageName: text('image_name').notNull(),
  imageVersion: text('image_version').notNull(),
  maxParallel: integer('max_parallel').notNull(),
  healthTimeoutS: integer('health_timeout_s').notNull(),
  force: integer('force', { mode: 'boolean' }).notNull(),
  /** running | done | failed */
  state: text('state').notNull(),
  /** upgrading | stopping | done | stopped */
  phase: text('phase').notNull(),
  error: text('error'),
  errorCode: text('error_code'),
  createdAt: integer('created_at').notNull(),
  startedAt: integer('started_at'),
  finishedAt: integer('finished_at'),
  updatedAt: integer('updated_at').notNull()
}, (t) => [
  index('rollouts_created').on(t.createdAt),
  index('rollouts_state').on(t.state)
])

/** The machines of a rollout in upgrade order, each with its node operation and outcome. */
export const rolloutMachines = sqliteTable('rollout_machines', {
  rolloutId: text('rollout_id').notNull().references(() => rollouts.id, { onDelete: 'cascade' }),
  machineId: text('machine_id').notNull().references(() => machines.id, { onDelete: 'cascade' }),
  position: integer('position').notNull(),
  /** pending | running | succeeded | failed | rolled_back | skipped | not_started | interrupted */
  state: text('state').notNull(),
  /** The apid address dialled, host:port. */
  address: text('address').notNull(),
  fromVersion: text('from_version'),
  toVersion: text('to_version').notNull(),
  /** The node's own operation id (anvil -n MACHINE operations). */
  nodeOperationId: text('node_operation_id'),
  phase: text('phase'),
  error: text('error'),
  errorCode: text('error_code'),
  startedAt: integer('started_at'),
  finishedAt: integer('finished_at')
}, (t) => [
  primaryKey({ columns: [t.rolloutId, t.machineId] }),
  // `anvil operations list --machine M`: the rollouts a machine was part of.
  index('rollout_machines_machine').on(t.machineId)
])
