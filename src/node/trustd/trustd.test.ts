import assert from 'node:assert/strict'
import { createPublicKey, generateKeyPairSync, verify } from 'node:crypto'
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { test } from 'node:test'
import { nodeCertificateProof } from '../../node-state/certificate-proof.ts'
import { BUNDLE_FILES, writeBundle } from './bundle-files.ts'
import { prepareCertificateRequest } from './certificate-request.ts'
import { CertificateRenewer, type Bundle } from './renewer.ts'

test('the request names a fresh TLS key and is signed by the identity key over exactly its fields', () => {
  const identity = generateKeyPairSync('ed25519')
  const a = prepareCertificateRequest({ machineId: 'm-1', identity: identity.privateKey, ips: ['10.0.0.5'], dnsNames: ['node-1'], now: 1000 })
  const b = prepareCertificateRequest({ machineId: 'm-1', identity: identity.privateKey, ips: ['10.0.0.5'], dnsNames: ['node-1'], now: 1000 })
  assert.ok(!a.request.tlsPublicKey.equals(b.request.tlsPublicKey), 'a new key every time')
  assert.ok(verify(null, nodeCertificateProof(a.request), identity.publicKey, a.request.signature))
  assert.ok(!verify(null, nodeCertificateProof({ ...a.request, ips: ['10.0.0.6'] }), identity.publicKey, a.request.signature))
  const tls = createPublicKey(a.keyPem)
  assert.ok(tls.export({ format: 'der', type: 'spki' }).equals(a.request.tlsPublicKey), 'the key handed to apid is the one the request names')
})

/** Timers run by hand, a clock moved by hand. */
function fakeTime () {
  let now = 0
  const timers: Array<{ at: number, fn: () => void, cancelled: boolean }> = []
  return {
    now: () => now,
    setTimer: (fn: () => void, ms: number) => { const t = { at: now + ms, fn, cancelled: false }; timers.push(t); return { cancel: () => { t.cancelled = true } } },
    /** Moves to the next pending timer and runs it; its delay. */
    async next (): Promise<number> {
      const t = timers.filter(x => !x.cancelled).sort((x, y) => x.at - y.at)[0]
      assert.ok(t !== undefined, 'a timer is pending')
      timers.splice(timers.indexOf(t), 1)
      const delay = t.at - now
      now = t.at
      t.fn()
      await new Promise(resolve => setImmediate(resolve))
      return delay
    },
    pending: () => timers.filter(x => !x.cancelled).length
  }
}

const HOUR = 3_600_000

test('renewal: at half the remaining lifetime; failures retried with capped backoff while the old certificate stays', async () => {
  const time = fakeTime()
  const lines: string[] = []
  const installed: Bundle[] = []
  let fail = 0
  let n = 0
  const renewer = new CertificateRenewer({
    obtain: async () => {
      if (fail > 0) { fail--; throw new Error('ERR_NODE_UNREACHABLE: Anvil is away') }
      n++
      return { keyPem: `key ${n}`, certificatePem: `cert ${n}`, caPem: 'ca', notAfterMs: time.now() + 24 * HOUR }
    },
    install: async (b) => { installed.push(b) },
    now: time.now,
    setTimer: time.setTimer,
    log: (l) => lines.push(l),
    retryMs: 5000,
    retryCapMs: 20_000
  })
  await renewer.start()
  assert.deepEqual(installed.map(b => b.certificatePem), ['cert 1'])
  assert.equal(await time.next(), 12 * HOUR, 'renewed at half of a 24 h certificate')
  assert.deepEqual(installed.map(b => b.certificatePem), ['cert 1', 'cert 2'])
  fail = 4
  assert.equal(await time.next(), 12 * HOUR)
  assert.deepEqual([await time.next(), await time.next(), await time.next()], [5000, 10_000, 20_000], 'backoff doubles')
  assert.equal(await time.next(), 20_000, 'and is capped')
  assert.equal(renewer.current?.certificatePem, 'cert 3')
  assert.ok(lines.some(l => /the current one stays, valid until/.test(l)))
  renewer.stop()
  assert.equal(time.pending(), 0)
})

test('the first attempt failing leaves no certificate and retries', async () => {
  const time = fakeTime()
  const lines: string[] = []
  let fail = 1
  const renewer = new CertificateRenewer({
    obtain: async () => { if (fail-- > 0) throw new Error('no route'); return { keyPem: 'k', certificatePem: 'c', caPem: 'ca', notAfterMs: time.now() + HOUR } },
    install: async () => {},
    now: time.now,
    setTimer: time.setTimer,
    log: (l) => lines.push(l)
  })
  const current = (): Bundle | undefined => renewer.current
  await renewer.start()
  assert.equal(current(), undefined)
  assert.match(lines[0] ?? '', /no certificate yet; again in 5 s/)
  await time.next()
  assert.equal(current()?.certificatePem, 'c')
  renewer.stop()
})

test('the bundle files: the key 0600 in a 0700 directory, written whole', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'anvil-trustd-'))
  try {
    const at = join(dir, 'apid')
    await writeBundle(at, { keyPem: 'KEY', certificatePem: 'CERT', caPem: 'CA', notAfterMs: 0 })
    await writeBundle(at, { keyPem: 'KEY2', certificatePem: 'CERT2', caPem: 'CA', notAfterMs: 0 })
    assert.equal(statSync(at).mode & 0o777, 0o700)
    assert.equal(statSync(join(at, BUNDLE_FILES.key)).mode & 0o777, 0o600)
    assert.deepEqual([BUNDLE_FILES.key, BUNDLE_FILES.certificate, BUNDLE_FILES.ca].map(f => readFileSync(join(at, f), 'utf8')), ['KEY2', 'CERT2', 'CA'])
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
})
