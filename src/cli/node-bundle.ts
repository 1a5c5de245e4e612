import { readFile } from 'node:fs/promises'
import { createPrivateKey, X509Certificate } from 'node:crypto'
import { CodedError } from '../lib/errors.ts'

/**
 * The credential of an operator for the node API: what `anvil certs client` prints, one PEM file
 * with the private key (PKCS#8), the client certificate and the CA certificate. The blocks are told
 * apart by type and content, not by order: the key is the PRIVATE KEY block, the CA certificates
 * are those with basicConstraints CA:TRUE (several during a CA rotation), the client certificate is
 * the one that is not a CA.
 */
export type NodeBundle = {
  readonly keyPem: string
  readonly certPem: string
  /** Every CA certificate of the bundle: the roots a node's server certificate must chain to. */
  readonly caPem: string
  /** The client certificate's `O=` (its role) and expiry, for messages; never the key. */
  readonly role: string
  readonly notAfter: Date
}

/** A PEM file is small; anything larger is not a bundle (and is not read whole into a message). */
const MAX_BUNDLE_BYTES = 64 * 1024

const PEM_BLOCK = /-----BEGIN ([A-Z0-9 ]+)-----\r?\n([A-Za-z0-9+/=\r\n]+?)-----END \1-----/g

function invalid (file: string, why: string): CodedError {
  return new CodedError('ERR_NODE_CERT_INVALID', `${file}: ${why} (expected the bundle \`anvil certs client\` prints: private key, client certificate, CA certificate)`, { file })
}

/** Reads and checks a bundle file; the key must match the client certificate. */
export async function readNodeBundle (file: string, now: Date = new Date()): Promise<NodeBundle> {
  let text: string
  try {
    const bytes = await readFile(file)
    if (bytes.length > MAX_BUNDLE_BYTES) throw invalid(file, `larger than ${MAX_BUNDLE_BYTES} bytes`)
    text = bytes.toString('utf8')
  } catch (err) {
    if (err instanceof CodedError) throw err
    throw new CodedError('ERR_SECRET_UNREADABLE', `cannot read the node API credential ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { file })
  }
  return parseNodeBundle(text, file, now)
}

/** The blocks of a bundle's text, checked; `file` only names it in errors. */
export function parseNodeBundle (text: string, file: string, now: Date = new Date()): NodeBundle {
  const keys: string[] = []
  const certs: Array<{ pem: string, x509: X509Certificate }> = []
  for (const m of text.matchAll(PEM_BLOCK)) {
    const [pem, type] = m as unknown as [string, string]
    if (type === 'PRIVATE KEY') keys.push(pem + '\n')
    else if (type === 'ENCRYPTED PRIVATE KEY') throw invalid(file, 'the private key is encrypted; the node API client needs it in the clear (keep the file 0600)')
    else if (type === 'CERTIFICATE') {
      try {
        certs.push({ pem: pem + '\n', x509: new X509Certificate(pem) })
      } catch {
        throw invalid(file, 'a CERTIFICATE block does not parse')
      }
    }
  }
  if (keys.length !== 1) throw invalid(file, `${keys.length} PRIVATE KEY blocks, not one`)
  const clients = certs.filter(c => !c.x509.ca)
  const cas = certs.filter(c => c.x509.ca)
  if (clients.length !== 1) throw invalid(file, `${clients.length} client (non-CA) certificates, not one`)
  if (cas.length === 0) throw invalid(file, 'no CA certificate')
  const client = clients[0] as { pem: string, x509: X509Certificate }
  const keyPem = keys[0] as string
  let matches = false
  try {
    matches = client.x509.checkPrivateKey(createPrivateKey(keyPem))
  } catch {
    throw invalid(file, 'the private key does not parse')
  }
  if (!matches) throw invalid(file, 'the private key is not the client certificate\'s')
  const notAfter = new Date(client.x509.validTo)
  if (notAfter.getTime() <= now.getTime()) {
    throw new CodedError('ERR_NODE_CERT_INVALID', `${file}: the client certificate expired at ${notAfter.toISOString()}; make a new one with \`anvil certs client --role ROLE > ${file}\``, { file })
  }
  return { keyPem, certPem: client.pem, caPem: cas.map(c => c.pem).join(''), role: subjectOrg(client.x509.subject), notAfter }
}

/** The O= values of an X509Certificate subject ("O=admin\nCN=alice"), comma-joined. */
function subjectOrg (subject: string): string {
  return subject.split('\n').filter(l => l.startsWith('O=')).map(l => l.slice(2)).join(',')
}
