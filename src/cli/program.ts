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

/** What `anvil serve` runs; injected so the CLI module does not import the whole server. */
export type ServeAction = (configFile: string | undefined) => Promise<void>

type GlobalOptions = { endpoint?: string, tokenFile?: string, config?: string, output: string }

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
    print: (text: string) => { print(terminalSafe(text)) }
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
  // `anvil machines provision ID --config machine.yaml` is the documented form, yet `--config` is
  // also the global server-config option, which commander would take wherever it stands. After
  // `machines provision` it names the machine config: that command's arguments are rewritten.
  const parseAsync = program.parseAsync.bind(program)
  program.parseAsync = async (argv, options) => await parseAsync(provisionConfigArgs(argv ?? process.argv, options?.from), options)
  return program
}

/**
 * argv with `--config X` / `--config=X` after `machines provision` (or `machine provision`) turned
 * into `--machine-config`; the global `-c`/`--config` before the subcommand keeps its meaning.
 */
export function provisionConfigArgs (argv: readonly string[], from: 'node' | 'electron' | 'user' | undefined): string[] {
  const args = [...argv]
  const first = from === 'user' ? 0 : 2
  // The command words: the first two arguments that are not options nor option values.
  const valued = new Set(['--endpoint', '--token-file', '-c', '--config', '-o', '--output'])
  const words: number[] = []
  for (let i = first; i < args.length && words.length < 2; i++) {
    const a = args[i] ?? ''
    if (a === '--') break
    if (a.startsWith('-')) {
      if (valued.has(a)) i++
      continue
    }
    words.push(i)
  }
  const [noun, verb] = words.map(i => args[i])
  if ((noun !== 'machines' && noun !== 'machine') || verb !== 'provision') return args
  for (let i = (words[1] ?? args.length) + 1; i < args.length; i++) {
    const a = args[i] ?? ''
    if (a === '--') break
    if (a === '--config') args[i] = '--machine-config'
    else if (a.startsWith('--config=')) args[i] = `--machine-config=${a.slice('--config='.length)}`
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
