// Test support for the PKI tests (unit, routes, CLI): the real openssl CLI as the independent
// check, and a real mutual-TLS handshake on 127.0.0.1. Not used by the server.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { once } from 'node:events'
import { connect, createServer, type PeerCertificate } from 'node:tls'
import type { AddressInfo } from 'node:net'
import { skipReason } from '../../test/helpers/requirements.ts'

/** Why the openssl cross-checks cannot run, or undefined (under CI a missing openssl throws). */
export const opensslSkip: string | undefined = skipReason('openssl cross-checks', { programs: ['openssl'] })

/** Runs openssl with an explicit argv; its status and output, never a throw. */
export function openssl (args: readonly string[]): { status: number | null, stdout: string, stderr: string } {
  const r = spawnSync('openssl', args, { encoding: 'utf8', input: '', timeout: 30_000 })
  return { status: r.status, stdout: r.stdout, stderr: r.stderr }
}

/** A fresh temporary directory, a writer of files in it, and its removal. */
export function tempDir (prefix = 'anvil-pki-'): { dir: string, file: (name: string, text: string) => string, remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix))
  return {
    dir,
    file: (name, text) => { const f = join(dir, name); writeFileSync(f, text); return f },
    remove: () => { rmSync(dir, { recursive: true, force: true }) }
  }
}

export type TlsEnd = { readonly key?: string, readonly cert?: string, readonly ca: string }

/** What the server side of one handshake saw: the client's certificate if it was accepted, else the error. */
export type HandshakeResult = { readonly accepted: true, readonly peer: PeerCertificate } | { readonly accepted: false, readonly error: string }

/**
 * One TLS handshake on 127.0.0.1 with the server demanding a client certificate that chains to
 * its `ca` (requestCert, rejectUnauthorized), the client checking the server's against its own
 * `ca` and the IP SAN 127.0.0.1. Resolves on the server's verdict: an event, never a timer.
 */
export async function mutualTls (server: Required<TlsEnd>, client: TlsEnd): Promise<HandshakeResult> {
  const srv = createServer({ key: server.key, cert: server.cert, ca: server.ca, requestCert: true, rejectUnauthorized: true })
  const verdict = new Promise<HandshakeResult>((resolve) => {
    srv.on('secureConnection', (s) => { resolve({ accepted: true, peer: s.getPeerCertificate() }); s.end() })
    srv.on('tlsClientError', (err) => { resolve({ accepted: false, error: err.message }) })
  })
  srv.listen(0, '127.0.0.1')
  await once(srv, 'listening')
  const socket = connect({ host: '127.0.0.1', port: (srv.address() as AddressInfo).port, ca: client.ca, ...(client.key === undefined ? {} : { key: client.key }), ...(client.cert === undefined ? {} : { cert: client.cert }) })
  // A refused client sees a reset or an alert; the server's verdict is what the tests assert.
  socket.on('error', () => {})
  try {
    return await verdict
  } finally {
    socket.destroy()
    await new Promise<void>((resolve) => { srv.close(() => { resolve() }) })
  }
}
