/**
 * The node CA: the Ed25519 key and self-signed certificate in the data dir that sign operators'
 * client certificates (`anvil certs client`) and nodes' server certificates (trustd), and that
 * every node's apid trusts.
 *
 * Files: node-ca.key (PKCS#8 PEM, 0600) and node-ca.crt (PEM, 0644).
 * - first start: a key is made (created exclusively: two servers starting on one data dir never
 *   end up with certificates from two keys) and a 10-year certificate;
 * - later starts: both reused while they match and the certificate is more than RENEW_BEFORE_MS
 *   from its end; otherwise the certificate is reissued with the SAME key and name, so that
 *   certificates issued before still chain to it. An unreadable key is an error, never replaced:
 *   a new key would orphan every node's trust.
 * Rotation to a new key (several accepted CAs) is not done yet: see docs/node-api.md.
 */
import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, KeyObject, X509Certificate } from 'node:crypto'
import { chmod, mkdir, stat } from 'node:fs/promises'
import { join } from 'node:path'
import { CodedError } from '../lib/errors.ts'
import { hasControlChars } from '../lib/text.ts'
import { createFileExclusive, writeFileAtomically } from '../storage/atomic-file.ts'
import { issueCertificate, MAX_NAME_LENGTH, selfSignedCa, type DistinguishedName, type Issuer } from './certificate.ts'
import { isIpAddress } from './ip-address.ts'
import { readCertificate, readIfExists } from './pem-files.ts'

/** The roles a client certificate carries as its O (as Talos's os:admin, os:operator, os:reader). */
export const CLIENT_ROLES = ['admin', 'operator', 'reader'] as const
export type ClientRole = typeof CLIENT_ROLES[number]

const MINUTE = 60_000
const HOUR = 60 * MINUTE
const DAY = 24 * HOUR
/** Client certificate lifetimes: short by default (Talos's one-year talosconfig is a known pain), a week at most. */
export const CLIENT_TTL = { defaultMs: 8 * HOUR, minMs: 5 * MINUTE, maxMs: 7 * DAY } as const
/** Server certificates: trustd renews them at half their life. */
export const SERVER_TTL = { defaultMs: 24 * HOUR, minMs: 5 * MINUTE, maxMs: 7 * DAY } as const
/** notBefore is this much before now: a node or laptop whose clock runs a little behind still accepts a fresh certificate. */
export const BACKDATE_MS = 5 * MINUTE

/** SANs in one server certificate: a node's addresses and names, with room to spare. */
const MAX_SANS = 32

const CA_NAME: DistinguishedName = { commonName: 'Anvil node CA', organizations: [] }
const CA_VALIDITY_MS = 10 * 365.25 * DAY
const RENEW_BEFORE_MS = 30 * DAY

/** A public key as a caller may give it: PEM SPKI text, SPKI DER, or a public KeyObject. */
export type PublicKeyInput = string | Buffer | KeyObject

export type ClientCertificateRequest = {
  readonly publicKey: PublicKeyInput
  /** Checked here: it comes from the network. */
  readonly role: string
  /** The CN: who the certificate is for (audit), 1–64 characters. */
  readonly name: string
  readonly ttlMs?: number
}

export type ServerCertificateRequest = {
  readonly publicKey: PublicKeyInput
  /** The CN. No O is ever put in a server certificate, whatever the node asked for. */
  readonly machineId: string
  readonly ips: readonly string[]
  readonly dnsNames: readonly string[]
  readonly ttlMs?: number
}

/** One certificate the CA issued. */
export type IssuedCertificate = {
  readonly certPem: string
  readonly der: Buffer
  /** Upper-case hex, as OpenSSL prints it. */
  readonly serialNumber: string
  readonly notBefore: Date
  readonly notAfter: Date
}

/** The CA in use. Its private key stays inside: nothing here returns it. */
export type NodeCa = {
  readonly certPem: string
  /** Lower-case hex SHA-256 of the CA certificate's DER. */
  readonly fingerprint: string
  readonly keyFile: string
  readonly certFile: string
  /** What ensureNodeCa did, for the start-up log line. */
  readonly origin: 'created' | 'reused' | 'reissued'
  /** The key file was readable by others and has been set to 0600 (the key should be considered exposed). */
  readonly tightened: boolean
  issueClient (req: ClientCertificateRequest): IssuedCertificate
  issueServer (req: ServerCertificateRequest): IssuedCertificate
}

/** Loads or makes node-ca.key and node-ca.crt in dataDir; `now` is read at start and at every issue. */
export async function ensureNodeCa (dataDir: string, now: () => Date = () => new Date()): Promise<NodeCa> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 })
  const keyFile = join(dataDir, 'node-ca.key')
  const certFile = join(dataDir, 'node-ca.crt')

  let origin: NodeCa['origin'] = 'reissued'
  let tightened = false
  let key = await readKey(keyFile)
  if (key === undefined) {
    const made = generateKeyPairSync('ed25519').privateKey
    if (await createFileExclusive(keyFile, made.export({ type: 'pkcs8', format: 'pem' }).toString(), 0o600)) {
      key = made
      origin = 'created'
    } else {
      // Another process made it between our read and our write: theirs is the CA.
      key = await readKey(keyFile)
      if (key === undefined) throw new Error(`${keyFile} vanished while it was being created`)
    }
  } else if (((await stat(keyFile)).mode & 0o077) !== 0) {
    await chmod(keyFile, 0o600)
    tightened = true
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new Error(`${keyFile} is not an Ed25519 key; the node CA signs with Ed25519 only (moving it away makes a new CA, which every node must then be told to trust)`)
  }
  const publicKey = createPublicKey(key)

  const existing = origin === 'created' ? undefined : await readCertificate(certFile)
  let cert: X509Certificate
  if (existing !== undefined && stillGood(existing, key, now())) {
    cert = existing
    origin = 'reused'
  } else {
    const at = now().getTime()
    cert = new X509Certificate(selfSignedCa({ name: CA_NAME, privateKey: key, publicKey, notBefore: new Date(at - BACKDATE_MS), notAfter: new Date(at + CA_VALIDITY_MS) }))
    await writeFileAtomically(certFile, cert.toString(), 0o644)
  }
  return nodeCa({ name: CA_NAME, privateKey: key, publicKey }, cert, { keyFile, certFile, origin, tightened, now })
}

function nodeCa (issuer: Issuer, cert: X509Certificate, o: { keyFile: string, certFile: string, origin: NodeCa['origin'], tightened: boolean, now: () => Date }): NodeCa {
  const issue = (subjectKey: KeyObject, subject: DistinguishedName, usage: 'client' | 'server', ttlMs: number, san: { dnsNames?: readonly string[], ipAddresses?: readonly string[] } = {}): IssuedCertificate => {
    const at = o.now().getTime()
    const notBefore = new Date(Math.floor((at - BACKDATE_MS) / 1000) * 1000)
    const notAfter = new Date(Math.floor((at + ttlMs) / 1000) * 1000)
    const der = issueCertificate({ issuer, subjectPublicKey: subjectKey, subject, usage, notBefore, notAfter, ...san })
    const x509 = new X509Certificate(der)
    return { certPem: x509.toString(), der, serialNumber: x509.serialNumber, notBefore, notAfter }
  }
  return {
    certPem: cert.toString(),
    fingerprint: createHash('sha256').update(cert.raw).digest('hex'),
    keyFile: o.keyFile,
    certFile: o.certFile,
    origin: o.origin,
    tightened: o.tightened,
    issueClient (req) {
      const role = clientRole(req.role)
      const name = subjectName(req.name, 'name')
      const ttlMs = lifetime(req.ttlMs, CLIENT_TTL, 'client')
      return issue(ed25519Spki(req.publicKey), { commonName: name, organizations: [role] }, 'client', ttlMs)
    },
    issueServer (req) {
      const machineId = subjectName(req.machineId, 'machineId')
      const ttlMs = lifetime(req.ttlMs, SERVER_TTL, 'server')
      const sans = req.ips.length + req.dnsNames.length
      if (sans === 0 || sans > MAX_SANS) throw new CodedError('ERR_VALIDATION', `a server certificate names 1 to ${MAX_SANS} IP addresses and DNS names, not ${sans}`, { field: 'ips' })
      const badIp = req.ips.find((ip) => !isIpAddress(ip))
      if (badIp !== undefined) throw new CodedError('ERR_VALIDATION', `not an IP address: ${JSON.stringify(String(badIp).slice(0, 46))}`, { field: 'ips' })
      const publicKey = ed25519Spki(req.publicKey)
      try {
        return issue(publicKey, { commonName: machineId, organizations: [] }, 'server', ttlMs, { dnsNames: req.dnsNames, ipAddresses: req.ips })
      } catch (err) {
        // What is left for certificate.ts to refuse is a DNS name it cannot encode (it names it).
        throw new CodedError('ERR_VALIDATION', (err as Error).message, { field: 'dnsNames' })
      }
    }
  }
}

function clientRole (role: string): ClientRole {
  const found = CLIENT_ROLES.find((r) => r === role)
  if (found === undefined) throw new CodedError('ERR_CERT_ROLE_INVALID', `a client certificate role is one of ${CLIENT_ROLES.join(', ')}, not ${JSON.stringify(String(role).slice(0, 32))}`)
  return found
}

function subjectName (value: string, field: string): string {
  if (typeof value !== 'string' || value.length === 0 || value.length > MAX_NAME_LENGTH || hasControlChars(value)) {
    throw new CodedError('ERR_VALIDATION', `${field} must be 1 to ${MAX_NAME_LENGTH} characters without control characters`, { field })
  }
  return value
}

function lifetime (ttlMs: number | undefined, bounds: { defaultMs: number, minMs: number, maxMs: number }, kind: string): number {
  const ttl = ttlMs ?? bounds.defaultMs
  if (!Number.isFinite(ttl) || ttl < bounds.minMs || ttl > bounds.maxMs) {
    throw new CodedError('ERR_CERT_TTL_INVALID', `a ${kind} certificate lives from ${bounds.minMs / MINUTE} minutes to ${bounds.maxMs / DAY} days, not ${Number.isFinite(ttl) ? `${Math.round(ttl / 1000)} s` : String(ttl)}`)
  }
  return ttl
}

/**
 * The Ed25519 public key in a PEM or DER SubjectPublicKeyInfo. Only a PUBLIC KEY block is read:
 * createPublicKey would also derive a public key from a private one, and a private key sent to
 * the API is one that travelled; it is refused (and its text never echoed).
 */
export function ed25519Spki (input: PublicKeyInput): KeyObject {
  let key: KeyObject
  try {
    if (input instanceof KeyObject) {
      key = input
    } else if (typeof input === 'string') {
      if (/PRIVATE KEY/.test(input)) throw new CodedError('ERR_CERT_KEY_INVALID', 'that is a private key: send only the public key (SPKI PEM), and consider this private key exposed')
      if (!/^\s*-----BEGIN PUBLIC KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PUBLIC KEY-----\s*$/.test(input)) throw new CodedError('ERR_CERT_KEY_INVALID', 'the public key is not one PEM "PUBLIC KEY" (SPKI) block')
      key = createPublicKey({ key: input, format: 'pem', type: 'spki' })
    } else {
      key = createPublicKey({ key: input, format: 'der', type: 'spki' })
    }
  } catch (err) {
    if (err instanceof CodedError) throw err
    throw new CodedError('ERR_CERT_KEY_INVALID', 'the public key is not a readable SPKI key')
  }
  if (key.type !== 'public') throw new CodedError('ERR_CERT_KEY_INVALID', 'a public key is needed, not a private or secret one')
  if (key.asymmetricKeyType !== 'ed25519') throw new CodedError('ERR_CERT_KEY_INVALID', `the node CA signs Ed25519 keys only, not ${key.asymmetricKeyType ?? 'this kind'} (openssl genpkey -algorithm ed25519)`)
  return key
}

function stillGood (cert: X509Certificate, key: KeyObject, now: Date): boolean {
  // The issuer name of what we sign is CA_NAME: a certificate of another subject would not chain.
  if (!cert.ca || cert.subject !== `CN=${CA_NAME.commonName}` || !cert.checkPrivateKey(key)) return false
  if (Date.parse(cert.validTo) - now.getTime() < RENEW_BEFORE_MS) return false
  return Date.parse(cert.validFrom) <= now.getTime()
}

async function readKey (file: string): Promise<KeyObject | undefined> {
  const pem = await readIfExists(file)
  if (pem === undefined) return undefined
  try {
    return createPrivateKey(pem)
  } catch (err) {
    throw new Error(`${file} is not a readable PEM private key; the node CA is not replaced by itself (a new one means every node must trust it anew)`, { cause: err })
  }
}
