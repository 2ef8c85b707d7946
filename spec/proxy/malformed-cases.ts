/**
 * The malformed and ambiguous requests of malformed.spec.ts, as a table, so that the same cases run
 * over TLS too (spec/tls/malformed.spec.ts): what, the bytes (an array: written piece by piece), and
 * the one status the proxy must answer before it closes. The proxy runs with MALFORMED_LIMITS.
 */
export const MALFORMED_LIMITS = { max_head: 1024, max_target: 256 }

export type Case = readonly [what: string, bytes: string | string[], status: number]

export const GET = 'GET / HTTP/1.1\r\nHost: a\r\n'
export const POST = 'POST / HTTP/1.1\r\nHost: a\r\n'
export const CHUNKED = `${POST}Transfer-Encoding: chunked\r\n\r\n`
export const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'

export const MALFORMED: readonly Case[] = [
  // ---- message framing: RFC 9112 §6, §11.2 ----
  // §6.1: both framings at once is how requests are smuggled; close after refusing.
  ['Content-Length and Transfer-Encoding', `${POST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
  ['Transfer-Encoding, then Content-Length', `${POST}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 400],
  // §6.3 rule 5: a Content-Length that is not one decimal number is unrecoverable framing.
  ['two identical Content-Length lines', `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400],
  ['two differing Content-Length lines', `${POST}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400],
  ['Content-Length as a list', `${POST}Content-Length: 5, 5\r\n\r\nhello`, 400],
  ['Content-Length with a plus sign', `${POST}Content-Length: +5\r\n\r\nhello`, 400],
  ['Content-Length with a minus sign', `${POST}Content-Length: -5\r\n\r\nhello`, 400],
  ['Content-Length in hex', `${POST}Content-Length: 0x5\r\n\r\nhello`, 400],
  ['Content-Length with letters', `${POST}Content-Length: 5a\r\n\r\nhello`, 400],
  ['empty Content-Length', `${POST}Content-Length:\r\n\r\n`, 400],
  ['Content-Length past 2^64', `${POST}Content-Length: 99999999999999999999999\r\n\r\n`, 400],
  // §6.3 rule 4: in a request, chunked must be the final transfer coding.
  ['Transfer-Encoding: gzip', `${POST}Transfer-Encoding: gzip\r\n\r\nhello`, 400],
  ['Transfer-Encoding: chunked, gzip', `${POST}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400],
  ['Transfer-Encoding: identity', `${POST}Transfer-Encoding: identity\r\n\r\nhello`, 400],
  ['empty Transfer-Encoding', `${POST}Transfer-Encoding:\r\n\r\n`, 400],
  // §7: chunked must not be applied twice, in one line or two.
  ['Transfer-Encoding: chunked, chunked', `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, 400],
  ['two Transfer-Encoding: chunked lines', `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400],
  // §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
  ['Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400],

  // ---- field syntax: RFC 9112 §2.2, §5; RFC 9110 §5.5 ----
  ['obs-fold with SP (§5.2)', `${GET}X-A: 1\r\n 2\r\n\r\n`, 400],
  ['obs-fold with HTAB (§5.2)', `${GET}X-A: 1\r\n\t2\r\n\r\n`, 400],
  ['whitespace before the first field (§2.2)', `GET / HTTP/1.1\r\n Host: a\r\n\r\n`, 400],
  ['bare LF after the request line (§2.2)', 'GET / HTTP/1.1\nHost: a\n\n', 400],
  ['bare LF after a field (§2.2)', `GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n`, 400],
  ['bare CR in the request line (§2.2)', 'GET / HTTP/1.1\rHost: a\r\n\r\n', 400],
  ['bare CR inside a value (§2.2)', `${GET}X-A: 1\r2\r\n\r\n`, 400],
  ['NUL in a value (RFC 9110 §5.5)', `${GET}X-A: 1\x002\r\n\r\n`, 400],
  ['control char 0x01 in a value', `${GET}X-A: 1\x012\r\n\r\n`, 400],
  ['DEL in a value', `${GET}X-A: 1\x7f2\r\n\r\n`, 400],
  ['NUL in a name', `${GET}X\x00A: 1\r\n\r\n`, 400],
  ['whitespace before the colon (§5.1)', `${GET}X-A : 1\r\n\r\n`, 400],
  ['tab before the colon (§5.1)', `${GET}X-A\t: 1\r\n\r\n`, 400],
  ['space inside a name', `${GET}X A: 1\r\n\r\n`, 400],
  ['a field line without a colon', `${GET}X-A\r\n\r\n`, 400],
  ['an empty field name', `${GET}: 1\r\n\r\n`, 400],

  // ---- chunked coding: RFC 9112 §7.1 ----
  ['chunk size not hex', `${CHUNKED}zz\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk size overflowing 64 bits', `${CHUNKED}fffffffffffffffff1\r\nhello\r\n0\r\n\r\n`, 400],
  ['negative chunk size', `${CHUNKED}-5\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk size with 0x', `${CHUNKED}0x5\r\nhello\r\n0\r\n\r\n`, 400],
  ['empty chunk size', `${CHUNKED}\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk extension name with NUL (§7.1.1)', `${CHUNKED}5;a\x00=b\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk extension with an open quote (§7.1.1)', `${CHUNKED}5;a="b\r\nhello\r\n0\r\n\r\n`, 400],
  ['chunk extension ended by bare LF', `${CHUNKED}5;a=b\nhello\r\n0\r\n\r\n`, 400],
  ['chunk data not followed by CRLF', `${CHUNKED}5\r\nhelloXX0\r\n\r\n`, 400],
  ['chunk data followed by bare LF', `${CHUNKED}5\r\nhello\n0\r\n\r\n`, 400],

  // ---- request line: RFC 9112 §2.3, §3; RFC 9110 §9.1 ----
  // llhttp refuses 1.2 (RFC 9110 §2.5 would have us read it as 1.1): stricter, never ambiguous.
  ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 400],
  ['HTTP/2.0 in a text request line', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 400],
  ['HTTP/1 without minor', 'GET / HTTP/1\r\nHost: a\r\n\r\n', 400],
  ['lower-case protocol name', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400],
  ['another protocol (RTSP)', 'GET / RTSP/1.0\r\nHost: a\r\n\r\n', 400],
  ['garbage version', 'GET / HTXP/9.x\r\nHost: a\r\n\r\n', 400],
  ['no version (HTTP/0.9)', 'GET /\r\n\r\n', 400],
  ['TLS bytes on the plain port', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400],
  ['lower-case method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['unknown method token', 'FOO / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['control char in the method', 'G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400],
  ['space inside the target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['control char in the target', 'GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['tab in the target', 'GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['fragment in the target (§3.2)', 'GET /public#/../admin HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['asterisk-form for GET (§3.2.4)', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  ['absolute-form with userinfo (RFC 9110 §4.2.4)', 'GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n', 400],
  // §3.2: exactly one Host in HTTP/1.1.
  ['no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400],
  ['two Host lines', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400],
  // §3.2: a Host that is not uri-host [":" port] is refused, not routed or forwarded.
  ['Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400],
  ['Host with a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400],
  ['Host with userinfo', 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', 400],
  ['Host with a non-numeric port', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 400],
  // RFC 9110 §9.3.6: a reverse proxy has no tunnel to offer.
  ['CONNECT', 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n', 501],

  // ---- limits ----
  ['target over limits.max_target (§3)', `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414],
  ['head over limits.max_head, in one write (RFC 6585 §5)', `${GET}X-Pad: ${'p'.repeat(1100)}\r\n\r\n`, 431],
  ['head over limits.max_head, in many small writes', [GET, ...Array.from({ length: 14 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(80)}\r\n`)], 431],

  // ---- a second request hidden in a refused one: answered once, never reaches the peer (§11.2) ----
  ['CL.TE with a request after the last chunk', `${POST}Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['TE.CL with a request in the chunk', `${POST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n23\r\n${SMUGGLED}\r\n0\r\n\r\n`, 400],
  ['obfuscated TE (chunked, then x) over CL', `${POST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['TE folded onto the next line', `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['TE with a vertical tab after chunked', `${POST}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['a request inside a chunk without its CRLF', `${CHUNKED}5\r\nhello${SMUGGLED}0\r\n\r\n`, 400],
  ['HTTP/1.0 chunked with a request after it', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400],
  ['empty TE and a request where the body would be', `${POST}Transfer-Encoding:\r\n\r\n${SMUGGLED}`, 400],
]

/** A request hidden in a body; the peer must see it as body bytes, never as a request. */
export const HIDDEN = 'GET /smuggled HTTP/1.1\r\nHost: x\r\n\r\n'

/**
 * Valid requests whose Connection field names their own framing field (hardening.spec.ts): the
 * framing must not be stripped as hop-by-hop, else HIDDEN reaches the peer as a request. The peer
 * answers "<path> got <body length>".
 */
export const CONNECTION_HIDES_FRAMING: readonly (readonly [path: string, bytes: string])[] = [
  ['/a', `POST /a HTTP/1.1\r\nHost: x\r\nConnection: content-length\r\nContent-Length: ${HIDDEN.length}\r\n\r\n${HIDDEN}`],
  ['/b', `POST /b HTTP/1.1\r\nHost: x\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n${HIDDEN.length.toString(16)}\r\n${HIDDEN}\r\n0\r\n\r\n`],
]
