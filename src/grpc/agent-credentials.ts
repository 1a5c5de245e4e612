/**
 * The agent's side of the provisioning channel's TLS: the server's certificate is self-signed and
 * the agent trusts exactly one certificate, the one whose SHA-256 fingerprint (of the DER) the
 * server put on the kernel command line (`anvil.fingerprint=`).
 *
 * How the pin is enforced, twice:
 * 1. Before any gRPC traffic, a bare TLS handshake fetches the server's certificate and compares
 *    its fingerprint in constant time. A mismatch throws ERR_TLS_PIN_MISMATCH and nothing more is
 *    sent: the token never reaches an impostor.
 * 2. The gRPC channel's root of trust is that certificate alone, and its checkServerIdentity
 *    compares the fingerprint of the certificate presented on every real connection (a
 *    reconnect could reach another host).
 *
 * Host names are deliberately not checked: the pin names the server more precisely than any SAN,
 * so the agent may address the server however the network lets it (an IP outside the cert's SAN,
 * a NAT address). Node's tls calls our checkServerIdentity *instead of* its host-name check, and
 * grpc-js wraps it (does not replace it) when `grpc.ssl_target_name_override` is set. We still set
 * that override (see agentChannelOptions): grpc-js otherwise sends the target IP as the TLS SNI
 * name, which RFC 6066 §3 forbids and Node warns about (DEP0123).
 */
import { createHash, timingSafeEqual, X509Certificate } from 'node:crypto'
import { isIP } from 'node:net'
import { connect, type PeerCertificate } from 'node:tls'
import { credentials, type ChannelCredentials, type ChannelOptions } from '@grpc/grpc-js'
import { CodedError } from '../lib/errors.ts'

/** The SNI name the agent sends; any name works because host names are not what we verify. */
export const PROVISIONING_SERVER_NAME = 'anvil-provisioning'

/**
 * Channel options the agent should use with pinnedChannelCredentials: the SNI override (see the
 * module comment) and keepalive pings so either side notices a dead peer within about a minute
 * (the server pings too; grpc-js servers do not refuse frequent client pings).
 */
export const agentChannelOptions: ChannelOptions = {
  'grpc.ssl_target_name_override': PROVISIONING_SERVER_NAME,
  'grpc.keepalive_time_ms': 20_000,
  'grpc.keepalive_timeout_ms': 20_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 4 * 1024 * 1024,
  'grpc.max_send_message_length': 4 * 1024 * 1024
}

export type PinOptions = {
  /** Bound on the pre-flight handshake (default 10 s). */
  readonly timeoutMs?: number
  readonly signal?: AbortSignal
}

/**
 * Fetches the server's certificate, checks it against the pinned fingerprint (64 hex digits,
 * colons and case ignored) and returns grpc-js credentials that trust that certificate only and
 * re-check the fingerprint on every connection. Throws CodedError ERR_TLS_PIN_INVALID (bad pin),
 * ERR_TLS_HANDSHAKE (no certificate could be fetched) or ERR_TLS_PIN_MISMATCH.
 */
export async function pinnedChannelCredentials (host: string, port: number, fingerprint: string, options: PinOptions = {}): Promise<ChannelCredentials> {
  const pin = parseFingerprint(fingerprint)
  const der = await fetchPeerCertificate(host, port, options)
  const actual = sha256(der)
  if (!timingSafeEqual(actual, pin)) {
    throw new CodedError('ERR_TLS_PIN_MISMATCH',
      `the server at ${host}:${port} presented a certificate with SHA-256 fingerprint ${actual.toString('hex')}, not the pinned ${pin.toString('hex')}`,
      { host, port, expected: pin.toString('hex'), actual: actual.toString('hex') })
  }
  const pem = new X509Certificate(der).toString()
  return credentials.createSsl(Buffer.from(pem), null, null, {
    checkServerIdentity: (_hostname: string, cert: PeerCertificate) => checkPinned(cert, pin)
  })
}

/** Lower-case hex SHA-256 of a certificate's DER: the fingerprint format of anvil.fingerprint=. */
export function certificateFingerprint (der: Buffer): string {
  return sha256(der).toString('hex')
}

/** Normalises a pin to its 32 bytes, accepting `AB:CD:...` as openssl prints it. */
export function parseFingerprint (fingerprint: string): Buffer {
  const hex = fingerprint.replaceAll(':', '').trim().toLowerCase()
  if (!/^[0-9a-f]{64}$/.test(hex)) {
    throw new CodedError('ERR_TLS_PIN_INVALID', 'the pinned fingerprint must be 64 hex digits (SHA-256 of the certificate DER)')
  }
  return Buffer.from(hex, 'hex')
}

function checkPinned (cert: PeerCertificate, pin: Buffer): Error | undefined {
  // An empty object means the peer sent no certificate; raw is absent then.
  const raw = (cert as Partial<PeerCertificate>).raw
  if (raw === undefined || !timingSafeEqual(sha256(raw), pin)) {
    return new CodedError('ERR_TLS_PIN_MISMATCH', 'the server presented a certificate other than the pinned one')
  }
  return undefined
}

function sha256 (data: Buffer): Buffer {
  return createHash('sha256').update(data).digest()
}

/** A TLS handshake only to read the peer's certificate; the socket is closed right after. */
async function fetchPeerCertificate (host: string, port: number, options: PinOptions): Promise<Buffer> {
  const timeoutMs = options.timeoutMs ?? 10_000
  return await new Promise<Buffer>((resolve, reject) => {
    const socket = connect({
      host,
      port,
      // Chain and host name are not what we trust here; the fingerprint comparison is.
      rejectUnauthorized: false,
      ALPNProtocols: ['h2'],
      // RFC 6066 §3: SNI carries host names only, never IP literals.
      ...(isIP(host) === 0 ? { servername: host } : {}),
      timeout: timeoutMs
    })
    const fail = (cause: unknown, why: string): void => {
      cleanup()
      socket.destroy()
      reject(new CodedError('ERR_TLS_HANDSHAKE', `could not read the certificate of ${host}:${port}: ${why}`, { host, port }, { cause }))
    }
    const onAbort = (): void => { fail(options.signal?.reason, 'aborted') }
    const onError = (err: Error): void => { fail(err, err.message) }
    const onTimeout = (): void => { fail(undefined, `no handshake within ${timeoutMs} ms`) }
    const cleanup = (): void => {
      options.signal?.removeEventListener('abort', onAbort)
      socket.off('timeout', onTimeout)
      // Keep a listener so a late error on the closing socket is not an uncaught exception.
      socket.off('error', onError).on('error', () => {})
    }
    if (options.signal?.aborted === true) { onAbort(); return }
    options.signal?.addEventListener('abort', onAbort, { once: true })
    socket.once('error', onError)
    socket.once('timeout', onTimeout)
    socket.once('secureConnect', () => {
      const cert = socket.getPeerCertificate()
      const raw = (cert as Partial<PeerCertificate>).raw
      cleanup()
      socket.destroy()
      if (raw === undefined) {
        reject(new CodedError('ERR_TLS_HANDSHAKE', `${host}:${port} presented no certificate`, { host, port }))
        return
      }
      resolve(Buffer.from(raw))
    })
  })
}
