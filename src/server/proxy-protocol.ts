/**
 * The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and 2), read strictly from the
 * first bytes of a connection. Pure: no sockets here. `readProxyHeader` decides on the bytes received
 * so far (more, done, or error); `ProxyHeaderReader` feeds it chunk by chunk, split at any byte.
 *
 * Fail fast (§2.1: "abort the connection as soon as possible"): a byte that cannot continue either
 * signature is an error when it arrives, so `GET / HTTP/1.1` or a TLS ClientHello fails at its first
 * byte. Whether to expect a header at all is configuration, never guessed (§5).
 */
import { ipInto } from '../config/ip.js'

export interface ProxyAddress {
  /** IPv4 dotted quad, or IPv6 as RFC 5952 text (IPv4-mapped as ::ffff:a.b.c.d, as a dual-stack socket reports it). */
  readonly address: string
  readonly port: number
  readonly family: 'IPv4' | 'IPv6'
}

export interface ProxyHeader {
  readonly version: 1 | 2
  /** 'local': the proxy's own connection (a health check), §2.2; the socket's addresses stand. */
  readonly command: 'proxy' | 'local'
  /** null for LOCAL, v1 UNKNOWN, v2 AF_UNSPEC or AF_UNIX: the caller keeps the socket's own address. */
  readonly source: ProxyAddress | null
  readonly destination: ProxyAddress | null
  /** PP2_TYPE_ALPN (§2.2.1), e.g. "h2", when sent. */
  readonly alpn: string | null
  /** PP2_TYPE_AUTHORITY (§2.2.2): the host name the client asked for (TLS SNI), when sent. */
  readonly authority: string | null
  /** Length of the header in bytes: the application stream (HTTP or TLS) starts after it. */
  readonly consumed: number
}

export type ProxyRead =
  | { readonly state: 'more' }
  | { readonly state: 'done'; readonly header: ProxyHeader; /** The bytes after the header, untouched (a view). */ readonly rest: Buffer }
  | { readonly state: 'error'; readonly reason: string }

/** §2.1: "PROXY UNKNOWN" with two IPv6 addresses and ports is 107 bytes with the CRLF, the longest line. */
export const V1_MAX = 107
/**
 * §2.2 allows 16 + 65535 bytes. The largest header a real sender builds (AF_UNIX 216 bytes of
 * addresses, then ALPN, authority <= 255, SSL sub-TLVs, unique id <= 128, CRC, netns) stays near
 * 1 KiB; buffering 64 KiB per half-open connection before a single application byte would be a gift
 * to whoever can reach the port. 4 KiB leaves room for custom TLVs.
 */
export const V2_MAX = 4096

const MORE: ProxyRead = Object.freeze({ state: 'more' })
const V2_SIG = Buffer.from('\r\n\r\n\0\r\nQUIT\n', 'latin1') // §2.2: 12 bytes, chosen to break HTTP, TLS, SMTP...
const FORMS = ['PROXY TCP4 ', 'PROXY TCP6 ', 'PROXY UNKNOWN'].map((s) => Buffer.from(s, 'latin1'))
const WORDS = new Uint32Array(4)
const UTF8 = new TextDecoder('utf-8', { fatal: true })

function error(reason: string): ProxyRead {
  return { state: 'error', reason }
}

/** Reads a header from the start of `b`, the bytes received so far. */
export function readProxyHeader(b: Buffer): ProxyRead {
  if (b.length === 0) return MORE
  return b[0] === 0x0d ? v2(b) : v1(b)
}

/** Whether b's first bytes (up to form's length) are the start of `form`. */
function startsLike(b: Buffer, form: Buffer): boolean {
  const n = Math.min(b.length, form.length)
  for (let i = 0; i < n; i++) if (b[i] !== form[i]) return false
  return true
}

/** §2.1: "PROXY" SP ("TCP4" | "TCP6") SP src SP dst SP sport SP dport CRLF, or "PROXY UNKNOWN" ... CRLF. */
function v1(b: Buffer): ProxyRead {
  const form = FORMS.findIndex((f) => startsLike(b, f))
  if (form < 0) return error(startsLike(b, FORMS[0].subarray(0, 6)) ? 'v1: protocol is not TCP4, TCP6 or UNKNOWN' : 'not a PROXY protocol header')
  const n = Math.min(b.length, V1_MAX)
  let lf = -1
  for (let i = FORMS[form].length; i < n && lf < 0; i++) {
    const c = b[i]
    if (c === 0x0a) lf = i
    else if (c === 0x0d && i + 1 < b.length && b[i + 1] !== 0x0a) return error('v1: CR without LF')
    // Past "PROXY TCPx ", only the characters of addresses, ports and single spaces can come.
    else if (form < 2 && c !== 0x0d && c !== 0x20 && !(c >= 0x30 && c <= 0x3a) && c !== 0x2e && !((c | 0x20) >= 0x61 && (c | 0x20) <= 0x66)) {
      return error('v1: unexpected byte in the address line')
    }
  }
  if (form === 2 && b.length > 13 && b[13] !== 0x20 && b[13] !== 0x0d && b[13] !== 0x0a) return error('v1: protocol is not TCP4, TCP6 or UNKNOWN')
  if (lf < 0) return b.length >= V1_MAX ? error(`v1: no CRLF in the first ${V1_MAX} bytes`) : MORE
  if (b[lf - 1] !== 0x0d) return error('v1: line ends in a bare LF') // §2.1: a lone CR or LF must not end the line
  const consumed = lf + 1
  if (form === 2) return done(b, consumed, 1, 'proxy', null, null) // §2.1: the rest of an UNKNOWN line is ignored
  const parts = b.toString('latin1', 0, lf - 1).split(' ')
  if (parts.length !== 6 || parts.includes('')) return error('v1: fields must be 6, separated by single spaces')
  const family = form === 0 ? 'IPv4' : 'IPv6'
  const src = address(parts[2], family, port(parts[4]))
  const dst = address(parts[3], family, port(parts[5]))
  if (src === null || dst === null) return error(`v1: bad ${family} address or port`)
  return done(b, consumed, 1, 'proxy', src, dst)
}

/** §2.1: decimal 0-65535, no leading zeros (no octal confusion); -1 otherwise. */
function port(s: string): number {
  if (s.length === 0 || s.length > 5 || (s.length > 1 && s.charCodeAt(0) === 0x30)) return -1
  let n = 0
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i)
    if (c < 0x30 || c > 0x39) return -1
    n = n * 10 + c - 0x30
  }
  return n <= 65535 ? n : -1
}

/** A v1 address of the announced family (TCP4: a dotted quad; TCP6: IPv6 text), or null. */
function address(s: string, family: 'IPv4' | 'IPv6', port: number): ProxyAddress | null {
  if (port < 0) return null
  const f = ipInto(s, s.length, WORDS, 0, false)
  if (f !== (family === 'IPv4' ? 4 : 6)) return null
  if (f === 4) return { address: s, port, family }
  const bytes = Buffer.alloc(16)
  for (let k = 0; k < 4; k++) bytes.writeUInt32BE(WORDS[k], 4 * k)
  return { address: ip6Text(bytes, 0), port, family }
}

function done(b: Buffer, consumed: number, version: 1 | 2, command: 'proxy' | 'local', source: ProxyAddress | null,
  destination: ProxyAddress | null, alpn: string | null = null, authority: string | null = null): ProxyRead {
  return { state: 'done', header: { version, command, source, destination, alpn, authority, consumed }, rest: b.subarray(consumed) }
}

/** §2.2: the address block's size by family/transport byte, for the ones a TCP listener accepts. */
const BLOCK: Record<number, number> = { 0x00: 0, 0x11: 12, 0x21: 36, 0x31: 216 }
const DGRAM = new Set([0x12, 0x22, 0x32])

/** §2.2: signature, version/command, family/transport, length, addresses, then TLVs. */
function v2(b: Buffer): ProxyRead {
  for (let i = 0; i < Math.min(b.length, 12); i++) if (b[i] !== V2_SIG[i]) return error('not a PROXY protocol header')
  if (b.length < 13) return MORE
  if (b[12] >> 4 !== 2) return error('v2: version must be 2')
  const cmd = b[12] & 0x0f
  if (cmd > 1) return error('v2: command must be LOCAL or PROXY')
  if (b.length < 14) return MORE
  const fam = b[13]
  // §2.2: for LOCAL "the family ... is ignored"; for PROXY it must be one a TCP listener can take.
  if (cmd === 1 && DGRAM.has(fam)) return error('v2: DGRAM (UDP) on a TCP listener')
  if (cmd === 1 && BLOCK[fam] === undefined) return error('v2: unknown address family or transport')
  if (b.length < 16) return MORE
  const len = b.readUInt16BE(14)
  const total = 16 + len // §2.2: always exactly 16 + len, whatever the command
  if (total > V2_MAX) return error(`v2: header longer than ${V2_MAX} bytes`)
  if (cmd === 1 && BLOCK[fam] > len) return error('v2: length shorter than the address block')
  if (b.length < total) return MORE
  // LOCAL (a health check from the proxy itself): the block is discarded unread, TLVs and all (§2.2).
  if (cmd === 0) return done(b, total, 2, 'local', null, null)
  const tlv = tlvs(b, 16 + BLOCK[fam], total)
  if (typeof tlv === 'string') return error(tlv)
  let src: ProxyAddress | null = null
  let dst: ProxyAddress | null = null
  if (fam === 0x11) {
    src = { address: `${b[16]}.${b[17]}.${b[18]}.${b[19]}`, port: b.readUInt16BE(24), family: 'IPv4' }
    dst = { address: `${b[20]}.${b[21]}.${b[22]}.${b[23]}`, port: b.readUInt16BE(26), family: 'IPv4' }
  } else if (fam === 0x21) {
    src = { address: ip6Text(b, 16), port: b.readUInt16BE(48), family: 'IPv6' }
    dst = { address: ip6Text(b, 32), port: b.readUInt16BE(50), family: 'IPv6' }
  }
  return done(b, total, 2, 'proxy', src, dst, tlv.alpn, tlv.authority)
}

const PP2_TYPE_ALPN = 0x01
const PP2_TYPE_AUTHORITY = 0x02
const PP2_TYPE_CRC32C = 0x03

/** §2.2 TLVs in b[from, to): each bounds-checked; ALPN, authority and CRC32C read, the rest skipped. A string is the error. */
function tlvs(b: Buffer, from: number, to: number): { alpn: string | null; authority: string | null } | string {
  let alpn: string | null = null
  let authority: string | null = null
  let crc = -1
  for (let p = from; p < to;) {
    if (to - p < 3) return 'v2: TLV header runs past the header'
    const type = b[p]
    const v = p + 3
    const end = v + b.readUInt16BE(p + 1)
    if (end > to) return 'v2: TLV runs past the header'
    if (type === PP2_TYPE_ALPN) {
      if (alpn !== null) return 'v2: two ALPN TLVs'
      alpn = b.toString('latin1', v, end)
    } else if (type === PP2_TYPE_AUTHORITY) {
      if (authority !== null) return 'v2: two authority TLVs'
      try { authority = UTF8.decode(b.subarray(v, end)) } catch { return 'v2: authority is not UTF-8' }
    } else if (type === PP2_TYPE_CRC32C) {
      if (end - v !== 4) return 'v2: CRC32C TLV must be 4 bytes'
      if (crc >= 0) return 'v2: two CRC32C TLVs'
      crc = v
    }
    p = end
  }
  // §2.2.3: CRC-32C (RFC 4960 Appendix B) over the whole header, the checksum's own 4 bytes as zeros.
  if (crc >= 0 && crc32c(b, 0, to, crc) !== b.readUInt32BE(crc)) return 'v2: CRC32C mismatch'
  return { alpn, authority }
}

const CRC_TABLE = new Uint32Array(256)
for (let i = 0; i < 256; i++) {
  let c = i
  for (let k = 0; k < 8; k++) c = c & 1 ? (c >>> 1) ^ 0x82f63b78 : c >>> 1 // Castagnoli, reflected
  CRC_TABLE[i] = c >>> 0
}

/** CRC-32C of b[from, to), with the 4 bytes at `zeroAt` read as zeros (-1: none). */
export function crc32c(b: Buffer, from = 0, to = b.length, zeroAt = -1): number {
  let c = 0xffffffff
  for (let i = from; i < to; i++) {
    const byte = zeroAt >= 0 && i >= zeroAt && i < zeroAt + 4 ? 0 : b[i]
    c = CRC_TABLE[(c ^ byte) & 0xff] ^ (c >>> 8)
  }
  return (c ^ 0xffffffff) >>> 0
}

/** 16 bytes as RFC 5952 text: lower case, the longest run of 2+ zero groups as "::", mapped as ::ffff:a.b.c.d (§5). */
function ip6Text(b: Buffer, at: number): string {
  const g: number[] = []
  for (let k = 0; k < 8; k++) g.push(b.readUInt16BE(at + 2 * k))
  if (g[0] === 0 && g[1] === 0 && g[2] === 0 && g[3] === 0 && g[4] === 0 && g[5] === 0xffff) {
    return `::ffff:${b[at + 12]}.${b[at + 13]}.${b[at + 14]}.${b[at + 15]}`
  }
  let best = -1
  let bestLen = 1
  for (let k = 0; k < 8;) {
    let e = k
    while (e < 8 && g[e] === 0) e++
    if (e - k > bestLen) [best, bestLen] = [k, e - k]
    k = e === k ? k + 1 : e
  }
  const hex = g.map((x) => x.toString(16))
  return best < 0 ? hex.join(':') : `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`
}

/**
 * Feeds a connection's first chunks to readProxyHeader. The first chunk is read in place; only when
 * the header is split does the reader copy, and never more than a header can hold. One reader per
 * connection, for one header: after 'done' or 'error', push is a fault.
 */
export class ProxyHeaderReader {
  #buf: Buffer | null
  #len: number
  #finished: boolean

  constructor() {
    this.#buf = null
    this.#len = 0
    this.#finished = false
  }

  push(chunk: Buffer): ProxyRead {
    if (this.#finished) throw new Error('ProxyHeaderReader: the header was already read')
    if (this.#len === 0) {
      const r = readProxyHeader(chunk)
      if (r.state === 'more') this.#keep(chunk)
      else this.#finished = true
      return r
    }
    const had = this.#len
    this.#keep(chunk)
    const r = readProxyHeader(this.#buf!.subarray(0, this.#len))
    if (r.state === 'more') return r // (v1 stops at 107 bytes, v2 at V2_MAX: #keep never drops a header byte)
    this.#finished = true
    this.#buf = null
    // The header ends inside this chunk: what follows is handed back as a view of the chunk itself.
    return r.state === 'done' ? { state: 'done', header: r.header, rest: chunk.subarray(r.header.consumed - had) } : r
  }

  #keep(chunk: Buffer): void {
    this.#buf ??= Buffer.allocUnsafe(V2_MAX)
    this.#len += chunk.copy(this.#buf, this.#len, 0, Math.min(chunk.length, V2_MAX - this.#len))
  }
}
