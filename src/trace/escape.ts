/**
 * The bytes of a traced message as text (record.ts `received`): printable ASCII as it is, CR as \r,
 * LF as \n followed by a real newline, every other byte \xNN. And the masking of secrets: the values
 * of Authorization, Proxy-Authorization, Cookie and Set-Cookie (an Authorization keeps its scheme
 * word), and the admin token wherever it appears.
 */
import type { Head } from '../http/head.js'
import type { TraceSpan } from './record.js'

export const MASK = '<masked>'

/** Fields whose values are secrets (lower-case names). */
const SECRET = new Set(['authorization', 'proxy-authorization', 'cookie', 'set-cookie'])
const SCHEMED = new Set(['authorization', 'proxy-authorization'])

export function escape(b: Buffer): string {
  let out = ''
  let run = 0
  for (let i = 0; i < b.length; i++) {
    const c = b[i]
    if (c >= 0x20 && c < 0x7f) continue
    out += b.toString('latin1', run, i)
    out += c === 13 ? '\\r' : c === 10 ? '\\n\n' : `\\x${c.toString(16).padStart(2, '0')}`
    run = i + 1
  }
  return out + b.toString('latin1', run)
}

/** Replaces secrets in text: what `Masker` masks besides whole field values (the admin token). */
export class Masker {
  readonly #token: string | null
  /** Names of what was masked, in order of first sight. */
  readonly masked: string[] = []

  constructor(token: string | null) {
    this.#token = token === null || token === '' ? null : token
  }

  #saw(what: string): void {
    if (!this.masked.includes(what)) this.masked.push(what)
  }

  /** `s` with the admin token replaced. */
  text(s: string): string {
    if (this.#token === null || !s.includes(this.#token)) return s
    this.#saw('admin token')
    return s.split(this.#token).join(MASK)
  }

  /** The value of field `lower` as shown: masked when it is a secret. */
  value(lower: string, value: string): string {
    if (!SECRET.has(lower)) return this.text(value)
    this.#saw(lower)
    if (SCHEMED.has(lower)) {
      const sp = value.indexOf(' ')
      if (sp > 0) return `${value.slice(0, sp)} ${MASK}`
    }
    return MASK
  }

  /** A whole line "Name: value" (CRLF removed), its value masked as `value` would. */
  line(l: string): string {
    const colon = l.indexOf(':')
    if (colon <= 0) return this.text(l)
    const name = l.slice(0, colon)
    const lower = name.toLowerCase()
    if (!SECRET.has(lower)) return this.text(l)
    return `${name}: ${this.value(lower, l.slice(colon + 1).trim())}`
  }
}

/** Where the head of `h` ends in `h.buf`: after the empty line. */
function headEnd(h: Head): number {
  const from = h.count > 0 ? h.spans[h.len - 1] : h.spans[1]
  const i = h.buf.indexOf('\r\n\r\n', from, 'latin1')
  return i < 0 ? h.buf.length : i + 4
}

/**
 * The head of `h` as bytes again, `prefix` (what the parser reported no span for: "GET " for a request,
 * "HTTP/1.1 200 " for a response) first, secrets masked; with the spans of the result. The bytes
 * between spans are copied as received, so the result is what came, but for the masked values.
 */
export function rebuild(h: Head, prefix: string, m: Masker, request: boolean): { raw: Buffer; spans: TraceSpan[] } {
  const s = h.spans
  const b = h.buf
  const parts: Buffer[] = []
  const spans: TraceSpan[] = []
  let at = 0
  const put = (piece: Buffer | string, kind: TraceSpan['kind'] | null): void => {
    const p = typeof piece === 'string' ? Buffer.from(piece, 'latin1') : piece
    if (kind !== null) spans.push({ kind, offset: at, length: p.length, text: p.toString('latin1') })
    parts.push(p)
    at += p.length
  }
  if (request) {
    put(prefix.slice(0, -1), 'method')
    put(' ', null)
  } else {
    put(prefix, null)
  }
  // The start line's span (target, or reason phrase), then the version of a request.
  put(m.text(b.toString('latin1', s[0], s[1])), request ? 'target' : null)
  // A response without a reason phrase reported no span: its fields start after the status line.
  let pos = !request && s[0] === s[1] && h.count > 0 ? s[2] - 2 : s[1]
  if (request) {
    const cr = b.indexOf(13, pos)
    const v = pos + 1
    put(b.subarray(pos, v), null)
    put(b.subarray(v, cr < 0 ? v : cr), 'version')
    pos = cr < 0 ? v : cr
  }
  for (let i = 0; i < h.count; i++) {
    const ns = s[2 + 4 * i]
    const ne = s[3 + 4 * i]
    const vs = s[4 + 4 * i]
    let ve = s[5 + 4 * i]
    while (ve > vs && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--
    put(b.subarray(pos, ns), null)
    const name = b.toString('latin1', ns, ne)
    put(name, 'header-name')
    put(b.subarray(ne, vs), null)
    put(m.value(name.toLowerCase(), b.toString('latin1', vs, ve)), 'header-value')
    pos = ve
  }
  put(b.subarray(pos, headEnd(h)), null)
  return { raw: Buffer.concat(parts), spans }
}
