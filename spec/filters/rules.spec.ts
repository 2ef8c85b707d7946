import { suite } from 'uvu'
import { refusedBy } from '../support/config.js'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, guard, ProxyHandle } from '../support/harness.js'
import { validate } from '../../src/config/validate.js'

const t = suite('filters: rules')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream((req, res) => res.end(`peer ${req.url}`)) })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

function proxy(rules: unknown, more: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', rules }], ...more })
}

async function status(px: ProxyHandle, req: string): Promise<number> {
  const r = await raw(px.port, req.replace('\r\n\r\n', '\r\nConnection: close\r\n\r\n'))
  return statuses(r.text)[0]
}

const get = (path: string, extra = ''): string => `GET ${path} HTTP/1.1\r\nHost: a.test\r\n${extra}\r\n`

function refused(rules: unknown, message: string): void {
  refusedBy(() => validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ upstream: 'u', rules }] }), message)
}

t('deny on a path prefix: encodings, dot-segments and doubled slashes do not walk around it', async () => {
  const px = track(await proxy([{ match: { path: '/internal' }, deny: 404 }]))
  for (const p of ['/internal', '/internal/x', '/%69nternal', '/internal//x', '/./internal', '/x/../internal/y', '/x/%2e%2e/internal',
    '/internal%2fsecret', '/internal?q=1', '/%2finternal']) {
    assert.is(await status(px, get(p)), 404, p)
  }
  for (const p of ['/internals', '/public', '/x/internal']) assert.is(await status(px, get(p)), 200, p)
  assert.equal(up.requests.map((r) => r.url), ['/internals', '/public', '/x/internal'])
})

t('matchers: methods, glob, regex, host, headers, query, client; all keys of a match must hold', async () => {
  const px = track(await proxy([
    { match: { methods: ['DELETE'], path: '/api' }, deny: 409 },
    { match: { path_glob: '/static/**/*.map' }, deny: 404 },
    { match: { path_regex: '^/v[0-9]+/admin' }, deny: 403 },
    { match: { host: '*.old.test' }, respond: 410 },
    { match: { headers: { 'X-Debug': true } }, deny: 400 },
    { match: { headers: { 'X-Mode': 'maintenance' } }, respond: 503 },
    { match: { headers: { 'User-Agent': { regex: 'BadBot' } } }, deny: 403 },
    { match: { query: { debug: '1' } }, deny: 422 },
    { match: { query: { token: { regex: '^[0-9]+$' } }, path: '/q' }, respond: 202 },
    { match: { client: ['192.0.2.0/24'] }, deny: 451 },
  ], { trusted_proxies: ['127.0.0.1'] }))
  assert.is(await status(px, 'DELETE /api/x HTTP/1.1\r\nHost: a\r\n\r\n'), 409)
  assert.is(await status(px, 'DELETE /other HTTP/1.1\r\nHost: a\r\n\r\n'), 200)
  assert.is(await status(px, get('/static/js/app.js.map')), 404)
  assert.is(await status(px, get('/static/app.js')), 200)
  assert.is(await status(px, get('/v2/admin/users')), 403)
  assert.is(await status(px, get('/v2/public')), 200)
  assert.is(await status(px, 'GET / HTTP/1.1\r\nHost: www.old.test\r\n\r\n'), 410)
  assert.is(await status(px, 'GET / HTTP/1.1\r\nHost: old.test\r\n\r\n'), 200, '*.old.test is a subdomain only')
  assert.is(await status(px, get('/', 'x-debug: 0\r\n')), 400)
  assert.is(await status(px, get('/', 'X-Mode: maintenance\r\n')), 503)
  assert.is(await status(px, get('/', 'X-Mode: normal\r\n')), 200)
  assert.is(await status(px, get('/', 'User-Agent: Mozilla BadBot/1\r\n')), 403)
  assert.is(await status(px, get('/?a=2&debug=1')), 422)
  assert.is(await status(px, get('/?debug=%31')), 422, 'query values are decoded')
  assert.is(await status(px, get('/?debug=2')), 200)
  assert.is(await status(px, get('/q?token=123')), 202)
  assert.is(await status(px, get('/q?token=12a')), 200)
  assert.is(await status(px, get('/', 'X-Forwarded-For: 192.0.2.9\r\n')), 451)
  assert.is(await status(px, get('/', 'X-Forwarded-For: 198.51.100.9\r\n')), 200)
})

t('first match wins; allow stops the list', async () => {
  const px = track(await proxy([
    { match: { path: '/admin/health' }, allow: true },
    { match: { path: '/admin' }, deny: true },
    { match: { path: '/admin' }, respond: 200 },
  ]))
  assert.is(await status(px, get('/admin/health')), 200)
  assert.is(up.requests.length, 1, 'allowed requests go to the peer')
  assert.is(await status(px, get('/admin/users')), 403)
})

t('redirect with placeholders and status; respond and deny with a body; logged LR / PR with the filter', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy([
    { match: { host: 'old.test' }, redirect: 'https://new.test{uri}', status: 301 },
    { match: { path: '/go' }, redirect: '{scheme}://{host}/went{path}' },
    { match: { path: '/hc' }, respond: 200, body: 'ok\n' },
    { match: { path: '/gone' }, deny: 410, body: 'this page is gone\n' },
  ], { access_log: { path: log, format: 'json' } }))
  const a = await raw(px.port, 'GET /a?b=1 HTTP/1.1\r\nHost: old.test\r\nConnection: close\r\n\r\n')
  assert.match(a.text, /^HTTP\/1\.1 301 Moved Permanently\r\n[^]*\r\nLocation: https:\/\/new\.test\/a\?b=1\r\n/)
  const b = await raw(px.port, 'GET /go/x HTTP/1.1\r\nHost: a.test:8080\r\nConnection: close\r\n\r\n')
  assert.match(b.text, /^HTTP\/1\.1 302 Found\r\n[^]*\r\nLocation: http:\/\/a\.test\/went\/go\/x\r\n/)
  const c = await raw(px.port, 'GET /hc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(c.text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: text\/plain; charset=utf-8\r\n[^]*\r\n\r\nok\n$/)
  const d = await raw(px.port, 'GET /gone HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(d.text, /^HTTP\/1\.1 410 Gone\r\n[^]*\r\n\r\nthis page is gone\n$/)
  assert.is(up.requests.length, 0)
  const recs = await accessRecords(px, log)
  assert.equal(recs.map((r) => [r.status, r.cause, r.filter]), [[301, 'LR', 'rules'], [302, 'LR', 'rules'], [200, 'LR', 'rules'], [410, 'PR', 'rules']])
})

t('rules are checked at load: one action, valid statuses, regexes compiled once', () => {
  refused([{ match: { path: '/x' } }], 'routes[0].rules[0]: needs exactly one action of: deny, allow, redirect, respond')
  refused([{ deny: true, respond: 200 }], 'routes[0].rules[0]: needs exactly one action of: deny, allow, redirect, respond')
  refused([{ deny: 302 }], 'routes[0].rules[0].deny: must be an integer from 400 to 599')
  refused([{ redirect: '/x', status: 300 }], 'routes[0].rules[0].status: must be one of 301, 302, 303, 307, 308')
  refused([{ match: { path_regex: '([a-z' }, deny: true }], 'routes[0].rules[0].match.path_regex: not a valid regular expression: Invalid regular expression: /([a-z/: Unterminated character class')
  refused([{ match: { pathh: '/x' }, deny: true }], 'routes[0].rules[0].match.pathh: unknown field (expected one of: methods, path, path_glob, path_regex, ignore_case, host, headers, query, client)')
  refused([{ match: { client: ['10.0.0.300'] }, deny: true }], 'routes[0].rules[0].match.client[0]: "10.0.0.300" is not an IP address or CIDR')
  refused([{ redirect: 'https://x{nope}' }], 'routes[0].rules[0].redirect: unknown placeholder {nope} (known: {client_ip}, {host}, {path}, {query}, {uri}, {method}, {scheme}, {request_id}, {user}, {tls_sni}, {tls_client_subject}, {upstream_peer}, {env.NAME})')
  refused([{ allow: true, body: 'x' }], 'routes[0].rules[0].body: is not used by allow')
  refused([{ match: { path: 'x' }, deny: true }], 'routes[0].rules[0].match.path: must start with "/"')
  // Statuses whose fields a rule does not write, and content where there is none (RFC 9110 §15).
  refused([{ deny: 401 }], 'routes[0].rules[0].deny: 401 needs WWW-Authenticate (use auth)')
  refused([{ respond: 405 }], 'routes[0].rules[0].respond: 405 needs Allow (use methods)')
  refused([{ respond: 205, body: 'x' }], 'routes[0].rules[0].body: a 205 has no content')
  refused([{ redirect: '/who/{user}' }], 'routes[0].rules[0].redirect: {user} has no value in a rule (rules run before auth)')
  refused([{ match: { methods: ['get'] }, deny: true }], 'routes[0].rules[0].match.methods[0]: "get" is not GET: methods are case-sensitive (RFC 9110 §9.1)')
})

t('respond 204 and 205: no content; 205 says Content-Length: 0', async () => {
  const px = track(await proxy([{ match: { path: '/nc' }, respond: 204 }, { match: { path: '/reset' }, respond: 205 }]))
  const a = await raw(px.port, 'GET /nc HTTP/1.1\r\nHost: a\r\n\r\nGET /reset HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(a.text), [204, 205])
  assert.not.match(a.text.split('HTTP/1.1 205')[0], /Content-Length/i)
  assert.match(a.text, /HTTP\/1\.1 205 Reset Content\r\n[^]*Content-Length: 0\r\n[^]*\r\n\r\n$/)
})

t.run()
