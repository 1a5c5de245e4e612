/**
 * The apid process, as machined supervises it (an unprivileged uid; an explicit argv, no shell):
 *
 *   apid --ca /run/anvil/pki/node-ca.pem --cert /run/anvil/pki/apid.pem --key /run/anvil/pki/apid.key
 *        [--listen 0.0.0.0:50000] [--machined-socket /run/anvil/machined.sock] [--log-level info]
 *
 * SIGHUP re-reads the three files and rotates the certificate in place (trustd writes the renewed
 * pair, then signals); a pair that does not load is logged and the old one stays. SIGTERM or
 * SIGINT stops it within the grace period. Exit codes: 0 stopped, 2 bad arguments, 1 anything else.
 */
import { existsSync, readFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { parseArgs } from 'node:util'
import { DEFAULT_NODE_PROTO_FILE } from '../../grpc/proto.ts'
import { isCodedError } from '../../lib/errors.ts'
import { createLogger } from '../../log/logger.ts'
import { DEFAULT_MACHINED_SOCKET, startApid } from './server.ts'

export type ApidArgs = {
  readonly listen: string
  readonly caFile: string
  readonly certFile: string
  readonly keyFile: string
  readonly machinedSocket: string
  readonly logLevel: string
}

const USAGE = 'usage: apid --ca FILE --cert FILE --key FILE [--listen HOST:PORT] [--machined-socket PATH] [--log-level LEVEL]'

/** The flags, strictly: an unknown flag or a missing file flag is an error (exit 2), never a default. */
export function parseApidArgs (argv: readonly string[]): ApidArgs {
  const { values } = parseArgs({
    args: [...argv],
    strict: true,
    allowPositionals: false,
    options: {
      listen: { type: 'string', default: '0.0.0.0:50000' },
      ca: { type: 'string' },
      cert: { type: 'string' },
      key: { type: 'string' },
      'machined-socket': { type: 'string', default: DEFAULT_MACHINED_SOCKET },
      'log-level': { type: 'string', default: 'info' }
    }
  })
  const { ca, cert, key } = values
  if (ca === undefined || cert === undefined || key === undefined) throw new Error(`--ca, --cert and --key are required\n${USAGE}`)
  return { listen: values.listen, caFile: ca, certFile: cert, keyFile: key, machinedSocket: values['machined-socket'], logLevel: values['log-level'] }
}

function readPems (args: ApidArgs): { caPem: string, certPem: string, keyPem: string } {
  return { caPem: readFileSync(args.caFile, 'utf8'), certPem: readFileSync(args.certFile, 'utf8'), keyPem: readFileSync(args.keyFile, 'utf8') }
}

/** The bundle ships node.proto beside apid.mjs; in the repository it is src/proto/. */
function protoFile (): string {
  const beside = process.argv[1] === undefined ? undefined : join(dirname(process.argv[1]), 'node.proto')
  return beside !== undefined && existsSync(beside) ? beside : DEFAULT_NODE_PROTO_FILE
}

/** Runs apid with these arguments (the process's, after the script or the bundle's `apid`). */
export async function main (argv: readonly string[]): Promise<number> {
  let args: ApidArgs
  try {
    args = parseApidArgs(argv)
  } catch (err) {
    process.stderr.write(`apid: ${err instanceof Error ? err.message : String(err)}\n`)
    return 2
  }
  const log = createLogger(args.logLevel)
  const apid = await startApid({ listen: args.listen, credentials: readPems(args), machinedSocket: args.machinedSocket, log, protoFile: protoFile() })
  process.on('SIGHUP', () => {
    try {
      apid.rotate(readPems(args))
    } catch (err) {
      log.error({ code: isCodedError(err) ? err.code : undefined, reason: err instanceof Error ? err.message : String(err) }, 'SIGHUP: certificate not rotated')
    }
  })
  await new Promise<void>((resolve) => {
    process.once('SIGTERM', resolve)
    process.once('SIGINT', resolve)
  })
  await apid.stop()
  return 0
}

const entry = process.argv[1]
if (entry !== undefined && /(apid\.mjs|apid[/\\]main\.ts)$/.test(entry)) {
  main(process.argv.slice(2)).then((code) => { process.exit(code) }, (err: unknown) => {
    process.stderr.write(`apid: ${err instanceof Error ? err.message : String(err)}\n`)
    process.exit(1)
  })
}
