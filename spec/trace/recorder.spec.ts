/**
 * The trace recorder (src/trace/) on real exchanges: what a record holds for a request with a body
 * (spans at the right offsets of the bytes received, the checks with their RFCs, the route, a filter's
 * verdict, the balancer's pick, pool reuse, the head sent upstream with its changes, the framing, the
 * timings), the masking of secrets, a malformed request, and the trusted trace field.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { RawClient, guard, httpUpstream, proxyTo, raw, sleep } from '../support/harness.js'
import { collect, records, steps, unescape } from './support.js'
import { escape } from '../../src/trace/escape.js'
import { validate } from '../../src/config/validate.js'

const t = suite('trace: the recorder')
const track = guard(t)

const BODY = 'name=trace&value=1'

t('a request with a body: spans, checks, route, filter, pick, reuse, upstream head, framing, timings', async () => {
  const up = track(await httpUpstream((req, res) => {
    if (req.url === '/chunked') { res.write('a'); res.end('b') } else res.end('ok')
  }))
  const px = track(await proxyTo([up.port], { defaults: { headers: { request: { set: { 'X-Spec': 'yes' } } } } }))
  px.server.tracer.all = true
  const got = collect(px)
  const c = track(await RawClient.open(px.port))
  c.send(`POST /form?x=1 HTTP/1.1\r\nHost: trace.example\r\nConnection: keep-alive\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${BODY.length}\r\n\r\n${BODY}`)
  await c.until('\r\n\r\nok')
  c.clear()
  c.send('GET /chunked HTTP/1.1\r\nHost: trace.example\r\n\r\n')
  await c.until('0\r\n\r\n')
  const [first, second] = await records(got, 2)

  // Spans point into the bytes received.
  const bytes = unescape(first.received)
  assert.ok(bytes.toString('latin1').startsWith('POST /form?x=1 HTTP/1.1\r\nHost: trace.example\r\n'))
  for (const s of first.spans) assert.is(bytes.toString('latin1', s.offset, s.offset + s.length), s.text, `${s.kind} ${s.text}`)
  assert.equal(first.spans.slice(0, 3).map((s) => [s.kind, s.text]), [['method', 'POST'], ['target', '/form?x=1'], ['version', 'HTTP/1.1']])
  assert.equal(first.spans.filter((s) => s.kind === 'header-name').map((s) => s.text), ['Host', 'Connection', 'Content-Type', 'Content-Length'])
  const body = first.spans.find((s) => s.kind === 'body')!
  assert.is(body.text, BODY)
  assert.is(body.offset + body.length, bytes.length)

  // Checks, each with its RFC; the route; the filter; the pick; a new connection, then reuse.
  const framing = steps(first, 'check').find((s) => s.rfc === 'RFC 9112 §6.3')!
  assert.is(framing.verdict, 'pass')
  assert.ok(steps(first, 'check').every((s) => /^RFC \d+ §/.test(s.rfc ?? '')))
  assert.is(first.route, '*/')
  assert.equal(steps(first, 'filter').map((s) => [s.what, s.verdict]), [['headers', 'pass']])
  assert.is(steps(first, 'balance')[0].what, `127.0.0.1:${up.port}`)
  assert.is(first.peer, `127.0.0.1:${up.port}`)
  assert.is(steps(first, 'connect')[0].verdict, 'connect')
  assert.is(steps(second, 'connect')[0].verdict, 'reuse')
  assert.is(second.timings.connect, 0)

  // The head upstream: Connection removed, the forwarding fields and the header rule added.
  const line = (r: typeof first, re: RegExp) => r.upstreamHead!.find((l) => re.test(l.text))
  assert.is(line(first, /^Connection: keep-alive$/)!.change, 'removed')
  assert.is(line(first, /^X-Forwarded-For: 127\.0\.0\.1$/)!.change, 'added')
  assert.is(line(first, /^X-Spec: yes$/)!.change, 'added')
  assert.is(line(first, /^Host: trace\.example$/)!.change, 'kept')
  assert.is(first.upstreamHead![0].text, 'POST /form?x=1 HTTP/1.1')

  // Framing: a length, then chunked; the status and the peer's head.
  assert.is(first.framing, 'content-length 2')
  assert.is(second.framing, 'chunked')
  assert.is(first.status, 200)
  assert.match(first.responseHead!, /^HTTP\/1\.1 200 OK\\r\\n\n/)

  // Timings present and in order; steps in time order.
  for (const k of ['parse', 'filters', 'connect', 'upstream head', 'body', 'total']) assert.type(first.timings[k], 'number', k)
  assert.ok(first.timings.parse <= first.timings.total)
  assert.ok(first.timings['upstream head'] <= first.timings.total)
  const ats = first.steps.map((s) => s.at)
  assert.equal(ats, [...ats].sort((a, b) => a - b))
  assert.equal(first.steps.map((s) => s.phase).filter((p, i, a) => p !== a[i - 1]),
    ['parse', 'check', 'route', 'filter', 'balance', 'connect', 'upstream', 'response', 'framing', 'end'])
  assert.match(first.id, /^p-\d+$/)
  assert.is(first.client.address, '127.0.0.1')
  assert.is(first.client.port, c.socket.localPort)
  assert.is(first.client.listener, `127.0.0.1:${px.port}`)
})

t('a filter that answers: its verdict and why; nothing goes upstream', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], { defaults: { rules: [{ match: { path: '/hidden' }, deny: 403 }] } }))
  px.server.tracer.all = true
  const got = collect(px)
  await raw(px.port, 'GET /hidden HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  const [r] = await records(got, 1)
  const f = steps(r, 'filter').find((s) => s.what === 'rules')!
  assert.is(f.verdict, 'answers 403')
  assert.match(f.why!, /refused by policy/)
  assert.is(r.status, 403)
  assert.is(r.upstreamHead, undefined)
  assert.is(steps(r, 'response')[0].verdict, 'local')
  assert.is(up.requests.length, 0)
})

t('secrets are masked: Authorization (scheme kept), Cookie, Set-Cookie, the admin token', async () => {
  const token = 'trace-spec-token-0123456789'
  const up = track(await httpUpstream((_q, res) => { res.setHeader('Set-Cookie', 'sid=s3cr3t-session; HttpOnly'); res.end('ok') }))
  const px = track(await proxyTo([up.port], { admin: { listen: '127.0.0.1:0', token } }))
  px.server.tracer.all = true
  const got = collect(px)
  await raw(px.port, `GET /x?key=${token} HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer sekrit-bearer\r\nCookie: sid=s3cr3t-cookie\r\nConnection: close\r\n\r\n`)
  const [r] = await records(got, 1)
  const all = JSON.stringify(r)
  for (const secret of ['sekrit-bearer', 's3cr3t-cookie', 's3cr3t-session', token]) assert.not.ok(all.includes(secret), secret)
  assert.match(r.received, /Authorization: Bearer <masked>\\r\\n/)
  assert.match(r.received, /Cookie: <masked>\\r\\n/)
  assert.match(r.responseHead!, /Set-Cookie: <masked>\\r\\n/)
  assert.match(r.received, /key=<masked>/)
  assert.equal([...r.masked].sort(), ['admin token', 'authorization', 'cookie', 'set-cookie'])
  // Spans still agree with the masked bytes.
  const bytes = unescape(r.received)
  for (const s of r.spans) assert.is(bytes.toString('latin1', s.offset, s.offset + s.length), s.text)
  // The peer got the real request: masking is for the record only.
  assert.is(up.requests[0].headers.cookie, 'sid=s3cr3t-cookie')
})

t('a malformed request: the 400, the failing check with its RFC, nothing forwarded', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  px.server.tracer.all = true
  const got = collect(px)
  const r1 = await raw(px.port, 'POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  assert.match(r1.text, /^HTTP\/1\.1 400 /)
  await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')
  const [smuggle, hosts] = await records(got, 2)
  const failed = (r: typeof smuggle) => r.steps.find((s) => s.phase === 'check' && s.verdict === 'fail')!
  assert.is(smuggle.status, 400)
  assert.is(failed(smuggle).rfc, 'RFC 9112 §6.3')
  assert.match(failed(smuggle).why!, /HPE_/)
  assert.match(smuggle.responseHead!, /^HTTP\/1\.1 400 Bad Request\\r\\n/)
  assert.match(smuggle.received, /^POST \/ HTTP\/1\.1\\r\\n\nHost: x/)
  assert.is(failed(hosts).rfc, 'RFC 9112 §3.2')
  assert.match(failed(hosts).what, /exactly one Host/)
  assert.is(steps(hosts, 'end')[0].what, 'status 400')
  assert.is(up.requests.length, 0)
})

t('the trace field: honoured from a listed address, ignored from others, never forwarded', async () => {
  const up = track(await httpUpstream())
  const listed = track(await proxyTo([up.port], { trace: { header_from: ['127.0.0.1/32'] } }))
  const other = track(await proxyTo([up.port], { trace: { header_from: ['10.0.0.0/8'] } }))
  const a = collect(listed)
  const b = collect(other)
  await raw(listed.port, 'GET /plain HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await raw(listed.port, 'GET /declined HTTP/1.1\r\nHost: x\r\nRawproxy-Trace: 0\r\nConnection: close\r\n\r\n')
  await raw(listed.port, 'GET /asked HTTP/1.1\r\nHost: x\r\nRawproxy-Trace: 1\r\nConnection: close\r\n\r\n')
  await raw(other.port, 'GET /asked HTTP/1.1\r\nHost: x\r\nRawproxy-Trace: 1\r\nConnection: close\r\n\r\n')
  await records(a, 1)
  await sleep(50)
  assert.is(a.length, 1, 'only the request that asked')
  assert.is(a[0].spans[1].text, '/asked')
  assert.is(a[0].upstreamHead!.find((l) => /^Rawproxy-Trace/i.test(l.text))!.change, 'removed')
  assert.is(b.length, 0, 'not from an address off the list')
  assert.is(up.requests.length, 4)
  for (const q of up.requests) assert.is(q.headers['rawproxy-trace'], undefined, `${q.url}: stripped`)
})

t('off: nothing recorded, the exchange has no recorder', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  const got = collect(px)
  assert.not.ok(px.server.tracer.watching)
  await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\nRawproxy-Trace: 1\r\nConnection: close\r\n\r\n')
  await sleep(30)
  assert.is(got.length, 0)
  assert.is(up.requests[0].headers['rawproxy-trace'], undefined)
})

t('escaping: printable ASCII as is, CR and LF marked, other bytes as \\xNN', () => {
  assert.is(escape('GET / HTTP/1.1\r\nA: \x01\xff\r\n\r\n'), 'GET / HTTP/1.1\\r\\n\nA: \\x01\\xff\\r\\n\n\\r\\n\n')
})

t('config: trace is validated with field paths', () => {
  const base = { upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  assert.throws(() => validate({ ...base, trace: { header_from: ['10.0.0.0/8', 'nope'] } }), /^trace\.header_from\[1\]: "nope" is not an IP address or CIDR$/)
  assert.throws(() => validate({ ...base, trace: { all: 'yes' } }), /^trace\.all: must be true or false$/)
  assert.throws(() => validate({ ...base, trace: { header: 'x' } }), /^trace\.header: unknown field/)
  assert.equal(validate(base).trace, { all: false, header_from: [] })
})

t.run()
