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

/** What is left to escape once CR and LF are: bytes outside printable ASCII (the real newlines excepted). */
const OTHER = /[^\x20-\x7e\n]/
const OTHERS = /[^\x20-\x7e\n]/g

function hex(c: string): string {
  return `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`
}

/** `s`: bytes as a latin1 string (one character per byte), as the recorder keeps them. */
export function escape(s: string): string {
  const out = s.replaceAll('\r', '\\r').replaceAll('\n', '\\n\n')
  return OTHER.test(out) ? out.replace(OTHERS, hex) : out
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

/**
 * A refused head as received, whatever its line ends (a bare LF or CR, which is why it may have been
 * refused), with the values of secret fields masked, their obs-fold continuation lines too, and a
 * name followed by whitespace before its colon read as that name.
 */
export function maskRefused(text: string, m: Masker): string {
  const parts = text.split(/(\r\n|\n|\r)/) // lines at even indexes, their ends at odd ones
  let secret = false
  for (let i = 0; i < parts.length; i += 2) {
    const l = parts[i]
    if (i === 0) { parts[i] = m.text(l); continue }
    if (secret && (l.startsWith(' ') || l.startsWith('\t'))) { parts[i] = ` ${MASK}`; continue }
    const colon = l.indexOf(':')
    const lower = colon > 0 ? l.slice(0, colon).trim().toLowerCase() : ''
    secret = SECRET.has(lower)
    parts[i] = secret ? `${l.slice(0, colon)}: ${m.value(lower, l.slice(colon + 1).trim())}` : m.text(l)
  }
  return parts.join('')
}

/** Where the head of `h` ends in `h.buf`: after the empty line. */
function headEnd(h: Head): number {
  const from = h.count > 0 ? h.spans[h.len - 1] : h.spans[1]
  const i = h.buf.indexOf('\r\n\r\n', from, 'latin1')
  return i < 0 ? h.buf.length : i + 4
}

/**
 * The head of `h` as bytes again (a latin1 string: one character per byte, so string offsets are byte
 * offsets), `prefix` (what the parser reported no span for: "GET " for a request, "HTTP/1.1 200 " for a
 * response) first, secrets masked; with the spans of the result. The bytes between spans are copied
 * as received, so the result is what came, but for the masked values.
 */
export function rebuild(h: Head, prefix: string, m: Masker, request: boolean): { raw: string; spans: TraceSpan[] } {
  const s = h.spans
  const b = h.buf
  const text = b.toString('latin1', 0, headEnd(h))
  const spans: TraceSpan[] = []
  let raw = ''
  const put = (piece: string, kind: TraceSpan['kind'] | null): void => {
    if (kind !== null) spans.push({ kind, offset: raw.length, length: piece.length, text: piece })
    raw += piece
  }
  if (request) {
    put(prefix.slice(0, -1), 'method')
    put(' ', null)
  } else {
    put(prefix, null)
  }
  // The start line's span (target, or reason phrase), then the version of a request.
  put(m.text(text.slice(s[0], s[1])), request ? 'target' : null)
  // A response without a reason phrase reported no span: its fields start after the status line.
  let pos = !request && s[0] === s[1] && h.count > 0 ? s[2] - 2 : s[1]
  if (request) {
    const cr = text.indexOf('\r', pos)
    const v = pos + 1
    put(text.slice(pos, v), null)
    put(text.slice(v, cr < 0 ? v : cr), 'version')
    pos = cr < 0 ? v : cr
  }
  for (let i = 0; i < h.count; i++) {
    const ns = s[2 + 4 * i]
    const ne = s[3 + 4 * i]
    const vs = s[4 + 4 * i]
    let ve = s[5 + 4 * i]
    while (ve > vs && (b[ve - 1] === 0x20 || b[ve - 1] === 0x09)) ve--
    put(text.slice(pos, ns), null)
    const name = text.slice(ns, ne)
    put(name, 'header-name')
    put(text.slice(ne, vs), null)
    put(m.value(name.toLowerCase(), text.slice(vs, ve)), 'header-value')
    pos = ve
  }
  put(text.slice(pos), null)
  return { raw, spans }
}
