/**
 * trustd, the node's root of trust (issue 11): started by machined with an explicit argv
 *   node trustd.mjs --state /dev/vda5 --out /run/anvil/apid [--proto FILE]
 * it reads the node's identity and its server from STATE (the identity key never leaves this
 * process), then keeps apid's server certificate fresh (renewer.ts) in the files apid watches
 * (bundle-files.ts). Not yet: the TCP 50001 listener through which a trust-anchor node signs its
 * peers' renewals while Anvil is down.
 */
import { existsSync } from 'node:fs'
import { hostname, networkInterfaces } from 'node:os'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_PROTO_FILE } from '../../grpc/proto.ts'
import { readState } from '../machined/disk-io.ts'
import { identityKey } from '../machined/identity.ts'
import { requestNodeCertificate } from './anvil-ca.ts'
import { writeBundle } from './bundle-files.ts'
import { prepareCertificateRequest } from './certificate-request.ts'
import { CertificateRenewer } from './renewer.ts'

const say = (line: string): void => { process.stdout.write(`trustd: ${line}\n`) }

/** Global addresses, without prefix: link-local and loopback are not names a client dials. */
export function globalAddresses (): string[] {
  return Object.values(networkInterfaces()).flat()
    .filter((a) => a !== undefined && !a.internal && !a.address.toLowerCase().startsWith('fe80:'))
    .map((a) => (a as { address: string }).address.toLowerCase())
    .slice(0, 16)
}

/** The hostname, when it is one a certificate may carry (RFC 1123 labels). */
export function certificateHostname (name: string): string[] {
  return /^(?=.{1,253}$)([a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)(\.[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?)*$/i.test(name) ? [name.toLowerCase()] : []
}

function protoFile (): string {
  const beside = process.argv[1] === undefined ? undefined : join(dirname(process.argv[1]), 'provisioning.proto')
  return beside !== undefined && existsSync(beside) ? beside : DEFAULT_PROTO_FILE
}

/** Runs trustd with these arguments (the process's, after the script or the bundle's `trustd`). */
export async function main (argv: readonly string[]): Promise<number> {
  const { values } = parseArgs({ args: [...argv], options: { state: { type: 'string' }, out: { type: 'string' }, proto: { type: 'string' } }, strict: true })
  if (values.state === undefined || values.out === undefined) {
    say('usage: trustd --state DEVICE --out DIR [--proto FILE]')
    return 2
  }
  const out = values.out
  const { payload: state } = await readState(values.state)
  if (state.identity === undefined) {
    say('STATE holds no identity: machined makes it on the first boot; nothing to do')
    return 3
  }
  const identity = identityKey(state.identity)
  const proto = values.proto ?? protoFile()
  say(`machine ${state.machineId}: asking ${state.server.host}:${state.server.port} for apid's certificate`)
  const renewer = new CertificateRenewer({
    obtain: async () => {
      const prepared = prepareCertificateRequest({ machineId: state.machineId, identity, ips: globalAddresses(), dnsNames: certificateHostname(hostname()), now: Date.now() })
      const reply = await requestNodeCertificate(state.server, prepared.request, proto)
      return { keyPem: prepared.keyPem, certificatePem: reply.certificatePem, caPem: reply.caPem, notAfterMs: reply.notAfterMs }
    },
    install: async (bundle) => { await writeBundle(out, bundle) },
    now: () => Date.now(),
    setTimer: (fn, ms) => { const t = setTimeout(fn, ms); return { cancel: () => { clearTimeout(t) } } },
    log: say
  })
  const stop = (): void => { renewer.stop(); process.exit(0) }
  process.once('SIGTERM', stop)
  process.once('SIGINT', stop)
  await renewer.start()
  return await new Promise<number>(() => {}) // runs until machined stops it
}

const entry = process.argv[1]
if (entry !== undefined && /(trustd\.mjs|trustd[/\\]main\.ts)$/.test(entry)) {
  main(process.argv.slice(2)).then((code) => { process.exit(code) }, (err: unknown) => {
    say(`crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}`)
    process.exit(1)
  })
}
