/**
 * A request line without an HTTP version (HTTP/0.9 style, RFC 9112 §3 and Appendix C.1) is answered
 * 400 at once and the connection closed, not left waiting for a header section to the header
 * timeout. A full request line cut at any byte still goes through.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, proxyTo, raw, statuses } from '../support/harness.js'

const t = suite('http09')
const track = guard(t)

/** The header timeout is long, so only an answer at once comes inside raw()'s wait. */
const SLOW = { timeouts: { header: '30s' } }

/** One byte per write. */
const bytes = (s: string): string[] => [...s]

t('GET /path CRLF: 400 and close at once, nothing reaches the peer', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], SLOW))
  for (const line of ['GET /path\r\n', 'GET /path\n', 'GET http://a.test/path\r\n']) {
    const r = await raw(px.port, line, { ms: 1500 })
    assert.equal(statuses(r.text), [400], `${JSON.stringify(line)}: ${JSON.stringify(r.text.slice(0, 60))}`)
    assert.match(r.text, /\r\nConnection: close\r\n/i)
    assert.ok(r.closed, 'the proxy closed the connection')
  }
  const split = await raw(px.port, bytes('GET /path\r\n'), { ms: 1500 })
  assert.equal(statuses(split.text), [400], 'byte by byte too')
  assert.ok(split.closed)
  assert.is(up.requests.length, 0)
})

t('GET /path HTTP/1.1 written a byte at a time is proxied as before', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], SLOW))
  const r = await raw(px.port, bytes('GET /path HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'), { ms: 3000 })
  assert.equal(statuses(r.text), [200])
  assert.equal(up.requests.map((q) => q.url), ['/path'])
})

t('the request line cut at each byte in two writes is proxied', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], SLOW))
  const req = 'GET /p HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'
  const lineEnd = req.indexOf('\r\n') + 2
  for (let i = 1; i <= lineEnd; i++) {
    const r = await raw(px.port, [req.slice(0, i), req.slice(i)], { ms: 3000 })
    assert.equal(statuses(r.text), [200], `cut at ${i}`)
  }
  assert.is(up.requests.length, lineEnd)
})

t('bare LF after a version is refused as before (400 and close)', async () => {
  const up = track(await httpUpstream())
  const px = track(await proxyTo([up.port], SLOW))
  const r = await raw(px.port, 'GET /path HTTP/1.1\nHost: a\n\n', { ms: 1500 })
  assert.equal(statuses(r.text), [400])
  assert.ok(r.closed)
  assert.is(up.requests.length, 0)
})

t.run()
