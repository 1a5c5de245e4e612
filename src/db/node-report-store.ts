import { and, eq, isNull } from 'drizzle-orm'
import type { NodeRecord, NodeReportStore, NodeTokenRecord } from '../provisioning/node-report-service.ts'
import type { RegisteredNode, RegisteredNodes } from '../provisioning/node-certificates.ts'
import type { NodeNoticeStore, RunningImage } from '../provisioning/node-notices.ts'
import type { Db } from './open.ts'
import { machineNodes, nodeTokens } from './schema.ts'

/**
 * NodeReportStore over SQLite: node tokens are looked up by their SHA-256 only, and a report spends
 * its token (UPDATE … WHERE used_at IS NULL) in the same transaction as the machine_nodes upsert,
 * so of two reports racing with one token exactly one is stored, whichever process serves it.
 */
export class SqliteNodeReportStore implements NodeReportStore, RegisteredNodes, NodeNoticeStore {
  readonly #db: Db

  constructor (db: Db) {
    this.#db = db
  }

  async findToken (tokenHash: string): Promise<NodeTokenRecord | undefined> {
    const row = this.#db.select().from(nodeTokens).where(eq(nodeTokens.tokenHash, tokenHash)).get()
    if (row === undefined) return undefined
    const { tokenHash: _hash, ...rest } = row
    return rest
  }

  async registeredNode (machineId: string): Promise<RegisteredNode | undefined> {
    const row = this.#db.select({ publicKey: machineNodes.publicKey, addresses: machineNodes.addresses, hostname: machineNodes.hostname })
      .from(machineNodes).where(eq(machineNodes.machineId, machineId)).get()
    if (row === undefined) return undefined
    const addresses: unknown = JSON.parse(row.addresses)
    return { publicKey: row.publicKey, addresses: Array.isArray(addresses) ? addresses.filter((a): a is string => typeof a === 'string') : [], hostname: row.hostname }
  }

  async recordReport (tokenHash: string, node: NodeRecord): Promise<boolean> {
    return this.#db.transaction((tx) => {
      const spent = tx.update(nodeTokens).set({ usedAt: node.reportedAt })
        .where(and(eq(nodeTokens.tokenHash, tokenHash), eq(nodeTokens.machineId, node.machineId), isNull(nodeTokens.usedAt))).run()
      if (spent.changes !== 1) return false
      const values = {
        publicKey: node.publicKey,
        imageName: node.imageName,
        imageVersion: node.imageVersion,
        slot: node.slot,
        configGeneration: node.configGeneration,
        addresses: JSON.stringify(node.addresses),
        hostname: node.hostname,
        bootId: node.bootId,
        reportedAt: node.reportedAt
      }
      tx.insert(machineNodes).values({ machineId: node.machineId, ...values, firstReportedAt: node.reportedAt })
        .onConflictDoUpdate({ target: machineNodes.machineId, set: values }).run()
      return true
    })
  }

  /** The image a node now runs (NodeNotice upgraded / rolled_back): what `anvil machines show` prints as its node line. */
  async recordRunning (machineId: string, running: RunningImage): Promise<boolean> {
    const r = this.#db.update(machineNodes).set({ imageName: running.imageName, imageVersion: running.imageVersion, slot: running.slot, reportedAt: running.at })
      .where(eq(machineNodes.machineId, machineId)).run()
    return r.changes === 1
  }
}
