import { suite } from 'uvu'
import { refusedBy } from '../support/config.js'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, guard } from '../support/harness.js'
import { validate } from '../../src/config/validate.js'

const t = suite('filters: headers')
const track = guard(t)
let up: HttpUpstream

t.before(async () => {
  up = await httpUpstream((req, res) => {
    res.setHeader('X-Powered-By', 'peer')
    res.setHeader('Server', 'peer/1.0')
    if (req.url === '/echo-id') res.setHeader('X-Request-ID', 'from-peer')
    res.end('ok')
  })
})
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

function proxy(headers: unknown, more: Record<string, unknown> = {}) {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', headers }], ...more })
}

function refused(headers: unknown, message: string): void {
  refusedBy(() => validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', headers }] }), message)
}

t('request set, add and remove reach the peer; placeholders are filled per request', async () => {
  const px = track(await proxy({
    request: {
      set: { 'X-Env': 'edge', 'User-Agent': 'rawproxy {method} {scheme}://{host}{path}?{query}' },
      add: { 'X-Client': '{client_ip}', 'X-Uri': '{uri}' },
      remove: ['Cookie', 'x-debug'],
    },
  }))
  const r = await raw(px.port, 'GET /a/b?x=1 HTTP/1.1\r\nHost: Site.Test:8080\r\nUser-Agent: curl\r\nCookie: s=1\r\nX-Debug: 1\r\nX-Env: dev\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200])
  const h = up.requests[0].headers
  assert.is(h['x-env'], 'edge', 'set replaces the client\'s value')
  assert.is(h['user-agent'], 'rawproxy GET http://site.test/a/b?x=1')
  assert.is(h['x-client'], '127.0.0.1')
  assert.is(h['x-uri'], '/a/b?x=1')
  assert.is(h.cookie, undefined)
  assert.is(h['x-debug'], undefined)
  assert.is(up.requests[0].rawHeaders.filter((n) => n.toLowerCase() === 'x-env').length, 1)
})

t('response set, add and remove reach the client, {upstream_peer} included', async () => {
  const px = track(await proxy({
    response: { set: { Server: 'rawproxy' }, add: { 'X-Served-By': '{upstream_peer}' }, remove: ['x-powered-by'] },
  }))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(r.text, /\r\nServer: rawproxy\r\n/)
  assert.not.match(r.text, /peer\/1\.0/)
  assert.not.match(r.text, /X-Powered-By/i)
  assert.match(r.text, new RegExp(`\\r\\nX-Served-By: 127\\.0\\.0\\.1:${up.port}\\r\\n`))
  assert.match(r.text, /\r\n\r\nok$/)
})

t('response rules apply to local answers too (a 404 of the defaults, a 502)', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: ['127.0.0.1:1'], retries: 0 } },
    defaults: { headers: { response: { set: { 'X-Frame-Options': 'DENY' } } } },
    routes: [{ host: 'a.test', upstream: 'u' }],
  }))
  const nf = await raw(px.port, 'GET / HTTP/1.1\r\nHost: other.test\r\nConnection: close\r\n\r\n')
  assert.match(nf.text, /^HTTP\/1\.1 404 [^]*\r\nX-Frame-Options: DENY\r\n/)
  const bad = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  assert.match(bad.text, /^HTTP\/1\.1 502 [^]*\r\nX-Frame-Options: DENY\r\n/)
})

t('{env.NAME} is read at load; an unset one refuses the config', async () => {
  process.env.RAWPROXY_SPEC_REGION = 'eu-1'
  const px = track(await proxy({ request: { add: { 'X-Region': '{env.RAWPROXY_SPEC_REGION}' } } }))
  await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.is(up.requests[0].headers['x-region'], 'eu-1')
  refused({ request: { add: { 'X-Region': '{env.RAWPROXY_SPEC_UNSET}' } } }, 'routes[0].headers.request.add.X-Region: {env.RAWPROXY_SPEC_UNSET}: the environment variable RAWPROXY_SPEC_UNSET is not set')
})

t('Host may be set on the request: the peer gets the new one, X-Forwarded-Host the original', async () => {
  const px = track(await proxy({ request: { set: { Host: 'internal.svc' } } }))
  await raw(px.port, 'GET / HTTP/1.1\r\nHost: public.test\r\nConnection: close\r\n\r\n')
  assert.is(up.requests[0].headers.host, 'internal.svc')
  assert.is(up.requests[0].headers['x-forwarded-host'], 'public.test')
  assert.is(up.requests[0].rawHeaders.filter((n) => n.toLowerCase() === 'host').length, 1)
  // HTTP/1.0 without Host: ours is the only one, not the peer's address as well.
  await raw(px.port, 'GET / HTTP/1.0\r\n\r\n')
  assert.is(up.requests[1].rawHeaders.filter((n) => n.toLowerCase() === 'host').length, 1)
  assert.is(up.requests[1].headers.host, 'internal.svc')
})

t('request_id: made per request, sent upstream, echoed, logged; a trusted proxy\'s is kept', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy({ request_id: true }, { access_log: { path: log, format: 'json' }, trusted_proxies: ['10.0.0.0/8'] }))
  const a = await raw(px.port, 'GET /echo-id HTTP/1.1\r\nHost: a\r\nX-Request-ID: forged\r\nConnection: close\r\n\r\n')
  const sent = up.requests[0].headers['x-request-id'] as string
  assert.match(sent, /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/, 'a fresh UUID, not the untrusted client\'s')
  assert.is(up.requests[0].rawHeaders.filter((n) => n.toLowerCase() === 'x-request-id').length, 1)
  // The peer echoed its own value: the client sees ours, once.
  assert.is([...a.text.matchAll(/X-Request-ID: ([^\r]+)/gi)].map((m) => m[1]).join(), sent)
  const b = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const second = /X-Request-ID: ([^\r]+)/i.exec(b.text)![1]
  assert.is.not(second, sent, 'one per request')
  const recs = await accessRecords(px, log)
  assert.equal(recs.map((r) => r.request_id), [sent, second])
})

t('request_id from a trusted proxy is kept when it is well-formed', async () => {
  const px = track(await proxy({ request_id: 'X-Trace-Id' }, { trusted_proxies: ['127.0.0.1'] }))
  const a = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nX-Trace-Id: lb-42\r\nConnection: close\r\n\r\n')
  assert.is(up.requests[0].headers['x-trace-id'], 'lb-42')
  assert.match(a.text, /\r\nX-Trace-Id: lb-42\r\n/)
  await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\nX-Trace-Id: ${'x'.repeat(300)}\r\nConnection: close\r\n\r\n`)
  assert.is.not(up.requests[1].headers['x-trace-id'], 'x'.repeat(300), 'too long: replaced')
})

t('names and values are checked at load; framing and hop-by-hop fields cannot be touched', () => {
  refused({ request: { set: { 'Content-Length': '5' } } }, 'routes[0].headers.request.set.Content-Length: Content-Length cannot be changed by a header rule: it frames the message (RFC 9112 §6.2); rawproxy sets it on each hop')
  refused({ response: { remove: ['Transfer-Encoding'] } }, 'routes[0].headers.response.remove[0]: Transfer-Encoding cannot be changed by a header rule: it frames the message (RFC 9112 §6.1); rawproxy sets it on each hop')
  refused({ request: { add: { Connection: 'close' } } }, 'routes[0].headers.request.add.Connection: Connection cannot be changed by a header rule: it is hop-by-hop (RFC 9110 §7.6.1); rawproxy sets it on each hop')
  refused({ response: { set: { Upgrade: 'h2c' } } }, 'routes[0].headers.response.set.Upgrade: Upgrade cannot be changed by a header rule: it is hop-by-hop (RFC 9110 §7.6.1); rawproxy passes it only to open a tunnel')
  refused({ request: { remove: ['X-Forwarded-For'] } }, 'routes[0].headers.request.remove[0]: X-Forwarded-For cannot be changed by a header rule: it is written by rawproxy (trusted_proxies decides what is kept)')
  refused({ request: { set: { 'Bad Name': 'x' } } }, 'routes[0].headers.request.set.Bad Name: "Bad Name" is not a field name (RFC 9110 §5.1: a token)')
  refused({ response: { set: { 'X-A': 'a\r\nSet-Cookie: x=1' } } }, 'routes[0].headers.response.set.X-A: must hold only visible ASCII, spaces and tabs (RFC 9110 §5.5: no CR, LF, NUL or other controls)')
  refused({ response: { set: { 'X-A': 'a\u0000b' } } }, 'routes[0].headers.response.set.X-A: must hold only visible ASCII, spaces and tabs (RFC 9110 §5.5: no CR, LF, NUL or other controls)')
  refused({ request: { set: { 'X-A': '{nope}' } } }, 'routes[0].headers.request.set.X-A: unknown placeholder {nope} (known: {client_ip}, {host}, {path}, {query}, {uri}, {method}, {scheme}, {request_id}, {user}, {tls_sni}, {tls_client_subject}, {upstream_peer}, {env.NAME})')
  refused({ request: { set: { 'X-A': '{upstream_peer}' } } }, 'routes[0].headers.request.set.X-A: {upstream_peer} has a value only on the response side')
  refused({ response: { add: { Host: 'x' } } }, 'routes[0].headers.response.add.Host: Host can only be set on the request (one Host, RFC 9112 §3.2)')
  refused({ request: { set: { 'X-A': '1' }, remove: ['x-a'] } }, 'routes[0].headers.request.set: X-A is both set and removed')
  refused({ request_id: true, response: { remove: ['X-Request-ID'] } }, 'routes[0].headers.response: X-Request-ID is the request_id field; rawproxy sets it')
  refused({ requets: {} }, 'routes[0].headers.requets: unknown field (expected one of: request, response, request_id)')
  refused({ request_id: 'Host' }, 'routes[0].headers.request_id: Host can only be set on the request (one Host, RFC 9112 §3.2)')
  refused({ request_id: 'Set-Cookie' }, 'routes[0].headers.request_id: Set-Cookie is not a name for a request ID (it must end in -ID, as X-Request-ID, the default, does)')
  refused({ request_id: 'Content-Encoding' }, 'routes[0].headers.request_id: Content-Encoding is not a name for a request ID (it must end in -ID, as X-Request-ID, the default, does)')
  refused({ response: { add: { 'Strict-Transport-Security': 'max-age=1' } } }, 'routes[0].headers.response.add.Strict-Transport-Security: Strict-Transport-Security must be one field (RFC 6797 §6.1): use set')
  refused({ request_id: 'Content-Length' }, 'routes[0].headers.request_id: Content-Length cannot be changed by a header rule: it frames the message (RFC 9112 §6.2); rawproxy sets it on each hop')
  // Braces that are not a placeholder are text.
  validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', headers: { response: { add: { 'X-Json': '{"a": 1}' } } } }] })
})

t('a UTF-8 user goes to the peer as its bytes; controls never reach a head', async () => {
  const { createHash } = await import('node:crypto')
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', auth: { users: { 'zoë': `{SHA}${createHash('sha1').update('pw').digest('base64')}` } }, headers: { request: { set: { 'X-User': '<{user}>' } } } }],
  }))
  const r = await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\nAuthorization: Basic ${Buffer.from('zoë:pw').toString('base64')}\r\nConnection: close\r\n\r\n`)
  assert.equal(statuses(r.text), [200])
  // node:http gives field values as latin1: the UTF-8 bytes of "zoë", one character each.
  assert.is(up.requests[0].headers['x-user'], `<${Buffer.from('zoë', 'utf8').toString('latin1')}>`)
  const { fieldText } = await import('../../src/filters/template.js')
  assert.is(fieldText('plain text'), 'plain text')
  assert.is(fieldText('zoë'), Buffer.from('zoë', 'utf8').toString('latin1'))
  assert.is(fieldText('a\r\nb\u0000c\td'), 'abc\td')
})

t.run()
