/**
 * Auto-accept rules: a selector is a map of dotted paths into the hardware report to patterns,
 * e.g. `{ "system.manufacturer": "Dell*", "nics.mac": "52:54:00:*" }`. Every key must match; a
 * path through a list matches when any element does. Patterns compare case-sensitively as
 * whole strings, `*` matching any run of characters (see globMatch).
 */
export type Selector = Readonly<Record<string, string | number | boolean>>

/**
 * Whole-string glob match: `*` matches any run of characters (newlines too, none at all), every
 * other character only itself, case-sensitively. No RegExp: a pattern like `a*b*c` compiled to
 * /^a.*b.*c$/ backtracks quadratically on a long text that almost matches (300K characters took
 * 10 s). Instead the pattern is split on `*`: the first piece must start the text, the last must
 * end it, and each piece between is found left to right with one indexOf from where the previous
 * ended. Taking the leftmost occurrence is always safe (it leaves the most text for what follows),
 * so nothing is ever retried: one search per piece, each scanning forward only.
 */
export function globMatch (pattern: string, text: string): boolean {
  const pieces = pattern.split('*')
  if (pieces.length === 1) return pattern === text
  const first = pieces[0] as string
  const last = pieces[pieces.length - 1] as string
  const end = text.length - last.length // the middle pieces must fit before the last one
  if (end < first.length || !text.startsWith(first) || !text.endsWith(last)) return false
  let at = first.length
  for (let i = 1; i < pieces.length - 1; i++) {
    const piece = pieces[i] as string
    if (piece === '') continue
    const found = text.indexOf(piece, at)
    if (found === -1 || found + piece.length > end) return false
    at = found + piece.length
  }
  return true
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
    const pattern = String(want)
    return valuesAt(report, path.split('.')).some(v => v !== null && v !== undefined && typeof v !== 'object' && globMatch(pattern, String(v)))
  })
}

/** The index of the first rule that matches, or -1. */
export function firstMatchingRule (rules: readonly Selector[], report: unknown): number {
  return rules.findIndex(r => selectorMatches(r, report))
}
