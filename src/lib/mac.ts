import { CodedError } from './errors.ts'

const MAC_RE = /^[0-9a-f]{2}([:-]?)[0-9a-f]{2}(?:\1[0-9a-f]{2}){4}$/i

/** Lower-case colon form of a 6-byte hardware address. */
export function formatMac (bytes: Uint8Array): string {
  if (bytes.length !== 6) throw new CodedError('ERR_INVALID_MAC', `a MAC address has 6 bytes, got ${bytes.length}`)
  let s = ''
  for (let i = 0; i < 6; i++) {
    if (i > 0) s += ':'
    s += (bytes[i] as number).toString(16).padStart(2, '0')
  }
  return s
}

/** Accepts aa:bb:cc:dd:ee:ff, aa-bb-..., or aabbccddeeff; returns the canonical lower-case colon form. */
export function normalizeMac (text: string): string {
  const t = text.trim()
  if (!MAC_RE.test(t)) throw new CodedError('ERR_INVALID_MAC', `not a MAC address: ${JSON.stringify(text)}`)
  const hex = t.replace(/[:-]/g, '').toLowerCase()
  return hex.match(/../g)!.join(':')
}

export function isMac (text: string): boolean {
  return MAC_RE.test(text.trim())
}

export function parseMac (text: string): Buffer {
  return Buffer.from(normalizeMac(text).replace(/:/g, ''), 'hex')
}
