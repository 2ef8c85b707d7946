/**
 * Valid responses (status lines, Content-Length, chunked and close-delimited bodies, 1xx before the
 * final response, 204 and 304, answers to HEAD), each carrying its input number in its body so a
 * response delivered to the wrong request shows; and the mutations only a response has.
 */
import type { Rng } from './rng.js'
import { Draft, Mutator, bodyBytes, chunked, draft, serialize } from './draft.js'

const REASONS: Record<number, string> = { 200: 'OK', 201: 'Created', 203: 'Non-Authoritative Information', 301: 'Moved Permanently', 302: 'Found', 404: 'Not Found', 410: 'Gone', 500: 'Internal Server Error', 503: 'Service Unavailable', 204: 'No Content', 304: 'Not Modified' }
const STATUSES = [200, 200, 200, 200, 201, 203, 301, 302, 404, 410, 500, 503, 204, 304]

export interface ResponseInput {
  draft: Draft
  /** Interim responses written before it (100 Continue, 103 Early Hints). */
  interim: string
  /** The request is a HEAD. */
  head: boolean
  /** The peer closes after writing it (its body is delimited by the close). */
  closes: boolean
}

/** A valid response to request `id` (GET, or HEAD when `head`). */
export function response(r: Rng, id: number, head: boolean): ResponseInput {
  const status = r.pick(STATUSES)
  const v10 = r.chance(0.1)
  const fields: [string, string][] = [['Content-Type', r.pick(['text/plain', 'application/octet-stream', 'text/html; charset=utf-8'])]]
  if (r.chance(0.5)) fields.push(['Date', new Date(1_700_000_000_000 + id * 1000).toUTCString()])
  if (r.chance(0.3)) fields.push(['Server', 'fuzz-peer'])
  if (r.chance(0.3)) fields.push(['Cache-Control', r.pick(['no-store', 'max-age=0', 'private'])])
  if (r.chance(0.2)) fields.push(['Set-Cookie', `s=${r.text(8)}; Path=/`])
  if (status === 301 || status === 302) fields.push(['Location', `/moved/${id}`])
  if (r.chance(0.2)) fields.push(['X-Spaces', 'a  b\tc'])
  fields.push(['X-Fuzz-Id', String(id)])
  const data = Buffer.concat([Buffer.from(`id=${id};`), bodyBytes(r, 2000)])
  let body: Draft['body']
  const bodiless = status === 204 || status === 304
  const kind = r.next()
  if (bodiless) {
    body = { kind: 'none' }
    if (status === 304 && r.chance(0.3)) fields.push(['Content-Length', String(data.length)]) // the length of what a 200 would carry
  } else if (kind < 0.5 || (v10 && kind < 0.8)) {
    fields.push(['Content-Length', String(data.length)])
    body = { kind: 'length', data }
  } else if (kind < 0.85 && !v10) {
    fields.push(['Transfer-Encoding', 'chunked'])
    body = chunked(r, data, r.chance(0.15) ? [['X-Trailer', r.text(4)]] : [])
  } else {
    // Delimited by the peer's close (RFC 9112 §6.3 point 8).
    fields.push(['Connection', 'close'])
    body = { kind: 'close', data }
  }
  if (v10 && body.kind !== 'close') fields.push(['Connection', 'keep-alive'])
  const closes = body.kind === 'close'
  // A response to HEAD has the fields a GET would get and no content (RFC 9110 §9.3.2).
  if (head) body = { kind: 'none' }
  const interim = r.chance(0.08) ? r.pick(['HTTP/1.1 100 Continue\r\n\r\n', 'HTTP/1.1 103 Early Hints\r\nLink: </s.css>; rel=preload\r\n\r\n']) : ''
  return { draft: draft([v10 ? 'HTTP/1.0' : 'HTTP/1.1', String(status), REASONS[status]], fields, body), interim, head, closes }
}

/** The bytes the peer writes: the interim responses, then the final one (`bytes`: as mutated). */
export function responseBytes(x: ResponseInput, bytes: Buffer = serialize(x.draft)): Buffer {
  return x.interim === '' ? bytes : Buffer.concat([Buffer.from(x.interim, 'latin1'), bytes])
}

/** Mutations of what only a response has. */
export const RESPONSE_MUTATORS: Record<string, Mutator> = {
  'status': (r, d) => {
    d.line[1] = r.pick(['2000', '20', '-200', 'abc', '099', '600', '200x', '', ' 200', '1000', '101', '100', '199', '999', '0200'])
    return serialize(d)
  },
  'version': (r, d) => {
    d.line[0] = r.pick(['HTTP/1.2', 'HTTP/2.0', 'HTTP/1.01', 'http/1.1', 'HTTP/1', 'HTTP/0.9', 'HTTP/1.1 ', 'ICY', '', 'HTTP/1.10', 'HTTP/9.9'])
    return serialize(d)
  },
  'reason': (r, d) => {
    d.line[2] = r.pick(['', 'O\x00K', 'OK\r', 'O\x7fK', '\xe9t\xe9', 'OK OK', 'O\tK', 'x'.repeat(20000)])
    return serialize(d)
  },
  'connection': (r, d) => {
    d.fields.push(['Connection', r.pick(['close', 'keep-alive', 'content-length', 'transfer-encoding', 'upgrade', 'x-fuzz-id'])])
    d.colon.push(': ')
    return serialize(d)
  },
}
