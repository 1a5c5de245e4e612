/**
 * BLAKE2b with any output length from 1 to 64 bytes (RFC 7693), unkeyed.
 *
 * node:crypto has only `blake2b512`, and OpenSSL rejects another output length there ("not XOF or
 * invalid length"); BLAKE2b-256 is not a truncated BLAKE2b-512 (the length is in the parameter
 * block, §2.5). minisign's secret key checksum is BLAKE2b-256 (libsodium `crypto_generichash`
 * with 32 bytes), so this small BigInt version computes it. It is for a few hundred bytes at
 * most: prehashing whole files stays with node:crypto's blake2b512.
 */

const MASK = (1n << 64n) - 1n

// RFC 7693 §2.6: the SHA-512 initial values.
const IV = [
  0x6a09e667f3bcc908n, 0xbb67ae8584caa73bn, 0x3c6ef372fe94f82bn, 0xa54ff53a5f1d36f1n,
  0x510e527fade682d1n, 0x9b05688c2b3e6c1fn, 0x1f83d9abfb41bd6bn, 0x5be0cd19137e2179n
] as const

// RFC 7693 §2.7: message word schedule; rounds 10 and 11 repeat rows 0 and 1.
const SIGMA = [
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0]
] as const

const BLOCK = 128

const rotr = (x: bigint, n: bigint): bigint => ((x >> n) | (x << (64n - n))) & MASK

/** RFC 7693 §3.1: the mixing function G on four words of v. */
function mix (v: bigint[], a: number, b: number, c: number, d: number, x: bigint, y: bigint): void {
  const at = (i: number): bigint => v[i] as bigint
  v[a] = (at(a) + at(b) + x) & MASK
  v[d] = rotr(at(d) ^ at(a), 32n)
  v[c] = (at(c) + at(d)) & MASK
  v[b] = rotr(at(b) ^ at(c), 24n)
  v[a] = (at(a) + at(b) + y) & MASK
  v[d] = rotr(at(d) ^ at(a), 16n)
  v[c] = (at(c) + at(d)) & MASK
  v[b] = rotr(at(b) ^ at(c), 63n)
}

/** RFC 7693 §3.2: compression of one 128-byte block; `t` counts bytes so far, `last` sets f0. */
function compress (h: bigint[], block: Buffer, t: bigint, last: boolean): void {
  const m = Array.from({ length: 16 }, (_, i) => block.readBigUInt64LE(i * 8))
  const v = [...h, ...IV]
  v[12] = (v[12] as bigint) ^ (t & MASK)
  v[13] = (v[13] as bigint) ^ (t >> 64n)
  if (last) v[14] = (v[14] as bigint) ^ MASK
  for (let round = 0; round < 12; round++) {
    const s = SIGMA[round % 10] as readonly number[]
    const w = (i: number): bigint => m[s[i] as number] as bigint
    mix(v, 0, 4, 8, 12, w(0), w(1))
    mix(v, 1, 5, 9, 13, w(2), w(3))
    mix(v, 2, 6, 10, 14, w(4), w(5))
    mix(v, 3, 7, 11, 15, w(6), w(7))
    mix(v, 0, 5, 10, 15, w(8), w(9))
    mix(v, 1, 6, 11, 12, w(10), w(11))
    mix(v, 2, 7, 8, 13, w(12), w(13))
    mix(v, 3, 4, 9, 14, w(14), w(15))
  }
  for (let i = 0; i < 8; i++) h[i] = (h[i] as bigint) ^ (v[i] as bigint) ^ (v[i + 8] as bigint)
}

/** Unkeyed BLAKE2b of `data` with an `outLength`-byte digest (1..64). */
export function blake2b (data: Uint8Array, outLength: number): Buffer {
  if (!Number.isInteger(outLength) || outLength < 1 || outLength > 64) throw new RangeError('BLAKE2b output length must be 1..64 bytes')
  const h: bigint[] = [...IV]
  // §2.5 parameter block word 0: digest length, key length 0, fanout 1, depth 1.
  h[0] = (h[0] as bigint) ^ 0x01010000n ^ BigInt(outLength)
  const input = Buffer.from(data.buffer, data.byteOffset, data.byteLength)
  let offset = 0
  while (input.length - offset > BLOCK) {
    compress(h, input.subarray(offset, offset + BLOCK), BigInt(offset + BLOCK), false)
    offset += BLOCK
  }
  const last = Buffer.alloc(BLOCK)
  input.copy(last, 0, offset)
  compress(h, last, BigInt(input.length), true)
  const out = Buffer.alloc(64)
  h.forEach((word, i) => { out.writeBigUInt64LE(word, i * 8) })
  return out.subarray(0, outLength)
}
