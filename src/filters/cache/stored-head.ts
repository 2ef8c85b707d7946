/**
 * A stored response head: the fields a cache keeps (RFC 9111 §3.1), copied out of the socket's chunk
 * into a buffer of their own and laid out as a Head, so that serving it goes through the same head
 * builder as a forwarded response (http/serialize.ts), edits and all.
 */
import { Head, NameSet } from '../../http/head.js'
import { connectionTokens } from '../../http/serialize.js'

/**
 * Never stored (RFC 9111 §3.1): hop-by-hop fields (RFC 9110 §7.6.1) and the proxy's own
 * authentication fields, the framing of the hop the response came on (we send our own
 * Content-Length), and Age, which we compute (§4.2.3, §5.1).
 */
const NOT_STORED = new NameSet(['connection', 'keep-alive', 'proxy-connection', 'te', 'transfer-encoding', 'upgrade',
  'proxy-authenticate', 'proxy-authentication-info', 'proxy-authorization', 'content-length', 'age', 'trailer'])

export type Field = readonly [name: string, value: string]

/** The fields of `h` a cache stores, in order, minus `drop` (lower-case names, e.g. private="..."). */
export function storedFields(h: Head, drop: readonly string[] | null): Field[] {
  const tokens = connectionTokens(h)
  const out: Field[] = []
  for (let i = 0; i < h.count; i++) {
    if (NOT_STORED.has(h, i)) continue
    const n = h.name(i)
    const lower = n.toLowerCase()
    if (tokens !== null && tokens.includes(lower)) continue
    if (drop !== null && drop.includes(lower)) continue
    out.push([n, h.value(i)])
  }
  return out
}

/** A Head over a buffer of its own: "reason CRLF name: value CRLF ..." (the layout http/head.ts reads). */
export function headOf(status: number, reason: string, fields: readonly Field[]): Head {
  let text = reason + '\r\n'
  for (const [n, v] of fields) text += `${n}: ${v}\r\n`
  // Out of Node's shared pool: a small stored head must not keep an 8 KiB slab alive.
  const buf = Buffer.allocUnsafeSlow(Buffer.byteLength(text, 'latin1'))
  buf.write(text, 0, 'latin1')
  const h = new Head()
  h.buf = buf
  h.status = status
  h.minor = 1
  const s = h.spans
  s[0] = 0
  s[1] = Buffer.byteLength(reason, 'latin1')
  let at = s[1] + 2
  for (const [n, v] of fields) {
    const nl = Buffer.byteLength(n, 'latin1')
    const vl = Buffer.byteLength(v, 'latin1')
    s.push(at, at + nl, at + nl + 2, at + nl + 2 + vl)
    at += nl + 2 + vl + 2
  }
  h.len = s.length
  h.count = fields.length
  h.size = buf.length
  h.scan()
  return h
}

/** The fields of a stored head, as pairs (for updating it, RFC 9111 §3.2). */
export function fieldsOf(h: Head): Field[] {
  const out: Field[] = []
  for (let i = 0; i < h.count; i++) out.push([h.name(i), h.value(i)])
  return out
}
