import { CodedError } from '../lib/errors.ts'

// The kernel command line the server's iPXE script writes (discovery contract):
//   anvil.grpc=HOST:PORT anvil.token=TOKEN anvil.fingerprint=SHA256HEX BOOTIF=01-aa-bb-cc-dd-ee-ff

/** What the agent needs from /proc/cmdline. */
export type AgentArgs = { host: string, port: number, token: string, fingerprint: string, bootMac: string }

/** Parses /proc/cmdline; throws CodedError ERR_AGENT_CMDLINE naming what is missing or malformed. */
export function parseCmdline (text: string): AgentArgs {
  const args = new Map<string, string>()
  for (const word of text.trim().split(/\s+/)) {
    const eq = word.indexOf('=')
    if (eq > 0) args.set(word.slice(0, eq), word.slice(eq + 1))
  }
  const grpc = args.get('anvil.grpc') ?? ''
  // HOST:PORT, HOST possibly a bracketed IPv6 literal.
  const m = /^(\[[0-9a-fA-F:.]+\]|[^:[\]]+):(\d{1,5})$/.exec(grpc)
  const port = Number(m?.[2])
  if (m?.[1] === undefined || !(port > 0 && port < 65536)) throw bad(`anvil.grpc must be HOST:PORT, got "${grpc}"`)
  const token = args.get('anvil.token') ?? ''
  if (token === '') throw bad('anvil.token is missing')
  const fingerprint = args.get('anvil.fingerprint') ?? ''
  if (!/^[0-9a-fA-F]{64}$/.test(fingerprint.replaceAll(':', ''))) throw bad('anvil.fingerprint must be 64 hex digits')
  return { host: m[1].replace(/^\[|\]$/g, ''), port, token, fingerprint, bootMac: bootMac(args.get('BOOTIF') ?? '') }
}

/** BOOTIF=01-aa-bb-cc-dd-ee-ff (ARP hardware type 1, then the MAC) → aa:bb:cc:dd:ee:ff; '' when absent or malformed. */
export function bootMac (bootif: string): string {
  const m = /^01-((?:[0-9a-fA-F]{2}-){5}[0-9a-fA-F]{2})$/.exec(bootif)
  return m?.[1] === undefined ? '' : m[1].replaceAll('-', ':').toLowerCase()
}

function bad (message: string): CodedError {
  return new CodedError('ERR_AGENT_CMDLINE', message)
}
