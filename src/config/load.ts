import { readFileSync } from 'node:fs'
import { parseDocument } from 'yaml'
import { configSchema, type Config } from './schema.ts'
import { CodedError } from '../lib/errors.ts'

/** One problem in a config file: where (key path) and what was expected. */
export type ConfigProblem = { readonly path: string, readonly message: string }

/** Thrown when the config cannot be used; `problems` lists every invalid key at once. */
export class ConfigError extends CodedError {
  readonly problems: readonly ConfigProblem[]
  constructor (source: string, problems: readonly ConfigProblem[]) {
    super('ERR_INVALID_CONFIG', `invalid configuration in ${source}:\n` + problems.map(p => `  ${p.path}: ${p.message}`).join('\n'))
    this.problems = problems
  }
}

function formatPath (path: readonly PropertyKey[]): string {
  if (path.length === 0) return '(top level)'
  return path.map((p, i) => typeof p === 'number' ? `[${p}]` : (i === 0 ? String(p) : `.${String(p)}`)).join('')
}

/** Validates a parsed YAML/JSON value into a Config. */
export function parseConfig (value: unknown, source = 'configuration'): Config {
  const result = configSchema.safeParse(value ?? {})
  if (result.success) return result.data
  throw new ConfigError(source, result.error.issues.map(i => ({ path: formatPath(i.path), message: i.message })))
}

/** Parses YAML text (with line numbers on syntax errors) and validates it. */
export function parseConfigText (text: string, source = 'configuration'): Config {
  const doc = parseDocument(text, { prettyErrors: true })
  if (doc.errors.length > 0) {
    throw new ConfigError(source, doc.errors.map(e => ({ path: `line ${e.linePos?.[0].line ?? '?'}`, message: e.message.split('\n')[0] ?? e.message })))
  }
  return parseConfig(doc.toJS(), source)
}

/** Loads the config file, or the embedded defaults when no file is named. */
export function loadConfig (file: string | undefined): Config {
  if (file === undefined) return parseConfig({}, 'embedded defaults')
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (err) {
    throw new CodedError('ERR_CONFIG_UNREADABLE', `cannot read config file ${file}: ${(err as Error).message}`)
  }
  return parseConfigText(text, file)
}
