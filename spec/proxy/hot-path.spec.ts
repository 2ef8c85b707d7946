/**
 * Edge cases of the hot-path shortcuts (issue 5): the per-connection Host cache, the one-pass field
 * scan on heads split across reads, and response bytes read into a reused buffer while the client is
 * slow to take them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, proxyTo, raw, rawUpstream, RawClient, statuses } from '../support/harness.js'

const t = suite('hot-path')
const track = guard(t)

t('Host cache: each request on a connection is routed and forwarded by its own Host', async () => {
  const a = track(await httpUpstream((req, res) => res.end(`a:${req.headers.host}`)))
  const b = track(await httpUpstream((req, res) => res.end(`b:${req.headers.host}`)))
  const px = track(await proxyTo([a.port], {
    upstreams: { a: { peers: [`127.0.0.1:${a.port}`] }, b: { peers: [`127.0.0.1:${b.port}`] } },
    routes: [{ host: 'a.test', upstream: 'a' }, { host: 'b.test', upstream: 'b' }],
  }))
  const c = await RawClient.open(px.port)
  const hosts = ['a.test', 'A.test:80', 'b.test', 'b.test', 'a.test', 'nowhere.test']
  const want = ['a:a.test', 'a:A.test:80', 'b:b.test', 'b:b.test', 'a:a.test']
  try {
    for (let i = 0; i < hosts.length; i++) {
      c.clear()
      c.send(`GET /${i} HTTP/1.1\r\nHost: ${hosts[i]}\r\n\r\n`)
      if (i < want.length) assert.ok((await c.until(want[i])).startsWith('HTTP/1.1 200'), c.text)
      else assert.ok((await c.until('\r\n\r\n')).startsWith('HTTP/1.1 404'), c.text)
    }
  } finally {
    c.destroy()
  }
  const fwd = [...a.requests, ...b.requests].map((r) => r.headers['x-forwarded-host']).sort()
  assert.equal(fwd, ['A.test:80', 'a.test', 'a.test', 'b.test', 'b.test'])
})

t('Host cache: an invalid Host after a valid one on the same connection is still refused (400)', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port]))
  const r = await raw(px.port, [
    'GET / HTTP/1.1\r\nHost: ok.test\r\n\r\n',
    'GET / HTTP/1.1\r\nHost: ok.test/evil\r\n\r\n',
  ], { until: (s) => statuses(s).length === 2 })
  assert.equal(statuses(r.text), [200, 400])
  assert.is(up.requests.length, 1)
})

t('one-pass field scan: a head cut inside Content-Length and Transfer-Encoding still frames the body', async () => {
  const up = track(await httpUpstream((_req, res, body) => res.end(`got ${body.toString()}`)))
  const px = track(await proxyTo([up.port]))
  const cl = await raw(px.port, ['POST / HTTP/1.1\r\nHost: x\r\nConte', 'nt-Len', 'gth: 5\r\n\r\nhello'], { until: (s) => s.includes('got') })
  assert.ok(cl.text.includes('got hello'), cl.text)
  const te = await raw(px.port, ['POST / HTTP/1.1\r\nHost: x\r\nTransfer-Enc', 'oding: chun', 'ked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'], { until: (s) => s.includes('got') })
  assert.ok(te.text.includes('got abc'), te.text)
  // A hop-by-hop field cut in two is still dropped from the forwarded head.
  const hop = await raw(px.port, ['GET / HTTP/1.1\r\nHost: x\r\nKeep-Al', 'ive: timeout=5\r\n\r\n'], { until: (s) => s.includes('got') })
  assert.ok(hop.text.includes('got '), hop.text)
  assert.is(up.requests.at(-1)!.headers['keep-alive'], undefined)
})

/** A peer that answers every request head with `head` and a 5-byte body, kept alive. */
async function fixedPeer(head: string) {
  return rawUpstream((sock, _d, all) => {
    const n = all.toString('latin1').split('\r\n\r\n').length - 1
    const sent = (sock as unknown as { sent?: number }).sent ?? 0
    for (let k = sent; k < n; k++) sock.write(`${head}Content-Length: 5\r\n\r\nhello`)
    ;(sock as unknown as { sent?: number }).sent = n
  })
}

t('a response whose one hop-by-hop field is Connection: keep-alive goes out as received less that line (issue 15)', async () => {
  const cases: [string, string][] = [
    ['HTTP/1.1 200 OK\r\nServer: nginx\r\nConnection: keep-alive\r\nX-A: 1\r\n', 'HTTP/1.1 200 OK\r\nServer: nginx\r\nX-A: 1\r\n'],
    ['HTTP/1.1 200 Fine\r\nconnection:Keep-Alive  \r\n', 'HTTP/1.1 200 Fine\r\n'],
    ['HTTP/1.1 201 Created\r\nX-B: 2\r\nCONNECTION: keep-alive\r\n', 'HTTP/1.1 201 Created\r\nX-B: 2\r\n'],
  ]
  for (const [from, want] of cases) {
    const up = track(await fixedPeer(from))
    const px = track(await proxyTo([up.port]))
    const r = await raw(px.port, ['GET /a HTTP/1.1\r\nHost: x\r\n\r\n', 'GET /b HTTP/1.1\r\nHost: x\r\n\r\n'], { until: (s) => statuses(s).length === 2 && s.endsWith('hello') })
    assert.is(r.text, `${want}Content-Length: 5\r\n\r\nhello`.repeat(2), JSON.stringify(from))
    assert.is(r.closed, false)
  }
})

t('a keep-alive line beside other hop-by-hop fields, or naming others, is dropped with them (RFC 9110 §7.6.1)', async () => {
  const cases: [string, RegExp][] = [
    ['HTTP/1.1 200 OK\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n', /keep-alive/i],
    ['HTTP/1.1 200 OK\r\nConnection: keep-alive, x-hop\r\nX-Hop: 1\r\n', /keep-alive|x-hop/i],
    ['HTTP/1.1 200 OK\r\nConnection: keep-alivex\r\n', /keep-alive/i],
  ]
  for (const [from, gone] of cases) {
    const up = track(await fixedPeer(from))
    const px = track(await proxyTo([up.port]))
    const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.endsWith('hello') })
    assert.equal(statuses(r.text), [200])
    assert.not.match(r.text.split('\r\n\r\n')[0], gone, JSON.stringify(from))
    assert.not.match(r.text, /^Connection:/im)
  }
  // To an HTTP/1.0 client, or when we close, the head is rebuilt as before: Connection says what we do.
  const up = track(await fixedPeer('HTTP/1.1 200 OK\r\nConnection: keep-alive\r\n'))
  const px = track(await proxyTo([up.port]))
  const closing = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
  assert.match(closing.text, /\r\nConnection: close\r\n/)
  assert.is((closing.text.match(/Connection:/g) ?? []).length, 1)
  const old = await raw(px.port, 'GET / HTTP/1.0\r\nHost: x\r\nConnection: keep-alive\r\n\r\n', { until: (s) => s.endsWith('hello') })
  assert.match(old.text, /^HTTP\/1\.1 200 OK\r\n[^]*Connection: keep-alive\r\n/)
  assert.is((old.text.match(/Connection:/gi) ?? []).length, 1)
})

t.run()
