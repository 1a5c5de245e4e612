/**
 * A self-signed X.509 v3 server certificate (RFC 5280 §4.1) built with node:crypto and the DER
 * encoders in src/pki/der.ts, so the server needs neither an openssl subprocess nor an X.509 library.
 * ECDSA P-256 with SHA-256 (RFC 5758 §3.2): accepted by every TLS stack grpc-js can use.
 *
 *   Certificate  ::= SEQUENCE { tbsCertificate, signatureAlgorithm, signatureValue BIT STRING }
 *   TBSCertificate ::= SEQUENCE { [0] version(v3=2), serialNumber, signature, issuer, validity,
 *                                 subject, subjectPublicKeyInfo, [3] extensions }
 */
import { createPublicKey, randomBytes, sign, type KeyObject } from 'node:crypto'
import { ipv4ToBytes, isIpv4 } from '../lib/ipv4.ts'
import { bitString, boolean, explicit, implicitPrimitive, octetString, oid, sequence, set, smallInteger, time, unsignedInteger, utf8String } from '../pki/der.ts'

const OID = {
  ecdsaWithSha256: '1.2.840.10045.4.3.2',
  commonName: '2.5.4.3',
  subjectAltName: '2.5.29.17',
  keyUsage: '2.5.29.15',
  basicConstraints: '2.5.29.19',
  extKeyUsage: '2.5.29.37',
  serverAuth: '1.3.6.1.5.5.7.3.1'
} as const

export type CertificateRequest = {
  /** An EC P-256 private key. */
  readonly privateKey: KeyObject
  readonly commonName: string
  readonly dnsNames: readonly string[]
  /** IPv4 addresses for the SAN. */
  readonly ipAddresses: readonly string[]
  readonly notBefore: Date
  readonly notAfter: Date
}

/** Builds and signs a self-signed server certificate; returns its DER. */
export function selfSignedCertificate (req: CertificateRequest): Buffer {
  if (req.privateKey.asymmetricKeyType !== 'ec' || req.privateKey.asymmetricKeyDetails?.namedCurve !== 'prime256v1') {
    throw new Error('the certificate key must be an EC P-256 private key')
  }
  // RFC 5758 §3.2: the parameters of ecdsa-with-SHA256 MUST be absent.
  const algorithm = sequence(oid(OID.ecdsaWithSha256))
  const name = sequence(set(sequence(oid(OID.commonName), utf8String(req.commonName))))
  const spki = createPublicKey(req.privateKey).export({ type: 'spki', format: 'der' })
  const tbs = sequence(
    explicit(0, smallInteger(2)),
    unsignedInteger(serialNumber()),
    algorithm,
    name,
    sequence(time(req.notBefore), time(req.notAfter)),
    name,
    spki,
    explicit(3, sequence(...extensions(req)))
  )
  // node:crypto signs ECDSA as the DER Ecdsa-Sig-Value that RFC 5758 §3.2 asks for.
  const signature = sign('sha256', tbs, req.privateKey)
  return sequence(tbs, algorithm, bitString(signature))
}

/** RFC 5280 §4.1.2.2: positive, at most 20 octets; 16 random bytes with the top bit cleared. */
function serialNumber (): Buffer {
  const serial = randomBytes(16)
  serial[0] = ((serial[0] ?? 0) & 0x7f) | 0x01
  return serial
}

function extensions (req: CertificateRequest): Buffer[] {
  const names: Buffer[] = []
  // RFC 5280 §4.2.1.6: dNSName [2] IA5String, iPAddress [7] OCTET STRING (4 octets for IPv4).
  for (const dns of req.dnsNames) names.push(implicitPrimitive(2, Buffer.from(dns, 'ascii')))
  for (const ip of req.ipAddresses) {
    if (!isIpv4(ip)) throw new Error(`certificate IP addresses must be IPv4, got ${JSON.stringify(ip)}`)
    names.push(implicitPrimitive(7, ipv4ToBytes(ip)))
  }
  if (names.length === 0) throw new Error('a certificate needs at least one subject alternative name')
  return [
    extension(OID.subjectAltName, false, sequence(...names)),
    // RFC 5280 §4.2.1.3: digitalSignature only (bit 0): the key signs TLS handshakes (ECDHE-ECDSA),
    // never certificates. DER drops trailing zero bits (X.690 §11.2.2): one octet, 7 unused.
    extension(OID.keyUsage, true, bitString(Buffer.from([0x80]), 7)),
    // RFC 5280 §4.2.1.9: not a CA (cA FALSE is the DEFAULT, so the SEQUENCE is empty in DER).
    extension(OID.basicConstraints, true, sequence()),
    extension(OID.extKeyUsage, false, sequence(oid(OID.serverAuth)))
  ]
}

/** Extension ::= SEQUENCE { extnID, critical BOOLEAN DEFAULT FALSE, extnValue OCTET STRING }. */
function extension (id: string, critical: boolean, value: Buffer): Buffer {
  return critical
    ? sequence(oid(id), boolean(true), octetString(value))
    : sequence(oid(id), octetString(value))
}
