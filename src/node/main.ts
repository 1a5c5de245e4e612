/**
 * The node's one program, bundled by the image build into /usr/lib/anvil/anvil-node.mjs (one copy
 * of grpc-js and protobufjs on the read-only root for the three daemons), with node.proto and
 * provisioning.proto beside it:
 *   node anvil-node.mjs machined          the node's manager (root-init runs it)
 *   node anvil-node.mjs trustd ARGS...    started by machined (src/node/trustd/main.ts)
 *   node anvil-node.mjs apid ARGS...      started by machined (src/node/apid/main.ts)
 */
import { main as apid } from './apid/main.ts'
import { EXIT, main as machined } from './machined/main.ts'
import { main as trustd } from './trustd/main.ts'

const DAEMONS: Record<string, (argv: readonly string[]) => Promise<number>> = {
  machined: async () => await machined(),
  trustd,
  apid
}

const [name = '', ...args] = process.argv.slice(2)
const run = Object.hasOwn(DAEMONS, name) ? DAEMONS[name] : undefined
if (run === undefined) {
  process.stderr.write(`usage: anvil-node.mjs machined | trustd ARGS | apid ARGS (not ${JSON.stringify(name.slice(0, 40))})\n`)
  process.exit(2)
}
run(args).then((code) => { process.exit(code) }, (err: unknown) => {
  process.stdout.write(`anvil-node: ${name} crashed: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`)
  process.exit(name === 'machined' ? EXIT.failed : 1)
})
