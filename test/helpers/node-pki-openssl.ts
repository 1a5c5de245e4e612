/**
 * A test PKI for the node API made by the real `openssl` CLI, an implementation independent of
 * the code under test: an Ed25519 node CA and a second, unrelated CA; apid server certificates
 * (IP SAN 127.0.0.1, serverAuth); client certificates with O=admin, operator, reader, several O,
 * no role, an expired one, one from the other CA, one without any EKU and one with serverAuth
 * only. `openssl ca` is used for every leaf because only it can back-date (-startdate/-enddate
 * exist in `openssl x509` from 3.4 on; Debian bookworm ships 3.0).
 */
import { execFile } from 'node:child_process'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

export type Issued = { readonly keyPem: string, readonly certPem: string, readonly keyFile: string, readonly certFile: string }
export type TestCa = { readonly certPem: string, readonly certFile: string, readonly keyFile: string, readonly dir: string }

export type NodePki = {
  readonly dir: string
  readonly ca: TestCa
  readonly otherCa: TestCa
  /** apid's certificate and the one it rotates to (same CA, another key and serial). */
  readonly server: Issued
  readonly server2: Issued
  readonly clients: {
    readonly admin: Issued
    readonly operator: Issued
    readonly reader: Issued
    /** O=reader, O=admin: the highest role counts. */
    readonly multi: Issued
    /** O=users: no role. */
    readonly noRole: Issued
    readonly expired: Issued
    readonly otherCa: Issued
    /** No extendedKeyUsage extension at all (OpenSSL accepts it for any purpose; apid must not). */
    readonly noEku: Issued
    /** extendedKeyUsage serverAuth only. */
    readonly serverAuthOnly: Issued
  }
  cleanup (): Promise<void>
}

const CONFIG = `
[ ca ]
default_ca = test_ca
[ test_ca ]
database = index.txt
new_certs_dir = .
serial = serial
default_md = default
policy = policy_any
unique_subject = no
[ policy_any ]
commonName = supplied
[ req ]
distinguished_name = dn
[ dn ]
[ v3_ca ]
basicConstraints = critical,CA:TRUE,pathlen:0
keyUsage = critical,keyCertSign,cRLSign
subjectKeyIdentifier = hash
[ client ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = clientAuth
[ client_no_eku ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
[ client_server_auth ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
[ server ]
basicConstraints = critical,CA:FALSE
keyUsage = critical,digitalSignature
extendedKeyUsage = serverAuth
subjectAltName = IP:127.0.0.1
`

/** Runs openssl with an explicit argv in `cwd`; rejects with its stderr. */
export async function openssl (args: readonly string[], cwd: string, input?: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = execFile('openssl', [...args], { cwd, timeout: 30_000, maxBuffer: 1 << 20 }, (err, stdout, stderr) => {
      if (err === null) resolve(stdout)
      else reject(new Error(`openssl ${args.join(' ')}: ${stderr.trim() || err.message}`))
    })
    if (input !== undefined) child.stdin?.end(input)
  })
}

async function makeCa (dir: string, name: string): Promise<TestCa> {
  await writeFile(join(dir, 'openssl.cnf'), CONFIG)
  await writeFile(join(dir, 'index.txt'), '')
  // Distinct serial ranges per CA make a mix-up visible in a failure message.
  await writeFile(join(dir, 'serial'), name === 'other' ? '9000\n' : '1000\n')
  await openssl(['genpkey', '-algorithm', 'ed25519', '-out', 'ca.key'], dir)
  await openssl(['req', '-config', 'openssl.cnf', '-new', '-x509', '-key', 'ca.key', '-subj', `/CN=anvil test node CA ${name}`,
    '-days', '2', '-extensions', 'v3_ca', '-out', 'ca.pem'], dir)
  return { certPem: await readFile(join(dir, 'ca.pem'), 'utf8'), certFile: join(dir, 'ca.pem'), keyFile: join(dir, 'ca.key'), dir }
}

type LeafSpec = { readonly name: string, readonly subject: string, readonly extensions: string, readonly expired?: boolean }

async function issue (ca: TestCa, spec: LeafSpec): Promise<Issued> {
  const keyFile = join(ca.dir, `${spec.name}.key`)
  const certFile = join(ca.dir, `${spec.name}.pem`)
  await openssl(['genpkey', '-algorithm', 'ed25519', '-out', keyFile], ca.dir)
  await openssl(['req', '-config', 'openssl.cnf', '-new', '-key', keyFile, '-subj', spec.subject, '-out', `${spec.name}.csr`], ca.dir)
  // Ed25519 signs without a separate digest (default_md = default); -preserveDN keeps several O in order.
  const dates = spec.expired === true ? ['-startdate', '20200101000000Z', '-enddate', '20200102000000Z'] : ['-days', '1']
  await openssl(['ca', '-batch', '-config', 'openssl.cnf', '-cert', 'ca.pem', '-keyfile', 'ca.key', '-in', `${spec.name}.csr`,
    '-out', certFile, '-extfile', 'openssl.cnf', '-extensions', spec.extensions, '-notext', '-preserveDN', ...dates], ca.dir)
  return { keyPem: await readFile(keyFile, 'utf8'), certPem: await readFile(certFile, 'utf8'), keyFile, certFile }
}

/** Makes the whole PKI in a fresh temporary directory (about 40 openssl runs). */
export async function makeNodePki (): Promise<NodePki> {
  const dir = await mkdtemp(join(tmpdir(), 'anvil-apid-pki-'))
  try {
    await mkdir(join(dir, 'ca'))
    await mkdir(join(dir, 'other'))
    const ca = await makeCa(join(dir, 'ca'), 'main')
    const otherCa = await makeCa(join(dir, 'other'), 'other')
    const client = async (name: string, subject: string, extensions = 'client', expired = false): Promise<Issued> =>
      await issue(ca, { name, subject, extensions, expired })
    return {
      dir,
      ca,
      otherCa,
      server: await issue(ca, { name: 'server', subject: '/CN=apid node-1', extensions: 'server' }),
      server2: await issue(ca, { name: 'server2', subject: '/CN=apid node-1 renewed', extensions: 'server' }),
      clients: {
        admin: await client('admin', '/O=admin/CN=alice'),
        operator: await client('operator', '/O=operator/CN=oscar'),
        reader: await client('reader', '/O=reader/CN=rita'),
        multi: await client('multi', '/O=reader/O=admin/CN=maria'),
        noRole: await client('norole', '/O=users/CN=nobody'),
        expired: await client('expired', '/O=admin/CN=old', 'client', true),
        otherCa: await issue(otherCa, { name: 'stranger', subject: '/O=admin/CN=stranger', extensions: 'client' }),
        noEku: await client('noeku', '/O=admin/CN=noeku', 'client_no_eku'),
        serverAuthOnly: await client('serverauth', '/O=admin/CN=server-as-client', 'client_server_auth')
      },
      cleanup: async () => { await rm(dir, { recursive: true, force: true }) }
    }
  } catch (err) {
    await rm(dir, { recursive: true, force: true })
    throw err
  }
}
