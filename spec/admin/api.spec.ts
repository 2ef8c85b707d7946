/**
 * The admin API's endpoints and checks, over real sockets: 400, 404, 405, 401, the token and Basic
 * credentials, POST only with credentials and never cross-site, /status, /config (redacted), /reload,
 * the peer actions, /ready and /live, /events, and the seam for a feature's action.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { writeFileSync } from 'node:fs'
import { connect } from 'node:net'
import { guard, httpUpstream, raw, tempFile, waitFor } from '../support/harness.js'
import { BEARER, TOKEN, adminProxy, call } from '../support/admin.js'
import { addAdminAction } from '../../src/admin/actions.js'
import { closeFilters } from '../../src/filters/index.js'

const t = suite('admin API')
const track = guard(t)

async function twoPeers(extra: Record<string, unknown> = {}) {
  const a = track(await httpUpstream((_q, res) => res.end('a')))
  const b = track(await httpUpstream((_q, res) => res.end('b')))
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`] } }, ...extra }))
  return { a, b, ap }
}

async function bodies(port: number, n: number): Promise<string[]> {
  const out: string[] = []
  for (let i = 0; i < n; i++) {
    const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    out.push(r.text.slice(r.text.indexOf('\r\n\r\n') + 4))
  }
  return out
}

t('a malformed request is 400, an unknown path 404, a wrong method 405 with Allow', async () => {
  const { ap } = await twoPeers()
  const bad = await raw(ap.adminPort, 'GARBAGE\r\n\r\n', { ms: 3000 })
  assert.match(bad.text, /^HTTP\/1\.1 400 /)
  assert.ok(bad.closed)
  assert.is((await call(ap.adminPort, 'GET', '/nothing', BEARER)).status, 404)
  const wrong = await call(ap.adminPort, 'GET', '/reload', BEARER)
  assert.is(wrong.status, 405)
  assert.match(wrong.head, /\r\nAllow: POST/)
  assert.is((await call(ap.adminPort, 'DELETE', '/metrics', BEARER)).status, 405)
})

t('with a token: 401 without it or with a wrong one; /live and /ready need none', async () => {
  const { ap } = await twoPeers()
  const none = await call(ap.adminPort, 'GET', '/status')
  assert.is(none.status, 401)
  assert.match(none.head, /WWW-Authenticate: Bearer realm="rawproxy admin"/)
  assert.is((await call(ap.adminPort, 'GET', '/status', { Authorization: 'Bearer wrong-token-0123456789' })).status, 401)
  assert.is((await call(ap.adminPort, 'GET', '/metrics', { Authorization: `Bearer ${TOKEN}x` })).status, 401)
  assert.is((await call(ap.adminPort, 'GET', '/status', BEARER)).status, 200)
  assert.is((await call(ap.adminPort, 'GET', '/live')).status, 200)
  assert.is((await call(ap.adminPort, 'GET', '/ready')).status, 200)
})

t('htpasswd users call with Basic credentials', async () => {
  const file = tempFile('admin.htpasswd')
  writeFileSync(file, `ops:{SHA}${createHash('sha1').update('secret').digest('base64')}\n`)
  const { ap } = await twoPeers({ admin: { listen: '127.0.0.1:0', htpasswd: file } })
  const basic = (u: string, p: string) => ({ Authorization: `Basic ${Buffer.from(`${u}:${p}`).toString('base64')}` })
  assert.is((await call(ap.adminPort, 'GET', '/status', basic('ops', 'secret'))).status, 200)
  const wrong = await call(ap.adminPort, 'GET', '/status', basic('ops', 'nope'))
  assert.is(wrong.status, 401)
  assert.match(wrong.head, /WWW-Authenticate: Basic realm="rawproxy admin"/)
  assert.is((await call(ap.adminPort, 'GET', '/status', basic('eve', 'secret'))).status, 401)
  assert.is((await call(ap.adminPort, 'POST', '/reload', basic('ops', 'secret'))).status, 200)
})

t('a POST is refused cross-site (Origin, Sec-Fetch-Site), and without configured credentials', async () => {
  const { ap } = await twoPeers()
  const own = `http://127.0.0.1:${ap.adminPort}`
  const evil = await call(ap.adminPort, 'POST', '/reload', { ...BEARER, Origin: 'https://evil.example' })
  assert.is(evil.status, 403)
  assert.match(evil.body, /cross-site/)
  assert.is((await call(ap.adminPort, 'POST', '/reload', { ...BEARER, Origin: 'null' })).status, 403)
  assert.is((await call(ap.adminPort, 'POST', '/reload', { ...BEARER, 'Sec-Fetch-Site': 'cross-site' })).status, 403)
  assert.is((await call(ap.adminPort, 'POST', '/reload', { ...BEARER, Origin: own, 'Sec-Fetch-Site': 'same-origin' })).status, 200)
  assert.is((await call(ap.adminPort, 'POST', '/reload')).status, 401)
  // Loopback without token or htpasswd: reads are open, state changes are not.
  const { ap: open } = await twoPeers({ admin: { listen: '127.0.0.1:0' } })
  assert.is((await call(open.adminPort, 'GET', '/status')).status, 200)
  const refused = await call(open.adminPort, 'POST', '/reload')
  assert.is(refused.status, 403)
  assert.match(refused.body, /admin\.token or admin\.htpasswd/)
})

t('GET /status: listeners, routes, upstreams with their peers, requests, config', async () => {
  const { a, ap } = await twoPeers()
  await bodies(ap.port, 2)
  const s = JSON.parse((await call(ap.adminPort, 'GET', '/status', BEARER)).body)
  assert.is(s.pid, process.pid)
  assert.is(s.workers, null)
  assert.is(s.listeners[0].address, `127.0.0.1:${ap.port}`)
  assert.is(s.requests.total, 2)
  assert.equal(s.routes, [{ route: '*/', upstream: 'u' }])
  assert.is(s.upstreams[0].name, 'u')
  assert.is(s.upstreams[0].peers[0].peer, `127.0.0.1:${a.port}`)
  assert.is(s.upstreams[0].peers[0].state, 'up')
  assert.is(typeof s.config.loaded_at, 'string')
})

t('GET /config: the running config with its secrets redacted', async () => {
  const a = track(await httpUpstream())
  const { hashSync } = await import('bcrypt')
  const ap = track(await adminProxy({
    upstreams: { u: { peers: [`127.0.0.1:${a.port}`] } },
    routes: [{ path: '/', upstream: 'u', auth: { users: { alice: hashSync('pw', '$2b$04$abcdefghijklmnopqrstuu') } }, rate_limit: { limits: [{ name: 'r', key: 'client_ip', rate: '5/s' }], store: { redis: { url: 'redis://:hunter2@127.0.0.1:1/0' } } } }],
  }))
  const c = (await call(ap.adminPort, 'GET', '/config', BEARER)).body
  await closeFilters() // the Redis store it made (unreachable, reconnecting): closed, or it keeps the process alive
  assert.not.match(c, TOKEN)
  assert.not.match(c, /hunter2/)
  assert.not.match(c, /\$2b\$/)
  const j = JSON.parse(c)
  assert.is(j.admin.token, '<redacted>')
  assert.equal(j.routes[0].features.auth.users, [['alice', '<redacted>']])
  assert.is(j.upstreams.u.peers[0].port, a.port)
})

t('POST /reload answers with the result: ok, or the refusal and its reason', async () => {
  const { a, ap } = await twoPeers()
  const ok = await call(ap.adminPort, 'POST', '/reload', BEARER)
  assert.is(ok.status, 200)
  assert.equal(JSON.parse(ok.body), { ok: true })
  ap.write({ upstreams: { u: { peers: [`127.0.0.1:${a.port}`] } }, routes: [{ path: '/', upstream: 'nope' }] })
  const bad = await call(ap.adminPort, 'POST', '/reload', BEARER)
  assert.is(bad.status, 422)
  assert.equal(JSON.parse(bad.body), { ok: false, error: 'routes[0].upstream: unknown upstream "nope"' })
  assert.is(ap.reloader.ok, 1)
  assert.is(ap.reloader.failed, 1)
})

t('drain and disable take a peer out of the picks; enable brings it back; the state survives a reload', async () => {
  const { a, b, ap } = await twoPeers()
  const peerB = `127.0.0.1:${b.port}`
  const drain = await call(ap.adminPort, 'POST', `/upstreams/u/peers/${peerB}/drain`, BEARER)
  assert.is(drain.status, 200)
  assert.equal(await bodies(ap.port, 4), ['a', 'a', 'a', 'a'])
  let s = JSON.parse((await call(ap.adminPort, 'GET', '/status', BEARER)).body)
  assert.is(s.upstreams[0].peers[1].state, 'draining')
  assert.is((await call(ap.adminPort, 'POST', '/reload', BEARER)).status, 200)
  assert.equal(await bodies(ap.port, 2), ['a', 'a'], 'still drained after a reload')
  assert.is((await call(ap.adminPort, 'POST', `/upstreams/u/peers/${peerB}/enable`, BEARER)).status, 200)
  assert.equal((await bodies(ap.port, 4)).sort(), ['a', 'a', 'b', 'b'])
  assert.is((await call(ap.adminPort, 'POST', `/upstreams/u/peers/127.0.0.1:${a.port}/disable`, BEARER)).status, 200)
  s = JSON.parse((await call(ap.adminPort, 'GET', '/status', BEARER)).body)
  assert.is(s.upstreams[0].peers[0].state, 'disabled')
  assert.equal(await bodies(ap.port, 2), ['b', 'b'])
  assert.is((await call(ap.adminPort, 'POST', '/upstreams/u/peers/127.0.0.1:1/drain', BEARER)).status, 404)
  assert.is((await call(ap.adminPort, 'POST', `/upstreams/nope/peers/${peerB}/drain`, BEARER)).status, 404)
})

t('a drained peer finishes the request in flight', async () => {
  let release: () => void = () => {}
  const slow = track(await httpUpstream((_q, res) => { release = () => res.end('late') }))
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${slow.port}`] } } }))
  const pending = raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n', { ms: 5000 })
  await waitFor(() => slow.requests.length === 1)
  assert.is((await call(ap.adminPort, 'POST', `/upstreams/u/peers/127.0.0.1:${slow.port}/drain`, BEARER)).status, 200)
  const refused = await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.match(refused.text, /^HTTP\/1\.1 503 /, 'no new request goes to it')
  release()
  assert.match((await pending).text, /^HTTP\/1\.1 200 [\s\S]*late$/)
})

t('GET /ready turns 503 while stopping; /live stays 200', async () => {
  const { ap } = await twoPeers()
  ap.admin.stopping = true
  assert.is((await call(ap.adminPort, 'GET', '/ready')).status, 503)
  assert.is((await call(ap.adminPort, 'GET', '/live')).status, 200)
})

t('GET /events streams the event log as server-sent events', async () => {
  const { b, ap } = await twoPeers()
  const s = connect(ap.adminPort, '127.0.0.1')
  let got = ''
  s.on('data', (d) => { got += d })
  s.write(`GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await waitFor(() => got.includes(': rawproxy events'))
  assert.match(got, /Content-Type: text\/event-stream/)
  await call(ap.adminPort, 'POST', `/upstreams/u/peers/127.0.0.1:${b.port}/drain`, BEARER)
  await call(ap.adminPort, 'POST', '/reload', BEARER)
  await waitFor(() => got.includes('event: reloaded'))
  assert.match(got, /event: peer_draining\ndata: \{[^\n]*"peer":"127\.0\.0\.1:\d+"/)
  assert.is(ap.admin.hub.clients, 1)
  s.destroy()
  await waitFor(() => ap.admin.hub.clients === 0)
})

t('a feature adds its own POST action (the seam POST /cache/purge will use)', async () => {
  addAdminAction({ path: '/spec/echo/{what}', run: (r, [what]) => ({ status: 200, body: `${what} ${r.query.get('x')}\n` }) })
  assert.throws(() => addAdminAction({ path: '/spec/echo/{what}', run: () => ({ status: 200, body: '' }) }), /twice/)
  const { ap } = await twoPeers()
  const a = await call(ap.adminPort, 'POST', '/spec/echo/hello?x=1', BEARER)
  assert.is(a.status, 200)
  assert.is(a.body, 'hello 1\n')
  assert.is((await call(ap.adminPort, 'POST', '/spec/echo/hello')).status, 401, 'the same checks as every POST')
})

t.run()
