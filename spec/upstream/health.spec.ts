/**
 * Active health checks (probes, rise/fall, events, status snapshot) and passive health (ejection,
 * growing cooldowns, max_ejected_percent), against real peers on loopback.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { guard, httpUpstream, rawUpstream, deadPort, waitFor, tempFile, raw, statuses, sleep } from '../support/harness.js'
import { send } from '../support/pipelined.js'
import { Server } from '../../src/server/server.js'
import { validate } from '../../src/config/validate.js'
import { EventLog } from '../../src/log/events.js'
import { Group, GroupStatus } from '../../src/upstream/group.js'

const t = suite('health')
const track = guard(t)

/** A proxy whose event log goes to a JSON file, so specs can read the state changes it logged. */
async function proxy(upstream: Record<string, unknown>): Promise<{ server: Server; url: string; port: number; events(): Record<string, unknown>[]; status(): GroupStatus; close(): Promise<void> }> {
  const file = tempFile('events.log')
  const config = validate({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: { path: file, format: 'json' }, upstreams: { u: upstream } })
  const events = new EventLog(config.event_log)
  const server = new Server(config, events)
  await server.listen()
  const port = server.addresses()[0].port
  return {
    server,
    port,
    url: `http://127.0.0.1:${port}`,
    events: () => {
      events.flushSync()
      return readFileSync(file, 'utf8').split('\n').filter((l) => l !== '').map((l) => JSON.parse(l) as Record<string, unknown>)
    },
    status: () => server.rt.status()[0],
    close: async () => { await server.close(200); events.close() },
  }
}

const FAST = { interval: 40, timeout: 30, rise: 2, fall: 2, jitter: 0 }

t('http probes: a peer answering outside the status range goes down after `fall` probes, and back up after `rise`', async () => {
  let sick = false
  const probes: string[] = []
  const a = track(await httpUpstream((req, res) => {
    if (req.url === '/healthz') probes.push(String(req.headers['user-agent']))
    res.statusCode = sick && req.url === '/healthz' ? 503 : 200
    res.end('ok')
  }))
  const b = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: { ...FAST, path: '/healthz' } }))
  await waitFor(() => probes.length >= 2, 2000, 'probes')
  assert.is(probes[0], 'rawproxy-health')
  sick = true
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'peer down')
  // A warning is written at once, but asynchronously: wait for it to land in the file.
  await waitFor(() => px.events().some((e) => e.event === 'peer down'), 1000, 'the event')
  const down = px.events().find((e) => e.event === 'peer down')!
  assert.is(down.peer, `127.0.0.1:${a.port}`)
  assert.match(String(down.reason), /2 failed probes, last: status 503/)
  assert.is(px.status().peers[0].last_probe!.detail, 'status 503')
  // While it is down, every request goes to the other peer.
  const before = a.requests.filter((r) => r.url !== '/healthz').length
  assert.is((await send(px.url, 20)).get(200), 20)
  assert.is(a.requests.filter((r) => r.url !== '/healthz').length, before)
  sick = false
  await waitFor(() => px.status().peers[0].state !== 'down', 2000, 'peer up')
  await waitFor(() => px.events().some((e) => e.event === 'peer up'), 1000, 'the event')
  assert.match(String(px.events().find((e) => e.event === 'peer up')!.reason), /2 good probes/)
})

t('http probes: the body must contain the expected text, and a malformed answer fails', async () => {
  let body = 'status: ok'
  const a = track(await rawUpstream((s, d) => {
    if (!d.includes('\r\n\r\n')) return
    s.end(body === 'garbage' ? 'HTTP/1.1 2x0 What\r\n\r\n' : `HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
  }))
  const b = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: { ...FAST, body: 'ok' } }))
  await waitFor(() => px.status().peers[0].last_probe !== null, 2000, 'a probe')
  assert.is(px.status().peers[0].state, 'up')
  body = 'status: failing'
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'down on body')
  assert.match(px.status().peers[0].last_probe!.detail, /body lacks "ok"/)
  body = 'status: ok'
  await waitFor(() => px.status().peers[0].state === 'up', 2000, 'up again')
  body = 'garbage'
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'down on a malformed response')
  assert.match(px.status().peers[0].last_probe!.detail, /bad response/)
})

t('tcp probes: a closed port goes down, and comes up when something listens', async () => {
  const b = track(await httpUpstream())
  // A freed port may be handed out again at once: never the upstream's own.
  let port = await deadPort()
  while (port === b.port) port = await deadPort()
  const px = track(await proxy({ peers: [`127.0.0.1:${port}`, `127.0.0.1:${b.port}`], health: { ...FAST, type: 'tcp' } }))
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'down')
  assert.match(px.status().peers[0].last_probe!.detail, /connect ECONNREFUSED/)
  const srv = createServer((s) => s.destroy())
  await new Promise<void>((r) => srv.listen(port, '127.0.0.1', r))
  try {
    await waitFor(() => px.status().peers[0].state === 'up', 2000, 'up')
  } finally {
    await new Promise((r) => srv.close(r))
  }
})

t('a probe that gets no answer within `timeout` fails', async () => {
  const a = track(await rawUpstream()) // accepts, never answers
  const b = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: FAST }))
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'down')
  assert.is(px.status().peers[0].last_probe!.detail, 'timeout')
})

t('probes use connections of their own: none is pooled, none carries client traffic', async () => {
  const a = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${a.port}`], health: { ...FAST, path: '/probe' } }))
  await send(px.url, 50)
  await waitFor(() => a.requests.filter((r) => r.url === '/probe').length >= 3, 2000, 'probes')
  const peer = px.server.rt.groups.get('u')!.peers[0]
  assert.is(peer.pool.opened, 1, 'client traffic used one pooled socket')
  for (const r of a.requests.filter((r) => r.url === '/probe')) assert.is(r.headers.connection, 'close')
  assert.ok(a.connections >= 1 + a.requests.filter((r) => r.url === '/probe').length, 'one connection per probe')
})

t('passive: consecutive resets eject a peer, for a cooldown that doubles on the next ejection', async () => {
  const bad = track(await rawUpstream((s) => s.destroy()))
  const good = track(await httpUpstream())
  const px = track(await proxy({
    peers: [`127.0.0.1:${bad.port}`, `127.0.0.1:${good.port}`],
    passive: { failures: 2, ejection: 150, max_ejection: 1000 },
  }))
  // Retries hide the resets from the client; the peer is ejected all the same.
  assert.is((await send(px.url, 10)).get(200), 10)
  await waitFor(() => px.events().some((e) => e.event === 'peer ejected'), 1000, 'the event')
  const ejected = px.events().filter((e) => e.event === 'peer ejected')
  assert.is(ejected.length, 1)
  assert.is(ejected[0].for_ms, 150)
  assert.match(String(ejected[0].reason), /2 consecutive failures, last: PRX_ERR_UPSTREAM_RESET/)
  assert.is(px.status().peers[0].state, 'ejected')
  const n = bad.received.length
  await send(px.url, 10)
  assert.is(bad.received.length, n, 'no traffic while ejected')
  await waitFor(() => px.status().peers[0].state !== 'ejected', 1000, 'ejection over')
  await waitFor(() => px.events().some((e) => e.event === 'peer ejection ended'), 1000, 'the event')
  await send(px.url, 10)
  await waitFor(() => px.events().filter((e) => e.event === 'peer ejected').length === 2, 1000, 'the event')
  const again = px.events().filter((e) => e.event === 'peer ejected')
  assert.is(again.length, 2)
  assert.is(again[1].for_ms, 300, 'the second ejection lasts twice as long')
})

t('passive: 5xx answers eject only when errors_5xx is set', async () => {
  const bad = track(await httpUpstream((_q, res) => { res.statusCode = 500; res.end('no') }))
  const good = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${bad.port}`, `127.0.0.1:${good.port}`], passive: { errors_5xx: 3 } }))
  const seen = await send(px.url, 8)
  assert.is(seen.get(500), 3, '5xx answers are passed on, not retried')
  assert.is(px.status().peers[0].state, 'ejected')
  const px2 = track(await proxy({ peers: [`127.0.0.1:${bad.port}`, `127.0.0.1:${good.port}`] }))
  await send(px2.url, 20)
  assert.is(px2.status().peers[0].state, 'up', 'errors_5xx is off by default')
})

t('passive: max_ejected_percent keeps part of the group in service', async () => {
  const bads = [track(await rawUpstream((s) => s.destroy())), track(await rawUpstream((s) => s.destroy()))]
  const px = track(await proxy({ peers: bads.map((b) => `127.0.0.1:${b.port}`), passive: { failures: 1, max_ejected_percent: 50 }, retries: 0 }))
  await send(px.url, 10)
  const states = px.status().peers.map((p) => p.state).sort()
  assert.equal(states, ['ejected', 'up'])
  await waitFor(() => px.events().some((e) => e.event === 'peer ejection skipped'), 1000, 'the event')
})

t('with active checks on, a peer the check brings up is no longer ejected', async () => {
  const a = track(await httpUpstream())
  const b = track(await httpUpstream())
  const px = track(await proxy({ peers: [`127.0.0.1:${a.port}`, `127.0.0.1:${b.port}`], health: FAST, passive: { ejection: 60_000 } }))
  const g = px.server.rt.groups.get('u')!
  g.setUp(g.peers[0], false, 'test')
  g.peers[0].ejectedUntil = Date.now() + 60_000
  await waitFor(() => px.status().peers[0].state === 'up', 2000, 'up by the active check')
})

t('an ejection ended early by the active check leaves the next ejection its full time', async () => {
  const cfg = validate({ upstreams: { u: { peers: ['127.0.0.1:1', '127.0.0.1:2', '127.0.0.1:3'], health: { interval: 60_000 }, passive: { failures: 1, ejection: 100, max_ejected_percent: 100 } } } })
  const g = new Group(cfg.upstreams.get('u')!, cfg.timeouts, { maxHead: 1024, maxTarget: 1024 }, null, false)
  g.start(undefined)
  try {
    const p = g.peers[0]
    g.failed(p, 'reset') // first ejection: 100 ms
    g.setUp(p, false, 'probe')
    g.setUp(p, true, 'probe') // the active check wins: no longer ejected
    assert.is(g.status().peers[0].state, 'up')
    g.failed(p, 'reset') // second ejection: 200 ms
    await sleep(130) // past the first ejection's timer
    assert.is(g.status().peers[0].state, 'ejected', 'the first timer must not end the second ejection')
    await waitFor(() => g.status().peers[0].state === 'up', 1000, 'the second ejection over')
    // A peer long in service starts again from the first ejection's length.
    p.ejectionEnded = Date.now() - 400_000
    g.failed(p, 'reset')
    assert.is(p.ejectedUntil - Date.now() <= 100, true, 'the multiplier decayed')
  } finally {
    g.retire()
  }
})

t('no available peer: 503 with Retry-After', async () => {
  const port = await deadPort()
  const px = track(await proxy({ peers: [`127.0.0.1:${port}`], health: { ...FAST, type: 'tcp', interval: 3000, timeout: 30, fall: 1 } }))
  const g = px.server.rt.groups.get('u')!
  g.setUp(g.peers[0], false, 'test')
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })
  assert.equal(statuses(r.text), [503])
  assert.match(r.text, /\r\nRetry-After: 3\r\n/)
})

t('a reload keeps what the checks learned', async () => {
  const port = await deadPort()
  const b = track(await httpUpstream())
  const up = { peers: [`127.0.0.1:${port}`, `127.0.0.1:${b.port}`], health: { ...FAST, type: 'tcp' } }
  const px = track(await proxy(up))
  await waitFor(() => px.status().peers[0].state === 'down', 2000, 'down')
  await px.server.reload(validate({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', via: 'reloaded', upstreams: { u: up } }))
  assert.is(px.server.rt.config.via, 'reloaded')
  assert.is(px.status().peers[0].state, 'down', 'still down after the reload')
  await sleep(100)
  assert.is(px.status().peers[0].state, 'down')
  // A reload that turns the checks off cannot leave the peer down for good.
  await px.server.reload(validate({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', upstreams: { u: { peers: up.peers } } }))
  assert.is(px.status().peers[0].state, 'up')
})

t.run()
