// The install's integration rig: the real agent (runAgent on a copy of the captured vm1 tree, its
// vda a plain 64 MiB file) against the real server side of the install (AgentService with
// InstallTasks, ProvisionService, the TLS gRPC listener, SQLite), through a loopback TcpRelay
// that misbehaves on cue, and a real HTTP server on 127.0.0.1 serving the REAL signed test image
// (install-image.ts) with Range, paced, that can hold its response at a byte or cut it once.
// A "server process" is everything built over the database: a restart is a fresh one.
import { createHash, randomBytes } from 'node:crypto'
import { cpSync, mkdtempSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { fileURLToPath } from 'node:url'
import { SqliteConfigStore } from '../../src/db/config-store.ts'
import { SqliteImageStore } from '../../src/db/image-store.ts'
import { SqliteNodeTokens } from '../../src/db/node-tokens.ts'
import type { ServerCertificate } from '../../src/grpc/tls.ts'
import { parseRange } from '../../src/http/static-file.ts'
import { SecretBox } from '../../src/lib/secret-box.ts'
import { InstallTasks } from '../../src/provisioning/install-tasks.ts'
import { ProvisionService } from '../../src/provisioning/provision-service.ts'
import { ObservedGateway, startProvisioning } from './agent-server.ts'
import { MIB, oldDisk, type TestImage } from './install-image.ts'
import { makeInventory, makeProvisioning } from './inventory.ts'

export const VM1 = fileURLToPath(new URL('../fixtures/agent/vm1', import.meta.url))
/** vm1's boot NIC, and its vda as the captured sysfs has it (131072 sectors, serial DISK123). */
export const VM1_MAC = '52:54:00:a1:00:02'
export const VDA = { serial: 'DISK123', bytes: 64 * MIB } as const
export const ARTIFACT_PATH = '/images/anvil-node/0.1.0'

/** A machine config that installs to vm1's vda, chosen by its serial. */
export const MACHINE_CONFIG = [
  'version: v1alpha1',
  'kind: MachineConfig',
  'hostname: node-reconnect-1',
  'install:',
  '  disk:',
  `    serial: ${VDA.serial}`,
  'network:',
  '  interfaces:',
  `    - mac: "${VM1_MAC}"`,
  '      dhcp: true',
  ''
].join('\n')

/** A private copy of the vm1 tree whose vda is a 64 MiB file holding an old install (a valid GPT over a pattern). */
export function machineTree (): string {
  const root = mkdtempSync(join(tmpdir(), 'anvil-install-rig-'))
  cpSync(VM1, root, { recursive: true, verbatimSymlinks: true })
  writeFileSync(join(root, 'dev/vda'), oldDisk(VDA.bytes / MIB))
  return root
}

type Hold = { at: number, reached: () => void, gate: Promise<void> }

/**
 * The boot listener's image route as far as the agent can tell: `GET /images/anvil-node/0.1.0`
 * with ETag, Range and If-Range, the body sent in 64 KiB pieces `paceMs` apart (so an install
 * takes a while). holdAt() stops a response at a byte of the artifact until released;
 * cutOnceAt() drops the connection of the first response that reaches that byte.
 */
export class ImageHttpServer {
  readonly #body: Buffer
  readonly #etag: string
  readonly #paceMs: number
  readonly #server: Server
  #hold: Hold | undefined
  #cut: number | undefined
  /** The Range header of every request, in order. */
  readonly ranges: Array<string | undefined> = []
  /** Responses the server stopped on purpose (cutOnceAt). */
  cuts = 0

  constructor (body: Buffer, options: { paceMs?: number } = {}) {
    this.#body = body
    this.#etag = `"${createHash('sha256').update(body).digest('hex').slice(0, 16)}"`
    this.#paceMs = options.paceMs ?? 5
    this.#server = createServer((req, res) => {
      this.#serve(req, res).catch(() => { res.destroy() })
    })
  }

  async start (): Promise<string> {
    await new Promise<void>((resolve) => { this.#server.listen(0, '127.0.0.1', resolve) })
    return `http://127.0.0.1:${(this.#server.address() as AddressInfo).port}`
  }

  /** The next response that reaches byte `at` waits there: `reached` resolves, `release` lets it go on. */
  holdAt (at: number): { reached: Promise<void>, release: () => void } {
    let reached: () => void = () => {}
    let release: () => void = () => {}
    const reachedP = new Promise<void>((resolve) => { reached = resolve })
    const gate = new Promise<void>((resolve) => { release = resolve })
    this.#hold = { at, reached, gate }
    return { reached: reachedP, release }
  }

  /** The first response that reaches byte `at` sends it and then loses its connection. */
  cutOnceAt (at: number): void {
    this.#cut = at
  }

  async close (): Promise<void> {
    this.#server.closeAllConnections()
    await new Promise<void>((resolve) => { this.#server.close(() => { resolve() }) })
  }

  async #serve (req: IncomingMessage, res: ServerResponse): Promise<void> {
    this.ranges.push(req.headers.range)
    if (req.method !== 'GET' || req.url !== ARTIFACT_PATH) {
      res.statusCode = 404
      res.end()
      return
    }
    const body = this.#body
    const ifRange = req.headers['if-range']
    const range = ifRange === undefined || ifRange === this.#etag ? parseRange(req.headers.range, body.length) : undefined
    if (range === 'unsatisfiable') {
      res.statusCode = 416
      res.end()
      return
    }
    const start = range?.start ?? 0
    const stop = range === undefined ? body.length : range.end + 1
    res.setHeader('ETag', this.#etag)
    res.setHeader('Accept-Ranges', 'bytes')
    res.setHeader('Content-Length', stop - start)
    if (range !== undefined) {
      res.statusCode = 206
      res.setHeader('Content-Range', `bytes ${start}-${stop - 1}/${body.length}`)
    }
    let at = start
    while (at < stop) {
      if (res.destroyed) return
      let end = Math.min(stop, at + 64 * 1024)
      const hold = this.#hold
      const cut = this.#cut
      if (hold !== undefined && at < hold.at && end >= hold.at) end = hold.at
      if (cut !== undefined && at < cut && end >= cut) end = cut
      await write(res, body.subarray(at, end))
      at = end
      if (cut !== undefined && at === cut && this.#cut === cut) {
        this.#cut = undefined
        this.cuts++
        res.socket?.destroy()
        return
      }
      if (hold !== undefined && at === hold.at && this.#hold === hold) {
        this.#hold = undefined
        hold.reached()
        await hold.gate
      }
      await sleep(this.#paceMs)
    }
    res.end()
  }
}

async function write (res: ServerResponse, bytes: Buffer): Promise<void> {
  await new Promise<void>((resolve, reject) => {
    res.write(bytes, (err) => { if (err == null) resolve(); else reject(err) })
  })
}

/** What every server process shares: the database, the keys on disk, the image catalogue. */
export type World = {
  inv: ReturnType<typeof makeInventory>
  img: TestImage
  secrets: SecretBox
  cert: ServerCertificate
  baseUrl: string
}

/** A database with the test image imported (its REAL manifest and signature) and ready. */
export async function makeWorld (img: TestImage, cert: ServerCertificate, baseUrl: string): Promise<World> {
  const inv = makeInventory()
  // The agent checks the config's expiry against the real clock: the server's must agree.
  inv.clock.t = Date.now()
  const images = new SqliteImageStore(inv.db)
  const { name, version } = img.manifest
  await images.insert({
    name,
    version,
    manifest: img.manifestBytes.toString('utf8'),
    signature: img.manifestSignature,
    keyId: img.imageKey.keyId,
    state: 'pending',
    file: img.manifest.artifact.file,
    compressedSize: img.compressed.length,
    size: img.raw.length,
    importedAt: inv.clock.now(),
    readyAt: null
  })
  await images.markReady(name, version, inv.clock.now())
  return { inv, img, secrets: new SecretBox(randomBytes(32)), cert, baseUrl }
}

/**
 * One server process over the world's database: the provisioning domain with InstallTasks wired
 * as src/bin/server.ts wires it (this rig has no BMC, so a committed install is followed by an
 * in-band reboot task), ProvisionService, and the TLS gRPC listener on 127.0.0.1:0.
 */
export async function startServerProcess (w: World): Promise<{ p: ReturnType<typeof makeProvisioning>, provision: ProvisionService, gateway: ObservedGateway, port: number, stop: () => Promise<void> }> {
  const { inv, img } = w
  const images = new SqliteImageStore(inv.db)
  const configs = new SqliteConfigStore(inv.db)
  const p = makeProvisioning(inv, {
    install: (lifecycle) => new InstallTasks({
      lifecycle,
      images,
      configs,
      tokens: new SqliteNodeTokens(inv.db),
      secrets: w.secrets,
      configKey: img.configKey.publicKey,
      imageKeys: () => [img.imageKey.publicKey],
      baseUrl: () => w.baseUrl,
      events: inv.timeline,
      clock: inv.clock,
      bootFromDisk: async () => undefined,
      rebootInBand: async (machineId) => { await p.discovery.queueAgentTask(machineId, 'reboot', 'queued by Anvil: the install is written, and no BMC booted the machine from its disk') }
    })
  })
  const provision = new ProvisionService({ machines: inv.machines, lifecycle: p.lifecycle, agents: p.agents, hardware: p.store, images, configs, secrets: w.secrets, configKey: img.configKey, events: inv.timeline, clock: inv.clock })
  const gateway = new ObservedGateway(p.agents)
  const { service, port } = await startProvisioning(gateway, w.cert)
  let stopped = false
  const stop = async (): Promise<void> => { if (!stopped) { stopped = true; await service.stop() } }
  return { p, provision, gateway, port, stop }
}

/** Polls `check` every 25 ms; fails with `what` after `timeoutMs` (a bound, not an assertion on time). */
export async function until (what: string, check: () => Promise<boolean> | boolean, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`)
    await sleep(25)
  }
}
