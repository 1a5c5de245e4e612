// Relayed DHCP: Kea's perfdhcp in relay mode (giaddr set, replies unicast to the relay on 67)
// runs DORA against our authoritative server with SQLite leases. Root only; namespaces anvdh-r-*.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import Database from 'better-sqlite3'
import { NetnsPair, ServerProcess, missingPrerequisite } from '../../src/dhcp/testing-netns.ts'

const skip = missingPrerequisite(['perfdhcp'])
if (skip !== undefined) console.log(`# skipping dhcp-relay: ${skip}`)

/** perfdhcp's per-exchange counters: "sent packets: N", "received packets: N", "drops: N". */
function exchanges (output: string): Array<{ sent: number, received: number, drops: number }> {
  const blocks = output.split(/\*{3}Statistics for: /).slice(1)
  return blocks.map(b => ({
    sent: Number(/sent packets: (\d+)/.exec(b)?.[1] ?? NaN),
    received: Number(/received packets: (\d+)/.exec(b)?.[1] ?? NaN),
    drops: Number(/drops: (\d+)/.exec(b)?.[1] ?? NaN)
  }))
}

test('perfdhcp as a relay completes DORA through giaddr with zero drops', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvdh-relay-'))
  const pair = new NetnsPair('anvdh-r', '10.215.0.1/24', '10.215.0.2/24')
  const dbFile = join(dir, 'anvil.db')
  const server = new ServerProcess(pair, {
    serverAddress: '10.215.0.1',
    db: dbFile,
    dhcp: {
      mode: 'authoritative',
      listen: '0.0.0.0:67',
      // The relay's subnet (giaddr 10.215.0.2) is the one that hands out addresses.
      subnets: [{ subnet: '10.215.0.0/24', range: '10.215.0.10-10.215.0.250', router: '10.215.0.1', leaseTime: '1h' }]
    }
  })
  try {
    await server.waitFor(/^READY/)
    // perfdhcp exits 3 when any packet was dropped; the counters below say which. -W: wait 2 s
    // for the last replies before exiting (with the default 0 the last OFFER can count as a drop).
    const run = pair.run(pair.client, 'perfdhcp', ['-4', '-l', '10.215.0.2', '-R', '50', '-n', '200', '-r', '100', '-W', '2000000', '10.215.0.1'], 60_000)
    const out = `${run.stdout}\n${run.stderr}\nexit status ${run.status}`
    console.log(out.split('\n').map(l => `# ${l}`).join('\n'))
    const [discover, request] = exchanges(out)
    assert.ok(discover !== undefined && request !== undefined, `perfdhcp output:\n${out}`)
    assert.equal(discover.sent, 200, out)
    assert.equal(discover.drops, 0, out)
    assert.equal(discover.received, 200, out)
    assert.ok(request.sent > 0, out)
    assert.equal(request.drops, 0, out)
    assert.equal(request.received, request.sent, out)
    // Every ACK was preceded by its durable lease: 50 simulated clients, 50 bound rows at most.
    const db = new Database(dbFile, { readonly: true })
    const rows = db.prepare("SELECT count(*) AS n, count(DISTINCT mac) AS macs FROM leases WHERE state = 'bound'").get() as { n: number, macs: number }
    db.close()
    assert.ok(rows.n > 0 && rows.n <= 50 && rows.n === rows.macs, JSON.stringify(rows))
    server.child.kill('SIGUSR1')
    const stats = JSON.parse((await server.waitFor(/^STATS/)).slice(6)) as { replied: number, malformed: number, failed: number, commitBatches: number }
    assert.equal(stats.malformed, 0)
    assert.equal(stats.failed, 0)
    assert.ok(stats.replied >= discover.received + request.received)
    console.log(`# relay: ${request.received} ACKs in ${stats.commitBatches} commit batches`)
  } finally {
    await server.stop().catch(() => undefined)
    pair.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
