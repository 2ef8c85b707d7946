/**
 * The llhttp binding on raw bytes from fixtures/: each message is parsed whole, then split at every
 * offset into two chunks, then fed byte by byte, and every way must give the same heads, flags, body
 * bytes and pipelined messages (STYLE habit 10). Then its refusals: the head and target caps (431,
 * 414), llhttp's errors with their code names, the checks the binding adds on top of strict llhttp,
 * and end of input; each refusal must be the same wherever the chunks are cut.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { Kind, Parser, Step, methodName, type Limits } from '../../src/http/llhttp.js'

const FIXTURES = new URL('../../../fixtures/', import.meta.url)
const LIMITS: Limits = { maxHead: 16_384, maxTarget: 8_192 }

/** One message as the driver saw it. Head fields are read at the head, before the next chunk. */
interface Msg {
  start: string
  fields: string[]
  ka: boolean
  up: boolean
  /** Head size as the parser counts it (from the first span to the end of the head). */
  size: number
  /** Body bytes as received (Content-Length bytes, or chunked framing and all). */
  raw: string
  /** Body with the chunked framing removed (bodySpans + sink). */
  body: string
}

interface Run {
  msgs: Msg[]
  /** H: head, E: end, U: upgrade; in order. */
  steps: string
  /** Bytes after an upgrade. */
  rest: string
  /** `code message` of the error that stopped the parser, or null. */
  error: string | null
  /** Bytes fed until the parser stopped. */
  fed: number
}

interface Opts { skipBody?: boolean; eof?: boolean; limits?: Limits }

function summary(kind: Kind, p: Parser): Msg {
  const h = p.head
  const v = `HTTP/${h.major}.${h.minor}`
  const start = kind === Kind.REQUEST ? `${methodName(h.method)} ${h.line()} ${v}` : `${v} ${h.status} ${h.line()}`
  const fields: string[] = []
  for (let i = 0; i < h.count; i++) fields.push(`${h.name(i)}: ${h.value(i)}`)
  return { start, fields, ka: h.keepAlive, up: h.upgrade, size: h.size, raw: '', body: '' }
}

/** Feeds `chunks` the way the connection does, and records what came out. */
function drive(kind: Kind, chunks: Iterable<Buffer>, o: Opts = {}): Run {
  const p = new Parser(kind, o.limits ?? LIMITS)
  p.skipBody = o.skipBody === true
  p.bodySpans = true
  const run: Run = { msgs: [], steps: '', rest: '', error: null, fed: 0 }
  let m: Msg | null = null
  let inBody = false
  p.sink = (c, s, e) => { m!.body += c.toString('latin1', s, e) }
  const fail = (): Run => { run.error = `${p.error!.code} ${p.error!.message}`; p.destroy(); return run }
  for (const c of chunks) {
    run.fed += c.length
    if (run.steps.endsWith('U')) { run.rest += c.toString('latin1'); continue }
    let from = 0
    for (;;) {
      const step = p.execute(c, from)
      if (step === Step.ERROR) return fail()
      if (step === Step.MORE) { if (inBody) m!.raw += c.toString('latin1', from); break }
      if (p.headDone) run.msgs.push(m = summary(kind, p))
      // A bodiless request may end in the step that completes its head: the same events, one step.
      if (p.headDone && step !== Step.HEAD && kind === Kind.REQUEST) run.steps += 'H'
      if (step === Step.HEAD) { run.steps += 'H'; inBody = true; from = p.pos; p.resume(); continue }
      if (inBody) m!.raw += c.toString('latin1', from, p.pos)
      inBody = false
      if (step === Step.UPGRADE) { run.steps += 'U'; run.rest += c.toString('latin1', p.pos); break }
      run.steps += 'E'
      from = p.pos
      p.resume()
    }
  }
  if (o.eof === true) {
    const step = p.finish()
    if (step === Step.ERROR) return fail()
    if (step === Step.END) run.steps += 'E'
  }
  p.destroy()
  return run
}

function fixture(path: string): Buffer {
  return readFileSync(new URL(path, FIXTURES))
}

/** Two chunks cut at `at` (copies, so no chunk shares memory with another). */
function cut(b: Buffer, ...at: number[]): Buffer[] {
  const out: Buffer[] = []
  let prev = 0
  for (const a of [...at, b.length]) { out.push(Buffer.from(b.subarray(prev, a))); prev = a }
  return out
}

function bytes(b: Buffer): Buffer[] {
  return [...b].map((x) => Buffer.from([x]))
}

const t = suite('llhttp')

// Each message: [start line, fields as "name: value", keep-alive, upgrade, raw body, decoded body].
type Want = [string, string[], boolean, boolean, string, string]
interface Case { kind: Kind; opts?: Opts; steps: string; rest?: string; msgs: Want[] }

const HOST = 'Host: example.test'
const CASES: Record<string, Case> = {
  'requests/get-simple.http': { kind: Kind.REQUEST, steps: 'HE', msgs: [
    ['GET /index.html?q=1&r=%20x HTTP/1.1', [HOST, 'User-Agent: fixture/1.0', 'Accept: */*'], true, false, '', ''],
  ] },
  // Empty and all-blank values, trailing and leading whitespace (RFC 9110 §5.5: not part of the value).
  'requests/header-edges.http': { kind: Kind.REQUEST, steps: 'HE', msgs: [
    ['GET /edges HTTP/1.1', [HOST, 'X-Empty: ', 'X-Blank: ', 'X-Trail: value with trailing space', 'X-Lead: lead',
      'X-Tab: a\tb', 'X-Obs-Text: caf\xe9', 'x-MiXeD-CaSe: Keep', `X-Very-Long-Header-Name-For-Splitting-Purposes: ${'v'.repeat(40)}`,
      'X-Last-Empty: '], true, false, '', ''],
  ] },
  'requests/post-content-length.http': { kind: Kind.REQUEST, steps: 'HE', msgs: [
    ['POST /submit HTTP/1.1', [HOST, 'Content-Type: text/plain', 'Content-Length: 26'], true, false,
      'abcdefghijklmnopqrstuvwxyz', 'abcdefghijklmnopqrstuvwxyz'],
  ] },
  // RFC 9112 §7.1.1 chunk extensions (one quoted, with escapes), §7.1.2 trailers: raw bytes keep them all.
  'requests/post-chunked-trailers.http': { kind: Kind.REQUEST, steps: 'HE', msgs: [
    ['POST /upload HTTP/1.1', [HOST, 'Transfer-Encoding: chunked', 'Trailer: X-Checksum'], true, false,
      '5;name=value\r\nhello\r\n6;a;b="quoted; \\"x\\""\r\n world\r\nA\r\n0123456789\r\n0;last\r\nX-Checksum: abc123\r\nX-Other: 1\r\n\r\n',
      'hello world0123456789'],
  ] },
  'requests/pipelined-three.http': { kind: Kind.REQUEST, steps: 'HEHEHE', msgs: [
    ['GET /one HTTP/1.1', [HOST], true, false, '', ''],
    ['POST /two HTTP/1.1', [HOST, 'Content-Length: 5'], true, false, 'hello', 'hello'],
    ['GET /three HTTP/1.1', [HOST, 'Connection: close'], false, false, '', ''],
  ] },
  // RFC 9112 §6.1: chunked is the final coding, so the framing is known whatever comes before it.
  'requests/pipelined-chunked.http': { kind: Kind.REQUEST, steps: 'HEHE', msgs: [
    ['POST /c HTTP/1.1', [HOST, 'Transfer-Encoding: gzip, chunked'], true, false, '3\r\nabc\r\n0\r\n\r\n', 'abc'],
    ['DELETE /d HTTP/1.1', [HOST, 'Content-Length: 0'], true, false, '', ''],
  ] },
  // RFC 9112 §9.3: HTTP/1.0 is persistent only with keep-alive.
  'requests/http10.http': { kind: Kind.REQUEST, steps: 'HEHE', msgs: [
    ['GET /old-ka HTTP/1.0', ['Connection: keep-alive'], true, false, '', ''],
    ['GET /old HTTP/1.0', [], false, false, '', ''],
  ] },
  'requests/absolute-options.http': { kind: Kind.REQUEST, steps: 'HEHE', msgs: [
    ['GET http://Other.Example:8080/abs/path?x=y HTTP/1.1', ['Host: ignored.test'], true, false, '', ''],
    ['OPTIONS * HTTP/1.1', [HOST], true, false, '', ''],
  ] },
  'requests/upgrade-websocket.http': { kind: Kind.REQUEST, steps: 'HU', rest: '\x81\x05hello', msgs: [
    ['GET /chat HTTP/1.1', [HOST, 'Connection: Upgrade', 'Upgrade: websocket', 'Sec-WebSocket-Version: 13',
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ=='], true, true, '', ''],
  ] },
  // RFC 9110 §7.8: the switch comes after the whole request, body included.
  'requests/upgrade-with-body.http': { kind: Kind.REQUEST, steps: 'HU', rest: 'TUNNELLED', msgs: [
    ['POST /up HTTP/1.1', [HOST, 'Connection: upgrade', 'Upgrade: h2c-ish', 'Content-Length: 4'], true, true, 'body', 'body'],
  ] },
  'responses/200-content-length.http': { kind: Kind.RESPONSE, steps: 'HE', msgs: [
    ['HTTP/1.1 200 OK', ['Content-Type: text/plain', 'Content-Length: 11', 'X-Empty: ', 'X-Trail: t'], true, false, 'hello world', 'hello world'],
  ] },
  // RFC 9110 §15.2: interim responses have no body and come before the final one.
  'responses/100-then-200.http': { kind: Kind.RESPONSE, steps: 'EEHE', msgs: [
    ['HTTP/1.1 100 Continue', [], true, false, '', ''],
    ['HTTP/1.1 103 Early Hints', ['Link: </style.css>; rel=preload'], true, false, '', ''],
    ['HTTP/1.1 200 OK', ['Content-Length: 4'], true, false, 'done', 'done'],
  ] },
  // RFC 9112 §6.3 rule 1: no body after 204 or 304, whatever Content-Length says. An empty reason.
  'responses/204-304-200.http': { kind: Kind.RESPONSE, steps: 'EEHE', msgs: [
    ['HTTP/1.1 204 No Content', ['Content-Length: 5'], true, false, '', ''],
    ['HTTP/1.1 304 Not Modified', ['ETag: "abc"', 'Content-Length: 100'], true, false, '', ''],
    ['HTTP/1.1 200 ', ['Content-Length: 2'], true, false, 'ok', 'ok'],
  ] },
  // RFC 9110 §9.3.2: responses to HEAD (skipBody) end with their head.
  'responses/head-response.http': { kind: Kind.RESPONSE, opts: { skipBody: true }, steps: 'EE', msgs: [
    ['HTTP/1.1 200 OK', ['Content-Length: 1234', 'Content-Type: text/html'], true, false, '', ''],
    ['HTTP/1.1 200 OK', ['Transfer-Encoding: chunked'], true, false, '', ''],
  ] },
  'responses/101-upgrade.http': { kind: Kind.RESPONSE, steps: 'U', rest: '\x81\x02hi', msgs: [
    ['HTTP/1.1 101 Switching Protocols', ['Connection: Upgrade', 'Upgrade: websocket',
      'Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo='], true, true, '', ''],
  ] },
  // RFC 9112 §6.3 rule 8: no Content-Length, not chunked: the body ends when the peer closes (finish).
  'responses/until-close.http': { kind: Kind.RESPONSE, opts: { eof: true }, steps: 'HE', msgs: [
    ['HTTP/1.1 200 OK', ['Content-Type: text/plain'], false, false, 'the body runs until the peer closes', 'the body runs until the peer closes'],
  ] },
  'responses/chunked-trailers.http': { kind: Kind.RESPONSE, steps: 'HE', msgs: [
    ['HTTP/1.1 200 OK', ['Transfer-Encoding: chunked', 'Trailer: Expires'], true, false,
      '4;ext=1\r\nWiki\r\n5\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nExpires: Wed, 21 Oct 2015 07:28:00 GMT\r\n\r\n',
      'Wikipedia in\r\n\r\nchunks.'],
  ] },
  'responses/http10-response.http': { kind: Kind.RESPONSE, steps: 'HE', msgs: [
    ['HTTP/1.0 200 OK', ['Content-Length: 3'], false, false, 'abc', 'abc'],
  ] },
}

for (const [file, c] of Object.entries(CASES)) {
  const b = fixture(file)
  const whole = (): Run => drive(c.kind, [b], c.opts)

  t(`${file}: parsed whole`, () => {
    const r = whole()
    assert.is(r.error, null)
    assert.is(r.steps, c.steps)
    assert.is(r.rest, c.rest ?? '')
    assert.equal(r.msgs.map((m): Want => [m.start, m.fields, m.ka, m.up, m.raw, m.body]), c.msgs)
  })

  t(`${file}: split at every offset, same result`, () => {
    const want = whole()
    for (let i = 1; i < b.length; i++) assert.equal(drive(c.kind, cut(b, i), c.opts), want, `split at ${i}`)
  })

  t(`${file}: byte by byte, same result`, () => {
    assert.equal(drive(c.kind, bytes(b), c.opts), whole())
  })
}

t('three chunks at every pair of offsets, for the header and chunked edge cases', () => {
  for (const file of ['requests/header-edges.http', 'requests/post-chunked-trailers.http']) {
    const b = fixture(file)
    const want = drive(Kind.REQUEST, [b])
    for (let i = 1; i < b.length; i++) {
      for (let j = i + 1; j < b.length; j++) assert.equal(drive(Kind.REQUEST, cut(b, i, j)), want, `${file} cut at ${i}, ${j}`)
    }
  }
})

t('a name and a value cut mid-way are joined', () => {
  const b = fixture('requests/get-simple.http')
  const name = b.indexOf('User-Agent') + 4
  const value = b.indexOf('fixture/1.0') + 3
  const r = drive(Kind.REQUEST, cut(b, name, value))
  assert.equal(r.msgs[0].fields, [HOST, 'User-Agent: fixture/1.0', 'Accept: */*'])
})

t.run()

// ---- refusals ----

const CAPS: Limits = { maxHead: 1024, maxTarget: 64 }

const buf = (s: string): Buffer => Buffer.from(s, 'latin1')

/** The same outcome whole, at every two-chunk cut and byte by byte; returns the whole one. */
function everyCut(kind: Kind, s: string): Run {
  const b = buf(s)
  const whole = drive(kind, [b], { limits: CAPS })
  for (let i = 1; i < b.length; i++) assert.is(drive(kind, cut(b, i), { limits: CAPS }).error, whole.error, `cut at ${i}`)
  assert.is(drive(kind, bytes(b), { limits: CAPS }).error, whole.error, 'byte by byte')
  return whole
}

const refusals = suite('llhttp refusals')

refusals('a target longer than maxTarget is PRX_ERR_TARGET_TOO_LONG, one byte less passes', () => {
  // RFC 9112 §3: a server that receives a request-target longer than it wishes to parse sends 414.
  const long = everyCut(Kind.REQUEST, `GET /${'a'.repeat(64)} HTTP/1.1\r\nHost: a\r\n\r\n`)
  assert.match(long.error!, /^PRX_ERR_TARGET_TOO_LONG /)
  assert.is(long.msgs.length, 0)
  assert.is(everyCut(Kind.REQUEST, `GET /${'a'.repeat(63)} HTTP/1.1\r\nHost: a\r\n\r\n`).error, null)
})

refusals('a head of exactly maxHead passes; one byte more is PRX_ERR_HEAD_TOO_LARGE', () => {
  // The parser counts the head from the target to the blank line: "GET " is not in it.
  const head = (n: number): string => {
    const bare = 'GET / HTTP/1.1\r\nHost: a\r\nX-Pad: \r\n\r\n'
    return `GET / HTTP/1.1\r\nHost: a\r\nX-Pad: ${'p'.repeat(n - (bare.length - 4))}\r\n\r\n`
  }
  assert.is(everyCut(Kind.REQUEST, head(1024)).error, null)
  const over = everyCut(Kind.REQUEST, head(1025))
  assert.match(over.error!, /^PRX_ERR_HEAD_TOO_LARGE head larger than 1024 bytes/)
  assert.is(over.msgs.length, 0)
})

refusals('a head without end is cut off at maxHead, in one chunk or in many small ones', () => {
  const endless = 'GET / HTTP/1.1\r\nHost: a\r\n' + 'X-Pad: 0123456789\r\n'.repeat(200)
  const one = drive(Kind.REQUEST, [buf(endless)], { limits: CAPS })
  assert.match(one.error!, /^PRX_ERR_HEAD_TOO_LARGE /)
  function* small(size: number): Generator<Buffer> {
    const b = buf(endless)
    for (let i = 0; i < b.length; i += size) yield b.subarray(i, i + size)
  }
  for (const size of [1, 7, 100]) {
    const got = drive(Kind.REQUEST, small(size), { limits: CAPS })
    assert.match(got.error!, /^PRX_ERR_HEAD_TOO_LARGE /, `chunks of ${size}`)
    assert.ok(got.fed <= 1024 + 4 + size, `stopped after ${got.fed} bytes in chunks of ${size}`)
  }
})

refusals('a response head over maxHead is an upstream parse error (502)', () => {
  const got = everyCut(Kind.RESPONSE, `HTTP/1.1 200 OK\r\nX-Pad: ${'p'.repeat(1100)}\r\nContent-Length: 0\r\n\r\n`)
  assert.match(got.error!, /^PRX_ERR_UPSTREAM_PARSE head larger than 1024 bytes/)
})

refusals('a trailer section is held to maxHead too, and never changes the head', () => {
  const pre = 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nx\r\n0\r\n'
  const big = everyCut(Kind.REQUEST, pre + 'X-T: 0123456789\r\n'.repeat(80) + '\r\n')
  assert.match(big.error!, /^PRX_ERR_HEAD_TOO_LARGE trailer section larger than 1024 bytes/)
  assert.is(big.msgs.length, 1)
  const p = new Parser(Kind.REQUEST, CAPS)
  const b = buf(pre + 'X-T: 1\r\nX-U: 2\r\n\r\n')
  assert.is(p.execute(b, 0), Step.HEAD)
  const before = [p.head.count, p.head.spans.join()]
  p.resume()
  assert.is(p.execute(b, p.pos), Step.END)
  assert.equal([p.head.count, p.head.spans.join()], before, 'trailer fields are not head fields')
  p.destroy()
})

// [what, bytes, llhttp's code name in the message, refused before the head is reported (so before
// anything could be forwarded)]
const REQUEST_ERRORS: [string, string, string, boolean][] = [
  ['Content-Length with Transfer-Encoding (RFC 9112 §6.1)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', true],
  ['chunked not final (§6.3 rule 4)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip\r\n\r\nabc', 'HPE_INVALID_TRANSFER_ENCODING', true],
  ['empty Transfer-Encoding (§6.3 rule 4)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: \r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', true],
  ['chunked with a parameter (§7.1)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked;q=1\r\n\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING', true],
  ['two Content-Length lines (§6.3 rule 5)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1\r\n\r\nx', 'HPE_UNEXPECTED_CONTENT_LENGTH', true],
  ['signed Content-Length (§8.6 of RFC 9110)', 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: +1\r\n\r\nx', 'HPE_INVALID_CONTENT_LENGTH', true],
  ['obs-fold (§5.2)', 'GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n 2\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', true],
  ['bare LF (§2.2)', 'GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n', 'HPE_CR_EXPECTED', true],
  ['bare CR (§2.2)', 'GET / HTTP/1.1\r\nHost: a\rX: 1\r\n\r\n', 'HPE_LF_EXPECTED', true],
  ['NUL in a value (RFC 9110 §5.5)', 'GET / HTTP/1.1\r\nHost: a\r\nX: a\0b\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', true],
  ['space before the colon (§5.1)', 'GET / HTTP/1.1\r\nHost : a\r\n\r\n', 'HPE_INVALID_HEADER_TOKEN', true],
  ['lower-case method (RFC 9110 §9.1)', 'get / HTTP/1.1\r\nHost: a\r\n\r\n', 'HPE_INVALID_METHOD', true],
  ['HTTP/1.2', 'GET / HTTP/1.2\r\nHost: a\r\n\r\n', 'HPE_INVALID_VERSION', true],
  ['HTTP/2.0 in a request line (§2.3)', 'GET / HTTP/2.0\r\nHost: a\r\n\r\n', 'HPE_INVALID_VERSION', true],
  ['no version, HTTP/0.9 style (§3)', 'GET /\r\nHost: a\r\n\r\n', 'HPE_INVALID_VERSION', true],
  // Appendix C.1: a 0.9 request is its line alone; refused at its CRLF, not at a blank line never sent.
  ['no version and nothing after the CRLF (§3, C.1)', 'GET /path\r\n', 'HPE_INVALID_VERSION', true],
  ['no version, bare LF (§3, C.1)', 'GET /path\n', 'HPE_INVALID_VERSION', true],
  ['no version, absolute form (§3.2.2)', 'GET http://a.test/p\r\n', 'HPE_INVALID_VERSION', true],
  ['no version, authority form (§3.2.3)', 'CONNECT a.test:443\r\n', 'HPE_INVALID_VERSION', true],
  ['RTSP/1.0 for HTTP/1.0 (§2.3)', 'GET / RTSP/1.0\r\nHost: a\r\n\r\n', 'HPE_INVALID_CONSTANT', true],
  ['fragment in the target (§3.2)', 'GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n', 'HPE_INVALID_URL', true],
  ['control char in the target (§3.2)', 'GET /a\x01b HTTP/1.1\r\nHost: a\r\n\r\n', 'HPE_INVALID_URL', true],
  ['the HTTP/2 preface', 'PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n', 'HPE_PAUSED_H2_UPGRADE', true],
  ['a chunk size that is not hex (§7.1)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', 'HPE_INVALID_CHUNK_SIZE', false],
  ['no CRLF after chunk data (§7.1)', 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nxy\r\n0\r\n\r\n', 'HPE_STRICT', false],
]

for (const [what, s, name, early] of REQUEST_ERRORS) {
  refusals(`request: ${what} -> ${name}`, () => {
    const got = everyCut(Kind.REQUEST, s)
    assert.match(got.error ?? 'no error', new RegExp(`^PRX_ERR_PARSE ${name}: `))
    assert.is(got.msgs.length, early ? 0 : 1, early ? 'refused before the head is reported' : 'the head was fine')
  })
}

const RESPONSE_ERRORS: [string, string, string][] = [
  ['status below 100 (RFC 9110 §15)', 'HTTP/1.1 099 Odd\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['four-digit status', 'HTTP/1.1 2000 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_STATUS'],
  ['HTTP/2.0 status line', 'HTTP/2.0 200 OK\r\nContent-Length: 0\r\n\r\n', 'HPE_INVALID_VERSION'],
  ['Content-Length with Transfer-Encoding', 'HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n', 'HPE_INVALID_TRANSFER_ENCODING'],
]

for (const [what, s, name] of RESPONSE_ERRORS) {
  refusals(`response: ${what} -> ${name}`, () => {
    assert.match(everyCut(Kind.RESPONSE, s).error ?? 'no error', new RegExp(`^PRX_ERR_UPSTREAM_PARSE ${name}: `))
  })
}

refusals('a request line with its version, cut at any byte, is not taken for HTTP/0.9', () => {
  for (const line of ['GET /path HTTP/1.1', 'GET http://a.test/p HTTP/1.0', 'CONNECT a.test:443 HTTP/1.1', 'OPTIONS * HTTP/1.1']) {
    const got = everyCut(Kind.REQUEST, `${line}\r\nHost: a\r\n\r\n`)
    assert.is(got.error, null, line)
    assert.is(got.msgs.length, 1)
  }
})

refusals('finish: a cut-off head or body is an error; nothing in flight is nothing', () => {
  const cases: [Kind, string, Step][] = [
    [Kind.REQUEST, '', Step.MORE],
    [Kind.REQUEST, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', Step.MORE],
    [Kind.REQUEST, 'GET / HTTP/1.1\r\nHo', Step.ERROR],
    [Kind.RESPONSE, 'HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nabc', Step.ERROR],
    [Kind.RESPONSE, 'HTTP/1.1 200 OK\r\n\r\nabc', Step.END],
  ]
  for (const [kind, s, want] of cases) {
    const p = new Parser(kind, CAPS)
    const b = buf(s)
    for (let from = 0, step = p.execute(b, 0); step === Step.HEAD || step === Step.END; step = p.execute(b, from)) { from = p.pos; p.resume() }
    assert.is(p.finish(), want, JSON.stringify(s))
    if (want === Step.ERROR) assert.match(p.error!.message, /^HPE_INVALID_EOF_STATE: /)
    p.destroy()
  }
})

refusals.run()
