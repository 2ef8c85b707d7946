/**
 * Every metric family, read back from GET /metrics after real requests through a proxy in this
 * process: a request made, its counter and its histogram checked.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, deadPort, raw, waitFor, sleep, RawClient } from '../support/harness.js'
import { BEARER, adminProxy, call, sample, scrape } from '../support/admin.js'
import { pair, handshake } from '../support/tls.js'
import { closeFilters } from '../../src/filters/index.js'

const t = suite('metrics')
const track = guard(t)

const get = (port: number, path = '/', more = ''): Promise<{ text: string }> =>
  raw(port, `GET ${path} HTTP/1.1\r\nHost: x\r\n${more}Connection: close\r\n\r\n`, { ms: 5000 })

t('requests by route, upstream, class, code and cause; durations and time to the response head; bytes', async () => {
  const up = track(await httpUpstream((req, res) => { res.statusCode = req.url!.endsWith('/missing') ? 404 : 200; res.end('hello') }))
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ path: '/api', upstream: 'u' }] }))
  for (let i = 0; i < 3; i++) await get(ap.port, '/api/x')
  await get(ap.port, '/api/missing')
  await get(ap.port, '/elsewhere')
  await raw(ap.port, 'POST /api/p HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
  await raw(ap.port, 'BAD REQUEST\r\n\r\n')
  const m = await scrape(ap.adminPort)
  const api = { route: '*/api', upstream: 'u' }
  assert.is(sample(m, 'rawproxy_requests_total', { ...api, class: '2xx', code: '', cause: '--' }), 4)
  assert.is(sample(m, 'rawproxy_requests_total', { ...api, class: '4xx', code: '404', cause: '--' }), 1)
  assert.is(sample(m, 'rawproxy_requests_total', { route: '', upstream: '', class: '4xx', code: '404' }), 1, 'no route: 404')
  assert.is(sample(m, 'rawproxy_requests_total', { route: '', class: '4xx', code: '400', cause: 'PE' }), 1, 'a parse error before any route')
  assert.is(sample(m, 'rawproxy_request_duration_seconds_count', api), 5)
  assert.is(sample(m, 'rawproxy_request_duration_seconds_bucket', { ...api, le: '+Inf' }), 5)
  assert.ok(sample(m, 'rawproxy_request_duration_seconds_sum', api)! > 0)
  assert.ok(sample(m, 'rawproxy_request_duration_seconds_bucket', { ...api, le: '0.0005' })! <= 5)
  assert.is(sample(m, 'rawproxy_upstream_response_head_seconds_count', api), 5)
  assert.is(sample(m, 'rawproxy_upstream_response_head_seconds_count', { route: '' }), 0, 'no peer, no time to its head')
  assert.is(sample(m, 'rawproxy_received_bytes_total', api), 5)
  assert.ok(sample(m, 'rawproxy_sent_bytes_total', api)! > 5 * 'hello'.length)
})

t('connections open and accepted per listener; requests in flight', async () => {
  let release: () => void = () => {}
  const up = track(await httpUpstream((_q, res) => { release = () => res.end('x') }))
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const c = await RawClient.open(ap.port)
  c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  await waitFor(() => up.requests.length === 1)
  const listener = { listener: `127.0.0.1:${ap.port}` }
  let m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_connections_open', listener), 1)
  assert.is(sample(m, 'rawproxy_connections_accepted_total', listener), 1)
  assert.is(sample(m, 'rawproxy_requests_in_flight'), 1)
  assert.is(sample(m, 'rawproxy_peer_requests_in_flight', { upstream: 'u' }), 1)
  assert.is(sample(m, 'rawproxy_peer_pool_sockets', { upstream: 'u', state: 'active' }), 1)
  release()
  await c.until((s) => s.endsWith('x'))
  c.destroy()
  await waitFor(() => ap.server.connections === 0)
  m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_connections_open', listener), 0)
  assert.is(sample(m, 'rawproxy_requests_in_flight'), 0)
  assert.is(sample(m, 'rawproxy_peer_pool_sockets', { upstream: 'u', state: 'idle' }), 1)
  assert.is(sample(m, 'rawproxy_peer_pool_sockets', { upstream: 'u', state: 'active' }), 0)
  assert.is(sample(m, 'rawproxy_connections_refused_total', { reason: 'max_connections' }), 0)
})

t('per peer: state, connects, reuses, failures, ejections, retries; retry budget refusals', async () => {
  const dead = await deadPort()
  const good = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${dead}`, `127.0.0.1:${good.port}`], passive: { failures: 2, ejection: 60_000, max_ejected_percent: 50 } } } }))
  for (let i = 0; i < 6; i++) await get(ap.port)
  const d = { upstream: 'u', peer: `127.0.0.1:${dead}` }
  const g = { upstream: 'u', peer: `127.0.0.1:${good.port}` }
  let m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_peer_failures_total', d), 2)
  assert.is(sample(m, 'rawproxy_peer_ejections_total', d), 1)
  assert.is(sample(m, 'rawproxy_peer_state', { ...d, state: 'ejected' }), 1)
  assert.is(sample(m, 'rawproxy_peer_state', { ...d, state: 'up' }), 0)
  assert.is(sample(m, 'rawproxy_peer_state', { ...g, state: 'up' }), 1)
  assert.is(sample(m, 'rawproxy_peer_retries_total', g), 2, 'both failures were retried on the good peer')
  assert.is(sample(m, 'rawproxy_peer_connects_total', g), 1)
  assert.is(sample(m, 'rawproxy_peer_reuses_total', g), 5)
  assert.is(sample(m, 'rawproxy_peer_backup', g), 0)
  assert.is(sample(m, 'rawproxy_upstream_retry_budget_refusals_total', { upstream: 'u' }), 0)
  // With no budget, every retry is refused: the client gets the failure.
  const ap2 = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${dead}`, `127.0.0.1:${good.port}`], retry_budget: 0, passive: false, balance: 'round_robin' } } }))
  for (let i = 0; i < 2; i++) await get(ap2.port)
  m = await scrape(ap2.adminPort)
  assert.is(sample(m, 'rawproxy_upstream_retry_budget_refusals_total', { upstream: 'u' }), 1)
  assert.is(sample(m, 'rawproxy_requests_total', { code: '502', cause: 'UF' }), 1)
  // Counters outlive a reload (the new runtime takes them over): Prometheus would read a drop as a restart.
  assert.is((await call(ap2.adminPort, 'POST', '/reload', BEARER)).status, 200)
  m = await scrape(ap2.adminPort)
  assert.is(sample(m, 'rawproxy_upstream_retry_budget_refusals_total', { upstream: 'u' }), 1)
  assert.is(sample(m, 'rawproxy_peer_failures_total', { upstream: 'u', peer: `127.0.0.1:${dead}` }), 1)
  assert.is(sample(m, 'rawproxy_requests_total', { code: '502', cause: 'UF' }), 1)
})

t('active health probes: their durations per peer; a drained peer shows as draining', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`], health: { interval: '50ms', timeout: '40ms' } } } }))
  const p = { upstream: 'u', peer: `127.0.0.1:${up.port}` }
  await waitFor(() => up.requests.length >= 2, 3000)
  const m = await scrape(ap.adminPort)
  assert.ok(sample(m, 'rawproxy_peer_probe_duration_seconds_count', p)! >= 2)
  assert.ok(sample(m, 'rawproxy_peer_probe_duration_seconds_bucket', { ...p, le: '+Inf' })! >= 2)
  await call(ap.adminPort, 'POST', `/upstreams/u/peers/${p.peer}/drain`, BEARER)
  assert.is(sample(await scrape(ap.adminPort), 'rawproxy_peer_state', { ...p, state: 'draining' }), 1)
})

t('TLS: handshakes by version and result, resumptions, certificate expiry', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ listen: [{ address: '127.0.0.1:0', tls: { certificates: [pair('rsa')] } }], upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const h = await handshake(ap.port, { servername: 'a.test', maxVersion: 'TLSv1.2' })
  assert.is(h.error, null)
  // TLS 1.2: the session is known once the handshake is done (no post-handshake ticket message).
  const session = h.socket!.getSession()!
  h.socket!.end()
  const again = await handshake(ap.port, { servername: 'a.test', maxVersion: 'TLSv1.2', session })
  assert.ok(again.socket!.isSessionReused())
  again.socket!.end()
  await raw(ap.port, 'GET / HTTP/1.1\r\n\r\n') // plain HTTP on the TLS port: a failed handshake
  const l = `127.0.0.1:${ap.port}`
  await waitFor(() => ap.server.handshakeFailures === 1 && ap.server.accepted === 2)
  const m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_tls_handshakes_total', { listener: l, version: 'TLSv1.2', result: 'ok' }), 2)
  assert.is(sample(m, 'rawproxy_tls_handshakes_total', { listener: l, result: 'failed' }), 1)
  assert.is(sample(m, 'rawproxy_tls_resumptions_total', { listener: l }), 1)
  const expiry = sample(m, 'rawproxy_tls_certificate_expiry_timestamp_seconds', { listener: l, certificate: pair('rsa').cert })!
  assert.ok(expiry > Date.now() / 1000, 'a valid certificate expires in the future')
})

t('auth failures and rate-limit decisions per limit name (allowed, refused, delayed, dry run)', async () => {
  const up = track(await httpUpstream())
  const { hashSync } = await import('bcrypt')
  const limits = [
    { name: 'spec-metrics-hard', key: 'client_ip', rate: '1/m', burst: 0 },
    { name: 'spec-metrics-dry', key: 'client_ip', rate: '1/m', burst: 0, dry_run: true },
  ]
  const ap = track(await adminProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [
      { path: '/private', upstream: 'u', auth: { users: { alice: hashSync('pw', '$2b$04$abcdefghijklmnopqrstuu') } } },
      { path: '/limited', upstream: 'u', rate_limit: { limits } },
      { path: '/slowed', upstream: 'u', rate_limit: { limits: [{ name: 'spec-metrics-delay', key: 'client_ip', rate: '20/s', burst: 1, mode: 'delay' }] } },
    ],
  }))
  await get(ap.port, '/private')
  await get(ap.port, '/private', `Authorization: Basic ${Buffer.from('alice:wrong').toString('base64')}\r\n`)
  for (let i = 0; i < 2; i++) await get(ap.port, '/limited')
  await Promise.all([get(ap.port, '/slowed'), get(ap.port, '/slowed'), get(ap.port, '/slowed')])
  const m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_auth_failures_total', { route: '*/private', reason: 'unauthorized' }), 2)
  assert.is(sample(m, 'rawproxy_requests_total', { route: '*/private', code: '401', cause: 'PA' }), 2)
  const d = (limit: string, decision: string) => sample(m, 'rawproxy_rate_limit_decisions_total', { limit, decision })
  assert.is(d('spec-metrics-hard', 'allowed'), 1)
  assert.is(d('spec-metrics-hard', 'refused'), 1)
  assert.is(d('spec-metrics-dry', 'allowed'), 1)
  assert.is(d('spec-metrics-dry', 'dry_run'), 1)
  assert.ok(d('spec-metrics-delay', 'delayed')! >= 1)
  assert.is(sample(m, 'rawproxy_requests_total', { route: '*/limited', code: '429', cause: 'PL' }), 1)
})

t('rate-limit store faults and outages (a Redis store that cannot be reached)', async () => {
  const up = track(await httpUpstream())
  const port = await deadPort()
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ path: '/', upstream: 'u', rate_limit: { limits: [{ name: 'spec-metrics-redis', key: 'client_ip', rate: '5/s' }], store: { redis: { url: `redis://127.0.0.1:${port}/0` } } } }] }))
  try {
    await sleep(100)
    for (let i = 0; i < 2; i++) await get(ap.port)
    const m = await scrape(ap.adminPort)
    const store = { store: `redis://127.0.0.1:${port}/0` }
    assert.ok(sample(m, 'rawproxy_rate_limit_store_faults_total', store)! >= 2)
    assert.ok(sample(m, 'rawproxy_rate_limit_store_outages_total', store)! >= 1)
  } finally {
    await closeFilters()
  }
})

t('the cache: entries and bytes stored per zone, evictions, faults', async () => {
  const up = track(await httpUpstream((_q, res) => { res.setHeader('cache-control', 'max-age=60'); res.end('cacheable body') }))
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ path: '/', upstream: 'u', cache: { zone: 'spec-metrics' } }] }))
  for (let i = 0; i < 3; i++) await get(ap.port, '/c')
  assert.is(up.requests.length, 1, 'two hits')
  const m = await scrape(ap.adminPort)
  const zone = { zone: 'spec-metrics' }
  assert.is(sample(m, 'rawproxy_cache_entries', zone), 1)
  assert.ok(sample(m, 'rawproxy_cache_stored_bytes', zone)! >= 'cacheable body'.length)
  assert.is(sample(m, 'rawproxy_cache_evictions_total', zone), 0)
  assert.is(sample(m, 'rawproxy_cache_faults_total', zone), 0)
  assert.is(sample(m, 'rawproxy_cache_responses_total', { ...zone, outcome: 'uri-miss' }), 1)
  assert.is(sample(m, 'rawproxy_cache_responses_total', { ...zone, outcome: 'stored' }), 1)
  assert.is(sample(m, 'rawproxy_cache_responses_total', { ...zone, outcome: 'hit' }), 2)
  // POST /cache/purge (the admin API's action): the entry goes, the next request is a miss.
  const denied = await call(ap.adminPort, 'POST', `/cache/purge?url=${encodeURIComponent('http://x/c')}`)
  assert.is(denied.status, 401)
  const bad = await call(ap.adminPort, 'POST', '/cache/purge?url=/c', BEARER)
  assert.is(bad.status, 400)
  const purged = await call(ap.adminPort, 'POST', `/cache/purge?url=${encodeURIComponent('http://X/c')}`, BEARER)
  assert.is(purged.status, 200)
  assert.equal(JSON.parse(purged.body), { target: 'http://x/c', prefix: false, removed: 1 })
  await get(ap.port, '/c')
  assert.is(up.requests.length, 2)
  const pre = await call(ap.adminPort, 'POST', `/cache/purge?prefix=${encodeURIComponent('http://x')}`, BEARER)
  assert.equal(JSON.parse(pre.body).removed, 1)
})

t('config reloads, the last good one, build info', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const before = sample(await scrape(ap.adminPort), 'rawproxy_config_last_reload_success_timestamp_seconds')!
  await sleep(1100)
  await call(ap.adminPort, 'POST', '/reload', BEARER)
  ap.write({ upstreams: 'nope' })
  await call(ap.adminPort, 'POST', '/reload', BEARER)
  const m = await scrape(ap.adminPort)
  assert.is(sample(m, 'rawproxy_config_reloads_total', { result: 'ok' }), 1)
  assert.is(sample(m, 'rawproxy_config_reloads_total', { result: 'failed' }), 1)
  assert.ok(sample(m, 'rawproxy_config_last_reload_success_timestamp_seconds')! > before)
  assert.is(sample(m, 'rawproxy_build_info', { node: process.version, parser: 'llhttp spec' }), 1)
})

t('process: memory, heap, open fds, start time, GC time, event-loop delay histogram', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  await scrape(ap.adminPort)
  await sleep(60)
  const m = await scrape(ap.adminPort)
  assert.ok(sample(m, 'process_resident_memory_bytes')! > 1e6)
  assert.ok(sample(m, 'nodejs_heap_size_used_bytes')! > 0)
  assert.ok(sample(m, 'nodejs_heap_size_total_bytes')! >= sample(m, 'nodejs_heap_size_used_bytes')!)
  assert.ok(sample(m, 'process_open_fds')! > 3)
  assert.ok(Math.abs(sample(m, 'process_start_time_seconds')! - (Date.now() / 1000 - process.uptime())) < 2)
  assert.ok(sample(m, 'nodejs_gc_duration_seconds_total')! >= 0)
  const n = sample(m, 'nodejs_eventloop_delay_seconds_count')!
  assert.ok(n >= 1, 'the loop was sampled')
  assert.is(sample(m, 'nodejs_eventloop_delay_seconds_bucket', { le: '+Inf' }), n)
})

t.run()
