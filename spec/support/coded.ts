/**
 * Test support for coded responses: a raw request through a real socket, the response split into its
 * head and its content (de-chunked as a client does), and that content decoded with node:zlib, so a
 * spec can check the bytes against the upstream's.
 */
import { brotliDecompressSync, gunzipSync, constants } from 'node:zlib'
import { raw } from './harness.js'

export interface Coded {
  status: number
  /** Field names lower-case; repeated fields joined with ", " (and counted in `count`). */
  h: Record<string, string>
  count: Record<string, number>
  /** The content as it came, de-chunked when chunked. */
  body: Buffer
  /** The proxy closed the connection after it. */
  closed: boolean
  /** The chunked body ended with its last chunk (a cut one has not). */
  complete: boolean
}

/** Splits a raw response; de-chunks its body when it is chunked. */
export function parse(bytes: Buffer, closed = false): Coded {
  const end = bytes.indexOf('\r\n\r\n')
  const lines = bytes.subarray(0, end).toString('latin1').split('\r\n')
  const h: Record<string, string> = {}
  const count: Record<string, number> = {}
  for (const l of lines.slice(1)) {
    const i = l.indexOf(':')
    const n = l.slice(0, i).toLowerCase()
    const v = l.slice(i + 1).trim()
    h[n] = h[n] === undefined ? v : `${h[n]}, ${v}`
    count[n] = (count[n] ?? 0) + 1
  }
  let body = bytes.subarray(end + 4)
  let complete = true
  if (h['transfer-encoding'] === 'chunked') ({ body, complete } = dechunk(body))
  return { status: Number(lines[0].split(' ')[1]), h, count, body, closed, complete }
}

/** RFC 9112 §7.1: the data of each chunk; `complete` once the last chunk came. */
export function dechunk(b: Buffer): { body: Buffer; complete: boolean } {
  const parts: Buffer[] = []
  let at = 0
  for (;;) {
    const eol = b.indexOf('\r\n', at)
    if (eol < 0) return { body: Buffer.concat(parts), complete: false }
    const size = parseInt(b.subarray(at, eol).toString('latin1'), 16)
    if (size === 0) return { body: Buffer.concat(parts), complete: true }
    if (eol + 2 + size > b.length) { parts.push(b.subarray(eol + 2)); return { body: Buffer.concat(parts), complete: false } }
    parts.push(b.subarray(eol + 2, eol + 2 + size))
    at = eol + 2 + size + 2
  }
}

/** Decodes `body` as coded by `coding` (undefined: as it is); `partial`: a stream not ended yet. */
export function decode(body: Buffer, coding: string | undefined, partial = false): Buffer {
  if (coding === undefined) return body
  if (coding === 'gzip') return gunzipSync(body, partial ? { finishFlush: constants.Z_SYNC_FLUSH } : {})
  if (coding === 'br') return brotliDecompressSync(body, partial ? { finishFlush: constants.BROTLI_OPERATION_FLUSH } : {})
  throw new Error(`unknown coding ${coding}`)
}

/** One request (with `Connection: close`, so the reply ends with the connection), parsed. */
export async function fetchCoded(port: number, path: string, fields: string[] = [], opts: { method?: string; minor?: number } = {}): Promise<Coded> {
  const minor = opts.minor ?? 1
  const head = `${opts.method ?? 'GET'} ${path} HTTP/1.${minor}\r\nHost: spec\r\n${minor === 1 ? 'Connection: close\r\n' : ''}${fields.map((f) => `${f}\r\n`).join('')}\r\n`
  const r = await raw(port, head, { ms: 5000 })
  return parse(Buffer.from(r.text, 'latin1'), r.closed)
}

/** Compressible JSON of about `n` bytes. */
export function json(n: number): Buffer {
  const items: string[] = []
  let size = 2
  for (let i = 0; size < n; i++) { const s = JSON.stringify({ id: i, name: `item ${i}`, tags: ['a', 'b'], ok: i % 3 === 0 }); items.push(s); size += s.length + 1 }
  return Buffer.from(`[${items.join(',')}]`)
}
