/**
 * Who is calling: the role and name in the client certificate TLS has already verified. The
 * chain, the validity dates and the CA are TLS's job (the server demands a certificate and
 * rejects one that does not chain to the node CA); this module reads what the certificate says
 * and refuses one that does not say enough.
 */
import type { PeerCertificate } from 'node:tls'
import { CodedError } from '../../lib/errors.ts'
import { highestRole, isRole, type Role } from './roles.ts'

/** RFC 5280 §4.2.1.12 id-kp-clientAuth. */
export const CLIENT_AUTH_OID = '1.3.6.1.5.5.7.3.2'

/** What a handler's `call.getAuthContext()` returns (grpc-js ≥ 1.14, gRFC L35). */
export type AuthContextLike = {
  readonly transportSecurityType?: string | undefined
  readonly sslPeerCertificate?: PeerCertificate | undefined
}

/** The caller of one RPC, for the role check and for machined's record of who did what. */
export type Caller = {
  readonly role: Role
  /** The subject CN, made safe for a metadata value (printable ASCII, at most 128 characters). */
  readonly name: string
  /** SHA-256 fingerprint of the certificate (colon hex, as Node prints it): for logs. */
  readonly fingerprint256: string
  readonly serialNumber: string
}

const MAX_NAME = 128

/** Node gives one RDN value as a string and several as an array (observed, design doc 4.4). */
function values (field: string | string[] | undefined): string[] {
  if (field === undefined) return []
  return Array.isArray(field) ? field : [field]
}

/** Metadata values must be printable ASCII; a CN in UTF-8 is percent-encoded, not dropped. */
function safeName (cn: string): string {
  const text = /^[ -~]*$/.test(cn) ? cn : encodeURIComponent(cn)
  return text.slice(0, MAX_NAME)
}

function refuse (reason: string): never {
  throw new CodedError('ERR_NODE_CERT_INVALID', `client certificate refused: ${reason}`)
}

/**
 * The caller from a verified TLS peer certificate. Throws ERR_NODE_CERT_INVALID when there is no
 * certificate (a plaintext or unverified transport), when it lacks the clientAuth EKU (Talos
 * `verifyExtKeyUsage`: a server certificate of the same CA is no client credential), or when no
 * subject O is a role. Several roles: the highest counts.
 */
export function callerFromAuthContext (auth: AuthContextLike): Caller {
  const cert = auth.sslPeerCertificate
  // Without a certificate Node returns an empty object rather than undefined.
  if (auth.transportSecurityType !== 'ssl' || cert === undefined || cert.raw === undefined) refuse('no certificate')
  const eku = cert.ext_key_usage ?? []
  if (!eku.includes(CLIENT_AUTH_OID)) refuse('no clientAuth extended key usage')
  const subject = (cert.subject ?? {}) as unknown as Record<string, string | string[] | undefined>
  const role = highestRole(values(subject.O).filter(isRole))
  if (role === undefined) refuse('no role (subject O must be admin, operator or reader)')
  const cn = values(subject.CN)[0] ?? ''
  return { role, name: safeName(cn), fingerprint256: cert.fingerprint256, serialNumber: cert.serialNumber }
}
