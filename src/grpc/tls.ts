/**
 * The provisioning listener's TLS identity in the data dir: grpc.key (EC P-256, PKCS#8 PEM, 0600)
 * and grpc.crt (self-signed, see x509.ts). Agents trust it by the SHA-256 fingerprint of the
 * certificate's DER, which the server puts on their kernel command line.
 *
 * Lifecycle:
 * - first start: a key and a certificate are made;
 * - later starts: both are reused as long as they match, the certificate's SAN still covers the
 *   configured names and it is more than RENEW_BEFORE_MS from expiry;
 * - otherwise the certificate is reissued with the SAME key (the key is the secret worth keeping;
 *   the fingerprint changes anyway, since it is of the certificate, and machines get the new one
 *   on their next boot's kernel command line). An unreadable key is an error, never replaced
 *   silently.
 */
import { createPrivateKey, generateKeyPairSync, X509Certificate, type KeyObject } from 'node:crypto'
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { writeFileAtomically } from '../storage/atomic-file.ts'
import { certificateFingerprint, PROVISIONING_SERVER_NAME } from './agent-credentials.ts'
import { selfSignedCertificate } from './x509.ts'
import { readCertificate, readIfExists } from '../pki/pem-files.ts'

/** The names a certificate must cover: the address agents are told to dial, and extra DNS names. */
export type CertificateNames = { readonly ip?: string, readonly dns?: readonly string[] }

/** The listener's key and certificate, and the fingerprint agents pin. */
export type ServerCertificate = {
  readonly keyPem: string
  readonly certPem: string
  /** Lower-case hex SHA-256 of the certificate DER (anvil.fingerprint=). */
  readonly fingerprint: string
  readonly keyFile: string
  readonly certFile: string
  /** What this call did, for the start-up log line. */
  readonly origin: 'created' | 'reused' | 'reissued'
}

const VALIDITY_MS = 10 * 365.25 * 24 * 3600 * 1000
const RENEW_BEFORE_MS = 30 * 24 * 3600 * 1000
/**
 * notBefore is the Unix epoch, not "now": bare-metal RTCs often come up reset (1970, 2000, the
 * firmware's build date) and the boot environment has no NTP, and the agent's TLS stack checks
 * validity dates. The certificate is trusted by pin only, so its start date guards nothing.
 */
const NOT_BEFORE = new Date(0)

/** Loads or makes grpc.key/grpc.crt in dataDir so that the certificate covers `names`. */
export async function ensureServerCertificate (dataDir: string, names: CertificateNames = {}, now: Date = new Date()): Promise<ServerCertificate> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const keyFile = join(dataDir, 'grpc.key')
  const certFile = join(dataDir, 'grpc.crt')
  const wanted = sanNames(names)

  let key = await readKey(keyFile)
  let origin: ServerCertificate['origin'] = 'reissued'
  if (key === undefined) {
    key = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
    await writeFileAtomically(keyFile, key.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600)
    origin = 'created'
  } else if (((await stat(keyFile)).mode & 0o077) !== 0) {
    await chmod(keyFile, 0o600)
  }

  const existing = origin === 'created' ? undefined : await readCertificate(certFile)
  if (existing !== undefined && stillGood(existing, key, wanted, now)) {
    return result(key, existing, keyFile, certFile, 'reused')
  }
  if (key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error(`${keyFile} is not an EC P-256 key, so no certificate can be issued for it; remove ${keyFile} and ${certFile} to have new ones made`)
  }
  const der = selfSignedCertificate({
    privateKey: key,
    commonName: 'Anvil provisioning',
    dnsNames: wanted.dns,
    ipAddresses: wanted.ip,
    notBefore: NOT_BEFORE,
    notAfter: new Date(now.getTime() + VALIDITY_MS)
  })
  const cert = new X509Certificate(der)
  await writeFileAtomically(certFile, cert.toString(), 0o644)
  return result(key, cert, keyFile, certFile, origin)
}

function result (key: KeyObject, cert: X509Certificate, keyFile: string, certFile: string, origin: ServerCertificate['origin']): ServerCertificate {
  return {
    keyPem: key.export({ type: 'pkcs8', format: 'pem' }).toString(),
    certPem: cert.toString(),
    fingerprint: certificateFingerprint(cert.raw),
    keyFile,
    certFile,
    origin
  }
}

/**
 * The SAN we issue: the configured IP (unless it is the unspecified address, which no agent
 * dials), the configured DNS names, and the fixed name agents send as SNI (agent-credentials.ts).
 */
function sanNames (names: CertificateNames): { ip: string[], dns: string[] } {
  const ip = names.ip === undefined || names.ip === '0.0.0.0' ? [] : [names.ip]
  const dns = [...new Set([PROVISIONING_SERVER_NAME, ...(names.dns ?? [])])]
  return { ip, dns }
}

function stillGood (cert: X509Certificate, key: KeyObject, wanted: { ip: string[], dns: string[] }, now: Date): boolean {
  if (!cert.checkPrivateKey(key)) return false
  if (Date.parse(cert.validTo) - now.getTime() < RENEW_BEFORE_MS) return false
  if (Date.parse(cert.validFrom) > now.getTime()) return false
  // checkHost without wildcards: we only ever issue exact names.
  return wanted.ip.every((ip) => cert.checkIP(ip) !== undefined) &&
    wanted.dns.every((dns) => cert.checkHost(dns, { wildcards: false }) !== undefined)
}

async function readKey (file: string): Promise<KeyObject | undefined> {
  const pem = await readIfExists(file)
  if (pem === undefined) return undefined
  try {
    return createPrivateKey(pem)
  } catch (err) {
    throw new Error(`${file} is not a readable PEM private key; remove it (and grpc.crt beside it) to have a new one made`, { cause: err })
  }
}
