// A fresh clone boots BIOS and UEFI clients with no fetch step: the committed HEAD of this
// checkout, cloned into a temporary directory (fetch.sh never run there), holds the iPXE first
// stages, they match the committed SHA256SUMS and PROVENANCE, their licence travels with them,
// and `anvil serve` started from the clone (as `npm start` does: default bootAssets, relative to
// the clone) says they match and serves them over TFTP byte for byte. No root: TFTP on a high
// loopback port, DHCP off.
import { test } from 'node:test'
import assert from 'node:assert/strict'
import { execFileSync } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { skipReason } from '../helpers/requirements.ts'
import { REPO, startServerProcess, stopServerProcess } from '../helpers/server-process.ts'

const FIRST_STAGES = ['undionly.kpxe', 'snponly.efi', 'ipxe.efi']
const skip = skipReason('the fresh-clone test', { programs: ['git', 'curl'], files: [join(REPO, '.git'), join(REPO, 'node_modules')] })

const sha256 = (bytes: Buffer): string => createHash('sha256').update(bytes).digest('hex')

/** name → hash from a sha256sum file. */
function sums (text: string): Map<string, string> {
  return new Map(text.trim().split('\n').map(l => { const [hash = '', name = ''] = l.split(/\s+\*?/); return [name, hash] }))
}

test('a fresh clone has the iPXE first stages, matching SHA256SUMS, and serves them over TFTP at once', { skip, timeout: 120_000 }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-clone-'))
  const clone = join(dir, 'anvil')
  const git = (...args: string[]): string => execFileSync('git', ['-c', `safe.directory=${REPO.replace(/\/$/, '')}`, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  try {
    // What a clone of this branch gets: the committed HEAD, nothing from the working tree.
    git('init', '-q', clone)
    git('-C', clone, 'fetch', '-q', '--no-tags', REPO, 'HEAD')
    git('-C', clone, 'checkout', '-q', 'FETCH_HEAD')
    const assets = join(clone, 'boot-assets')

    const listed = sums(readFileSync(join(assets, 'SHA256SUMS'), 'utf8'))
    assert.deepEqual([...listed.keys()].sort(), [...FIRST_STAGES].sort(), 'SHA256SUMS lists the three first stages')
    const provenance = readFileSync(join(assets, 'PROVENANCE'), 'utf8')
    assert.match(provenance, /^package: ipxe$/m)
    assert.match(provenance, /^version: 1\.0\.0\+git-20190125\.36a4c85-5\.1$/m)
    assert.match(provenance, /^source: https:\/\/snapshot\.debian\.org\/package\/ipxe\//m)
    for (const f of FIRST_STAGES) {
      const path = join(assets, f)
      assert.ok(existsSync(path), `${f} is in a fresh clone`)
      const hash = sha256(readFileSync(path))
      assert.equal(hash, listed.get(f), `${f} matches SHA256SUMS`)
      assert.ok(provenance.includes(`sha256: ${hash}  ${f}`), `PROVENANCE records ${f}`)
    }
    assert.match(readFileSync(join(assets, 'COPYING'), 'utf8'), /GNU General Public License/)
    assert.match(readFileSync(join(assets, 'licenses', 'GPL-2'), 'utf8'), /GNU GENERAL PUBLIC LICENSE\s+Version 2, June 1991/)
    assert.match(readFileSync(join(assets, 'licenses', 'ipxe-debian-copyright'), 'utf8'), /Upstream-Name: ipxe/)

    // `npm install` would fill node_modules; reuse this checkout's. The config only moves the
    // ports out of the privileged range; bootAssets stays the default, ./boot-assets of the clone.
    symlinkSync(realpathSync(join(REPO, 'node_modules')), join(clone, 'node_modules'))
    const config = join(dir, 'anvil.yaml')
    writeFileSync(config, [
      `dataDir: ${join(dir, 'var')}`,
      'server: { address: 127.0.0.1 }',
      'http: { listen: "127.0.0.1:0" }',
      'api: { listen: "127.0.0.1:0" }',
      'grpc: { listen: "127.0.0.1:0" }',
      'tftp: { listen: "127.0.0.1:0" }',
      'dhcp: { mode: "off" }',
      ''
    ].join('\n'))
    const server = await startServerProcess(config, [], { anvil: [join(clone, 'bin', 'anvil')], cwd: clone })
    try {
      const checked = server.lines.find(l => typeof l.msg === 'string' && l.msg.startsWith('boot assets:'))
      assert.equal(checked?.msg, 'boot assets: undionly.kpxe, snponly.efi, ipxe.efi match SHA256SUMS', JSON.stringify(server.lines.filter(l => l.level !== 30)))
      assert.equal(checked?.bootAssets, realpathSync(assets))
      const ready = server.lines.find(l => l.msg === 'anvil ready') as { listening: Record<string, string> }
      const tftp = ready.listening.tftp
      assert.ok(tftp !== undefined, 'TFTP is listening')
      for (const f of ['snponly.efi', 'undionly.kpxe']) {
        const out = join(dir, `got-${f}`)
        execFileSync('curl', ['-sS', '--max-time', '30', '-o', out, `tftp://${tftp}/${f}`])
        assert.equal(sha256(readFileSync(out)), listed.get(f), `${f} over TFTP from the fresh clone`)
      }
    } finally {
      assert.equal(await stopServerProcess(server), 0)
    }
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
