/**
 * The few DER encoders (ITU-T X.690 §8 and §10) the X.509 certificates Anvil issues need (the
 * provisioning listener's, src/grpc/x509.ts, and the node CA's, src/pki/certificate.ts). Encoding
 * only: certificates we read are parsed by node:crypto's X509Certificate. Pure: no I/O.
 */

/** Universal and context-specific tags used below (X.690 §8.1.2, X.680 §8.4). */
const TAG = {
  boolean: 0x01,
  integer: 0x02,
  bitString: 0x03,
  octetString: 0x04,
  oid: 0x06,
  utf8String: 0x0c,
  sequence: 0x30,
  set: 0x31,
  utcTime: 0x17,
  generalizedTime: 0x18
} as const

/** A TLV with DER's definite length: short form below 128, else long form (X.690 §8.1.3). */
export function tlv (tag: number, content: Buffer): Buffer {
  const n = content.length
  if (n < 0x80) return Buffer.concat([Buffer.from([tag, n]), content])
  const len: number[] = []
  for (let v = n; v > 0; v = Math.floor(v / 256)) len.unshift(v & 0xff)
  return Buffer.concat([Buffer.from([tag, 0x80 | len.length, ...len]), content])
}

/** SEQUENCE of already encoded elements. */
export function sequence (...items: Buffer[]): Buffer {
  return tlv(TAG.sequence, Buffer.concat(items))
}

/** SET of one element (a Name's RDN); DER sorts SET OF members, so keep it to one. */
export function set (item: Buffer): Buffer {
  return tlv(TAG.set, item)
}

/** INTEGER from unsigned big-endian bytes: minimal, with a 0x00 pad when the top bit is set (§8.3). */
export function unsignedInteger (bytes: Buffer): Buffer {
  let start = 0
  while (start < bytes.length - 1 && bytes[start] === 0) start++
  const body = bytes.subarray(start)
  const pad = body.length === 0 || ((body[0] ?? 0) & 0x80) !== 0
  return tlv(TAG.integer, pad ? Buffer.concat([Buffer.from([0]), body]) : body)
}

/** INTEGER from a small non-negative number. */
export function smallInteger (value: number): Buffer {
  const bytes: number[] = []
  for (let v = value; v > 0; v = Math.floor(v / 256)) bytes.unshift(v & 0xff)
  return unsignedInteger(Buffer.from(bytes.length === 0 ? [0] : bytes))
}

/** BOOLEAN; DER encodes TRUE as 0xff (§11.1). */
export function boolean (value: boolean): Buffer {
  return tlv(TAG.boolean, Buffer.from([value ? 0xff : 0x00]))
}

/** OBJECT IDENTIFIER from dotted decimal: first two arcs as 40·a+b, then base-128 arcs (§8.19). */
export function oid (dotted: string): Buffer {
  const arcs = dotted.split('.').map(Number)
  const [a, b, ...rest] = arcs
  if (a === undefined || b === undefined || arcs.some((x) => !Number.isInteger(x) || x < 0)) {
    throw new Error(`not an OID: ${dotted}`)
  }
  const out: number[] = []
  for (const arc of [40 * a + b, ...rest]) {
    const groups: number[] = [arc & 0x7f]
    for (let v = Math.floor(arc / 128); v > 0; v = Math.floor(v / 128)) groups.unshift(0x80 | (v & 0x7f))
    out.push(...groups)
  }
  return tlv(TAG.oid, Buffer.from(out))
}

/** BIT STRING; the first content octet counts the unused bits of the last one (§8.6.2). */
export function bitString (bytes: Buffer, unusedBits = 0): Buffer {
  return tlv(TAG.bitString, Buffer.concat([Buffer.from([unusedBits]), bytes]))
}

/**
 * A named-bit-list BIT STRING (keyUsage) from the numbers of the bits that are set, bit 0 being
 * the most significant of the first octet. DER drops trailing zero bits (X.690 §11.2.2), so the
 * encoding ends at the highest set bit; no bit set is an empty BIT STRING.
 */
export function namedBits (bits: readonly number[]): Buffer {
  if (bits.some((b) => !Number.isInteger(b) || b < 0 || b > 63)) throw new Error(`not a bit number: ${bits.join(', ')}`)
  if (bits.length === 0) return bitString(Buffer.alloc(0))
  const highest = Math.max(...bits)
  const bytes = Buffer.alloc(Math.floor(highest / 8) + 1)
  for (const b of bits) bytes[b >> 3] = (bytes[b >> 3] ?? 0) | (0x80 >> (b & 7))
  return bitString(bytes, 7 - (highest & 7))
}

/** OCTET STRING. */
export function octetString (bytes: Buffer): Buffer {
  return tlv(TAG.octetString, bytes)
}

/** UTF8String. */
export function utf8String (text: string): Buffer {
  return tlv(TAG.utf8String, Buffer.from(text, 'utf8'))
}

/**
 * A certificate Time: UTCTime through 2049, GeneralizedTime from 2050, both in whole seconds with
 * `Z` (RFC 5280 §4.1.2.5.1/§4.1.2.5.2).
 */
export function time (date: Date): Buffer {
  const iso = date.toISOString() // YYYY-MM-DDTHH:MM:SS.sssZ
  const digits = iso.slice(0, 19).replace(/[-T:]/g, '') + 'Z'
  const year = date.getUTCFullYear()
  if (year >= 1950 && year < 2050) return tlv(TAG.utcTime, Buffer.from(digits.slice(2), 'ascii'))
  return tlv(TAG.generalizedTime, Buffer.from(digits, 'ascii'))
}

/** [n] EXPLICIT: a constructed context-specific wrapper (X.690 §8.14). */
export function explicit (n: number, inner: Buffer): Buffer {
  return tlv(0xa0 | n, inner)
}

/** [n] IMPLICIT primitive: the value's content under a context-specific tag. */
export function implicitPrimitive (n: number, content: Buffer): Buffer {
  return tlv(0x80 | n, content)
}
