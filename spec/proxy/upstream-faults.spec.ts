/**
 * What the client sees, and what the access log says, when a peer fails: refused, reset, invalid,
 * silent, unreachable, or cut mid-body; and how the keep-alive pool treats its sockets.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import type { Socket } from 'node:net'
import {
  accessRecordsNow, blackhole, deadPort, httpUpstream, proxyTo, raw, RawClient, rawUpstream, guard,
  sleep, startProxy, statuses, tempFile, waitFor, ProxyHandle,
} from '../support/harness.js'

const t = suite('upstream faults')
const track = guard(t)
const LOG = tempFile('access.log')
const FAST = { connect: '300ms', upstream_response: '300ms', upstream_idle: '300ms' }


async function proxy(ports: number[], extra: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return track(await proxyTo(ports, { timeouts: FAST, access_log: { path: LOG, format: 'json' }, ...extra }))
}

/** The access log record of the request for `target` (waits for it: some are written on close). */
async function logged(px: ProxyHandle, target: string): Promise<Record<string, unknown>> {
  let rec: Record<string, unknown> | undefined
  await waitFor(() => (rec = last(accessRecordsNow(px, LOG), (r) => r.target === target)) !== undefined, 2000, `a log record for ${target}`)
  return rec!
}

function last<T>(xs: T[], f: (x: T) => boolean): T | undefined {
  for (let i = xs.length - 1; i >= 0; i--) if (f(xs[i])) return xs[i]
  return undefined
}

function pool(px: ProxyHandle) {
  return px.server.rt.groups.get('u')!.peers[0].pool
}

/** Complete requests (heads) in what a raw peer received on one connection. */
function heads(all: Buffer): number {
  return all.toString('latin1').split('\r\n\r\n').length - 1
}

const OK = 'HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok'


// ---- failures before the response head ----

t('connection refused: 502, logged UF', async () => {
  const px = await proxy([await deadPort()])
  const r = await raw(px.port, 'GET /refused HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [502])
  const rec = await logged(px, '/refused')
  assert.is(rec.status, 502)
  assert.is(rec.cause, 'UF')
})

t('a peer that resets before the head: 502, logged UR', async () => {
  const peer = track(await rawUpstream((s) => s.resetAndDestroy()))
  const px = await proxy([peer.port])
  const r = await raw(px.port, 'GET /reset HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [502])
  assert.is((await logged(px, '/reset')).cause, 'UR')
})

t('a peer that closes before the head: 502, and the client connection goes on', async () => {
  const peer = track(await rawUpstream((s) => s.end()))
  const px = await proxy([peer.port])
  const c = await RawClient.open(px.port)
  c.send('GET /fin HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('502 Bad Gateway\n')
  c.send('GET /fin2 HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until((s) => statuses(s).length === 2 && s.endsWith('\n'))
  assert.equal(statuses(c.text), [502, 502])
  assert.is((await logged(px, '/fin')).cause, 'UR')
  c.destroy()
})

t('an invalid response: 502, logged UP, the peer socket closed', async () => {
  const peer = track(await rawUpstream((s) => s.write('HTTP/1.1 2x0 Nonsense\r\n\r\n')))
  const px = await proxy([peer.port])
  const r = await raw(px.port, 'GET /invalid HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [502])
  assert.is((await logged(px, '/invalid')).cause, 'UP')
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
  assert.is(pool(px).idleCount, 0)
})

t('no response head within upstream_response: 504, logged UT, the peer socket closed', async () => {
  const peer = track(await rawUpstream())
  const px = await proxy([peer.port])
  const t0 = Date.now()
  const r = await raw(px.port, 'GET /silent HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const ms = Date.now() - t0
  assert.equal(statuses(r.text), [504])
  assert.ok(ms >= 280 && ms < 1500, `answered after ${ms} ms`)
  assert.is((await logged(px, '/silent')).cause, 'UT')
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
})

t('half a head, then silence: 504', async () => {
  const peer = track(await rawUpstream((s) => s.write('HTTP/1.1 200 OK\r\nContent-')))
  const px = await proxy([peer.port])
  const r = await raw(px.port, 'GET /half HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [504])
})

t('connect timeout (a loopback listener whose accept queue is full): 504, logged UF', async () => {
  const hole = track(await blackhole())
  if (!hole.hangs) {
    console.log('  skipped: this kernel resets connections past a full accept queue; no connect timeout on loopback')
    return
  }
  const px = await proxy([hole.port])
  const t0 = Date.now()
  const r = await raw(px.port, 'GET /unreachable HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const ms = Date.now() - t0
  assert.equal(statuses(r.text), [504])
  assert.ok(ms >= 280 && ms < 1500, `answered after ${ms} ms`)
  assert.is((await logged(px, '/unreachable')).cause, 'UF')
})

t('an upstream group with no peers: 503, logged NP', async () => {
  const px = track(await startProxy({ upstreams: { u: { peers: [] } }, access_log: { path: LOG, format: 'json' } }))
  const r = await raw(px.port, 'GET /nopeer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [503])
  assert.is((await logged(px, '/nopeer')).cause, 'NP')
})

t('a POST whose peer refuses gets 502, and the next request on the connection is still read', async () => {
  const px = await proxy([await deadPort()])
  const c = await RawClient.open(px.port)
  c.send('POST /post-refused HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\n\r\nhello')
  await c.until('502 Bad Gateway\n')
  c.send('GET /after HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until((s) => statuses(s).length === 2 && s.endsWith('\n'))
  assert.equal(statuses(c.text), [502, 502])
  c.destroy()
})

// ---- failures mid-response: the client must never take a partial response as whole ----

t('the peer dies mid-body (Content-Length): the client connection is closed short, logged UR', async () => {
  const peer = track(await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000\r\n\r\n' + 'x'.repeat(1000))
    setTimeout(() => s.destroy(), 50)
  }))
  const px = await proxy([peer.port])
  const r = await raw(px.port, 'GET /cut-cl HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.ok(r.closed, 'the client connection is closed')
  assert.equal(statuses(r.text), [200])
  const body = r.text.slice(r.text.indexOf('\r\n\r\n') + 4)
  assert.is(body.length, 1000, 'only the bytes the peer sent')
  assert.is((await logged(px, '/cut-cl')).cause, 'UR')
})

t('the peer dies mid-body (chunked): closed, and no terminating chunk', async () => {
  const peer = track(await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3e8\r\n' + 'x'.repeat(1000) + '\r\n')
    setTimeout(() => s.destroy(), 50)
  }))
  const px = await proxy([peer.port])
  const r = await raw(px.port, 'GET /cut-chunked HTTP/1.1\r\nHost: a\r\n\r\n')
  assert.ok(r.closed)
  assert.match(r.text, /3e8\r\nx{1000}\r\n$/)
  assert.not.match(r.text, /0\r\n\r\n$/)
})

t('a close-delimited body cut by a reset or a timeout is not ended with a last chunk', async () => {
  const peer = track(await rawUpstream((s, d) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\npartial')
    if (d.includes('/eof-reset')) setTimeout(() => s.resetAndDestroy(), 50)
  }))
  const px = await proxy([peer.port])
  for (const path of ['/eof-reset', '/eof-silent']) {
    const r = await raw(px.port, `GET ${path} HTTP/1.1\r\nHost: a\r\n\r\n`)
    assert.ok(r.closed, `${path}: closed`)
    assert.match(r.text, /Transfer-Encoding: chunked/i)
    assert.match(r.text, /\r\n\r\n7\r\npartial\r\n$/, `${path}: no last chunk`)
  }
  assert.is((await logged(px, '/eof-reset')).cause, 'UR')
  assert.is((await logged(px, '/eof-silent')).cause, 'UT')
})

t('a peer silent mid-response past upstream_idle: the client is cut, logged UT', async () => {
  const peer = track(await rawUpstream((s) => s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n0123456789')))
  const px = await proxy([peer.port])
  const t0 = Date.now()
  const r = await raw(px.port, 'GET /stall HTTP/1.1\r\nHost: a\r\n\r\n')
  const ms = Date.now() - t0
  assert.ok(r.closed)
  assert.ok(ms >= 280 && ms < 1500, `cut after ${ms} ms`)
  assert.match(r.text, /\r\n\r\n0123456789$/)
  assert.is((await logged(px, '/stall')).cause, 'UT')
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
})

t('the client aborts mid-response: the peer socket is destroyed, not pooled; logged UC', async () => {
  // The peer keeps streaming: the proxy's next write to the closed client fails, which is the abort.
  const peer = track(await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 100000000\r\n\r\n')
    const tick = setInterval(() => { if (s.destroyed) clearInterval(tick); else s.write('y'.repeat(1000)) }, 10)
  }))
  const px = await proxy([peer.port])
  const c = await RawClient.open(px.port)
  c.send('GET /abort HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('yyyyy')
  c.destroy()
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
  assert.is(pool(px).idleCount, 0)
  const rec = await logged(px, '/abort')
  assert.is(rec.cause, 'UC')
  assert.is(rec.status, 200)
})

t('the client resets while waiting for the head: the peer socket is destroyed, logged UC', async () => {
  const peer = track(await rawUpstream())
  const px = await proxy([peer.port], { timeouts: { ...FAST, upstream_response: '5s' } })
  const c = await RawClient.open(px.port)
  c.send('GET /abort-early HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => peer.received.length === 1 && heads(peer.received[0]) === 1, 1000, 'the request at the peer')
  c.socket.resetAndDestroy()
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
  assert.is((await logged(px, '/abort-early')).cause, 'UC')
})

t('a client that half-closes after its request still gets the response (TCP half-close)', async () => {
  const peer = track(await rawUpstream((s) => { setTimeout(() => s.write(OK), 50) }))
  const px = await proxy([peer.port])
  const c = await RawClient.open(px.port)
  c.socket.end('GET /half-close HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('ok')
  await c.untilClosed()
  assert.equal(statuses(c.text), [200])
  assert.is((await logged(px, '/half-close')).cause, '--')
})

t('a client that closes mid-request-body: the peer socket is destroyed, logged UC', async () => {
  const peer = track(await rawUpstream())
  const px = await proxy([peer.port], { timeouts: { ...FAST, upstream_response: '5s' } })
  const c = await RawClient.open(px.port)
  c.send('POST /cut-body HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nonly ten b')
  await waitFor(() => peer.received.length === 1 && peer.received[0].toString().endsWith('only ten b'), 1000, 'the partial body at the peer')
  c.socket.end()
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket to close')
  assert.is((await logged(px, '/cut-body')).cause, 'UC')
})

// ---- the keep-alive pool ----

t('keep-alive: one peer socket serves requests from several client connections, logged --', async () => {
  const up = track(await httpUpstream())
  const px = await proxy([up.port])
  for (let i = 0; i < 3; i++) {
    const r = await raw(px.port, `GET /reuse${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)
    assert.equal(statuses(r.text), [200])
  }
  assert.is(up.connections, 1)
  assert.is(pool(px).opened, 1)
  assert.is(pool(px).idleCount, 1)
  const rec = await logged(px, '/reuse2')
  assert.is(rec.cause, '--')
  assert.is(rec.status, 200)
})

t('keepalive.max_idle caps the idle sockets; the rest are closed', async () => {
  const peer = track(await rawUpstream((s) => { setTimeout(() => s.write(OK), 100) }))
  const px = await proxy([peer.port], { upstream: { keepalive: { max_idle: 1 } } })
  const rs = await Promise.all([1, 2, 3].map((i) => raw(px.port, `GET /cap${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)))
  for (const r of rs) assert.equal(statuses(r.text), [200])
  assert.is(pool(px).opened, 3)
  assert.is(pool(px).idleCount, 1)
  await waitFor(() => peer.sockets.filter((s) => s.destroyed).length === 2, 1000, 'two peer sockets to close')
})

t('keepalive.idle_timeout closes an idle pooled socket', async () => {
  const peer = track(await rawUpstream((s) => s.write(OK)))
  const px = await proxy([peer.port], { upstream: { keepalive: { idle_timeout: '200ms' } } })
  await raw(px.port, 'GET /idle HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.is(pool(px).idleCount, 1)
  await sleep(100)
  assert.not.ok(peer.sockets[0].destroyed, 'still pooled before the timeout')
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the pooled socket to close')
  assert.is(pool(px).idleCount, 0)
})

t('an idle pooled socket that the peer closes is dropped; the next request opens a fresh one', async () => {
  const peer = track(await rawUpstream((s) => { s.write(OK); setTimeout(() => s.end(), 30) }))
  const px = await proxy([peer.port])
  const a = await raw(px.port, 'GET /peer-closes1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(a.text), [200])
  await waitFor(() => pool(px).idleCount === 0, 1000, 'the closed socket to leave the pool')
  const b = await raw(px.port, 'GET /peer-closes2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(b.text), [200])
  assert.is(pool(px).opened, 2)
  assert.is((await logged(px, '/peer-closes2')).cause, '--')
})

t('an idle pooled socket that receives stray bytes is dropped', async () => {
  const peer = track(await rawUpstream((s) => { s.write(OK); setTimeout(() => { if (!s.destroyed) s.write('HTTP/1.1 200 OK\r\n') }, 30) }))
  const px = await proxy([peer.port])
  await raw(px.port, 'GET /stray1 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the socket with stray bytes to close')
  assert.is(pool(px).idleCount, 0)
  const b = await raw(px.port, 'GET /stray2 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(b.text), [200])
  assert.is(pool(px).opened, 2)
})

/** A peer whose first connection answers its first request, then fails on the second one. */
async function flaky(how: (s: Socket) => void) {
  const peer = await rawUpstream((s, _d, all) => {
    if (peer.sockets.indexOf(s) !== 0 || heads(all) === 1) s.write(OK)
    else how(s)
  })
  return track(peer)
}

t('a reused socket that fails before any response byte: an idempotent GET is retried once', async () => {
  const peer = (await flaky((s) => s.destroy()))
  const px = await proxy([peer.port])
  const c = await RawClient.open(px.port)
  c.send('GET /warm HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('ok')
  c.send('GET /retried HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until((s) => statuses(s).length === 2 && s.endsWith('ok'))
  assert.equal(statuses(c.text), [200, 200])
  assert.is(peer.sockets.length, 2, 'the retry went on a fresh connection')
  assert.is((await logged(px, '/retried')).cause, '--')
  c.destroy()
})

t('a reused socket reset before any response byte: the GET is retried too', async () => {
  const peer = (await flaky((s) => s.resetAndDestroy()))
  const px = await proxy([peer.port])
  await raw(px.port, 'GET /warm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const r = await raw(px.port, 'GET /retried-rst HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200])
})

t('a reused socket that fails: a POST is never retried (502, logged UR)', async () => {
  const peer = (await flaky((s) => s.destroy()))
  const px = await proxy([peer.port])
  await raw(px.port, 'GET /warm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const r = await raw(px.port, 'POST /no-retry HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nConnection: close\r\n\r\nhello')
  assert.equal(statuses(r.text), [502])
  assert.is(peer.sockets.length, 1, 'no second attempt')
  assert.is((await logged(px, '/no-retry')).cause, 'UR')
})

t('a reused socket that fails after response bytes: no retry (502)', async () => {
  const peer = (await flaky((s) => { s.write('HTTP/1.1 200 O'); setTimeout(() => s.destroy(), 20) }))
  const px = await proxy([peer.port])
  await raw(px.port, 'GET /warm HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  const r = await raw(px.port, 'GET /half-answer HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [502])
  assert.is(peer.sockets.length, 1)
})

t('a request the proxy cannot parse: 400, logged PE, never forwarded', async () => {
  const up = track(await httpUpstream())
  const px = await proxy([up.port])
  const r = await raw(px.port, 'GET /bad HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')
  assert.equal(statuses(r.text), [400])
  assert.ok(r.closed)
  assert.is(up.requests.length, 0)
  let rec: Record<string, unknown> | undefined
  await waitFor(() => (rec = last(accessRecordsNow(px, LOG), (x) => x.cause === 'PE')) !== undefined, 1000, 'a PE record')
  assert.is(rec!.status, 400)
})

t.run()
