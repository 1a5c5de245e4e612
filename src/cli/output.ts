import { stringify } from 'yaml'
import { CodedError } from '../lib/errors.ts'

export const OutputFormat = { table: 'table', json: 'json', yaml: 'yaml' } as const
export type OutputFormat = typeof OutputFormat[keyof typeof OutputFormat]

export function parseOutputFormat (value: string): OutputFormat {
  if (value === 'table' || value === 'json' || value === 'yaml') return value
  throw new CodedError('ERR_USAGE', `unknown output format ${JSON.stringify(value)}: use table, json or yaml`)
}

/** A column of a table: its header and how to read a cell from a row. */
export type Column<T> = { readonly header: string, readonly get: (row: T) => unknown }

function cell (v: unknown): string {
  if (v === null || v === undefined || v === '') return '-'
  if (Array.isArray(v)) return v.length === 0 ? '-' : v.join(',')
  if (typeof v === 'object') return JSON.stringify(v)
  return String(v)
}

/** Plain aligned columns (like kubectl/talosctl), no box drawing, so it pipes into grep and awk. */
export function renderTable<T> (rows: readonly T[], columns: readonly Column<T>[]): string {
  const cells = rows.map(r => columns.map(c => cell(c.get(r))))
  const widths = columns.map((c, i) => Math.max(c.header.length, ...cells.map(row => (row[i] as string).length)))
  const line = (values: readonly string[]): string => values.map((v, i) => i === values.length - 1 ? v : v.padEnd(widths[i] as number)).join('   ').trimEnd()
  return [line(columns.map(c => c.header)), ...cells.map(line)].join('\n') + '\n'
}

/** key: value lines for one object (nested objects as YAML-ish blocks). */
export function renderFields (fields: readonly (readonly [string, unknown])[]): string {
  const width = Math.max(...fields.map(([k]) => k.length))
  return fields.map(([k, v]) => `${(k + ':').padEnd(width + 1)}  ${cell(v)}`).join('\n') + '\n'
}

/** Machine-readable renderings of any value. */
export function renderData (value: unknown, format: 'json' | 'yaml'): string {
  return format === 'json' ? JSON.stringify(value, null, 2) + '\n' : stringify(value)
}
