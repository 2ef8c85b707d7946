/**
 * The dashboard's server side: quantiles from bucket counts, a tick's rates from two scrapes, the
 * sampler's history over a real proxy, GET /dashboard/stream (credentials, the snapshot, then ticks
 * and events), and the page's files (no credentials, ETag and 304, a Content-Security-Policy).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { guard, httpUpstream, raw, waitFor } from '../../support/harness.js'
import { BEARER, TOKEN, adminProxy, call } from '../../support/admin.js'
import { Scrape, quantile } from '../../../src/admin/dashboard/families.js'
import { TickMaker } from '../../../src/admin/dashboard/tick.js'
import { HISTORY } from '../../../src/admin/dashboard/history.js'
import type { FamilyData } from '../../../src/admin/registry.js'

const t = suite('admin dashboard: history and stream')
const track = guard(t)

t('a quantile is interpolated inside its bucket; above every bound it is the highest; none without observations', () => {
  const bounds = [0.001, 0.01, 0.1]
  assert.ok(Math.abs(quantile(0.5, [0, 10, 0, 0], bounds)! - 0.0055) < 1e-12)
  assert.is(quantile(0.99, [0, 0, 0, 5], bounds), 0.1)
  assert.is(quantile(0.5, [0, 0, 0, 0], bounds), null)
  assert.is(quantile(0.5, [4, 0, 0, 0], bounds), 0.0005)
})

function scrape(requests: [string, string, number][], buckets: number[]): Scrape {
  const fams: FamilyData[] = [
    { name: 'rawproxy_requests_total', help: '', kind: 'counter', labels: ['route', 'upstream', 'class', 'code', 'cause'], merge: 'sum',
      samples: requests.map(([up, cls, n]) => ({ labels: ['/', up, cls, '', '--'], value: n })) },
    { name: 'rawproxy_request_duration_seconds', help: '', kind: 'histogram', labels: ['route', 'upstream'], merge: 'sum', bounds: [0.001, 0.01],
      samples: [{ labels: ['/', 'app'], buckets, sum: 0, count: buckets.reduce((a, b) => a + b, 0) }] },
  ]
  return new Scrape(fams)
}

t('a tick is the difference of two scrapes per second, by class, upstream and latency; a counter that went back counts 0', () => {
  const m = new TickMaker()
  const first = m.next(scrape([['app', '2xx', 100], ['app', '5xx', 4]], [50, 50, 0]), 10_000)
  assert.is(first.rps, 0, 'the first scrape has nothing to differ from')
  const next = m.next(scrape([['app', '2xx', 120], ['app', '5xx', 6]], [70, 50, 2]), 12_000)
  assert.is(next.rps, 11, '22 requests in 2 s')
  assert.equal(next.classes, { '2xx': 10, '5xx': 1 })
  assert.is(next.up.app.err, 1)
  assert.ok(next.p !== null && next.p[0] < 1, 'p50 in the first bucket (ms)')
  assert.is(next.p![2], 10, 'p99 above every bound: the highest bound, 10 ms')
  const reset = m.next(scrape([['app', '2xx', 5], ['app', '5xx', 6]], [70, 50, 2]), 13_000)
  assert.is(reset.classes['2xx'], undefined, 'a worker that restarted: no negative rate')
  assert.is(reset.p, null)
})

async function proxied() {
  const up = track(await httpUpstream((_q, res) => res.end('ok')))
  const ap = track(await adminProxy({ upstreams: { dash: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ path: '/', upstream: 'dash' }] }))
  return { up, ap }
}

t('the sampler keeps one tick a second with the requests it saw, and the state of now', async () => {
  const { ap } = await proxied()
  const h = ap.admin.history
  await waitFor(() => h.ticks.length >= 1, 3000, 'a first tick')
  for (let i = 0; i < 5; i++) await raw(ap.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  await waitFor(() => h.ticks.some((k) => k.rps > 0), 3000, 'a tick with the requests')
  const seen = h.ticks.find((k) => k.rps > 0)!
  assert.ok(seen.up.dash.rps > 0)
  assert.ok(seen.p !== null)
  assert.is(h.state!.upstreams[0].name, 'dash')
  assert.is(h.state!.upstreams[0].peers[0].state, 'up')
  assert.match(h.state!.config.digest, /^[0-9a-f]{8}$/)
  assert.is(h.state!.totals.requests, 5)
  h.stop()
  for (let i = h.ticks.length; i <= HISTORY + 5; i++) await h.sample()
  assert.is(h.ticks.length, HISTORY, '15 minutes at one a second, the oldest dropped')
  assert.is(HISTORY, 900)
})

function stream(port: number, auth: string | null): { got: () => string; close: () => void } {
  const s = connect(port, '127.0.0.1')
  let got = ''
  s.on('data', (d) => { got += d })
  s.on('error', () => {})
  s.write(`GET /dashboard/stream HTTP/1.1\r\nHost: 127.0.0.1\r\n${auth === null ? '' : `Authorization: ${auth}\r\n`}\r\n`)
  return { got: () => got, close: () => s.destroy() }
}

t('GET /dashboard/stream: 401 without the token; with it a snapshot, then ticks and logged events', async () => {
  const { up, ap } = await proxied()
  const none = stream(ap.adminPort, null)
  await waitFor(() => none.got().includes('\r\n\r\n'))
  assert.match(none.got(), /^HTTP\/1\.1 401 /)
  none.close()
  await waitFor(() => ap.admin.history.ticks.length >= 1, 3000, 'a first tick')
  const s = stream(ap.adminPort, `Bearer ${TOKEN}`)
  await waitFor(() => s.got().includes('event: snapshot'))
  assert.match(s.got(), /Content-Type: text\/event-stream/)
  const snap = JSON.parse(/event: snapshot\ndata: (.*)\n\n/.exec(s.got())![1]) as { ticks: unknown[]; state: { upstreams: unknown[] }; events: { event: string }[] }
  assert.ok(snap.ticks.length >= 1)
  assert.is(snap.state.upstreams.length, 1)
  assert.ok(snap.events.some((e) => e.event === 'admin listening'), 'the recent events come with it')
  await waitFor(() => s.got().includes('event: tick'), 3000, 'a tick')
  await call(ap.adminPort, 'POST', `/upstreams/dash/peers/127.0.0.1:${up.port}/drain`, BEARER)
  await waitFor(() => s.got().includes('event: log'), 2000, 'the drain event')
  assert.match(s.got(), /event: log\ndata: \{[^\n]*"event":"peer draining"/)
  assert.is(ap.admin.dashboard.clients, 1)
  s.close()
  await waitFor(() => ap.admin.dashboard.clients === 0)
})

t('the page and its files need no credentials, carry an ETag (304 when held) and a Content-Security-Policy', async () => {
  const { ap } = await proxied()
  const page = await call(ap.adminPort, 'GET', '/')
  assert.is(page.status, 200)
  assert.match(page.head, /Content-Type: text\/html/)
  assert.match(page.head, /Content-Security-Policy: default-src 'self';[^\r]*frame-ancestors 'none'/)
  assert.match(page.body, /\/ui\/app\.js/)
  const etag = /ETag: (".*")/.exec(page.head)![1]
  const again = await call(ap.adminPort, 'GET', '/', { 'If-None-Match': etag })
  assert.is(again.status, 304)
  assert.is(again.body, '')
  assert.not.match(again.head, /Content-Length/)
  const js = await call(ap.adminPort, 'GET', '/ui/uPlot.iife.min.js')
  assert.is(js.status, 200, 'uPlot is served from the package')
  assert.match(js.head, /Content-Type: text\/javascript/)
  assert.is((await call(ap.adminPort, 'GET', '/ui/nothing.js')).status, 404)
  assert.is((await call(ap.adminPort, 'GET', '/ui/..%2Fpackage.json')).status, 404, 'only the dashboard\'s own files')
  assert.is((await call(ap.adminPort, 'GET', '/status')).status, 401, 'the data still needs the token')
})

t.run()
