/**
 * IP address and CIDR text, read with char codes: no BigInt, no regex, and nothing allocated by
 * `ipInto`/`cidrInto`, which write into a caller's Uint32Array (the lookup path and 100k-line loads).
 * One address, one answer: an IPv4-mapped IPv6 address (::ffff:a.b.c.d, RFC 4291 §2.5.5.2) is the
 * IPv4 address (::ffff:10.0.0.0/104 is 10.0.0.0/8).
 */

/** An IPv4 address as a uint32, or an IPv6 address as four big-endian uint32 words. */
export type Ip = number | Uint32Array

/** A prefix, host bits cleared. An IPv4-mapped IPv6 prefix of /96 or longer is family 4. */
export interface Cidr {
  readonly family: 4 | 6
  readonly address: Ip
  readonly bits: number
}

const GROUPS = new Int32Array(8) // the parser's scratch: the 16-bit groups as read, before the "::" gap
const SCRATCH = new Uint32Array(4) // parseIp's and parseCidr's, copied out before they return

/** s[from, to) as a dotted quad, or -1. No leading zeros (RFC 6943 §3.1.1: 010 could mean octal 8). */
function v4(s: string, from: number, to: number): number {
  let n = 0
  let part = 0
  let digits = 0
  let dots = 0
  for (let i = from; i < to; i++) {
    const c = s.charCodeAt(i)
    if (c === 46) {
      if (digits === 0 || dots === 3) return -1
      n = n * 256 + part
      dots++
      part = digits = 0
    } else if (c >= 48 && c <= 57) {
      if (digits > 0 && part === 0) return -1
      part = part * 10 + c - 48
      if (part > 255) return -1
      digits++
    } else return -1
  }
  return digits === 0 || dots !== 3 ? -1 : n * 256 + part
}

/** By char code: a hex digit's value, COLON, DOT, or -1 for anything else (a zone's '%' among them). */
const HEX = new Int8Array(128).fill(-1)
const COLON = -2
const DOT = -3
for (let c = 0; c < 128; c++) HEX[c] = c >= 48 && c <= 57 ? c - 48 : c >= 97 && c <= 102 ? c - 87 : c >= 65 && c <= 70 ? c - 55 : -1
HEX[58] = COLON
HEX[46] = DOT

/**
 * s[from, to) as IPv6 text (RFC 4291 §2.2: groups of 1-4 hex digits, one "::", an optional dotted
 * IPv4 tail) into out[o..o+3]. A zone id ("%eth0", RFC 4007 §11) names an interface, not an address:
 * refused like any other stray character.
 */
function v6(s: string, from: number, to: number, out: Uint32Array, o: number): boolean {
  const g = GROUPS
  let n = 0
  let gap = -1
  let v = 0
  let digits = 0
  let i = from
  if (to - from < 2) return false
  if (s.charCodeAt(i) === 58) {
    if (s.charCodeAt(i + 1) !== 58) return false // a lone leading ':'
    gap = 0
    i += 2
  }
  for (; i < to; i++) {
    const c = s.charCodeAt(i)
    const h = c < 128 ? HEX[c] : -1
    if (h >= 0) { // the common case first: one table load per character
      if (++digits > 4) return false
      v = (v << 4) | h
    } else if (h === COLON) {
      if (digits === 0 || n === 8) return false
      g[n++] = v
      v = digits = 0
      if (i + 1 < to && s.charCodeAt(i + 1) === 58) {
        if (gap >= 0) return false
        gap = n
        i++
      } else if (i + 1 === to) return false // a lone trailing ':'
    } else if (h === DOT) { // the IPv4 tail (§2.2 form 3): two groups, and the end of the text
      const a = n > 6 ? -1 : v4(s, i - digits, to)
      if (a < 0) return false
      g[n++] = a >>> 16
      g[n++] = a & 0xffff
      digits = 0
      break
    } else return false
  }
  if (digits > 0) {
    if (n === 8) return false
    g[n++] = v
  }
  if (gap < 0 ? n !== 8 : n > 7) return false // "::" stands for at least one group
  if (gap >= 0) { // move the groups after "::" to the end, zeros between
    const zeros = 8 - n
    for (let k = n - 1; k >= gap; k--) g[k + zeros] = g[k]
    for (let k = gap; k < gap + zeros; k++) g[k] = 0
  }
  for (let k = 0; k < 4; k++) out[o + k] = ((g[2 * k] << 16) | g[2 * k + 1]) >>> 0
  return true
}

export function isMapped(w: Uint32Array, o: number): boolean {
  return w[o] === 0 && w[o + 1] === 0 && w[o + 2] === 0xffff
}

/** s[0, to) into out[o...]: 4 (out[o] is the IPv4 address), 6 (four words), or 0 (not an address). */
export function ipInto(s: string, to: number, out: Uint32Array, o: number, fold: boolean): number {
  const a = v4(s, 0, to)
  if (a >= 0) {
    out[o] = a
    return 4
  }
  if (!v6(s, 0, to, out, o)) return 0
  if (fold && isMapped(out, o)) {
    out[o] = out[o + 3]
    return 4
  }
  return 6
}

/**
 * An IPv4 or IPv6 address: a uint32 for IPv4 (an IPv4-mapped IPv6 address too, unless `fold` is
 * false), four big-endian uint32 words for IPv6, or null.
 */
export function parseIp(s: string, fold = true): Ip | null {
  if (typeof s !== 'string') return null
  const f = ipInto(s, s.length, SCRATCH, 0, fold)
  return f === 4 ? SCRATCH[0] : f === 6 ? SCRATCH.slice(0, 4) : null
}

/**
 * "addr/bits" or a bare address (/32, /128) into out[o...], host bits cleared. Returns family * 256 +
 * bits, or -1: two numbers without an allocation, for the table's 100k-line loads.
 */
export function cidrInto(s: string, out: Uint32Array, o: number): number {
  if (typeof s !== 'string') return -1
  const slash = s.indexOf('/')
  let fam = ipInto(s, slash < 0 ? s.length : slash, out, o, false)
  if (fam === 0) return -1
  const max = fam === 4 ? 32 : 128
  let bits = max
  if (slash >= 0) {
    if (slash + 1 === s.length) return -1
    bits = 0
    for (let i = slash + 1; i < s.length; i++) {
      const c = s.charCodeAt(i)
      if (c < 48 || c > 57) return -1
      bits = bits * 10 + c - 48
      if (bits > max) return -1
    }
  }
  if (fam === 6 && bits >= 96 && isMapped(out, o)) { // RFC 4291 §2.5.5.2: an IPv4 prefix in disguise
    out[o] = out[o + 3]
    fam = 4
    bits -= 96
  }
  for (let w = 0; w < (fam === 4 ? 1 : 4); w++) {
    const keep = bits - w * 32
    out[o + w] = keep >= 32 ? out[o + w] : keep <= 0 ? 0 : (out[o + w] & (-1 << (32 - keep))) >>> 0
  }
  return fam * 256 + bits
}

/** "10.0.0.0/8", "2001:db8::/32", a bare address (= /32 or /128), or null. */
export function parseCidr(s: string): Cidr | null {
  const r = cidrInto(s, SCRATCH, 0)
  if (r < 0) return null
  const family = r >> 8 === 4 ? 4 : 6
  return { family, address: family === 4 ? SCRATCH[0] : SCRATCH.slice(0, 4), bits: r & 255 }
}
