import { execFileSync } from 'node:child_process'
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'

/**
 * A node API PKI made with the real `openssl` CLI (an implementation independent of the code under
 * test): an Ed25519 CA, a server certificate for the node (serverAuth, SAN IP), and a client bundle
 * as `anvil certs client` prints it (PKCS#8 key, client certificate with O=ROLE and clientAuth, CA).
 */
export type NodeCliPki = {
  readonly dir: string
  readonly caPem: string
  readonly serverKeyPem: string
  readonly serverCertPem: string
  /** The bundle file (0600) and its text. */
  readonly bundleFile: string
  readonly bundlePem: string
}

export type PkiOptions = {
  /** The server certificate's IP SAN (default 127.0.0.1). */
  readonly serverIp?: string
  /** The client certificate's O= (default admin). */
  readonly role?: string
  readonly caName?: string
}

const CONFIG = (ip: string): string => `[req]
distinguished_name = dn
prompt = no
[dn]
CN = unused
[ca]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[server]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:${ip}
[client]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
`

function openssl (cwd: string, args: string[]): void {
  execFileSync('openssl', args, { cwd, stdio: ['ignore', 'ignore', 'pipe'] })
}

/** Makes the PKI in `dir` (created); every file is beside it for openssl's own checks. */
export function makeNodeCliPki (dir: string, options: PkiOptions = {}): NodeCliPki {
  mkdirSync(dir, { recursive: true })
  writeFileSync(join(dir, 'openssl.cnf'), CONFIG(options.serverIp ?? '127.0.0.1'))
  const cnf = ['-config', 'openssl.cnf']
  for (const k of ['ca', 'server', 'client']) openssl(dir, ['genpkey', '-algorithm', 'ed25519', '-out', `${k}.key`])
  openssl(dir, ['req', '-x509', '-new', ...cnf, '-extensions', 'ca', '-key', 'ca.key', '-subj', `/CN=${options.caName ?? 'anvil node CA'}`, '-days', '2', '-out', 'ca.pem'])
  const issue = (name: string, subject: string, serial: string): void => {
    openssl(dir, ['req', '-new', ...cnf, '-key', `${name}.key`, '-subj', subject, '-out', `${name}.csr`])
    openssl(dir, ['x509', '-req', '-in', `${name}.csr`, '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial, '-days', '1', '-extfile', 'openssl.cnf', '-extensions', name, '-out', `${name}.pem`])
  }
  issue('server', '/CN=m-0000001', '2')
  issue('client', `/O=${options.role ?? 'admin'}/CN=alice`, '3')
  // The independent check that the chain is what the tests assume.
  openssl(dir, ['verify', '-CAfile', 'ca.pem', 'server.pem', 'client.pem'])
  const read = (f: string): string => readFileSync(join(dir, f), 'utf8')
  const bundlePem = read('client.key') + read('client.pem') + read('ca.pem')
  const bundleFile = join(dir, 'admin.pem')
  writeFileSync(bundleFile, bundlePem, { mode: 0o600 })
  return { dir, caPem: read('ca.pem'), serverKeyPem: read('server.key'), serverCertPem: read('server.pem'), bundleFile, bundlePem }
}
