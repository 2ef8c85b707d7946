/**
 * Malformed and ambiguous requests through a real proxy (DESIGN principle 3): each gets exactly one
 * reply with the right status, the connection is closed, and the upstream sees nothing, not even a
 * connection. Every case is sent in one write, so the proxy has all of it before it answers.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { proxyTo, raw, rawUpstream, sleep, statuses, ProxyHandle, RawUpstream } from '../support/harness.js'

const t = suite('malformed')
let up: RawUpstream
let px: ProxyHandle

t.before(async () => {
  // Answers once a request looks complete: a head with no body, or the test bodies below.
  up = await rawUpstream((s, _d, all) => {
    const text = all.toString('latin1')
    if (text.endsWith('\r\n\r\n') || text.endsWith('body')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
  })
  px = await proxyTo([up.port], { limits: { max_head: 1024, max_target: 256 } })
})
t.after(async () => { await px.close(); await up.close() })

/** One test: `bytes` get exactly one reply with `status`, then the close; the upstream gets nothing. */
function refused(what: string, bytes: string | string[], status: number): void {
  t(`${status}: ${what}`, async () => {
    const conns = up.received.length
    const r = await raw(px.port, bytes)
    assert.equal(statuses(r.text), [status], `reply: ${JSON.stringify(r.text.slice(0, 80))}`)
    assert.match(r.text, /\r\nConnection: close\r\n/i)
    assert.ok(r.closed, 'the proxy closed the connection')
    await sleep(10) // anything sent upstream would have arrived by now
    assert.is(up.received.length, conns, 'no connection to the upstream')
  })
}

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n'
const POST = 'POST / HTTP/1.1\r\nHost: a\r\n'
const CHUNKED = `${POST}Transfer-Encoding: chunked\r\n\r\n`
const SMUGGLED = 'GET /smuggled HTTP/1.1\r\nHost: a\r\n\r\n'

// ---- message framing: RFC 9112 §6, §11.2 ----
// §6.1: both framings at once is how requests are smuggled; close after refusing.
refused('Content-Length and Transfer-Encoding', `${POST}Content-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400)
refused('Transfer-Encoding, then Content-Length', `${POST}Transfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n0\r\n\r\n`, 400)
// §6.3 rule 5: a Content-Length that is not one decimal number is unrecoverable framing.
refused('two identical Content-Length lines', `${POST}Content-Length: 5\r\nContent-Length: 5\r\n\r\nhello`, 400)
refused('two differing Content-Length lines', `${POST}Content-Length: 5\r\nContent-Length: 6\r\n\r\nhello!`, 400)
refused('Content-Length as a list', `${POST}Content-Length: 5, 5\r\n\r\nhello`, 400)
refused('Content-Length with a plus sign', `${POST}Content-Length: +5\r\n\r\nhello`, 400)
refused('Content-Length with a minus sign', `${POST}Content-Length: -5\r\n\r\nhello`, 400)
refused('Content-Length in hex', `${POST}Content-Length: 0x5\r\n\r\nhello`, 400)
refused('Content-Length with letters', `${POST}Content-Length: 5a\r\n\r\nhello`, 400)
refused('empty Content-Length', `${POST}Content-Length:\r\n\r\n`, 400)
refused('Content-Length past 2^64', `${POST}Content-Length: 99999999999999999999999\r\n\r\n`, 400)
// §6.3 rule 4: in a request, chunked must be the final transfer coding.
refused('Transfer-Encoding: gzip', `${POST}Transfer-Encoding: gzip\r\n\r\nhello`, 400)
refused('Transfer-Encoding: chunked, gzip', `${POST}Transfer-Encoding: chunked, gzip\r\n\r\n0\r\n\r\n`, 400)
refused('Transfer-Encoding: identity', `${POST}Transfer-Encoding: identity\r\n\r\nhello`, 400)
refused('empty Transfer-Encoding', `${POST}Transfer-Encoding:\r\n\r\n`, 400)
// §7: chunked must not be applied twice, in one line or two.
refused('Transfer-Encoding: chunked, chunked', `${POST}Transfer-Encoding: chunked, chunked\r\n\r\n0\r\n\r\n`, 400)
refused('two Transfer-Encoding: chunked lines', `${POST}Transfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n`, 400)
// §6.1: Transfer-Encoding in HTTP/1.0 means the framing is faulty.
refused('Transfer-Encoding in HTTP/1.0', 'POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 400)

// ---- field syntax: RFC 9112 §2.2, §5; RFC 9110 §5.5 ----
refused('obs-fold with SP (§5.2)', `${GET}X-A: 1\r\n 2\r\n\r\n`, 400)
refused('obs-fold with HTAB (§5.2)', `${GET}X-A: 1\r\n\t2\r\n\r\n`, 400)
refused('whitespace before the first field (§2.2)', `GET / HTTP/1.1\r\n Host: a\r\n\r\n`, 400)
refused('bare LF after the request line (§2.2)', 'GET / HTTP/1.1\nHost: a\n\n', 400)
refused('bare LF after a field (§2.2)', `GET / HTTP/1.1\r\nHost: a\nX-A: 1\r\n\r\n`, 400)
refused('bare CR in the request line (§2.2)', 'GET / HTTP/1.1\rHost: a\r\n\r\n', 400)
refused('bare CR inside a value (§2.2)', `${GET}X-A: 1\r2\r\n\r\n`, 400)
refused('NUL in a value (RFC 9110 §5.5)', `${GET}X-A: 1\x002\r\n\r\n`, 400)
refused('control char 0x01 in a value', `${GET}X-A: 1\x012\r\n\r\n`, 400)
refused('DEL in a value', `${GET}X-A: 1\x7f2\r\n\r\n`, 400)
refused('NUL in a name', `${GET}X\x00A: 1\r\n\r\n`, 400)
refused('whitespace before the colon (§5.1)', `${GET}X-A : 1\r\n\r\n`, 400)
refused('tab before the colon (§5.1)', `${GET}X-A\t: 1\r\n\r\n`, 400)
refused('space inside a name', `${GET}X A: 1\r\n\r\n`, 400)
refused('a field line without a colon', `${GET}X-A\r\n\r\n`, 400)
refused('an empty field name', `${GET}: 1\r\n\r\n`, 400)

// ---- chunked coding: RFC 9112 §7.1 ----
refused('chunk size not hex', `${CHUNKED}zz\r\nhello\r\n0\r\n\r\n`, 400)
refused('chunk size overflowing 64 bits', `${CHUNKED}fffffffffffffffff1\r\nhello\r\n0\r\n\r\n`, 400)
refused('negative chunk size', `${CHUNKED}-5\r\nhello\r\n0\r\n\r\n`, 400)
refused('chunk size with 0x', `${CHUNKED}0x5\r\nhello\r\n0\r\n\r\n`, 400)
refused('empty chunk size', `${CHUNKED}\r\nhello\r\n0\r\n\r\n`, 400)
refused('chunk extension name with NUL (§7.1.1)', `${CHUNKED}5;a\x00=b\r\nhello\r\n0\r\n\r\n`, 400)
refused('chunk extension with an open quote (§7.1.1)', `${CHUNKED}5;a="b\r\nhello\r\n0\r\n\r\n`, 400)
refused('chunk extension ended by bare LF', `${CHUNKED}5;a=b\nhello\r\n0\r\n\r\n`, 400)
refused('chunk data not followed by CRLF', `${CHUNKED}5\r\nhelloXX0\r\n\r\n`, 400)
refused('chunk data followed by bare LF', `${CHUNKED}5\r\nhello\n0\r\n\r\n`, 400)

// ---- request line: RFC 9112 §2.3, §3; RFC 9110 §9.1 ----
// llhttp refuses 1.2 (RFC 9110 §2.5 would have us read it as 1.1): stricter, never ambiguous.
refused('HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 400)
refused('HTTP/2.0 in a text request line', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 400)
refused('HTTP/1 without minor', 'GET / HTTP/1\r\nHost: a\r\n\r\n', 400)
refused('lower-case protocol name', 'GET / http/1.1\r\nHost: a\r\n\r\n', 400)
refused('another protocol (RTSP)', 'GET / RTSP/1.0\r\nHost: a\r\n\r\n', 400)
refused('garbage version', 'GET / HTXP/9.x\r\nHost: a\r\n\r\n', 400)
refused('no version (HTTP/0.9)', 'GET /\r\n\r\n', 400)
refused('TLS bytes on the plain port', '\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03', 400)
refused('lower-case method', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('unknown method token', 'FOO / HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('control char in the method', 'G\x01T / HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 400)
refused('space inside the target', 'GET /a b HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('control char in the target', 'GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('tab in the target', 'GET /a\tb HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('fragment in the target (§3.2)', 'GET /public#/../admin HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('asterisk-form for GET (§3.2.4)', 'GET * HTTP/1.1\r\nHost: a\r\n\r\n', 400)
refused('absolute-form with userinfo (RFC 9110 §4.2.4)', 'GET http://user@a/ HTTP/1.1\r\nHost: a\r\n\r\n', 400)
// §3.2: exactly one Host in HTTP/1.1.
refused('no Host in HTTP/1.1', 'GET / HTTP/1.1\r\n\r\n', 400)
refused('two Host lines', 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', 400)
// §3.2: a Host that is not uri-host [":" port] is refused, not routed or forwarded.
refused('Host with a space', 'GET / HTTP/1.1\r\nHost: a b\r\n\r\n', 400)
refused('Host with a slash', 'GET / HTTP/1.1\r\nHost: a/b\r\n\r\n', 400)
refused('Host with userinfo', 'GET / HTTP/1.1\r\nHost: u@a\r\n\r\n', 400)
refused('Host with a non-numeric port', 'GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n', 400)
// RFC 9110 §9.3.6: a reverse proxy has no tunnel to offer.
refused('CONNECT', 'CONNECT example.test:443 HTTP/1.1\r\nHost: example.test:443\r\n\r\n', 501)

// ---- limits ----
refused('target over limits.max_target (§3)', `GET /${'a'.repeat(300)} HTTP/1.1\r\nHost: a\r\n\r\n`, 414)
refused('head over limits.max_head, in one write (RFC 6585 §5)', `${GET}X-Pad: ${'p'.repeat(1100)}\r\n\r\n`, 431)
refused('head over limits.max_head, in many small writes', [GET, ...Array.from({ length: 14 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(80)}\r\n`)], 431)

// ---- a second request hidden in a refused one: answered once, never reaches the peer (§11.2) ----
refused('CL.TE with a request after the last chunk', `${POST}Content-Length: 40\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400)
refused('TE.CL with a request in the chunk', `${POST}Transfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n23\r\n${SMUGGLED}\r\n0\r\n\r\n`, 400)
refused('obfuscated TE (chunked, then x) over CL', `${POST}Content-Length: 4\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: x\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400)
refused('TE folded onto the next line', `${POST}Transfer-Encoding:\r\n chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400)
refused('TE with a vertical tab after chunked', `${POST}Transfer-Encoding: chunked\x0b\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400)
refused('a request inside a chunk without its CRLF', `${CHUNKED}5\r\nhello${SMUGGLED}0\r\n\r\n`, 400)
refused('HTTP/1.0 chunked with a request after it', `POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n${SMUGGLED}`, 400)
refused('empty TE and a request where the body would be', `${POST}Transfer-Encoding:\r\n\r\n${SMUGGLED}`, 400)

// ---- and valid requests still pass, whole ----
t('a valid request through the same proxy gets the peer\'s answer', async () => {
  const before = up.received.length
  const r = await raw(px.port, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200])
  assert.match(r.text, /\r\n\r\nok$/)
  assert.is(up.received.length, before + 1)
  assert.match(up.received[before].toString('latin1'), /^GET \/ok HTTP\/1\.1\r\nHost: a\r\n/)
})

t('empty values next to dropped fields and a chunked body reach the peer intact', async () => {
  const before = up.received.length
  const body = '5;ext=1\r\nhello\r\n0\r\nX-Trailer: t\r\n\r\n'
  const r = await raw(px.port, `${POST}X-Empty:\r\nConnection: keep-alive\r\nX-Blank:  \r\nTransfer-Encoding: chunked\r\nKeep-Alive: 5\r\n\r\n${body}`)
  assert.equal(statuses(r.text), [200])
  const seen = up.received[before].toString('latin1')
  assert.match(seen, /^POST \/ HTTP\/1\.1\r\nHost: a\r\nX-Empty:\r\nX-Blank:  \r\nTransfer-Encoding: chunked\r\nX-Forwarded-For: /)
  assert.is(seen.indexOf('\r\n\r\n'), seen.length - body.length - 4, 'one blank line, at the end of the head')
  assert.ok(seen.endsWith(`\r\n\r\n${body}`))
})

t('an Upgrade request with a body reaches the peer with its body', async () => {
  const before = up.received.length
  const r = await raw(px.port, `${POST}Connection: upgrade\r\nUpgrade: x-test\r\nContent-Length: 4\r\n\r\nbody`)
  assert.equal(statuses(r.text), [200])
  assert.match(up.received[before].toString('latin1'), /^POST \/ HTTP\/1\.1\r\nHost: a\r\nContent-Length: 4\r\n[^]*\r\n\r\nbody$/)
})

t.run()
