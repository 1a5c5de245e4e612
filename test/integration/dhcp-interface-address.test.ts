// DHCP on an interface that has no carrier and no address at start (dhcp.interface, authoritative
// mode, no server.address: wired as src/bin/server.ts wires it), against busybox udhcpc in a
// network namespace: the server starts and says so once, answers nothing while the interface has
// no address, leases as soon as one appears, and follows a change of address (option 54).
// Root only; namespaces anvdh-w-*.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { setTimeout as sleep } from 'node:timers/promises'
import { NetnsPair, ServerProcess, missingPrerequisite } from '../../src/dhcp/testing-netns.ts'

const skip = missingPrerequisite(['busybox'])
if (skip !== undefined) console.log(`# skipping dhcp-interface-address: ${skip}`)

/** Polls `probe` every 100 ms until it returns a value, for at most timeoutMs. */
async function until<T> (what: string, probe: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  for (let waited = 0; waited < timeoutMs; waited += 100) {
    const v = probe()
    if (v !== undefined) return v
    await sleep(100)
  }
  throw new Error(`timed out waiting for ${what}`)
}

test('authoritative DHCP waits for its interface\'s address, then leases, and follows an address change', { skip }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvdh-watch-'))
  const pair = new NetnsPair('anvdh-w', '10.217.0.1/24')
  const ipSrv = (...args: string[]): string => pair.exec(pair.server, 'ip', args)
  const log = join(dir, 'udhcpc.log')
  // udhcpc's script gets the lease in its environment: the address and the server id (option 54).
  const script = join(dir, 'udhcpc.sh')
  writeFileSync(script, `#!/bin/sh\n[ "$1" = bound ] && echo "bound \${ip} \${serverid}" >> ${log}\nexit 0\n`)
  chmodSync(script, 0o755)
  const udhcpc = (tries: number): { status: number | null, bound: string[] | undefined } => {
    writeFileSync(log, '')
    const r = pair.run(pair.client, 'busybox', ['udhcpc', '-n', '-q', '-f', '-i', pair.clientIf, '-s', script, '-t', String(tries), '-T', '1'], 30_000)
    const line = existsSync(log) ? readFileSync(log, 'utf8').split('\n').find(l => l.startsWith('bound ')) : undefined
    return { status: r.status, bound: line?.split(' ').slice(1) }
  }
  /** Gives the server's interface an address, and the broadcast route replies need (RFC 2131 §4.1). */
  const setAddress = (cidr: string): void => {
    ipSrv('addr', 'flush', 'dev', pair.serverIf)
    ipSrv('addr', 'add', cidr, 'dev', pair.serverIf)
    ipSrv('route', 'replace', '255.255.255.255', 'dev', pair.serverIf)
  }
  // No address, and no carrier: the client's end of the veth is down.
  ipSrv('addr', 'flush', 'dev', pair.serverIf)
  pair.exec(pair.client, 'ip', ['link', 'set', pair.clientIf, 'down'])
  const server = new ServerProcess(pair, {
    db: join(dir, 'anvil.db'),
    logLevel: 'info',
    dhcp: {
      mode: 'authoritative',
      interface: pair.serverIf,
      listen: '0.0.0.0:67',
      subnets: [{ subnet: '10.217.0.0/24', range: '10.217.0.100-10.217.0.199', router: '10.217.0.1', leaseTime: '1h' }]
    }
  })
  try {
    await server.waitFor(/^READY/)
    const warnings = server.errLines.filter(l => (JSON.parse(l) as { level: number }).level === 40)
    assert.equal(warnings.length, 1, server.errLines.join('\n'))
    assert.match(warnings[0] ?? '', new RegExp(`interface ${pair.serverIf} has no IPv4 address yet.*will serve as soon as`))

    // Carrier, still no address: DISCOVERs arrive and go unanswered.
    pair.exec(pair.client, 'ip', ['link', 'set', pair.clientIf, 'up'])
    const none = udhcpc(2)
    assert.notEqual(none.status, 0, 'no lease while the interface has no address')
    assert.equal(none.bound, undefined)

    setAddress('10.217.0.1/24')
    // The server reads addresses once a second; udhcpc resends every second for up to 10 s.
    const first = udhcpc(10)
    assert.equal(first.status, 0)
    assert.deepEqual(first.bound, ['10.217.0.100', '10.217.0.1'])

    setAddress('10.217.0.2/24')
    // Once the server has seen the new address (it reads them once a second), a fresh client
    // gets the same lease from the new server id.
    await until('the server to follow the new address', () => server.errLines.find(l => l.includes('to 10.217.0.2: serving')))
    const second = udhcpc(10)
    assert.equal(second.status, 0)
    assert.deepEqual(second.bound, ['10.217.0.100', '10.217.0.2'], 'same lease, and the server id is the new address')
    assert.equal(server.errLines.filter(l => l.includes('has no IPv4 address yet')).length, 1, 'the start warning was printed once')
  } finally {
    await server.stop().catch(() => undefined)
    pair.close()
    rmSync(dir, { recursive: true, force: true })
  }
})
