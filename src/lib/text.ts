/*
 * Control characters in text that came from the network (SMBIOS strings, disk serials, DHCP
 * host names) and goes to a terminal. Unicode general category Cc is exactly the C0 controls
 * (U+0000-U+001F), DEL (U+007F) and the C1 controls (U+0080-U+009F): the characters ECMA-48
 * (ISO 6429) gives terminal meaning to. ESC (U+001B) and CSI (U+009B) start the sequences that
 * retitle windows, move the cursor or rewrite the screen; BEL ends an OSC string.
 * Everything else, printable Unicode included, is left alone.
 */
const CONTROL = /\p{Cc}/u
const CONTROLS = /\p{Cc}/gu

/** Controls that separate words: a space in their place keeps "Dell\nInc." readable. */
const SEPARATORS = new Set(['\t', '\n', '\v', '\f', '\r', '\u0085'])

/** Visible names for the three controls people recognise; the rest are written \xNN. */
const NAMED: Readonly<Record<string, string>> = { '\t': '\\t', '\n': '\\n', '\r': '\\r' }

/** True when `s` holds a C0, DEL or C1 control character. */
export function hasControlChars (s: string): boolean {
  return CONTROL.test(s)
}

/**
 * Text fit to store: each C0, DEL or C1 control removed, except TAB, LF, VT, FF, CR and NEL,
 * which become a space. For values on the way in; trimming is the caller's.
 */
export function sanitizeText (s: string): string {
  return s.replace(CONTROLS, c => SEPARATORS.has(c) ? ' ' : '')
}

/**
 * Text fit to print: each C0, DEL or C1 control written as a visible escape (`\t`, `\n`, `\r`,
 * else `\xNN`, e.g. ESC as `\x1b`, CSI as `\x9b`). Readable, not reversible: a backslash in the
 * value is left as it is, so exact values are what JSON output is for.
 */
export function escapeControlChars (s: string): string {
  return s.replace(CONTROLS, c => NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
}

/**
 * Text fit for a terminal line by line: like escapeControlChars, but line feeds stay (tables and
 * messages span lines). The CLI's one way to the screen, so nothing a machine reported can drive it.
 */
export function terminalSafe (s: string): string {
  return s.replace(CONTROLS, c => c === '\n' ? c : (NAMED[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))
}
