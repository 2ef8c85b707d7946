/**
 * Retries: on another peer, only before any response byte, only when the peer cannot have acted on
 * the request, and within the group's retry budget.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, rawUpstream, deadPort, raw, statuses, proxyTo, waitFor, RawClient } from '../support/harness.js'
import { send } from '../support/pipelined.js'

const t = suite('retries')
const track = guard(t)
const NO_PASSIVE = { failures: 0 }

/** A peer that resets each connection once it has a whole request head (and `bodyBytes` of body). */
async function resetting(bodyBytes = 0): Promise<Awaited<ReturnType<typeof rawUpstream>>> {
  return rawUpstream((s, _d, all) => {
    const end = all.indexOf('\r\n\r\n')
    if (end >= 0 && all.length - end - 4 >= bodyBytes) s.resetAndDestroy()
  })
}

t('a GET whose peer resets is retried on another peer: the client never sees it', async () => {
  const bad = track(await resetting())
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE } }))
  const seen = await send(px.url, 20)
  assert.is(seen.get(200), 20)
  assert.is(bad.received.length, 10, 'half the first attempts went to the bad peer')
  assert.is(good.requests.length, 20)
})

t('a retry goes to a peer not yet tried', async () => {
  const bads = [track(await resetting()), track(await resetting())]
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bads[0].port, bads[1].port, good.port], { upstream: { passive: NO_PASSIVE, retry_budget: 1 } }))
  const seen = await send(px.url, 30)
  assert.is(seen.get(200), 30)
  // Each bad peer is tried at most once per request.
  assert.ok(bads[0].received.length + bads[1].received.length <= 60)
  assert.is(good.requests.length, 30)
})

t('a POST whose body was already sent is not retried: 502', async () => {
  const bad = track(await resetting(5))
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE } }))
  const r = await raw(px.port, 'POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', { until: (s) => s.includes('\r\n\r\n') })
  assert.equal(statuses(r.text), [502])
  assert.is(good.requests.length, 0, 'never sent twice')
  assert.match(bad.text(), /hello/)
})

t('a POST whose body has not gone yet is retried, and arrives whole', async () => {
  const dead = await deadPort()
  const good = track(await httpUpstream())
  const px = track(await proxyTo([dead, good.port], { upstream: { passive: NO_PASSIVE } }))
  for (let i = 0; i < 2; i++) {
    const r = await raw(px.port, 'POST /order HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello', { until: (s) => s.includes('\r\n\r\nok') })
    assert.equal(statuses(r.text), [200])
  }
  assert.equal(good.requests.map((q) => q.body.toString()), ['hello', 'hello'])
})

t('a bodyless POST that reached the peer is not retried (the peer may have acted on it)', async () => {
  const bad = track(await resetting())
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE } }))
  const r = await raw(px.port, 'POST /ping HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })
  assert.equal(statuses(r.text), [502])
  assert.is(good.requests.length, 0)
})

t('Content-Length: 00 is no body: such a POST that reached the peer is not retried either', async () => {
  const bad = track(await resetting())
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE } }))
  const r = await raw(px.port, 'POST /charge HTTP/1.1\r\nHost: x\r\nContent-Length: 00\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })
  assert.equal(statuses(r.text), [502])
  assert.is(good.requests.length, 0)
})

t('a retried HTTP/1.0 request without Host carries the address of the peer it goes to', async () => {
  const dead = await deadPort()
  const good = track(await httpUpstream())
  const px = track(await proxyTo([dead, good.port], { upstream: { passive: NO_PASSIVE } }))
  for (let i = 0; i < 2; i++) {
    const r = await raw(px.port, 'GET /old HTTP/1.0\r\n\r\n')
    assert.equal(statuses(r.text), [200])
  }
  assert.equal(good.requests.map((q) => q.headers.host), [`127.0.0.1:${good.port}`, `127.0.0.1:${good.port}`])
})

t('a pooled socket the peer closes as the next request arrives is no mark against the peer', async () => {
  // Each connection serves one request; the peer closes it when a second one comes (the keep-alive race).
  const answered = new WeakSet<object>()
  const peer = track(await rawUpstream((s, _d, all) => {
    const heads = all.toString('latin1').split('\r\n\r\n').length - 1
    if (heads === 1 && !answered.has(s)) {
      answered.add(s)
      s.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
    } else if (heads >= 2) s.destroy()
  }))
  const px = track(await proxyTo([peer.port], { upstream: { passive: { failures: 1, max_ejected_percent: 100 } } }))
  const seen = await send(px.url, 20)
  assert.is(seen.get(200), 20)
  assert.ok(peer.received.length >= 20, `every request after the first on a socket met a closing peer (${peer.received.length} sockets)`)
  assert.is(px.server.rt.status()[0].peers[0].state, 'up')
})

t('nothing that reached the client is retried: a reset mid-response cuts the client', async () => {
  const bad = track(await rawUpstream((s, d) => {
    if (d.includes('\r\n\r\n')) { s.write('HTTP/1.1 200 OK\r\nContent-Length: 100\r\n\r\npartial'); setTimeout(() => s.resetAndDestroy(), 20) }
  }))
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE } }))
  const c = await RawClient.open(px.port)
  try {
    c.send('GET / HTTP/1.1\r\nHost: x\r\n\r\n')
    await c.untilClosed()
    assert.match(c.text, /partial$/)
    assert.is(good.requests.length, 0)
  } finally {
    c.destroy()
  }
})

t('retries: 0 turns retries off', async () => {
  const bad = track(await resetting())
  const good = track(await httpUpstream())
  const px = track(await proxyTo([bad.port, good.port], { upstream: { passive: NO_PASSIVE, retries: 0 } }))
  const seen = await send(px.url, 10)
  assert.is(seen.get(502), 5)
  assert.is(seen.get(200), 5)
})

t('the retry budget stops a retry storm when every peer fails', async () => {
  const bads = [track(await resetting()), track(await resetting()), track(await resetting())]
  const px = track(await proxyTo(bads.map((b) => b.port), { upstream: { passive: NO_PASSIVE, retries: 2, retry_budget: 0.2 } }))
  const n = 500
  const seen = await send(px.url, n)
  assert.is(seen.get(502), n)
  const attempts = bads.reduce((s, b) => s + b.received.length, 0)
  console.log(`  retry budget: ${n} requests to failing peers made ${attempts} attempts (retries: 2, no budget: ${n * 3})`)
  // Without a budget: 3 attempts per request (1,500). With it: the requests, a fifth more, and the
  // reserve of 10.
  assert.ok(attempts <= n * 1.2 + 10, `attempts ${attempts}`)
  assert.ok(attempts >= n * 1.2 - 10, `the budget was used: attempts ${attempts}`)
  assert.ok(px.server.rt.status()[0].retries_refused > 0)
})

t('a peer that accepts but never answers: 504 by the upstream timeout, then the active check takes it out', async () => {
  const mute = track(await rawUpstream())
  const good = track(await httpUpstream())
  const px = track(await proxyTo([mute.port, good.port], {
    timeouts: { upstream_response: 150 },
    upstream: { health: { interval: 60, timeout: 40, fall: 2, rise: 2, jitter: 0 } },
  }))
  const first = await Promise.all([0, 1].map(() => raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })))
  assert.equal(first.map((r) => statuses(r.text)[0]).sort(), [200, 504], 'one went to the mute peer: 504, not retried')
  await waitFor(() => px.server.rt.status()[0].peers[0].state === 'down', 2000, 'the mute peer down')
  assert.is((await send(px.url, 20)).get(200), 20)
})

t.run()
