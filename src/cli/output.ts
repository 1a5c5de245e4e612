import { stringify } from 'yaml'
import { CodedError } from '../lib/errors.ts'
import { escapeControlChars } from '../lib/text.ts'

export const OutputFormat = { table: 'table', json: 'json', yaml: 'yaml' } as const
export type OutputFormat = typeof OutputFormat[keyof typeof OutputFormat]

export function parseOutputFormat (value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml') return value
  throw new CodedError('ERR_USAGE', `unknown output format ${JSON.stringify(value)}: use table, json or yaml`)
}

/** A column of a table: its header and how to read a cell from a row. */
export type Column<T> = { readonly header: string, readonly get: (row: T) => unknown }

/*
 * Values shown here come from machines being provisioned (serials, models, host names), so they
 * may hold terminal control sequences (ESC ] 0 ; title BEL, CSI 2 J). Tables and fields print
 * every C0, DEL and C1 control as a visible escape (`\x1b`, `\x9b`, `\n`: escapeControlChars):
 * readable, not reversible. JSON and YAML stay exact and escape the same characters in their own
 * syntax; the only raw controls any format prints are LF and, in YAML, TAB: layout, never the
 * start of a sequence.
 */

function cell (v: unknown): string {
  return escapeControlChars(rawCell(v))
}

function rawCell (v: unknown): string {
  if (v === null || v === undefined || v === '') return '-'
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(',')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** Plain aligned columns (like kubectl/talosctl), no box drawing, so it pipes into grep and awk. */
export function renderTable<T> (rows: readonly T[], columns: readonly Column<T>[]): string {
  const headers = columns.map(c => escapeControlChars(c.header))
  const cells = rows.map(r => columns.map(c => cell(c.get(r))))
  const widths = headers.map((h, i) => Math.max(h.length, ...cells.map(row => (row[i] as string).length)))
  const line = (values: readonly string[]): string => values.map((v, i) => i === values.length - 1 ? v : v.padEnd(widths[i] as number)).join('   ').trimEnd()
  return [line(headers), ...cells.map(line)].join('\n') + '\n'
}

/** key: value lines for one object (nested objects as YAML-ish blocks). */
export function renderFields (fields: readonly (readonly [string, unknown])[]): string {
  const keys = fields.map(([k]) => escapeControlChars(k))
  const width = Math.max(...keys.map(k => k.length))
  return fields.map(([, v], i) => `${(`${keys[i] as string}:`).padEnd(width + 1)}  ${cell(v)}`).join('\n') + '\n'
}

/** DEL, C1 and the two Unicode line separators: JSON.stringify leaves them raw (it escapes only C0). */
const JSON_RAW = /[\u007f-\u009f\u2028\u2029]/g
/** DEL and C1: the yaml library double-quotes a string holding them but leaves them raw inside. */
const YAML_RAW = /[\u007f-\u009f]/g

const hex = (c: string, width: number): string => c.charCodeAt(0).toString(16).padStart(width, '0')

/**
 * Machine-readable renderings of any value, exact (parsing the text gives the value back) and with
 * no raw control character. JSON: those characters occur only inside strings, so each becomes a
 * \uXXXX escape (RFC 8259 §7). YAML: the library writes C0 as escapes already and double-quotes
 * every string holding DEL or C1 (YAML 1.2 §5.1 leaves all but NEL out of the printable set), so
 * each becomes a \xNN escape there (§5.7). output.test.ts holds the library to that.
 */
export function renderData (value: unknown, format: 'json' | 'yaml'): string {
  if (format === 'json') return (JSON.stringify(value, null, 2) ?? 'undefined').replace(JSON_RAW, c => `\\u${hex(c, 4)}`) + '\n'
  return stringify(value).replace(YAML_RAW, c => `\\x${hex(c, 2)}`)
}
