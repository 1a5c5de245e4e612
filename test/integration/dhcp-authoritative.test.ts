// Authoritative DHCP against busybox udhcpc in a network namespace: lease, renew, release,
// reservation, and a server restart that keeps leases (SQLite). Root only; namespaces anvdh-a-*.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import Database from 'better-sqlite3'
import { NetnsPair, ServerProcess, missingPrerequisite } from '../../src/dhcp/testing-netns.ts'

const skip = missingPrerequisite(['busybox'])
if (skip !== undefined) console.log(`# skipping dhcp-authoritative: ${skip}`)

const MAC_A = '52:54:00:d5:00:0a'
const MAC_B = '52:54:00:d5:00:0b'
const MAC_R = '52:54:00:d5:00:50'

type LeaseRow = { address: number, mac: string, state: string, expires_at: number, updated_at: number }

function leaseRows (file: string): LeaseRow[] {
  const db = new Database(file, { readonly: true, fileMustExist: true })
  try {
    return db.prepare('SELECT address, mac, state, expires_at, updated_at FROM leases ORDER BY address').all() as LeaseRow[]
  } finally {
    db.close()
  }
}

const ip = (n: number): string => `${n >>> 24}.${(n >>> 16) & 255}.${(n >>> 8) & 255}.${n & 255}`

/** Polls `probe` every 100 ms until it returns a value, for at most timeoutMs. */
async function until<T> (what: string, probe: () => T | undefined, timeoutMs = 20_000): Promise<T> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    const v = probe()
    if (v !== undefined) return v
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('udhcpc gets, renews and releases a lease; reservation; leases survive a restart', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvdh-auth-'))
  const pair = new NetnsPair('anvdh-a', '10.214.0.1/24')
  const dbFile = join(dir, 'anvil.db')
  const log = join(dir, 'udhcpc.log')
  // udhcpc calls this on each event; it configures the address so renew can go unicast.
  const script = join(dir, 'udhcpc.sh')
  writeFileSync(script, `#!/bin/sh\necho "$1 \${ip:-}" >> ${log}\ncase "$1" in\n  deconfig) ip addr flush dev "$interface" ;;\n  bound|renew) ip addr flush dev "$interface"; ip addr add "$ip/\${mask:-24}" dev "$interface" ;;\nesac\n`)
  chmodSync(script, 0o755)
  const events = (): string[] => existsSync(log) ? readFileSync(log, 'utf8').trim().split('\n') : []
  /** A one-shot udhcpc run from a clean interface (optionally with a new MAC): the address it bound. */
  const obtain = (mac?: string): string | undefined => {
    pair.exec(pair.client, 'ip', ['addr', 'flush', 'dev', pair.clientIf])
    if (mac !== undefined) pair.exec(pair.client, 'ip', ['link', 'set', pair.clientIf, 'address', mac])
    writeFileSync(log, '')
    pair.exec(pair.client, 'busybox', ['udhcpc', '-q', '-n', '-f', '-i', pair.clientIf, '-s', script, '-t', '10', '-T', '1'])
    return events().find(l => l.startsWith('bound '))?.split(' ')[1]
  }
  const options = {
    serverAddress: '10.214.0.1',
    db: dbFile,
    dhcp: {
      mode: 'authoritative',
      listen: '0.0.0.0:67',
      subnets: [{ subnet: '10.214.0.0/24', range: '10.214.0.100-10.214.0.199', router: '10.214.0.1', dns: ['10.214.0.1'], leaseTime: '1h', reservations: [{ mac: MAC_R, address: '10.214.0.50' }] }]
    }
  }
  let server = new ServerProcess(pair, options)
  const udhcpc = (mac: string, extra: string[]): ReturnType<NetnsPair['spawn']> => {
    pair.exec(pair.client, 'ip', ['link', 'set', pair.clientIf, 'address', mac])
    return pair.spawn(pair.client, 'busybox', ['udhcpc', '-f', '-i', pair.clientIf, '-s', script, '-t', '10', '-T', '1', ...extra])
  }
  try {
    await server.waitFor(/^READY/)
    // 1. Lease.
    const a = udhcpc(MAC_A, [])
    const bound = await until('udhcpc bound', () => events().find(l => l.startsWith('bound ')))
    const addrA = bound.split(' ')[1]
    assert.equal(addrA, '10.214.0.100')
    const rowA = leaseRows(dbFile).find(r => r.mac === MAC_A)
    assert.equal(rowA?.state, 'bound')
    assert.equal(ip(rowA?.address ?? 0), addrA)
    // 2. Renew (SIGUSR1): a unicast REQUEST from the bound address, ACKed, the row extended.
    a.kill('SIGUSR1')
    await until('udhcpc renew', () => events().find(l => l.startsWith('renew ')))
    const renewed = await until('lease row renewed', () => leaseRows(dbFile).find(r => r.mac === MAC_A && r.updated_at > (rowA?.updated_at ?? 0)))
    assert.equal(renewed.state, 'bound')
    assert.ok(renewed.expires_at > (rowA?.expires_at ?? 0))
    // 3. Release (SIGUSR2): the row says released.
    a.kill('SIGUSR2')
    await until('lease row released', () => leaseRows(dbFile).find(r => r.mac === MAC_A && r.state === 'released'))
    a.kill('SIGTERM')
    // 4. The same client comes back and gets its released address again.
    assert.equal(obtain(), addrA)
    // 5. A second client gets a different address; then the server restarts.
    const addrB = obtain(MAC_B)
    assert.ok(addrB !== undefined && addrB !== addrA, `B got ${addrB}`)
    assert.equal(await server.stop(), 0)
    server = new ServerProcess(pair, options)
    await server.waitFor(/^READY/)
    // Same client, fresh DISCOVER (udhcpc remembers nothing): only the stored lease says .101, not a free .10x.
    assert.equal(obtain(), addrB)
    // 6. Reservation.
    assert.equal(obtain(MAC_R), '10.214.0.50')
    assert.equal(leaseRows(dbFile).find(r => r.mac === MAC_R)?.state, 'bound')
    // udhcpc is a plain DHCP client: no timeline events.
    assert.deepEqual(server.events(), [])
  } finally {
    await server.stop().catch(() => undefined)
    pair.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
