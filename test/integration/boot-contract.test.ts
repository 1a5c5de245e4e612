import { test, after } from 'node:test'
import assert from 'node:assert/strict'
import { execFile } from 'node:child_process'
import { promisify } from 'node:util'
import { createHash } from 'node:crypto'
import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import { parseConfig } from '../../src/config/load.ts'
import { dhcpBootFileNames } from '../../src/dhcp/server.ts'
import { BootAssets } from '../../src/boot/assets.ts'
import { createTftpService } from '../../src/tftp/server.ts'
import { buildBootApp } from '../../src/http/boot-app.ts'
import { createLogger } from '../../src/log/logger.ts'
import { makeInventory, makeProvisioning } from '../helpers/inventory.ts'
import { skipReason } from '../helpers/requirements.ts'
import { REPO } from '../helpers/server-process.ts'

const ROOT = join(REPO, 'boot-assets')
const skip = skipReason('the boot contract test', { programs: ['curl'], files: [join(ROOT, 'undionly.kpxe'), join(ROOT, 'snponly.efi'), join(ROOT, 'ipxe.efi')] })

// The contract (ARCHITECTURE.md, Tests): every boot file name and URL a DHCP reply can advertise
// is actually served — TFTP names by the real TFTP service, URLs by the HTTP boot app — for the
// default config and for the alternative UEFI first stage.
test('every file DHCP can advertise is served by TFTP or HTTP', { skip }, async () => {
  const log = createLogger('silent')
  const assets = new BootAssets(ROOT)
  const inv = makeInventory()
  const tftp = createTftpService({ listen: '127.0.0.1:0', assets, events: inv.timeline, log, limits: { maxTransfers: 8, maxBlockSize: 65464, maxWindowSize: 16, timeout: 1, retries: 3 } })
  await tftp.start(new AbortController().signal)
  const app = buildBootApp({ machines: inv.machines, lifecycle: makeProvisioning(inv).lifecycle, assets, events: inv.timeline, baseUrl: () => 'http://127.0.0.1:8080', capabilities: { recheckSeconds: 30 }, log })
  after(async () => { await tftp.stop(); await app.close() })
  const sums = new Map(readFileSync(join(ROOT, 'SHA256SUMS'), 'utf8').trim().split('\n').map(l => { const [h, f] = l.split(/\s+/); return [f, h] as const }))

  for (const overrides of [{}, { efiX64BootFile: 'ipxe.efi' }]) {
    const names = dhcpBootFileNames(parseConfig({ dhcp: overrides }).dhcp)
    assert.ok(names.tftp.length >= 2 && names.http.length >= 2)
    for (const name of names.tftp) {
      // Async: the TFTP server runs in this process and must keep its event loop.
      const { stdout: body } = await promisify(execFile)('curl', ['-sS', '--max-time', '20', '--tftp-blksize', '1468', `tftp://127.0.0.1:${tftp.address().port}/${name}`], { encoding: 'buffer' })
      assert.equal(createHash('sha256').update(body).digest('hex'), sums.get(name), `TFTP ${name}`)
    }
    for (const path of names.http) {
      const res = await app.inject({ url: path })
      assert.equal(res.statusCode, 200, `HTTP ${path}`)
      if (path.startsWith('/assets/')) {
        assert.equal(createHash('sha256').update(res.rawPayload).digest('hex'), sums.get(path.slice('/assets/'.length)), `HTTP ${path}`)
      } else {
        assert.match(res.body, /^#!ipxe/)
      }
    }
    // The arm64 first stage is advertised only when present; Debian ships none, so it must not resolve.
    for (const name of names.optional.filter(n => !n.startsWith('/'))) {
      await assert.rejects(assets.resolve(name), { code: 'ERR_ASSET_NOT_FOUND' })
    }
  }
})
