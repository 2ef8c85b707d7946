/**
 * The admin API of a 2-worker cluster, in its primary: one scrape shows the whole group (counters
 * summed, histograms merged, process gauges per worker), and a peer drained there is drained in
 * every worker, and stays so for a worker forked later.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { httpUpstream, HttpUpstream, deadPort, waitFor } from '../support/harness.js'
import { Started, getOnce, twoWorkers } from '../support/cluster.js'
import { BEARER, TOKEN, call, sample, scrape } from '../support/admin.js'

const t = suite('cluster: metrics and the admin API')
let a: HttpUpstream
let b: HttpUpstream
const started = new Started()

t.before(async () => {
  a = await httpUpstream((_q, res) => res.end('from-a'))
  b = await httpUpstream((_q, res) => res.end('from-b'))
})
t.after.each(() => started.stopAll())
t.after(async () => { await a.close(); await b.close() })

async function cluster(): Promise<{ port: number; admin: number; pids: number[]; p: ReturnType<Started['config']> }> {
  const admin = await deadPort()
  const yaml = twoWorkers(a.port).replace(`peers: ["127.0.0.1:${a.port}"]`, `peers: ["127.0.0.1:${a.port}", "127.0.0.1:${b.port}"]`) +
    `admin: { listen: "127.0.0.1:${admin}", token: ${TOKEN} }\n`
  const p = started.config(yaml)
  const port = await p.started()
  return { port, admin, pids: [...p.workers().values()], p }
}

t('one scrape: requests summed over the workers, histograms merged, process gauges per worker', async () => {
  const { port, admin } = await cluster()
  for (let i = 0; i < 6; i++) assert.match(await getOnce(port), /^HTTP\/1\.1 200 /)
  const m = await scrape(admin)
  const route = { route: '*/', upstream: 'main' }
  assert.is(sample(m, 'rawproxy_requests_total', { ...route, class: '2xx' }), 6)
  assert.is(sample(m, 'rawproxy_request_duration_seconds_count', route), 6)
  assert.is(sample(m, 'rawproxy_request_duration_seconds_bucket', { ...route, le: '+Inf' }), 6)
  assert.is(sample(m, 'rawproxy_connections_accepted_total', { listener: `127.0.0.1:${port}` }), 6)
  for (const w of ['primary', '1', '2']) assert.ok(sample(m, 'process_resident_memory_bytes', { worker: w })! > 1e6, `worker ${w}`)
  // Peer states are per worker (passive health is each worker's own).
  const perWorker = [1, 2].map((w) => sample(m, 'rawproxy_peer_state', { worker: String(w), peer: `127.0.0.1:${a.port}`, state: 'up' }))
  assert.equal(perWorker, [1, 1])
  assert.is(sample(m, 'rawproxy_config_reloads_total', { result: 'ok' }), 0)
  assert.is(sample(m, 'rawproxy_build_info'), 1, 'build info once, not once per worker')
  const s = JSON.parse((await call(admin, 'GET', '/status', BEARER)).body)
  assert.is(s.workers.length, 2)
  assert.is(s.workers[0].requests + s.workers[1].requests, 6)
})

t('a peer drained in the primary is drained in every worker; the event stream shows it', async () => {
  const { port, admin, pids, p } = await cluster()
  const s = connect(admin, '127.0.0.1')
  let events = ''
  s.on('data', (d) => { events += d })
  s.write(`GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await waitFor(() => events.includes('rawproxy events'))
  assert.is((await call(admin, 'POST', `/upstreams/main/peers/127.0.0.1:${b.port}/drain`, BEARER)).status, 200)
  await waitFor(() => events.includes('event: peer_draining'))
  s.destroy()
  const bodies: string[] = []
  for (let i = 0; i < 6; i++) bodies.push(await getOnce(port))
  assert.ok(bodies.every((x) => x.endsWith('from-a')), bodies.join(' | '))
  const m = await scrape(admin)
  for (const w of ['1', '2']) assert.is(sample(m, 'rawproxy_peer_state', { worker: w, peer: `127.0.0.1:${b.port}`, state: 'draining' }), 1)
  const route = { route: '*/', upstream: 'main', class: '2xx' }
  const before = sample(m, 'rawproxy_requests_total', route)!
  // A worker forked later (after a crash) is told too; the dead worker's counts stay in the sums
  // (a summed counter that went down would read as a reset to Prometheus).
  process.kill(pids[0], 'SIGKILL')
  await p.line(/worker restarted/, 8000)
  const later = await scrape(admin)
  assert.ok(sample(later, 'rawproxy_requests_total', route)! >= before, `requests_total went from ${before} to ${sample(later, 'rawproxy_requests_total', route)}`)
  for (const w of ['1', '2']) assert.is(sample(later, 'rawproxy_peer_state', { worker: w, peer: `127.0.0.1:${b.port}`, state: 'draining' }), 1, `worker ${w}`)
})

t('a worker\'s warnings reach the primary\'s event stream (an ejection, passive health)', async () => {
  const admin = await deadPort()
  const dead = await deadPort()
  const p = started.config(`workers: 2\nlisten: ["127.0.0.1:0"]\nupstreams:\n  main: { peers: ["127.0.0.1:${dead}", "127.0.0.1:${a.port}"], passive: { failures: 1, max_ejected_percent: 50 } }\n` +
    `access_log: off\nadmin: { listen: "127.0.0.1:${admin}", token: ${TOKEN} }\n`)
  const port = await p.started()
  const s = connect(admin, '127.0.0.1')
  let events = ''
  s.on('data', (d) => { events += d })
  s.write(`GET /events HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`)
  await waitFor(() => events.includes('rawproxy events'))
  for (let i = 0; i < 4; i++) assert.match(await getOnce(port), /from-a$/)
  await waitFor(() => /event: peer_ejected\ndata: \{[^\n]*"worker":[12]/.test(events), 3000, `an ejection event: ${events}`)
  s.destroy()
  const m = await scrape(admin)
  assert.ok(sample(m, 'rawproxy_peer_ejections_total', { peer: `127.0.0.1:${dead}` })! >= 1)
})

t.run()
