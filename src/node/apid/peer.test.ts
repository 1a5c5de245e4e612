import assert from 'node:assert/strict'
import { test } from 'node:test'
import type { PeerCertificate } from 'node:tls'
import { isCodedError } from '../../lib/errors.ts'
import { CLIENT_AUTH_OID, callerFromAuthContext } from './peer.ts'

/** The fields of a tls.PeerCertificate that peer.ts reads, as Node fills them in. */
function cert (subject: Record<string, string | string[]>, eku: string[] | null = [CLIENT_AUTH_OID]): PeerCertificate {
  return {
    subject,
    ...(eku === null ? {} : { ext_key_usage: eku }),
    raw: Buffer.from([0x30]),
    fingerprint256: 'AA:BB',
    serialNumber: '1000'
  } as unknown as PeerCertificate
}

function refused (fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => isCodedError(err) && err.code === 'ERR_NODE_CERT_INVALID' && pattern.test(err.message))
}

test('one O is a string, several are an array; the highest role wins', () => {
  assert.equal(callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'reader', CN: 'rita' }) }).role, 'reader')
  const c = callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: ['reader', 'users', 'admin', 'operator'], CN: 'maria' }) })
  assert.deepEqual(c, { role: 'admin', name: 'maria', fingerprint256: 'AA:BB', serialNumber: '1000' })
})

test('no certificate, no role, or no clientAuth: ERR_NODE_CERT_INVALID', () => {
  refused(() => callerFromAuthContext({}), /no certificate/)
  refused(() => callerFromAuthContext({ transportSecurityType: 'insecure' }), /no certificate/)
  // What Node returns when the peer sent no certificate.
  refused(() => callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: {} as PeerCertificate }), /no certificate/)
  refused(() => callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ CN: 'x' }) }), /no role/)
  refused(() => callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: ['Admin', 'os:admin'], CN: 'x' }) }), /no role/)
  refused(() => callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'admin', CN: 'x' }, null) }), /clientAuth/)
  refused(() => callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'admin', CN: 'x' }, ['1.3.6.1.5.5.7.3.1']) }), /clientAuth/)
})

test('the name is safe for a metadata value', () => {
  const utf8 = callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'admin', CN: 'Zoë\nx' }) })
  assert.equal(utf8.name, 'Zo%C3%AB%0Ax')
  const long = callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'admin', CN: 'a'.repeat(500) }) })
  assert.equal(long.name.length, 128)
  const none = callerFromAuthContext({ transportSecurityType: 'ssl', sslPeerCertificate: cert({ O: 'admin' }) })
  assert.equal(none.name, '')
})
