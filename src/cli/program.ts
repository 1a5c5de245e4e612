import { join } from 'node:path'
import { Command, CommanderError, Option } from 'commander'
import { loadConfig } from '../config/load.ts'
import { isCodedError } from '../lib/errors.ts'
import { terminalSafe } from '../lib/text.ts'
import { ApiClient } from './client.ts'
import { registerMachineCommands } from './machines.ts'
import { registerBmcCommands, registerBootdevCommand, registerPowerCommands } from './power.ts'
import { registerIpmiCommand } from './ipmi.ts'
import { registerKeysCommand } from './keys.ts'
import { registerImagesCommand } from './images.ts'
import { registerConfigCommands } from './config.ts'
import { registerOperationsCommands } from './operations.ts'
import { registerCertsCommands } from './certs.ts'
import { parseOutputFormat, type OutputFormat } from './output.ts'
import { anvilHome, registerContextCommands } from './contexts.ts'
import { registerNodeCommands } from './node-commands.ts'

/** What `anvil serve` runs; injected so the CLI module does not import the whole server. */
export type ServeAction = (configFile: string | undefined) => Promise<void>

type GlobalOptions = { endpoint?: string, tokenFile?: string, config?: string, output: string, nodes: string[] }

/** Endpoint and token file: flags, then environment, then the config file, then defaults. */
function clientFrom (opts: GlobalOptions): ApiClient {
  let endpoint = opts.endpoint ?? process.env.ANVIL_ENDPOINT
  let tokenFile = opts.tokenFile ?? process.env.ANVIL_TOKEN_FILE
  const configFile = opts.config ?? process.env.ANVIL_CONFIG
  if ((endpoint === undefined || tokenFile === undefined) && configFile !== undefined) {
    const config = loadConfig(configFile)
    const [host = '127.0.0.1', port = '8081'] = config.api.listen.split(':')
    endpoint ??= `http://${host === '0.0.0.0' ? '127.0.0.1' : host}:${port}`
    tokenFile ??= join(config.dataDir, 'admin.token')
  }
  return new ApiClient({ endpoint: endpoint ?? 'http://127.0.0.1:8081', tokenFile: tokenFile ?? join('var', 'admin.token') })
}

/** Builds the `anvil` command tree. */
export function buildProgram (serve: ServeAction, print: (text: string) => void = (t) => process.stdout.write(t)): Command {
  const program = new Command('anvil')
    .description('Anvil: bare-metal provisioning (DHCP, TFTP, HTTP boot, inventory, power)')
    .option('--endpoint <url>', 'admin API URL (env ANVIL_ENDPOINT; default http://127.0.0.1:8081)')
    .option('--token-file <file>', 'admin API token file (env ANVIL_TOKEN_FILE; default ./var/admin.token)')
    .option('-c, --config <file>', 'server config file (env ANVIL_CONFIG)')
    .addOption(new Option('-o, --output <format>', 'table, json or yaml').default('table'))
    .addOption(new Option('-n, --nodes <node>', 'the node verbs\' targets: a machine id, name or address[:port], repeated or comma-separated (default: the current context\'s endpoint)')
      .argParser((value: string, previous: string[]) => [...previous, value]).default([]))
    .showHelpAfterError()
    .exitOverride()

  program.command('serve').description('run the provisioning server (DHCP, TFTP, HTTP boot, the agents\' gRPC service, admin API)')
    .option('--config <file>', 'YAML config (env ANVIL_CONFIG); embedded defaults when absent')
    .action(async (opts: { config?: string }) => {
      await serve(opts.config ?? program.opts<GlobalOptions>().config ?? process.env.ANVIL_CONFIG)
    })

  const ctx = {
    client: () => clientFrom(program.opts<GlobalOptions>()),
    output: (): OutputFormat => parseOutputFormat(program.opts<GlobalOptions>().output),
    // Every line the CLI prints passes here: control characters from a machine's report, a
    // packet or an agent's error never reach the terminal raw (JSON and YAML escape them anyway).
    print: (text: string) => { print(terminalSafe(text)) },
    nodes: (): readonly string[] => program.opts<GlobalOptions>().nodes,
    anvilHome: () => anvilHome()
  }
  registerMachineCommands(program, ctx)
  registerBmcCommands(program, ctx)
  registerPowerCommands(program, ctx)
  registerBootdevCommand(program, ctx)
  registerIpmiCommand(program, ctx)
  registerKeysCommand(program, ctx)
  registerImagesCommand(program, ctx)
  registerConfigCommands(program, ctx)
  registerOperationsCommands(program, ctx)
  registerCertsCommands(program, ctx)
  registerContextCommands(program, ctx)
  registerNodeCommands(program, ctx)
  const parseAsync = program.parseAsync.bind(program)
  program.parseAsync = async (argv, options) => await parseAsync(commandOptionArgs(argv ?? process.argv, options?.from), options)
  return program
}

/**
 * Options of a subcommand that share their name with a global option, which commander would take
 * wherever it stands: after these command words, the option is renamed to the subcommand's own.
 * `anvil machines provision ID --config machine.yaml` names the machine config (the global
 * `--config` is the server's); `anvil context add NAME --endpoint HOST` names the node endpoint
 * (the global `--endpoint` is the admin API's URL).
 */
export const OPTION_RENAMES: ReadonlyArray<{ readonly words: readonly [string, string], readonly from: string, readonly to: string }> = [
  { words: ['machines', 'provision'], from: '--config', to: '--machine-config' },
  { words: ['machine', 'provision'], from: '--config', to: '--machine-config' },
  { words: ['context', 'add'], from: '--endpoint', to: '--context-endpoint' },
  { words: ['contexts', 'add'], from: '--endpoint', to: '--context-endpoint' }
]

/** Global options that take a value: their value is not a command word. */
const VALUED_GLOBALS = new Set(['--endpoint', '--token-file', '-c', '--config', '-o', '--output', '-n', '--nodes'])

/**
 * argv with each OPTION_RENAMES option (`--x V` and `--x=V`) after its command words renamed; the
 * same option before the command words stays the global one.
 */
export function commandOptionArgs (argv: readonly string[], from: 'node' | 'electron' | 'user' | undefined): string[] {
  const args = [...argv]
  const first = from === 'user' ? 0 : 2
  // The command words: the first two arguments that are not options nor option values.
  const words: number[] = []
  for (let i = first; i < args.length && words.length < 2; i++) {
    const a = args[i] ?? ''
    if (a === '--') break
    if (a.startsWith('-')) {
      if (VALUED_GLOBALS.has(a)) i++
      continue
    }
    words.push(i)
  }
  const [noun, verb] = words.map(i => args[i])
  const renames = OPTION_RENAMES.filter(r => r.words[0] === noun && r.words[1] === verb)
  for (let i = (words[1] ?? args.length) + 1; i < args.length && renames.length > 0; i++) {
    const a = args[i] ?? ''
    if (a === '--') break
    for (const { from: name, to } of renames) {
      if (a === name) args[i] = to
      else if (a.startsWith(`${name}=`)) args[i] = `${to}=${a.slice(name.length + 1)}`
    }
  }
  return args
}

/** Runs the CLI and returns the process exit code; errors print their code and message, never a stack. */
export async function runCli (argv: readonly string[], serve: ServeAction): Promise<number> {
  const program = buildProgram(serve)
  try {
    await program.parseAsync([...argv], { from: 'user' })
    return 0
  } catch (err) {
    if (err instanceof CommanderError) {
      return err.exitCode === 0 ? 0 : 2
    }
    if (isCodedError(err)) {
      process.stderr.write(`anvil: ${terminalSafe(err.message)} [${err.code}]\n`)
      // 130: the shell's status for a command ended by SIGINT (128 + 2).
      return err.code === 'ERR_USAGE' ? 2 : err.code === 'ERR_INTERRUPTED' ? 130 : 1
    }
    process.stderr.write(`anvil: unexpected error: ${terminalSafe((err as Error).stack ?? String(err))}\n`)
    return 1
  }
}
