import { chmod, mkdir, readFile } from 'node:fs/promises'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import type { Command } from 'commander'
import { parse, stringify } from 'yaml'
import { CodedError } from '../lib/errors.ts'
import { writeFileAtomically } from '../storage/atomic-file.ts'
import type { CliContext } from './machines.ts'
import { readNodeBundle } from './node-bundle.ts'
import { formatAddress, parseEndpoint } from './node-targets.ts'
import { renderData, renderTable, type Column } from './output.ts'

/**
 * CLI contexts: which node endpoint and which credential the node verbs use, as talosctl's
 * talosconfig. `$ANVIL_HOME/config.yaml` (default ~/.anvil), the directory 0700 and the file 0600,
 * replaced atomically:
 *
 *   current: rack1
 *   contexts:
 *     rack1: { endpoint: 10.77.0.21:50000, cert: /home/op/.anvil/admin.pem }
 *
 * `cert` is the path of the bundle, not its contents: a client certificate lives hours (anvil
 * certs client --ttl), so renewing it is rewriting that one file, with no context to edit.
 */
export type NodeContext = { readonly endpoint: string, readonly cert: string }
export type ContextsFile = { readonly current: string | null, readonly contexts: Readonly<Record<string, NodeContext>> }

/** $ANVIL_HOME, else ~/.anvil. */
export function anvilHome (env: NodeJS.ProcessEnv = process.env): string {
  const home = env.ANVIL_HOME
  return home !== undefined && home !== '' ? home : join(homedir(), '.anvil')
}

export function contextsFilePath (home: string): string {
  return join(home, 'config.yaml')
}

const NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,62}$/

function checkName (name: string): string {
  if (!NAME.test(name)) throw new CodedError('ERR_USAGE', `context name ${JSON.stringify(name)}: letters, digits, '.', '_' and '-', at most 63`)
  return name
}

function badFile (file: string, why: string): CodedError {
  return new CodedError('ERR_INVALID_CONFIG', `${file}: ${why}`, { file })
}

/** The contexts file, or an empty one when it does not exist yet. */
export async function loadContexts (home: string): Promise<ContextsFile> {
  const file = contextsFilePath(home)
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { current: null, contexts: {} }
    throw new CodedError('ERR_CONFIG_UNREADABLE', `cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`, { file })
  }
  let doc: unknown
  try {
    doc = parse(text)
  } catch (err) {
    throw badFile(file, `not YAML (${(err as Error).message.split('\n')[0] ?? ''})`)
  }
  if (doc === null || doc === undefined) return { current: null, contexts: {} }
  if (typeof doc !== 'object' || Array.isArray(doc)) throw badFile(file, 'not a mapping')
  const { current = null, contexts = {} } = doc as { current?: unknown, contexts?: unknown }
  if (current !== null && typeof current !== 'string') throw badFile(file, '`current` is not a context name')
  if (typeof contexts !== 'object' || contexts === null || Array.isArray(contexts)) throw badFile(file, '`contexts` is not a mapping')
  const out: Record<string, NodeContext> = {}
  for (const [name, c] of Object.entries(contexts)) {
    const { endpoint, cert } = (c ?? {}) as { endpoint?: unknown, cert?: unknown }
    if (typeof endpoint !== 'string' || typeof cert !== 'string') throw badFile(file, `context ${JSON.stringify(name)} needs endpoint and cert strings`)
    out[name] = { endpoint, cert }
  }
  return { current, contexts: out }
}

/** Writes the file (0600) atomically, making $ANVIL_HOME 0700 if it does not exist. */
export async function saveContexts (home: string, file: ContextsFile): Promise<void> {
  const created = await mkdir(home, { recursive: true, mode: 0o700 })
  // mkdir's mode passes through the umask; an existing directory is the operator's to set.
  if (created !== undefined) await chmod(home, 0o700)
  await writeFileAtomically(contextsFilePath(home), stringify({ current: file.current, contexts: file.contexts }), 0o600)
}

/** The context the node verbs use: `name`, else the current one. */
export async function currentContext (home: string, name?: string): Promise<{ name: string, context: NodeContext }> {
  const file = await loadContexts(home)
  const wanted = name ?? file.current
  if (wanted === null) throw new CodedError('ERR_CONTEXT_NOT_FOUND', 'no current context: anvil context add NAME --endpoint HOST --cert FILE, then anvil context use NAME')
  const context = file.contexts[wanted]
  if (context === undefined) throw notFound(wanted)
  return { name: wanted, context }
}

function notFound (name: string): CodedError {
  return new CodedError('ERR_CONTEXT_NOT_FOUND', `no context ${JSON.stringify(name)} (anvil context list)`, { name })
}

type ContextRow = { name: string, current: boolean } & NodeContext

const COLUMNS: Column<ContextRow>[] = [
  { header: 'CURRENT', get: r => r.current ? '*' : '' },
  { header: 'NAME', get: r => r.name },
  { header: 'ENDPOINT', get: r => r.endpoint },
  { header: 'CERT', get: r => r.cert }
]

/** `anvil context add|use|list|remove` (program.ts renames `--endpoint` after `context add`). */
export function registerContextCommands (program: Command, ctx: CliContext & { anvilHome: () => string }): void {
  const context = program.command('context').alias('contexts').description('where the node verbs (-n) connect and with which credential ($ANVIL_HOME/config.yaml, default ~/.anvil)')

  context.command('add').description('add or replace a context: a node API endpoint (HOST[:PORT], port 50000) and the PEM bundle of `anvil certs client`; the first one added becomes current')
    .usage('NAME --endpoint HOST[:PORT] --cert FILE')
    .argument('<name>')
    .requiredOption('--context-endpoint <host[:port]>', 'the node API endpoint (typed as --endpoint after `context add`)')
    .requiredOption('--cert <file>', 'the PEM bundle: private key, client certificate, CA certificate')
    .action(async (name: string, o: { contextEndpoint: string, cert: string }) => {
      checkName(name)
      const endpoint = formatAddress(parseEndpoint(o.contextEndpoint))
      const cert = resolve(o.cert)
      // A wrong file is said now, not at the first node command.
      await readNodeBundle(cert)
      const home = ctx.anvilHome()
      const file = await loadContexts(home)
      await saveContexts(home, { current: file.current ?? name, contexts: { ...file.contexts, [name]: { endpoint, cert } } })
      ctx.print(`context ${name}: ${endpoint}, ${cert}${(file.current ?? name) === name ? ' (current)' : ''}\n`)
    })

  context.command('use').description('make NAME the current context')
    .argument('<name>')
    .action(async (name: string) => {
      const home = ctx.anvilHome()
      const file = await loadContexts(home)
      if (file.contexts[name] === undefined) throw notFound(name)
      await saveContexts(home, { ...file, current: name })
      ctx.print(`current context: ${name}\n`)
    })

  context.command('list').alias('ls').description('every context; the current one marked *')
    .action(async () => {
      const file = await loadContexts(ctx.anvilHome())
      const rows = Object.entries(file.contexts).map(([name, c]) => ({ name, current: name === file.current, ...c }))
      const format = ctx.output()
      ctx.print(format === 'table' ? renderTable(rows, COLUMNS) : renderData(rows, format))
    })

  context.command('remove').alias('rm').description('forget a context (the bundle file stays); if it was current, none is')
    .argument('<name>')
    .action(async (name: string) => {
      const home = ctx.anvilHome()
      const file = await loadContexts(home)
      if (file.contexts[name] === undefined) throw notFound(name)
      const contexts = Object.fromEntries(Object.entries(file.contexts).filter(([n]) => n !== name))
      await saveContexts(home, { current: file.current === name ? null : file.current, contexts })
      ctx.print(`context ${name} removed\n`)
    })
}
