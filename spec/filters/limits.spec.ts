import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, rawUpstream, startProxy, statuses, HttpUpstream, RawClient, guard, sleep, waitFor, ProxyHandle } from '../support/harness.js'

const t = suite('filters: limits')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream((_req, res, body) => res.end(`got ${body.length}`)) })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

function proxy(route: Record<string, unknown>, peer = up.port): Promise<ProxyHandle> {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${peer}`] } }, routes: [{ upstream: 'u', ...route }] })
}

t('methods: others get 405 with Allow (HEAD comes with GET)', async () => {
  const px = track(await proxy({ methods: ['GET', 'POST'] }))
  const r = await raw(px.port, 'DELETE /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [405])
  assert.match(r.text, /\r\nAllow: GET, POST, HEAD\r\n/)
  const ok = await raw(px.port, 'HEAD /x HTTP/1.1\r\nHost: a\r\n\r\nPOST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 2\r\nConnection: close\r\n\r\nhi')
  assert.equal(statuses(ok.text), [200, 200])
  const lower = await raw(px.port, 'get /x HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.ok(statuses(lower.text)[0] !== 200, 'methods are case-sensitive (RFC 9110 §9.1)')
})

t('max_headers: more fields than allowed get 431', async () => {
  const px = track(await proxy({ max_headers: 5 }))
  const fields = (n: number): string => Array.from({ length: n }, (_, i) => `X-F${i}: ${i}\r\n`).join('')
  assert.equal(statuses((await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(4)}Connection: close\r\n\r\n`)).text), [431], '6 fields')
  assert.equal(statuses((await raw(px.port, `GET / HTTP/1.1\r\nHost: a\r\n${fields(3)}Connection: close\r\n\r\n`)).text), [200], '5 fields')
})

t('max_body: a Content-Length over it is 413 before any byte goes upstream, 100-continue included', async () => {
  const px = track(await proxy({ max_body: '1k' }))
  const before = up.connections
  const r = await raw(px.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n' + 'x'.repeat(500))
  assert.equal(statuses(r.text), [413])
  assert.match(r.text, /\r\nConnection: close\r\n/, 'the body is not read: close')
  assert.ok(r.closed)
  const whole = await raw(px.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1025\r\n\r\n' + 'x'.repeat(1025), { until: (s) => s.includes('Large\n') })
  assert.not.match(whole.text, /Connection: close/, 'the body came whole with the head: the connection stays')
  const c = await raw(px.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 2000\r\nExpect: 100-continue\r\n\r\n', { until: (s) => s.includes('\r\n\r\n') })
  assert.match(c.text, /^HTTP\/1\.1 413 Content Too Large\r\n/, 'no 100 Continue first: the body is not wanted')
  assert.is(up.connections, before, 'the peer was never contacted')
  const ok = await raw(px.port, 'POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1024\r\nConnection: close\r\n\r\n' + 'x'.repeat(1024))
  assert.match(ok.text, /got 1024$/)
})

t('max_body: a chunked body is counted by content bytes (not framing) and may reach the limit exactly', async () => {
  const px = track(await proxy({ max_body: 100 }))
  // 100 content bytes in 100 one-byte chunks: ~600 bytes on the wire.
  const chunks = Array.from({ length: 100 }, () => '1\r\nx\r\n').join('')
  const r = await raw(px.port, `POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n${chunks}0\r\n\r\n`)
  assert.match(r.text, /^HTTP\/1\.1 200 [^]*got 100$/)
})

t('max_body: a chunked body that grows over it in its first bytes is 413, and nothing reaches the peer', async () => {
  const px = track(await proxy({ max_body: 100 }))
  const before = up.connections
  const r = await raw(px.port, 'POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n65\r\n' + 'x'.repeat(101) + '\r\n')
  assert.equal(statuses(r.text), [413])
  assert.ok(r.closed)
  await sleep(50)
  assert.is(up.connections, before)
})

t('max_body: a chunked body that grows over it later: the peer connection is dropped, the client gets 413 and is closed', async () => {
  const got: Buffer[] = []
  const peer = track(await rawUpstream((_s, d) => { got.push(d) }))
  const px = track(await proxy({ max_body: 1000 }, peer.port))
  const c = track(await RawClient.open(px.port))
  c.send('POST /up HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n1f4\r\n' + 'a'.repeat(500) + '\r\n')
  await waitFor(() => Buffer.concat(got).includes('a'.repeat(500)), 2000, 'the first 500 bytes at the peer')
  c.send('1f4\r\n' + 'b'.repeat(500) + '\r\n')
  await sleep(30)
  c.send('1\r\nZ\r\n')
  await c.until('413 Content Too Large\n')
  await c.untilClosed()
  await waitFor(() => peer.sockets[0].destroyed || peer.sockets[0].readableEnded, 2000, 'the peer connection dropped')
  assert.not.ok(Buffer.concat(got).includes('Z'), 'the byte past the limit never went upstream')
})

t('max_body: when the peer has already answered, going over the limit cuts the client', async () => {
  const peer = track(await rawUpstream((s, _d, all) => {
    if (all.includes('\r\n\r\n') && !(s as unknown as { answered?: boolean }).answered) {
      ;(s as unknown as { answered?: boolean }).answered = true
      s.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nearly\r\n')
    }
  }))
  const px = track(await proxy({ max_body: 10 }, peer.port))
  const c = track(await RawClient.open(px.port))
  c.send('POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n')
  await c.until('early')
  c.send('b\r\n' + 'x'.repeat(11) + '\r\n')
  await c.untilClosed()
  assert.not.match(c.text, /413/)
})

t.run()
