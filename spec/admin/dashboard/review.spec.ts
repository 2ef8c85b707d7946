/**
 * Issue 14, where an independent review broke it: a snapshot that stays small with many peers and
 * drains over a slow link, streams that end when the credentials change, secrets out of the trace's
 * "why" texts, a terminal never driven by a traced request's bytes, and ids a replaced worker does
 * not repeat.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { writeFileSync } from 'node:fs'
import { guard, httpUpstream, raw, waitFor } from '../../support/harness.js'
import { TOKEN, adminProxy } from '../../support/admin.js'
import { collect, records, steps } from '../../trace/support.js'
import { proxyTo } from '../../support/harness.js'
import { format } from '../../../src/trace/print.js'

const t = suite('admin dashboard and trace: review')
const track = guard(t)

function stream(port: number, path: string, token: string): { got: () => string; closed: () => boolean; pause: () => void; resume: () => void; close: () => void } {
  const s = connect(port, '127.0.0.1')
  let got = ''
  let closed = false
  s.on('data', (d) => { got += d })
  s.on('close', () => { closed = true })
  s.on('error', () => {})
  s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${token}\r\n\r\n`)
  return { got: () => got, closed: () => closed, pause: () => s.pause(), resume: () => s.resume(), close: () => s.destroy() }
}

t('the history keeps peers for its newest tick only; a quiet peer is left out of ticks; a large first frame may drain before the 1 MiB bound', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const peers = Array.from({ length: 40 }, (_, i) => `127.0.0.${i + 2}:${up.port}`)
  const ap = track(await adminProxy({ upstreams: { many: { peers: [`127.0.0.1:${up.port}`, ...peers] } }, routes: [{ path: '/', upstream: 'many' }] }))
  const h = ap.admin.history
  h.stop()
  await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await h.sample()
  await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await h.sample()
  await h.sample()
  const last = h.ticks[h.ticks.length - 1]
  for (const k of h.ticks.slice(0, -1)) assert.equal(k.peers, {}, 'only the newest tick has peers')
  assert.ok(Object.keys(last.peers).length <= 1, 'quiet peers are left out')
  // A page that has not read its snapshot yet is not dropped for it at the next tick.
  const big = 'x'.repeat(3 << 20)
  ap.admin.history.snapshotCache = { at: h.samples, json: `event: snapshot\ndata: "${big}"\n\n` }
  const s = stream(ap.adminPort, '/dashboard/stream', TOKEN)
  s.pause()
  await new Promise((r) => setTimeout(r, 200))
  await h.sample()
  await new Promise((r) => setTimeout(r, 100))
  assert.not.ok(s.closed(), 'dropped for its own snapshot')
  s.resume()
  await waitFor(() => s.got().includes('event: tick'), 5000, 'the tick after the snapshot')
  s.close()
})

t('a reload that changes the admin credentials ends the streams opened with the old ones', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const cfg = { upstreams: { app: { peers: [`127.0.0.1:${up.port}`] } } }
  const ap = track(await adminProxy(cfg))
  const events = stream(ap.adminPort, '/events', TOKEN)
  const dash = stream(ap.adminPort, '/dashboard/stream', TOKEN)
  const traces = stream(ap.adminPort, '/traces/stream', TOKEN)
  await waitFor(() => [events, dash, traces].every((s) => s.got().includes('200 OK')), 3000, 'three streams')
  // The same credentials: the streams go on.
  assert.ok((await ap.reloader.run()).ok)
  await new Promise((r) => setTimeout(r, 100))
  assert.ok([events, dash, traces].every((s) => !s.closed()))
  writeFileSync(ap.file, JSON.stringify({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', admin: { listen: `127.0.0.1:${ap.adminPort}`, token: 'a-new-token-for-the-review-spec' }, ...cfg }))
  const r = await ap.reloader.run()
  assert.ok(r.ok, r.error)
  await waitFor(() => [events, dash, traces].every((s) => s.closed()), 3000, 'the old streams closed')
})

t('trace: a hash key from a header or a cookie is not shown; the admin token in a path is masked in the route step', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const px = track(await proxyTo([up.port], { upstream: { balance: 'hash', hash_key: 'cookie:session' } }))
  px.server.tracer.all = true
  const got = collect(px)
  await raw(px.port, 'GET /x HTTP/1.1\r\nHost: a\r\nCookie: session=SESSION-SECRET-1\r\nConnection: close\r\n\r\n')
  const [r] = await records(got, 1)
  const why = steps(r, 'balance')[0].why ?? ''
  assert.not.match(JSON.stringify(r.steps), /SESSION-SECRET-1/)
  assert.match(why, /hash key <masked: cookie session, 16 bytes>/)
})

t('trace: a refused request\'s secrets are masked whatever its line ends: a bare LF, an obs-fold, a space before the colon', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const px = track(await proxyTo([up.port]))
  px.server.tracer.all = true
  const got = collect(px)
  const heads = [
    'GET /a HTTP/1.1\r\nHost: a\nAuthorization: Bearer SECRET-LF\r\n\r\n',
    'GET /b HTTP/1.1\r\nHost: a\r\nAuthorization: Bearer\r\n SECRET-FOLD\r\n\r\n',
    'GET /c HTTP/1.1\r\nHost: a\r\nAuthorization : Bearer SECRET-SPACE\r\n\r\n',
  ]
  for (const h of heads) await raw(px.port, h)
  const rs = await records(got, 3)
  for (const r of rs) {
    assert.is(r.status, 400)
    assert.not.match(r.received, /SECRET-/, r.received)
  }
})

t('HEAD of a stream endpoint is its head only, and the connection ends', async () => {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const ap = track(await adminProxy({ upstreams: { app: { peers: [`127.0.0.1:${up.port}`] } } }))
  for (const path of ['/events', '/dashboard/stream', '/traces/stream']) {
    const r = await raw(ap.adminPort, `HEAD ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`, { ms: 2000 })
    assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Type: text\/event-stream/, path)
    assert.ok(r.text.endsWith('\r\n\r\n'), `${path}: no content`)
    assert.ok(r.closed, `${path}: closed`)
  }
})

t('--trace output: control characters of a path or a reason phrase are shown escaped, never sent to the terminal', () => {
  const r = {
    id: 'p-1', started: 0, client: { address: '127.0.0.1', port: 1, listener: 'l', tls: false }, received: 'GET /x HTTP/1.1\\r\\n',
    spans: [], steps: [{ at: 0, phase: 'route' as const, what: '*/', verdict: 'matched', why: 'path /\u001b]0;PWNED\u0007\u001b[2J' }],
    responseHead: 'HTTP/1.1 200 \u001b[31mOK', timings: { total: 1 }, masked: [],
  }
  for (const colour of [false, true]) {
    const text = format(r, colour)
    assert.not.ok(text.includes('\u0007'), 'BEL')
    assert.not.ok(text.includes('\u001b]'), 'OSC')
    assert.not.ok(text.includes('\u001b[2J'), 'clear screen')
    assert.match(text, /\\x1b\]0;PWNED\\x07/)
  }
})

t.run()
