// Test pieces for an installed node's first report: a node token in the database as the install
// task issues it (only its SHA-256 kept), a node identity key, and a report signed with it.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto'
import { eq } from 'drizzle-orm'
import type { Db } from '../../src/db/open.ts'
import { SqliteNodeReportStore } from '../../src/db/node-report-store.ts'
import { machines, nodeTokens } from '../../src/db/schema.ts'
import { MachineState } from '../../src/inventory/machine.ts'
import { nodeReportProof } from '../../src/node-state/report-proof.ts'
import { NodeReportService, type NodeReport } from '../../src/provisioning/node-report-service.ts'
import type { makeInventory, makeProvisioning } from './inventory.ts'

/** A fresh node token for `machineId`, written to node_tokens as the installer would. */
export function issueNodeToken (db: Db, machineId: string, options: { generation?: number, now?: number, ttlMs?: number, taskId?: string } = {}): string {
  const token = randomBytes(32).toString('base64url')
  const now = options.now ?? Date.now()
  db.insert(nodeTokens).values({
    tokenHash: createHash('sha256').update(token).digest('hex'),
    machineId,
    taskId: options.taskId ?? 'task-install-1',
    configGeneration: options.generation ?? 1,
    issuedAt: now,
    expiresAt: now + (options.ttlMs ?? 86_400_000),
    usedAt: null
  }).run()
  return token
}

/** Puts a machine into `state` directly (a test fixture: the install itself is another test's). */
export function setMachineState (db: Db, machineId: string, state: MachineState = MachineState.installing): void {
  db.update(machines).set({ state, stateReason: `set by a test to ${state}` }).where(eq(machines.id, machineId)).run()
}

/** An Ed25519 identity as a node makes it. */
export function nodeIdentity (): { privateKey: KeyObject, spki: Buffer } {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519')
  return { privateKey, spki: publicKey.export({ format: 'der', type: 'spki' }) }
}

/** A well-formed report for `machineId`, its proof signed with `identity` over `token`. */
export function signedReport (machineId: string, token: string, identity = nodeIdentity(), overrides: Partial<NodeReport> = {}): NodeReport {
  const generation = overrides.configGeneration ?? 1
  return {
    machineId,
    imageName: 'anvil-node',
    imageVersion: '0.1.0',
    slot: 'A',
    configGeneration: generation,
    publicKey: identity.spki,
    proof: sign(null, nodeReportProof(machineId, generation, token), identity.privateKey),
    addresses: ['10.77.0.50/24'],
    hostname: 'node-1',
    bootId: '5a1f2b6e-7c1d-4c52-9a4e-0c6a7f6c2d11',
    ...overrides
  }
}

/** The NodeReportService over a test inventory and provisioning domain. */
export function makeNodeReports (inv: ReturnType<typeof makeInventory>, prov: ReturnType<typeof makeProvisioning>, options: { refusalsPerMinute?: number } = {}): NodeReportService {
  return new NodeReportService({ store: new SqliteNodeReportStore(inv.db), machines: inv.machines, lifecycle: prov.lifecycle, events: inv.timeline, clock: inv.clock, ...options })
}
