/**
 * Cases from a review by an engineer who tried to break the proxy: smuggling through Connection,
 * deep pipelines of local answers, clients that never read, and odd but legal peer responses.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { CONNECTION_HIDES_FRAMING, HIDDEN } from './malformed-cases.js'
import { guard, httpUpstream, proxyTo, raw, rawUpstream, sleep, startProxy, statuses, waitFor } from '../support/harness.js'

const t = suite('hardening')
const track = guard(t)

t('Connection naming Content-Length or Transfer-Encoding does not strip the framing (no smuggling)', async () => {
  const up = track(await httpUpstream((req, res, body) => res.end(`${req.url} got ${body.length}`)))
  const px = track(await proxyTo([up.port]))
  for (const [path, bytes] of CONNECTION_HIDES_FRAMING) {
    const r = await raw(px.port, bytes, { until: (s) => s.includes('got') })
    assert.ok(r.text.includes(`${path} got ${HIDDEN.length}`), r.text)
  }
  assert.equal(up.requests.map((r) => r.url), ['/a', '/b'], 'the peer saw two requests, not four')
})

t('a peer\'s Connection: content-length does not strip the response framing', async () => {
  const peer = track(await rawUpstream((s) => s.write('HTTP/1.1 200 OK\r\nConnection: content-length\r\nContent-Length: 2\r\n\r\nok')))
  const px = track(await proxyTo([peer.port]))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.endsWith('ok') })
  assert.match(r.text, /\r\nContent-Length: 2\r\n/i)
})

t('3,000 pipelined requests answered locally in one write: all answered, no stack overflow', async () => {
  const px = track(await startProxy({ upstreams: { u: { peers: [] } }, routes: [{ host: 'routed.test', upstream: 'u' }] }))
  const n = 3000
  const one = 'GET / HTTP/1.1\r\nHost: unrouted.test\r\n\r\n'
  const r = await raw(px.port, one.repeat(n - 1) + 'GET / HTTP/1.1\r\nHost: routed.test\r\nConnection: close\r\n\r\n', { ms: 10_000 })
  const got = statuses(r.text)
  assert.is(got.length, n)
  assert.ok(got.slice(0, -1).every((s) => s === 404))
  assert.is(got.at(-1), 503, 'the last one reached the empty group')
  assert.ok(r.closed)
})

t('a client that pipelines but never reads is not served without bound', async () => {
  const body = 'x'.repeat(10_000)
  const up = track(await httpUpstream((_req, res) => res.end(body)))
  const px = track(await proxyTo([up.port]))
  const n = 2000
  const s = connect(px.port, '127.0.0.1')
  s.pause() // read nothing
  await new Promise((r) => s.once('connect', r))
  s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'.repeat(n))
  await sleep(800)
  const served = up.requests.length
  assert.ok(served < n / 4, `${served} of ${n} requests served to a client that reads nothing`)
  // Once it reads, the rest are answered, in full.
  let bytes = 0
  s.on('data', (d: Buffer) => { bytes += d.length })
  s.resume()
  await waitFor(() => up.requests.length === n, 10_000, 'every request served')
  await waitFor(() => bytes >= n * body.length, 10_000, 'every response read')
  s.destroy()
})

t('Expect: 100-continue to a request answered locally gets its answer at once', async () => {
  const px = track(await startProxy({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, routes: [{ host: 'only.test', upstream: 'u' }] }))
  const start = Date.now()
  const r = await raw(px.port, 'POST / HTTP/1.1\r\nHost: other.test\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n', { ms: 2000 })
  assert.equal(statuses(r.text), [404])
  assert.ok(r.closed, 'closed: the body it did not send cannot be told from a next request')
  assert.ok(Date.now() - start < 1000)
})

t('an absolute-form target with an empty path goes out as "/"', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  await raw(px.port, 'GET http://x.test?a=1 HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n')
  await raw(px.port, 'GET http://x.test HTTP/1.1\r\nHost: x.test\r\nConnection: close\r\n\r\n')
  assert.equal(up.requests.map((r) => r.url), ['/?a=1', '/'])
})

t('a 1xx with framing fields ends with its head; they are not passed on', async () => {
  const peer = track(await rawUpstream((s) => s.write('HTTP/1.1 199 Odd\r\nContent-Length: 5\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')))
  const px = track(await proxyTo([peer.port]))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.endsWith('ok') })
  assert.equal(statuses(r.text), [199, 200])
  assert.ok(r.text.startsWith('HTTP/1.1 199 Odd\r\n\r\n'), JSON.stringify(r.text.slice(0, 40)))
})

t('a close-delimited body with a coding other than chunked keeps it, delimited by our close', async () => {
  const peer = track(await rawUpstream((s) => s.end('HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\nGZIPPEDBYTES')))
  const px = track(await proxyTo([peer.port]))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n')
  assert.match(r.text, /\r\nTransfer-Encoding: gzip\r\n/i)
  assert.match(r.text, /\r\nConnection: close\r\n/i)
  assert.ok(r.text.endsWith('\r\n\r\nGZIPPEDBYTES'))
  assert.ok(r.closed)
})

t('a half-close after an unfinished pipelined request: the first is answered, then the close', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], { timeouts: { header: '5s' } }))
  const start = Date.now()
  const r = await new Promise<string>((resolve) => {
    const s = connect(px.port, '127.0.0.1', () => s.end('GET /a HTTP/1.1\r\nHost: x\r\n\r\nGET /b HT'))
    let text = ''
    s.on('data', (d) => { text += d })
    s.on('close', () => resolve(text))
  })
  assert.equal(statuses(r), [200, 400])
  assert.ok(Date.now() - start < 2000, 'no wait for the header timeout')
})

t('an h2c upgrade is not passed on: the request goes as plain HTTP/1.1, then the connection closes', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: Upgrade, HTTP2-Settings\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQAAP__\r\n\r\n')
  assert.equal(statuses(r.text), [200])
  assert.ok(r.closed)
  assert.is(up.requests[0].headers.upgrade, undefined)
  assert.is(up.requests[0].headers['http2-settings'], undefined, 'named by Connection, so hop-by-hop')
})

t('a peer that answers before the upload is done: the client gets it, then the close; the peer socket is not pooled', async () => {
  const peer = track(await rawUpstream((s, _d, all) => {
    if (all.toString('latin1').includes('\r\n\r\n') && !s.writableEnded) s.write('HTTP/1.1 413 Content Too Large\r\nContent-Length: 3\r\n\r\nbig')
  }))
  const px = track(await proxyTo([peer.port]))
  const r = await raw(px.port, ['POST /up HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\nfirst part', 'x'.repeat(1000)], { ms: 2000 })
  assert.equal(statuses(r.text), [413])
  assert.match(r.text, /\r\nConnection: close\r\n/i, 'the rest of the body cannot be told from a next request')
  assert.ok(r.text.endsWith('big'))
  assert.ok(r.closed)
  await waitFor(() => peer.sockets[0].destroyed, 1000, 'the peer socket closed, not pooled')
})

t.run()
