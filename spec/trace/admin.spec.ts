/**
 * Tracing through the admin API: POST /traces arms the next N requests matching a route and a path,
 * GET /traces gives the ring (newest last, at most 100), GET /traces/stream sends each record as a
 * server-sent event (the last 20 first), and the calls need the API's credentials.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { guard, httpUpstream, raw, waitFor } from '../support/harness.js'
import { BEARER, TOKEN, adminProxy, call } from '../support/admin.js'
import { RING, TraceStore } from '../../src/admin/traces.js'
import type { TraceRecord } from '../../src/trace/record.js'

const t = suite('trace: the admin API')
const track = guard(t)

async function setup() {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ path: '/api', upstream: 'u' }, { upstream: 'u' }],
  }))
  return { up, ap }
}

function get(port: number, path: string): Promise<unknown> {
  return raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n`)
}

/** The SSE frames of `text`: [event, parsed data]. */
function frames(text: string): [string, TraceRecord][] {
  const body = text.slice(text.indexOf('\r\n\r\n') + 4)
  return body.split('\n\n').flatMap((f) => {
    const ev = /^event: (.+)$/m.exec(f)
    const data = /^data: (.+)$/m.exec(f)
    return ev === null || data === null ? [] : [[ev[1], JSON.parse(data[1]) as TraceRecord]]
  })
}

t('POST /traces arms the next N requests matching the route and the path; GET /traces lists them', async () => {
  const { ap } = await setup()
  const armed = await call(ap.adminPort, 'POST', '/traces?count=2&route=*/api&path=/api/v2', BEARER)
  assert.is(armed.status, 200)
  assert.equal(JSON.parse(armed.body), { armed: 2, route: '*/api', path: '/api/v2' })
  for (const p of ['/other', '/api/v1/a', '/api/v2/a', '/api/v2/b', '/api/v2/c']) await get(ap.port, p)
  const list = JSON.parse((await call(ap.adminPort, 'GET', '/traces', BEARER)).body) as TraceRecord[]
  assert.equal(list.map((r) => r.spans[1].text), ['/api/v2/a', '/api/v2/b'], 'only the matching ones, N of them')
  assert.is(ap.server.tracer.armed.length, 0, 'disarmed after N')
  assert.not.ok(ap.server.tracer.on)
  // Any route, any path: the next request whatever it is.
  await call(ap.adminPort, 'POST', '/traces?count=1', BEARER)
  await get(ap.port, '/other')
  const after = JSON.parse((await call(ap.adminPort, 'GET', '/traces', BEARER)).body) as TraceRecord[]
  assert.equal(after.map((r) => r.spans[1].text), ['/api/v2/a', '/api/v2/b', '/other'], 'newest last')
})

t('POST /traces: a bad count is 400; credentials are needed as for every call', async () => {
  const { ap } = await setup()
  for (const q of ['count=0', 'count=x', 'count=10001', 'count=-1']) assert.is((await call(ap.adminPort, 'POST', `/traces?${q}`, BEARER)).status, 400, q)
  assert.is((await call(ap.adminPort, 'POST', '/traces?count=1')).status, 401)
  assert.is((await call(ap.adminPort, 'GET', '/traces')).status, 401)
  assert.is((await call(ap.adminPort, 'GET', '/traces/stream')).status, 401)
  assert.is(ap.server.tracer.armed.length, 0)
})

t('GET /traces/stream: the last records first, then each new one as `event: trace`', async () => {
  const { ap } = await setup()
  await call(ap.adminPort, 'POST', '/traces?count=3', BEARER)
  await get(ap.port, '/before')
  await waitFor(() => ap.admin.traces.list().length === 1)
  const s = connect(ap.adminPort, '127.0.0.1')
  let got = ''
  s.on('data', (d) => { got += d })
  s.write(`GET /traces/stream HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await waitFor(() => got.includes(': rawproxy traces'))
  assert.match(got, /Content-Type: text\/event-stream/)
  await get(ap.port, '/live-1')
  await get(ap.port, '/live-2')
  await waitFor(() => frames(got).length === 3)
  const f = frames(got)
  assert.equal(f.map(([e]) => e), ['trace', 'trace', 'trace'])
  assert.equal(f.map(([, r]) => r.spans[1].text), ['/before', '/live-1', '/live-2'])
  assert.is(f[2][1].status, 200)
  assert.is(ap.admin.traces.clients, 1)
  s.destroy()
  await waitFor(() => ap.admin.traces.clients === 0)
})

t('the ring holds the last 100 records', () => {
  const store = new TraceStore()
  for (let i = 1; i <= RING + 5; i++) store.add({ id: `p-${i}`, started: 0, client: { address: '', port: 0, listener: '', tls: false }, received: '', spans: [], steps: [], timings: {}, masked: [] })
  assert.is(store.list().length, 100)
  assert.is(store.list()[0].id, 'p-6')
  assert.is(store.list()[99].id, 'p-105')
})

t('a record keeps at most 4 KiB of the body', async () => {
  const { ap } = await setup()
  await call(ap.adminPort, 'POST', '/traces?count=1', BEARER)
  const body = 'x'.repeat(10_000)
  await raw(ap.port, `POST / HTTP/1.1\r\nHost: x\r\nContent-Length: ${body.length}\r\nConnection: close\r\n\r\n${body}`)
  await waitFor(() => ap.admin.traces.list().length === 1)
  const r = ap.admin.traces.list()[0]
  assert.is(r.spans.find((s) => s.kind === 'body')!.length, 4096)
  assert.ok(r.received.length < 4096 + 200)
})

t.run()
