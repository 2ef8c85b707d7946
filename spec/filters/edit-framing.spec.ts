/**
 * A response head rebuilt for a filter's edits, whatever the framing: it is held back to go out in
 * one write with the body bytes of its chunk (exchange.ts), so these check that nothing is lost,
 * doubled or reordered: small and large bodies, chunked, close-delimited re-chunked for HTTP/1.1 and
 * de-chunked for HTTP/1.0, HEAD, 204 and 304, and pipelined requests answered in order.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, rawUpstream, startProxy, statuses, HttpUpstream, guard } from '../support/harness.js'

const t = suite('filters: rebuilt heads and every framing')
const track = guard(t)
let up: HttpUpstream

const BIG = 'b'.repeat(200_000)

t.before(async () => {
  up = await httpUpstream((req, res) => {
    if (req.url === '/big') { res.setHeader('Content-Length', BIG.length); res.end(BIG) }
    else if (req.url === '/chunked') { res.write('part one, '); setTimeout(() => res.end('part two'), 20) }
    else if (req.url === '/204') { res.statusCode = 204; res.end() }
    else if (req.url === '/304') { res.statusCode = 304; res.end() }
    else res.end(`small ${req.url}`)
  })
})
t.after(async () => { await up.close() })

const edits = { headers: { request_id: true, response: { set: { 'X-Frame-Options': 'DENY' } } } }

function proxy(port = up.port) {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${port}`] } }, routes: [{ upstream: 'u', ...edits }] })
}

const bodyOf = (text: string): string => text.slice(text.indexOf('\r\n\r\n') + 4)

t('small, large and chunked bodies arrive whole behind the edited head', async () => {
  const px = track(await proxy())
  const small = await raw(px.port, 'GET /s HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(small.text, /\r\nX-Frame-Options: DENY\r\n/)
  assert.is(bodyOf(small.text), 'small /s')
  const big = await raw(px.port, 'GET /big HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { ms: 5000 })
  assert.match(big.text, /\r\nX-Frame-Options: DENY\r\n/)
  assert.is(bodyOf(big.text), BIG)
  const ch = await raw(px.port, 'GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(ch.text, /\r\nTransfer-Encoding: chunked\r\n/)
  assert.is(bodyOf(ch.text), 'a\r\npart one, \r\n8\r\npart two\r\n0\r\n\r\n')
})

t('HTTP/1.0 client: a chunked response de-chunked, delimited by close', async () => {
  const px = track(await proxy())
  const r = await raw(px.port, 'GET /chunked HTTP/1.0\r\n\r\n')
  assert.match(r.text, /\r\nX-Frame-Options: DENY\r\n/)
  assert.not.match(r.text, /Transfer-Encoding/i)
  assert.is(bodyOf(r.text), 'part one, part two')
  assert.ok(r.closed)
})

t('a close-delimited response re-chunked for a keep-alive HTTP/1.1 client', async () => {
  const peer = track(await rawUpstream((s, _d, all) => {
    if (all.toString('latin1').includes('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil the end')
  }))
  const px = track(await proxy(peer.port))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { until: (s) => s.endsWith('0\r\n\r\n') })
  assert.match(r.text, /\r\nX-Frame-Options: DENY\r\n/)
  assert.is(bodyOf(r.text), 'd\r\nuntil the end\r\n0\r\n\r\n')
})

t('HEAD, 204 and 304: the edited head alone; pipelined answers in order', async () => {
  const px = track(await proxy())
  const r = await raw(px.port, 'HEAD /big HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\n' +
    'GET /one HTTP/1.1\r\nHost: a\r\n\r\nGET /two HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200, 204, 304, 200, 200])
  assert.is([...r.text.matchAll(/X-Frame-Options: DENY/g)].length, 5)
  assert.match(r.text, /Content-Length: 200000\r\n[^]*\r\n\r\nHTTP\/1\.1 204 /)
  assert.match(r.text, /\r\n\r\nsmall \/one(HTTP\/1\.1 200 OK\r\n)[^]*\r\n\r\nsmall \/two$/)
  const ids = [...r.text.matchAll(/X-Request-ID: ([^\r]+)/g)].map((m) => m[1])
  assert.is(new Set(ids).size, 5, 'one ID per response')
})

t.run()
