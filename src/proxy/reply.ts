/**
 * Responses rawproxy writes itself: errors (400, 408, 414, 431, 502, 503, 504...), 404 for requests no
 * route matches, and the interim 100 Continue. A short text body says what happened.
 */
import { httpDate, statusText } from '../http/status.js'

/** A complete local response, ready to write. `close` adds `Connection: close` (RFC 9112 §9.6). */
export function reply(status: number, close: boolean, headOnly = false, extra = ''): Buffer {
  const body = `${status} ${statusText(status)}\n`
  return Buffer.from(
    `HTTP/1.1 ${status} ${statusText(status)}\r\n` +
    `Date: ${httpDate()}\r\n` +
    'Content-Type: text/plain; charset=utf-8\r\n' +
    `Content-Length: ${body.length}\r\n` +
    (close ? 'Connection: close\r\n' : '') +
    extra +
    '\r\n' + (headOnly ? '' : body),
    'latin1',
  )
}

/** RFC 9110 §10.1.1: the interim response that tells the client to send its body. */
export const CONTINUE = Buffer.from('HTTP/1.1 100 Continue\r\n\r\n', 'latin1')
