// The load side of `npm run bench -- node`: N clients of one node's apid, each on its own mutual
// TLS connection (a local subchannel pool, so grpc-js does not share one connection among them),
// each calling Version back to back for S seconds after one warm-up call. Runs inside the lab's
// namespace (ip netns exec), where the node's address is reachable; prints one JSON line:
// { clients, seconds, calls, errors, p50Ms, p99Ms, maxMs, perSecond, firstError }.
//
//   tsx bench/node-load.ts --address 10.77.0.100 --bundle admin.pem --clients 50 --seconds 20
import { parseArgs } from 'node:util'
import { loadNodeProto } from '../src/grpc/proto.ts'
import { NodeApiClient } from '../src/cli/node-client.ts'
import { readNodeBundle } from '../src/cli/node-bundle.ts'
import { percentile } from './context.ts'

const { values } = parseArgs({ options: { address: { type: 'string' }, bundle: { type: 'string' }, clients: { type: 'string', default: '50' }, seconds: { type: 'string', default: '20' } } })
if (values.address === undefined || values.bundle === undefined) throw new Error('usage: node-load --address IP --bundle FILE [--clients N] [--seconds S]')
const clients = Number(values.clients)
const seconds = Number(values.seconds)
const proto = await loadNodeProto()
const bundle = await readNodeBundle(values.bundle)
const pool = Array.from({ length: clients }, () => new NodeApiClient({ proto, address: { host: values.address as string, port: 50000 }, bundle, deadlineMs: 30_000, channelOptions: { 'grpc.use_local_subchannel_pool': 1 } }))
const latencies: number[] = []
let errors = 0
let firstError: string | undefined
try {
  await Promise.all(pool.map(async (c) => { await c.version() })) // every connection made, TLS done
  const end = Date.now() + seconds * 1000
  await Promise.all(pool.map(async (c) => {
    while (Date.now() < end) {
      const t0 = performance.now()
      try {
        await c.version()
        latencies.push(performance.now() - t0)
      } catch (err) {
        errors++
        firstError ??= (err as Error).message
      }
    }
  }))
} finally {
  for (const c of pool) c.close()
}
const sorted = [...latencies].sort((a, b) => a - b)
process.stdout.write(JSON.stringify({ clients, seconds, calls: latencies.length, errors, p50Ms: percentile(sorted, 50), p99Ms: percentile(sorted, 99), maxMs: sorted.at(-1) ?? NaN, perSecond: latencies.length / seconds, firstError }) + '\n')
