/**
 * A path or a host written another way must not walk around a route's auth or access, nor a rule's
 * deny: the router and the rules match on the strictest reading a common peer gives the path
 * (http/path.ts), and the path the peer gets has its dot-segments resolved, so it serves what we matched.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, startProxy, statuses, HttpUpstream, guard, ProxyHandle } from '../support/harness.js'

const t = suite('filters: no way around a route or a rule')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream((req, res) => res.end(`peer saw ${req.url}`)) })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

const SHA_PW = '{SHA}W6ph5Mm5Pz8GgiULbPgzG37mj9g=' // "password"

async function get(px: ProxyHandle, target: string, host = 'a.test'): Promise<{ status: number; text: string }> {
  const r = await raw(px.port, `GET ${target} HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
  return { status: statuses(r.text)[0], text: r.text }
}

t('a route with auth: encodings, doubled slashes, dot-segments, path parameters and backslashes all reach it', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ path: '/admin', upstream: 'u', auth: { users: { a: SHA_PW } } }, { path: '/', upstream: 'u' }],
  }))
  for (const target of ['/admin', '/%61dmin', '/./admin', '/x/../admin', '/x/%2e%2e/admin', '/admin;jsessionid=1', '/admin%2Fusers',
    '/admin\\users']) {
    assert.is((await get(px, target)).status, 401, target)
  }
  // A dot-segment that only another reading makes (path parameters: Tomcat; backslashes: IIS; encoded
  // slashes: nginx) climbs out of /admin for one peer and not another: refused. So is a path that
  // begins with two slashes, which WHATWG URL parsers read as //host/path.
  for (const target of ['/public/..%2Fadmin', '/public%2F..%2Fadmin', '/admin/..;/public', '/admin/%2e%2e;x/public', '/..;/admin',
    '/admin/x\\..\\..\\public', '/admin/x%5C..%5C..%5Cpublic', '//admin', '//public/admin', '/\\public/admin', '/..//public/admin']) {
    assert.is((await get(px, target)).status, 400, target)
  }
  assert.is(up.requests.length, 0, 'nothing reached the peer')
  assert.is((await get(px, '/ADMIN')).status, 200, 'paths are case-sensitive (RFC 3986 §6.2.2.1) unless ignore_case')
  assert.is((await get(px, '/administrator')).status, 200)
})

t('ignore_case on a route and on a rule, for peers that route without regard to case', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [
      { path: '/Admin', ignore_case: true, upstream: 'u', auth: { users: { a: SHA_PW } } },
      { path: '/', upstream: 'u', rules: [{ match: { path: '/internal', ignore_case: true }, deny: 404 }, { match: { path_regex: '^/secret', ignore_case: true }, deny: 403 }] },
    ],
  }))
  for (const target of ['/admin', '/ADMIN', '/aDmIn/x']) assert.is((await get(px, target)).status, 401, target)
  for (const target of ['/INTERNAL', '/Internal/x']) assert.is((await get(px, target)).status, 404, target)
  assert.is((await get(px, '/SeCrEt')).status, 403)
})

t('a host written as an absolute name (a trailing dot) is the same host', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ host: 'admin.example.com', upstream: 'u', auth: { users: { a: SHA_PW } } }, { upstream: 'u' }],
  }))
  for (const host of ['admin.example.com', 'admin.example.com.', 'ADMIN.example.com.:80']) assert.is((await get(px, '/', host)).status, 401, host)
  assert.is((await get(px, '/', 'other.example.com')).status, 200)
  // A percent-escape in Host would name admin.example.com to a peer that decodes it (WHATWG URL).
  for (const host of ['adm%69n.example.com', 'admin%2eexample.com']) assert.is((await get(px, '/', host)).status, 400, host)
})

t('a rule\'s deny: dot-segments are resolved before the peer sees the path; what climbs out of the prefix is forwarded resolved', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', rules: [{ match: { path: '/internal' }, deny: 404 }] }],
  }))
  for (const target of ['/internal', '/x/../internal', '/internal;a=b', '/internal\\x', '/%2e/internal', '/internal%2Fx']) {
    assert.is((await get(px, target)).status, 404, target)
  }
  for (const target of ['/..;/internal', '/internal/..;/x', '/internal/..%2fx']) assert.is((await get(px, target)).status, 400, target)
  assert.equal(up.requests.map((r) => r.url), [])
  // Out of /internal by a dot-segment: allowed, and the peer gets the resolved path, not "/internal/../x".
  const r = await get(px, '/internal/../x?q=/..')
  assert.is(r.status, 200)
  assert.equal(up.requests.map((q) => q.url), ['/x?q=/..'])
})

t('a rule\'s prefix written with escapes or doubled slashes in the config still matches', async () => {
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', rules: [{ match: { path: '/caf%C3%A9' }, deny: 404 }, { match: { path: '//a/./b' }, deny: 410 }] }],
  }))
  assert.is((await get(px, '/caf%C3%A9/menu')).status, 404)
  assert.is((await get(px, '/a/b')).status, 410)
})

t.run()
