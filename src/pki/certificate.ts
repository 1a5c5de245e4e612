/**
 * X.509 v3 certificates signed with Ed25519 (RFC 5280, RFC 8410), built on the DER encoders in
 * der.ts: the node CA's own certificate, operators' client certificates and nodes' server
 * certificates. No ASN.1 parser and no X.509 library: what parses certificates is OpenSSL
 * (node:crypto's X509Certificate, TLS), which is also what the tests check these against.
 *
 *   Certificate    ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { [0] version(v3=2), serialNumber, signature, issuer, validity,
 *                                 subject, subjectPublicKeyInfo, [3] extensions }
 *
 * Pure apart from the signature and the random serial: no files, no clock (the caller gives the
 * dates, and back-dates notBefore as its policy says: see node-ca.ts).
 */
import { createHash, createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto'
import { bitString, boolean, explicit, implicitPrimitive, namedBits, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from './der.ts'
import { ipAddressBytes } from './ip-address.ts'

const OID = {
  ed25519: '1.3.101.112',
  commonName: '2.5.4.3',
  organization: '2.5.4.10',
  subjectKeyIdentifier: '2.5.29.14',
  keyUsage: '2.5.29.15',
  subjectAltName: '2.5.29.17',
  basicConstraints: '2.5.29.19',
  authorityKeyIdentifier: '2.5.29.35',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1',
  clientAuth: '1.3.6.1.5.5.7.3.2'
} as const

/** RFC 5280 §4.2.1.3 KeyUsage bit numbers. */
const KEY_USAGE = { digitalSignature: 0, keyCertSign: 5, cRLSign: 6 } as const

/** RFC 5280 Appendix A.1: ub-common-name and ub-organization-name are both 64. */
export const MAX_NAME_LENGTH = 64

/**
 * An Ed25519 SubjectPublicKeyInfo is always these 12 octets and then the 32-octet key
 * (RFC 8410 §4: AlgorithmIdentifier without parameters, the key as the BIT STRING's content).
 */
const ED25519_SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')

/** A distinguished name: one RDN per O (in order), then the CN, as `openssl -subj /O=a/O=b/CN=c` writes it. */
export type DistinguishedName = { readonly commonName: string, readonly organizations: readonly string[] }

/** What a certificate is for; each fixes its basicConstraints, keyUsage and extKeyUsage. */
export type CertificateUsage = 'ca' | 'client' | 'server'

/** The signing CA: its subject name (the new certificate's issuer) and its Ed25519 key pair. */
export type Issuer = { readonly name: DistinguishedName, readonly privateKey: KeyObject, readonly publicKey: KeyObject }

export type IssueRequest = {
  readonly issuer: Issuer
  /** The subject's Ed25519 public key. */
  readonly subjectPublicKey: KeyObject
  readonly subject: DistinguishedName
  readonly usage: CertificateUsage
  readonly dnsNames?: readonly string[]
  /** IPv4 or IPv6 text addresses. */
  readonly ipAddresses?: readonly string[]
  readonly notBefore: Date
  readonly notAfter: Date
  /** Positive, big-endian, at most 20 octets; random when absent. */
  readonly serial?: Buffer
}

/** Builds and signs a certificate with the issuer's Ed25519 key; returns its DER. Throws on input no valid certificate can carry. */
export function issueCertificate (req: IssueRequest): Buffer {
  const subjectKey = ed25519PublicKey(req.subjectPublicKey, 'the subject public key')
  const issuerKey = ed25519PublicKey(req.issuer.publicKey, 'the issuer public key')
  if (req.issuer.privateKey.type !== 'private' || req.issuer.privateKey.asymmetricKeyType !== 'ed25519') {
    throw new Error('the issuer key must be an Ed25519 private key')
  }
  // The AKI is computed from the public half: a mismatched pair would name a key that did not sign.
  if (!createPublicKey(req.issuer.privateKey).equals(req.issuer.publicKey)) throw new Error('the issuer\'s public key is not its private key\'s')
  if (!(req.notBefore.getTime() < req.notAfter.getTime())) throw new Error('notBefore must be before notAfter')
  // RFC 8410 §3: id-Ed25519 with the parameters absent, in both places it appears.
  const algorithm = sequence(oid(OID.ed25519))
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(checkedSerial(req.serial ?? randomSerial())),
    algorithm,
    encodeName(req.issuer.name),
    sequence(time(req.notBefore), time(req.notAfter)),
    encodeName(req.subject),
    subjectKey.spki,
    explicit(3, sequence(...extensions(req, subjectKey.keyId, issuerKey.keyId)))
  )
  // RFC 8032 §5.1.6 PureEdDSA: node:crypto signs Ed25519 with no digest (algorithm null).
  const signature = sign(null, tbs, req.issuer.privateKey)
  return sequence(tbs, algorithm, bitString(signature))
}

export type SelfSignedCaRequest = {
  readonly name: DistinguishedName
  readonly privateKey: KeyObject
  readonly publicKey: KeyObject
  readonly notBefore: Date
  readonly notAfter: Date
  readonly serial?: Buffer
}

/** A self-signed CA certificate (issuer = subject, its own key signs it); returns its DER. */
export function selfSignedCa (req: SelfSignedCaRequest): Buffer {
  return issueCertificate({
    issuer: { name: req.name, privateKey: req.privateKey, publicKey: req.publicKey },
    subjectPublicKey: req.publicKey,
    subject: req.name,
    usage: 'ca',
    notBefore: req.notBefore,
    notAfter: req.notAfter,
    ...(req.serial === undefined ? {} : { serial: req.serial })
  })
}

/** The SPKI DER of an Ed25519 public key and its key identifier; throws for any other key. */
function ed25519PublicKey (key: KeyObject, what: string): { spki: Buffer, keyId: Buffer } {
  if (key.type !== 'public' || key.asymmetricKeyType !== 'ed25519') throw new Error(`${what} must be an Ed25519 public key`)
  const spki = key.export({ type: 'spki', format: 'der' })
  if (spki.length !== 44 || !spki.subarray(0, 12).equals(ED25519_SPKI_PREFIX)) throw new Error(`${what} is not an Ed25519 SubjectPublicKeyInfo`)
  return { spki, keyId: keyIdentifier(spki.subarray(12)) }
}

/**
 * RFC 5280 §4.2.1.2 method (1): the SHA-1 of the subjectPublicKey BIT STRING's value. SHA-1 here
 * names a key, it secures nothing; it is what OpenSSL computes, so ids match across tools.
 */
function keyIdentifier (publicKeyBits: Buffer): Buffer {
  return createHash('sha1').update(publicKeyBits).digest()
}

/** RFC 5280 §4.1.2.2: positive and at most 20 octets; 16 random octets with the top bit cleared (and one set below it, so 16 stay 16). */
function randomSerial (): Buffer {
  const serial = randomBytes(16)
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x40
  return serial
}

function checkedSerial (serial: Buffer): Buffer {
  const first = serial.findIndex((b) => b !== 0)
  if (first === -1) throw new Error('a certificate serial must be positive')
  const body = serial.subarray(first)
  // 20 octets of INTEGER content, the sign pad included (RFC 5280 §4.1.2.2).
  if (body.length + (((body[0] ?? 0) & 0x80) !== 0 ? 1 : 0) > 20) throw new Error('a certificate serial is at most 20 octets')
  return body
}

/** Name ::= SEQUENCE OF RelativeDistinguishedName; each RDN a SET of one AttributeTypeAndValue (RFC 5280 §4.1.2.4). */
function encodeName (name: DistinguishedName): Buffer {
  const rdn = (type: string, value: string): Buffer => {
    if (value.length === 0 || value.length > MAX_NAME_LENGTH) throw new Error(`a name attribute must be 1 to ${MAX_NAME_LENGTH} characters: ${JSON.stringify(value.slice(0, MAX_NAME_LENGTH + 1))}`)
    // RFC 5280 §4.1.2.4: new certificates use UTF8String for DirectoryString values.
    return set(sequence(oid(type), utf8String(value)))
  }
  return sequence(...name.organizations.map((o) => rdn(OID.organization, o)), rdn(OID.commonName, name.commonName))
}

function extensions (req: IssueRequest, subjectKeyId: Buffer, issuerKeyId: Buffer): Buffer[] {
  const san = subjectAltNames(req.dnsNames ?? [], req.ipAddresses ?? [])
  if (req.usage === 'server' && san === undefined) throw new Error('a server certificate needs at least one DNS name or IP address')
  const common = [
    // RFC 5280 §4.2.1.2 and §4.2.1.1: keyIdentifier [0] IMPLICIT OCTET STRING.
    extension(OID.subjectKeyIdentifier, false, octetString(subjectKeyId)),
    extension(OID.authorityKeyIdentifier, false, sequence(implicitPrimitive(0, issuerKeyId))),
    // Not critical: the subject is never empty (RFC 5280 §4.2.1.6 asks critical only then).
    ...(san === undefined ? [] : [extension(OID.subjectAltName, false, san)])
  ]
  switch (req.usage) {
    case 'ca':
      return [
        // RFC 5280 §4.2.1.9: cA TRUE, pathLenConstraint 0 (it signs end entities only); critical.
        extension(OID.basicConstraints, true, sequence(boolean(true), smallInteger(0))),
        // §4.2.1.3: a CA key signs certificates and CRLs, nothing else.
        extension(OID.keyUsage, true, namedBits([KEY_USAGE.keyCertSign, KEY_USAGE.cRLSign])),
        ...common
      ]
    case 'client':
    case 'server':
      return [
        // cA FALSE is the DEFAULT, so DER leaves the SEQUENCE empty.
        extension(OID.basicConstraints, true, sequence()),
        // The key signs TLS handshakes (Ed25519 has no key encipherment).
        extension(OID.keyUsage, true, namedBits([KEY_USAGE.digitalSignature])),
        // §4.2.1.12: one purpose each, so a client certificate cannot serve a node's API and back.
        extension(OID.extKeyUsage, false, sequence(oid(req.usage === 'client' ? OID.clientAuth : OID.serverAuth))),
        ...common
      ]
  }
}

/** GeneralNames: dNSName [2] IA5String, iPAddress [7] OCTET STRING (RFC 5280 §4.2.1.6); undefined for none. */
function subjectAltNames (dnsNames: readonly string[], ipAddresses: readonly string[]): Buffer | undefined {
  const names: Buffer[] = []
  for (const dns of dnsNames) {
    // IA5String is ASCII; a preferred name syntax label set (RFC 1034 §3.5), no wildcard: we issue exact names.
    if (!/^(?=.{1,253}$)[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?(\.[a-zA-Z0-9]([a-zA-Z0-9-]{0,61}[a-zA-Z0-9])?)*$/.test(dns)) {
      throw new Error(`not a DNS name for a certificate: ${JSON.stringify(dns.slice(0, 254))}`)
    }
    names.push(implicitPrimitive(2, Buffer.from(dns, 'ascii')))
  }
  for (const ip of ipAddresses) {
    const bytes = ipAddressBytes(ip)
    if (bytes === undefined) throw new Error(`not an IP address for a certificate: ${JSON.stringify(ip.slice(0, 46))}`)
    names.push(implicitPrimitive(7, bytes))
  }
  return names.length === 0 ? undefined : sequence(...names)
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension (id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value))
}
