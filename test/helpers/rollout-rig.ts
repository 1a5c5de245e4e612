import { createHash, randomBytes } from 'node:crypto'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Readable } from 'node:stream'
import { makeInventory } from './inventory.ts'
import { startNodeUpgradeDouble, type NodeUpgradeDouble, type RolloutLog, type UpgradeScript } from './node-upgrade-double.ts'
import { ensureNodeCa, type NodeCa } from '../../src/pki/node-ca.ts'
import { machineNodes } from '../../src/db/schema.ts'
import { SqliteConfigStore } from '../../src/db/config-store.ts'
import { SqliteImageStore } from '../../src/db/image-store.ts'
import { SqliteOperationStore } from '../../src/db/operation-store.ts'
import { SqliteRolloutStore } from '../../src/db/rollout-store.ts'
import { ImageService } from '../../src/images/image-service.ts'
import { CHUNK_SIZE, encodeManifest, type ImageManifest } from '../../src/image/manifest.ts'
import { generateSecretKey } from '../../src/signing/minisign.ts'
import { signManifest } from '../../src/signing/manifest-signature.ts'
import { loadNodeProto } from '../../src/grpc/proto.ts'
import { rolloutConnector } from '../../src/node-client/rollout-connector.ts'
import { OperationsService } from '../../src/provisioning/operations.ts'
import { RolloutService } from '../../src/provisioning/rollout-service.ts'
import type { FollowTimings } from '../../src/provisioning/rollout-runner.ts'

/*
 * A rolling upgrade's world on loopback: the real inventory (SQLite), the real image catalogue
 * with anvil-node 0.2.0 ready (0.3.0 only pending), Anvil's real node CA, and one node API double
 * per machine on its own 127.0.0.N, all on the same port as apid on a fleet.
 */

const GUID = '00000000-0000-4000-8000-000000000001'
const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

function manifestFor (artifact: Buffer, version: string): ImageManifest {
  const size = 8 * 1024 * 1024
  return {
    schema: 'anvil.dev/image/v1',
    name: 'anvil-node',
    version,
    arch: 'x86_64',
    created: '2026-12-01T00:00:00Z',
    securityVersion: 1,
    artifact: { file: `anvil-node-${version}.raw.zst`, compression: 'zstd', size, sha256: 'a'.repeat(64), chunkSize: CHUNK_SIZE, chunks: ['b'.repeat(64), 'c'.repeat(64)], compressedSize: artifact.length, compressedSha256: sha(artifact), frames: [artifact.length - 1, 1] },
    layout: { sectorSize: 512, minDiskBytes: size, diskGuid: GUID, partitions: [{ number: 1, name: 'ANVIL-A', typeGuid: GUID, partGuid: GUID, firstLba: 2048, lastLba: 4095 }], tables: { primary: { offset: 0, length: 17408 }, backup: { offset: size - 16896, length: 16896 } } },
    grubenv: { partition: 'ANVIL-A', offset: 2048 * 512, size: 1024 },
    slots: { A: 'ANVIL-A', B: 'ANVIL-A' }
  }
}

export const BOOT_BASE = 'http://127.0.0.1:8080'

export type RolloutRig = Awaited<ReturnType<typeof makeRolloutRig>>

/** `scripts[i]` is machine m-rollout-<i>'s node; `sleepHook` runs at every runner sleep (ms asked). */
export async function makeRolloutRig (scripts: readonly UpgradeScript[], options: { follow?: Partial<FollowTimings>, sleepHook?: (ms: number) => Promise<void> | void, file?: string } = {}) {
  const inv = makeInventory(options.file)
  const dir = mkdtempSync(join(tmpdir(), 'anvil-rollout-'))
  const ca: NodeCa = await ensureNodeCa(dir)
  const key = generateSecretKey()
  const images = new ImageService({ store: new SqliteImageStore(inv.db), dir: join(dir, 'images'), trustedKeys: () => [key.publicKey], clock: inv.clock })
  const artifact = randomBytes(4096)
  const manifest = encodeManifest(manifestFor(artifact, '0.2.0'))
  const signature = signManifest(manifest, key, { name: 'anvil-node', version: '0.2.0' })
  await images.importManifest(manifest, signature)
  await images.uploadArtifact('anvil-node', '0.2.0', Readable.from([artifact]))
  const pending = encodeManifest(manifestFor(randomBytes(16), '0.3.0'))
  await images.importManifest(pending, signManifest(pending, key, { name: 'anvil-node', version: '0.3.0' }))

  const log: RolloutLog = []
  const doubles: NodeUpgradeDouble[] = []
  let port = 0
  for (const [i, script] of scripts.entries()) {
    const d = await startNodeUpgradeDouble(ca, `127.0.0.${i + 2}`, port, script, log)
    port = d.port
    doubles.push(d)
  }
  const ids = scripts.map((_, i) => `m-rollout-${i}`)
  for (const [i, id] of ids.entries()) {
    const at = inv.clock.now()
    await inv.store.create({ id, uuid: null, reportedUuid: null, uuidStatus: 'missing', serial: `SN-${i}`, manufacturer: 'QEMU', product: 'Standard PC', firmware: 'efi', arch: 'x86_64', ip: null, state: 'provisioned', stateReason: null, heldState: null, createdAt: at, updatedAt: at, lastSeenAt: at }, [`52:54:00:aa:00:0${i}`])
    inv.db.insert(machineNodes).values({ machineId: id, publicKey: 'unused', imageName: 'anvil-node', imageVersion: '0.1.0', slot: 'A', configGeneration: 1, addresses: JSON.stringify(['fe80::1/64', `127.0.0.${i + 2}/8`]), hostname: `node-${i}`, bootId: 'b-1', firstReportedAt: at, reportedAt: at }).run()
  }
  const store = new SqliteRolloutStore(inv.db)
  const configs = new SqliteConfigStore(inv.db)
  const errors: unknown[] = []
  const proto = await loadNodeProto()
  const sleeps: number[] = []
  const rollouts = new RolloutService({
    store,
    machines: inv.machines,
    node: async (machineId) => await configs.node(machineId),
    release: async (ref) => {
      const r = await images.release(ref)
      return { ...r, artifactUrl: `${BOOT_BASE}/images/${encodeURIComponent(r.name)}/${encodeURIComponent(r.version)}` }
    },
    connector: rolloutConnector({ proto, ca, deadlineMs: 5000 }),
    events: inv.timeline,
    clock: inv.clock,
    nodePort: port,
    follow: { pollMs: 5, backoffMs: 7, maxBackoffMs: 28, ...options.follow },
    // No real waiting: a turn of the event loop, so the node's answers and the test's hook interleave.
    sleep: async (ms, signal) => {
      signal.throwIfAborted()
      sleeps.push(ms)
      await options.sleepHook?.(ms)
      await new Promise(resolve => setImmediate(resolve))
      signal.throwIfAborted()
    },
    onError: (err) => { errors.push(err) }
  })
  const operations = new OperationsService({ store: new SqliteOperationStore(inv.db), machine: async (k) => await inv.machines.get(k), progress: () => [], rollouts: store })
  return {
    inv,
    ca,
    images,
    manifest,
    signature,
    store,
    rollouts,
    operations,
    doubles,
    ids,
    log,
    sleeps,
    errors,
    close: async () => {
      await rollouts.stop()
      for (const d of doubles) d.stop()
      await inv.timeline.flush()
      rmSync(dir, { recursive: true, force: true })
    }
  }
}
