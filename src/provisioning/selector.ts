/**
 * Auto-accept rules: a selector is a map of dotted paths into the hardware report to patterns,
 * e.g. `{ "system.manufacturer": "Dell*", "nics.mac": "52:54:00:*" }`. Every key must match; a
 * path through a list matches when any element does. Patterns compare case-sensitively as
 * strings, `*` matching any run of characters.
 */
export type Selector = Readonly<Record<string, string | number | boolean>>

function globToRegExp (pattern: string): RegExp {
  const escaped = pattern.split('*').map(part => part.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*')
  return new RegExp(`^${escaped}$`)
}

/** Every value found at `path` (lists fan out). */
function valuesAt (value: unknown, path: readonly string[]): unknown[] {
  if (Array.isArray(value)) return value.flatMap(v => valuesAt(v, path))
  if (path.length === 0) return [value]
  if (value === null || typeof value !== 'object') return []
  const [head, ...rest] = path
  return valuesAt((value as Record<string, unknown>)[head as string], rest)
}

/** True when every key of the selector matches the report. An empty selector matches nothing. */
export function selectorMatches (selector: Selector, report: unknown): boolean {
  const entries = Object.entries(selector)
  if (entries.length === 0) return false
  return entries.every(([path, want]) => {
    const re = globToRegExp(String(want))
    return valuesAt(report, path.split('.')).some(v => v !== null && v !== undefined && typeof v !== 'object' && re.test(String(v)))
  })
}

/** The index of the first rule that matches, or -1. */
export function firstMatchingRule (rules: readonly Selector[], report: unknown): number {
  return rules.findIndex(r => selectorMatches(r, report))
}
