import { generateKeyPairSync } from 'node:crypto'
import { Option, type Command } from 'commander'
import type { ClientCertInput, ClientCertJson, NodeCaJson } from '../http/api-types.ts'
import { CLIENT_ROLES } from '../pki/node-ca.ts'
import type { CliContext } from './machines.ts'
import { renderData } from './output.ts'

/** PEM blocks end in a newline, so that concatenated they stay separate blocks whatever the source did. */
const block = (pem: string): string => pem.endsWith('\n') ? pem : `${pem}\n`

/**
 * The credential `anvil certs client` prints: the private key (PKCS#8), the client certificate,
 * then the node CA certificate, all PEM, so that one file is the whole credential.
 */
export function clientBundle (privateKeyPem: string, cert: ClientCertJson): string {
  return block(privateKeyPem) + block(cert.certificate) + block(cert.ca)
}

/** `anvil certs client` and `anvil certs ca`. */
export function registerCertsCommands (program: Command, ctx: CliContext): void {
  const certs = program.command('certs').alias('cert').description('the node CA: client certificates for the node API')

  certs.command('client').description('make an Ed25519 key pair here, have Anvil\'s node CA certify it, and print the bundle (key, certificate, CA) to stdout')
    .addOption(new Option('--role <role>', 'what the holder may do on a node').choices(CLIENT_ROLES).makeOptionMandatory())
    .option('--ttl <duration>', 'lifetime, 5m to 7d (default 8h)')
    .option('--name <name>', 'who the certificate is for, its CN (default: the role)')
    .action(async (opts: { role: string, ttl?: string, name?: string }) => {
      // The key is made here and only its public half is sent: the private key never travels.
      const { privateKey, publicKey } = generateKeyPairSync('ed25519')
      const input: ClientCertInput = {
        role: opts.role,
        publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
        ...(opts.name === undefined ? {} : { name: opts.name }),
        ...(opts.ttl === undefined ? {} : { ttl: opts.ttl })
      }
      const cert = await ctx.client().post<ClientCertJson>('/api/v1/certs/client', input)
      ctx.print(clientBundle(privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), cert))
    })

  certs.command('ca').description('print the node CA certificate (PEM; with -o json or yaml, also its SHA-256 fingerprint)')
    .action(async () => {
      const ca = await ctx.client().get<NodeCaJson>('/api/v1/certs/ca')
      const format = ctx.output()
      ctx.print(format === 'table' ? block(ca.ca) : renderData(ca, format))
    })
}
