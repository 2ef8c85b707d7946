/**
 * Edge cases of the hot-path shortcuts (issue 5): the per-connection Host cache, the one-pass field
 * scan on heads split across reads, and response bytes read into a reused buffer while the client is
 * slow to take them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, proxyTo, raw, RawClient, statuses } from '../support/harness.js'

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

t.run()
