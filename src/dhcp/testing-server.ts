// Test support: runs the DHCP service alone (for the integration tests, inside a namespace).
// argv[2]: JSON { dhcp: <config.dhcp>, serverAddress?, db?: file }. Prints "READY {addresses}",
// one "EVENT {json}" line per timeline event, "STATS {json}" on SIGUSR1; exits 0 on SIGTERM.
// Without serverAddress, the address is detected as src/bin/server.ts does (following
// dhcp.interface when one is named). Log lines (warn and above, or logLevel) go to stderr.
import { parseConfig } from '../config/load.ts'
import { BootAssets } from '../boot/assets.ts'
import { openDatabase } from '../db/open.ts'
import { SqliteLeaseStore } from '../db/lease-store.ts'
import { createLogger } from '../log/logger.ts'
import type { BootEvent, BootEventSink } from '../inventory/events.ts'
import { createDhcpService } from './server.ts'
import { detectServerAddress } from '../bin/listen.ts'

type Options = { dhcp: Record<string, unknown>, serverAddress?: string, db?: string, assets?: string, logLevel?: string }

const opts = JSON.parse(process.argv[2] ?? '{}') as Options
const config = parseConfig({ dhcp: opts.dhcp }).dhcp
const db = opts.db === undefined ? undefined : openDatabase(opts.db)
const leaseStore = db === undefined ? undefined : new SqliteLeaseStore(db)
const events: BootEventSink = {
  record (e: BootEvent): void { process.stdout.write(`EVENT ${JSON.stringify(e)}\n`) },
  noteAddress (mac: string, ip: string): void { process.stdout.write(`NOTE ${JSON.stringify({ mac, ip })}\n`) }
}
const server = opts.serverAddress === undefined ? detectServerAddress(config.interface) : { address: opts.serverAddress }
const svc = createDhcpService({
  config,
  serverAddress: () => server.address,
  httpBaseUrl: () => `http://${server.address}:8080`,
  bootAssets: new BootAssets(opts.assets ?? '.'),
  leaseStore,
  events,
  log: createLogger(opts.logLevel ?? 'warn', process.stderr)
})
await svc.start(new AbortController().signal)
process.stdout.write(`READY ${JSON.stringify(svc.addresses())}\n`)
process.on('SIGUSR1', () => { process.stdout.write(`STATS ${JSON.stringify(svc.stats())}\n`) })
process.once('SIGTERM', () => {
  svc.stop().then(() => {
    process.stdout.write(`STATS ${JSON.stringify(svc.stats())}\n`)
    db?.$client.close()
    process.exit(0)
  }, (err: unknown) => {
    process.stderr.write(`stop failed: ${String(err)}\n`)
    process.exit(1)
  })
})
