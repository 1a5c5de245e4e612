import { isMap, isScalar, isSeq, LineCounter, parseDocument, visit, type Document, type ErrorCode as YamlErrorCode, type YAMLError } from 'yaml'
import type { z } from 'zod'
import { formatPath, invalidMachineConfig, type MachineConfigIssue } from './issues.ts'
import { show } from './names.ts'
import { machineConfigSchema, type MachineConfig } from './schema.ts'

/** Largest machine config document, in bytes (UTF-8). */
export const MAX_DOCUMENT_BYTES = 256 * 1024
/**
 * Most alias nodes a document may hold, and the yaml library's cap on what they expand to
 * (aliases times the aliases inside what each refers to). A machine config has little to share;
 * a "billion laughs" document needs a handful of aliases per level and is refused before it grows.
 */
export const MAX_ALIASES = 32

// The yaml library's own messages quote the source around an error (the line, an escape
// sequence, a tag), which could be a secret's line: only these fixed texts are shown, with the
// line and column.
const YAML_MESSAGES: Record<YamlErrorCode, string> = {
  ALIAS_PROPS: 'an alias cannot carry an anchor or a tag',
  BAD_ALIAS: 'invalid alias',
  BAD_COLLECTION_TYPE: 'the tag does not fit this collection',
  BAD_DIRECTIVE: 'invalid % directive',
  BAD_DQ_ESCAPE: 'invalid escape sequence in a double-quoted string',
  BAD_INDENT: 'bad indentation (items of one mapping or list start in the same column; a flow [ or { needs its closing bracket)',
  BAD_PROP_ORDER: 'anchors and tags must come after the - or ? indicator',
  BAD_SCALAR_START: 'a plain value cannot start with this character: quote it',
  BLOCK_AS_IMPLICIT_KEY: 'nested mappings are not allowed in compact mappings (a value holding ": " must be quoted)',
  BLOCK_IN_FLOW: 'block collections are not allowed inside [ ] or { }',
  DUPLICATE_KEY: 'duplicate key',
  IMPOSSIBLE: 'unreadable YAML',
  KEY_OVER_1024_CHARS: 'an implicit key is longer than 1024 characters',
  MISSING_CHAR: 'a closing quote or bracket, or a separator (, or :), is missing',
  MULTILINE_IMPLICIT_KEY: 'an implicit key must be on one line',
  MULTIPLE_ANCHORS: 'a node can have only one anchor',
  MULTIPLE_DOCS: 'one machine config per file: this is a second YAML document',
  MULTIPLE_TAGS: 'a node can have only one tag',
  NON_STRING_KEY: 'keys must be strings',
  RESOURCE_EXHAUSTION: `anchors and aliases expand too far (more than ${MAX_ALIASES}): refused as a resource exhaustion attack`,
  TAB_AS_INDENT: 'tabs cannot indent YAML: use spaces',
  TAG_RESOLVE_FAILED: 'unknown tag: only the YAML 1.2 core tags (!!str, !!int, !!bool, !!float, !!null, !!seq, !!map) are read',
  UNEXPECTED_TOKEN: 'unexpected token'
}

const YAML_TAG = 'tag:yaml.org,2002:'
const CORE_TAGS = new Set(['str', 'int', 'float', 'bool', 'null', 'seq', 'map'].map(t => `${YAML_TAG}${t}`))

type ReadResult = { value: unknown, doc?: Document, lines?: LineCounter, issues: MachineConfigIssue[] }

const atLine = (lines: LineCounter, offset: number, message: string): MachineConfigIssue => {
  const { line, col } = lines.linePos(offset)
  return { path: `line ${line}:${col}`, message, line }
}

function yamlIssue (text: string, lines: LineCounter, e: YAMLError): MachineConfigIssue {
  let message = YAML_MESSAGES[e.code] ?? 'invalid YAML'
  // A key's name is not a secret, and it is what the reader needs to find.
  if (e.code === 'DUPLICATE_KEY') {
    const key = /^(.*?):(\s|$)/.exec(text.slice(e.pos[0], e.pos[0] + 300).split('\n')[0] ?? '')?.[1]?.trim()
    if (key !== undefined && key !== '') message = `duplicate key ${show(key.replace(/^(["'])(.*)\1$/, '$2'))}`
  }
  return atLine(lines, e.pos[0], message)
}

/** YAML text to a plain value, with every structural problem as an issue (never the library's text). */
function readYaml (text: string): ReadResult {
  const bytes = Buffer.byteLength(text, 'utf8')
  if (bytes > MAX_DOCUMENT_BYTES) return { value: undefined, issues: [tooLarge(bytes)] }
  const lines = new LineCounter()
  // YAML 1.2 core schema: yes/no/on/off stay strings, no merge keys, no timestamps.
  const doc = parseDocument(text, { schema: 'core', merge: false, uniqueKeys: true, prettyErrors: false, strict: true, lineCounter: lines })
  const issues = [...doc.errors, ...doc.warnings].map(e => yamlIssue(text, lines, e))
  let aliases = 0
  visit(doc, {
    Alias: () => { aliases++ },
    Node: (_, node) => {
      // The core schema's resolver still knows !!binary, !!set, !!omap, !!timestamp: none is plain data.
      // (Unknown tags such as !foo arrive as TAG_RESOLVE_FAILED warnings already.)
      if ('tag' in node && typeof node.tag === 'string' && node.tag.startsWith(YAML_TAG) && !CORE_TAGS.has(node.tag)) issues.push(atLine(lines, node.range?.[0] ?? 0, YAML_MESSAGES.TAG_RESOLVE_FAILED))
    },
    Pair: (_, pair) => {
      if (!isScalar(pair.key) || typeof pair.key.value !== 'string') {
        const at = (pair.key as { range?: [number, number, number] } | null)?.range?.[0] ?? 0
        issues.push(atLine(lines, at, 'keys must be plain strings'))
      }
    }
  })
  if (aliases > MAX_ALIASES) issues.push({ path: '(document)', message: `${aliases} aliases; a machine config may use at most ${MAX_ALIASES}` })
  if (issues.length > 0) return { value: undefined, issues }
  try {
    return { value: doc.toJS({ maxAliasCount: MAX_ALIASES }), doc, lines, issues }
  } catch (err) {
    // toJS throws ReferenceError for an alias bomb or an alias to an anchor not yet defined.
    const bomb = /excessive alias count/i.test((err as Error).message)
    return { value: undefined, issues: [{ path: '(document)', message: bomb ? YAML_MESSAGES.RESOURCE_EXHAUSTION : 'an alias refers to no anchor defined before it' }] }
  }
}

/** The issue for a document over MAX_DOCUMENT_BYTES (the CLI reports it before reading further). */
export function tooLarge (bytes: number): MachineConfigIssue {
  return { path: '(document)', message: `the document is ${bytes} bytes; a machine config holds at most ${MAX_DOCUMENT_BYTES} (256 KiB)` }
}

const UNKNOWN_KEY = 'unknown key'

const EXPECTED: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', number: 'a number', int: 'an integer', boolean: 'true or false', never: 'nothing' }

function kindOf (v: unknown): string {
  if (v === null) return 'null'
  if (Array.isArray(v)) return 'a list'
  if (typeof v === 'object') return 'a mapping'
  if (typeof v === 'number' && !Number.isInteger(v)) return 'a fractional number'
  return `a ${typeof v}`
}

/** Messages for zod's own issues that never repeat the input (schema-specific messages take precedence). */
const defaultMessages: z.core.$ZodErrorMap = (iss) => {
  const many = (n: unknown, one: string, more: string): string => `${String(n)} ${Number(n) === 1 ? one : more}`
  switch (iss.code) {
    case 'invalid_type': return iss.input === undefined ? 'required' : `expected ${EXPECTED[iss.expected] ?? iss.expected}, got ${kindOf(iss.input)}`
    case 'unrecognized_keys': return UNKNOWN_KEY
    case 'invalid_value': return `expected one of ${iss.values.map(String).join(', ')}`
    case 'too_big':
      if (iss.origin === 'array') return `at most ${many(iss.maximum, 'item', 'items')}`
      if (iss.origin === 'string') return `at most ${many(iss.maximum, 'character', 'characters')}`
      return `at most ${String(iss.maximum)}`
    case 'too_small':
      if (iss.origin === 'array') return `at least ${many(iss.minimum, 'item', 'items')}`
      if (iss.origin === 'string') return Number(iss.minimum) === 1 ? 'must not be empty' : `at least ${many(iss.minimum, 'character', 'characters')}`
      return `at least ${String(iss.minimum)}`
    case 'custom': case 'invalid_element': case 'invalid_format': case 'invalid_key': case 'invalid_union': case 'not_multiple_of':
      return undefined
  }
}

type Def = { type?: string, innerType?: unknown, in?: unknown, element?: unknown, shape?: Record<string, unknown>, valueType?: unknown }
const defOf = (s: unknown): Def => ((s as { _zod?: { def?: Def } })._zod?.def ?? {})

/** The keys the schema allows at a path (for "unknown key" messages), read from the schema itself. */
function keysAt (path: readonly PropertyKey[]): string[] {
  let s: unknown = machineConfigSchema
  let i = 0
  for (;;) {
    const def = defOf(s)
    if (def.type === 'optional' || def.type === 'default') {
      s = def.innerType
    } else if (def.type === 'pipe') {
      s = def.in
    } else if (i === path.length) {
      return def.type === 'object' ? Object.keys(def.shape ?? {}).filter(k => k !== 'secrets') : []
    } else if (def.type === 'array' || def.type === 'record') {
      s = def.type === 'array' ? def.element : def.valueType
      i++
    } else if (def.type === 'object') {
      s = def.shape?.[String(path[i++])]
    } else {
      return []
    }
  }
}

/** The line of the deepest key or item of the document on the path (for editors; never in the message). */
function lineOf (doc: Document, lines: LineCounter, path: readonly PropertyKey[]): number | undefined {
  let node: unknown = doc.contents
  let offset = (node as { range?: [number, number, number] } | null)?.range?.[0]
  for (const p of path) {
    let next: { range?: [number, number, number] } | undefined
    if (isMap(node)) {
      const pair = node.items.find(i => isScalar(i.key) && String(i.key.value) === String(p))
      next = pair?.value as typeof next
      offset = (pair?.key as typeof next)?.range?.[0] ?? offset
    } else if (isSeq(node) && typeof p === 'number') {
      next = node.items[p] as typeof next
      offset = next?.range?.[0] ?? offset
    }
    if (next === undefined) break
    node = next
  }
  return offset === undefined ? undefined : lines.linePos(offset).line
}

function toIssues (issues: readonly z.core.$ZodIssue[], read: ReadResult): MachineConfigIssue[] {
  return issues.flatMap((iss) => {
    const paths = iss.code === 'unrecognized_keys' ? iss.keys.map(k => [...iss.path, k]) : [iss.path]
    return paths.map((path) => {
      let message = iss.message
      if (message === UNKNOWN_KEY) {
        const keys = keysAt(path.slice(0, -1))
        message = keys.length === 0 ? UNKNOWN_KEY : `unknown key (expected ${keys.join(', ')})`
      }
      const line = read.doc === undefined || read.lines === undefined ? undefined : lineOf(read.doc, read.lines, path)
      return { path: formatPath(path), message, ...(line === undefined ? {} : { line }) }
    })
  })
}

/** Validates an already-parsed value (e.g. JSON, or a MachineConfig to re-normalize); throws ERR_MACHINE_CONFIG_INVALID. */
export function validateMachineConfig (value: unknown): MachineConfig {
  return check(value, { value, issues: [] })
}

function check (value: unknown, read: ReadResult): MachineConfig {
  if (value === null || value === undefined) {
    throw invalidMachineConfig([{ path: '(document)', message: 'the document is empty: expected a MachineConfig mapping (version, kind, hostname, install, network, ...)' }])
  }
  if (typeof value !== 'object' || Array.isArray(value)) {
    throw invalidMachineConfig([{ path: '(document)', message: `expected a MachineConfig mapping at the top level, got ${kindOf(value)}` }])
  }
  const result = machineConfigSchema.safeParse(value, { error: defaultMessages })
  if (result.success) return result.data
  throw invalidMachineConfig(toIssues(result.error.issues, read))
}

/**
 * Parses and validates a machine config document (YAML 1.2; JSON is YAML too). Throws a
 * CodedError ERR_MACHINE_CONFIG_INVALID whose message lists every issue and whose
 * `details.issues` holds them as `{ path, message, line? }`.
 */
export function parseMachineConfig (text: string): MachineConfig {
  const read = readYaml(text)
  if (read.issues.length > 0) throw invalidMachineConfig(read.issues)
  return check(read.value, read)
}
