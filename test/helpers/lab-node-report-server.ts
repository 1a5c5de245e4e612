// The provisioning gRPC listener with the real NodeReportService over a SQLite file, run by the
// node first-boot e2e test inside its network namespace (`ip netns exec NS node --import tsx
// this DB CERTDIR LISTEN_IP`), where the VM's NIC is. The test prepares machines and tokens in the
// same database file and reads the outcome from it. Prints one JSON line {port, fingerprint} once
// listening; stops on SIGTERM.
import { Writable } from 'node:stream'
import { SqliteDiscoveryStore } from '../../src/db/discovery-store.ts'
import { SqliteLifecycleStore } from '../../src/db/lifecycle-store.ts'
import { SqliteMachineStore } from '../../src/db/machine-store.ts'
import { SqliteNodeReportStore } from '../../src/db/node-report-store.ts'
import { openDatabase } from '../../src/db/open.ts'
import { createProvisioningService } from '../../src/grpc/provisioning-server.ts'
import { ensureServerCertificate } from '../../src/grpc/tls.ts'
import { MachineService } from '../../src/inventory/machine-service.ts'
import { systemClock } from '../../src/inventory/ports.ts'
import { Timeline } from '../../src/inventory/timeline.ts'
import { createLogger } from '../../src/log/logger.ts'
import { AgentService } from '../../src/provisioning/agent-service.ts'
import { LifecycleService } from '../../src/provisioning/lifecycle-service.ts'
import { NodeReportService } from '../../src/provisioning/node-report-service.ts'

const [dbFile, certDir, ip] = process.argv.slice(2)
if (dbFile === undefined || certDir === undefined || ip === undefined) throw new Error('usage: lab-node-report-server.ts DB CERTDIR LISTEN_IP')
const db = openDatabase(dbFile)
const store = new SqliteMachineStore(db)
const timeline = new Timeline({ store, clock: systemClock, onError: (err) => { process.stderr.write(`timeline: ${String(err)}\n`) } })
const discovery = new SqliteDiscoveryStore(db)
const machines = new MachineService({ store, timeline, clock: systemClock, reportedMacs: async () => [] })
const lifecycle = new LifecycleService({ machines, store: new SqliteLifecycleStore(db, store), timeline, clock: systemClock })
const agents = new AgentService({ machines, lifecycle, store: discovery, events: timeline, clock: systemClock, tokenTtlMs: 3_600_000, autoAccept: [] })
const nodeReports = new NodeReportService({ store: new SqliteNodeReportStore(db), machines, lifecycle, events: timeline, clock: systemClock })
const cert = await ensureServerCertificate(certDir, { ip })
const log = createLogger('info', new Writable({ write (chunk: Buffer, _e, cb) { process.stderr.write(chunk); cb() } }))
const grpc = createProvisioningService({ listen: `${ip}:0`, gateway: agents, nodeReports, tls: cert, log })
await grpc.start(new AbortController().signal)
process.stdout.write(`${JSON.stringify({ port: grpc.address().port, fingerprint: cert.fingerprint })}\n`)
process.once('SIGTERM', () => { grpc.stop().then(() => { process.exit(0) }, () => { process.exit(1) }) })
