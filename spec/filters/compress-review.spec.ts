// Compression against the RFC where an independent review found it wrong (issue 12): the head of a
// 304 and of HEAD matches the coded 200's, Vary on every response whose form depends on
// Accept-Encoding, no "identity, gzip", nothing coded for a 205, a transfer coding, a request's
// no-transform or an empty gzip; trailers not announced when dropped; `*/*` in types.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import type { Socket } from 'node:net'
import type { IncomingMessage, ServerResponse } from 'node:http'
import { httpUpstream, rawUpstream, startProxy, guard } from '../support/harness.js'
import { decode, fetchCoded, json } from '../support/coded.js'
import { adminProxy, sample, scrape } from '../support/admin.js'

const t = suite('filters: compress, review')
const track = guard(t)
const BODY = json(4_000)

/** A proxy with `compress` (and `cache` when asked) before a node peer answering with `answer`. */
async function proxy(answer: (req: IncomingMessage, res: ServerResponse) => void, extra: Record<string, unknown> = {}) {
  const up = track(await httpUpstream(answer))
  return track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', compress: {}, ...extra }] }))
}

const etagged = (req: IncomingMessage, res: ServerResponse): void => {
  const inm = req.headers['if-none-match'] ?? ''
  // The peer compares weakly (RFC 9110 §13.1.2), as servers do for If-None-Match.
  if (inm.replace(/W\//g, '').includes('"a"')) { res.writeHead(304, { ETag: '"a"', 'Cache-Control': 'max-age=60' }).end(); return }
  res.writeHead(200, { 'Content-Type': 'application/json', ETag: '"a"', 'Cache-Control': 'max-age=60', 'Content-Length': String(BODY.length) }).end(BODY)
}

t('a 304 to a client holding the coded form has its weak ETag and Vary (RFC 9110 §15.4.5), from the peer and from the cache', async () => {
  for (const extra of [{}, { cache: { zone: 'compress-review-304' } }]) {
    const px = await proxy(etagged, extra)
    const full = await fetchCoded(px.port, '/r', ['Accept-Encoding: gzip'])
    assert.is(full.h.etag, 'W/"a"')
    const nm = await fetchCoded(px.port, '/r', ['Accept-Encoding: gzip', `If-None-Match: ${full.h.etag}`])
    assert.is(nm.status, 304, JSON.stringify(extra))
    assert.is(nm.h.etag, 'W/"a"', JSON.stringify(extra))
    assert.is(nm.h.vary, 'Accept-Encoding', JSON.stringify(extra))
    // A client holding the peer's own form keeps the strong tag.
    const strong = await fetchCoded(px.port, '/r', [`If-None-Match: "a"`])
    assert.is(strong.status, 304)
    assert.is(strong.h.etag, '"a"')
  }
})

t('HEAD gets the head GET would get (RFC 9110 §9.3.2), from the peer and from the cache, for coding and for decoding', async () => {
  const gz = gzipSync(BODY)
  for (const extra of [{}, { cache: { zone: 'compress-review-head' } }]) {
    const px = await proxy((req, res) => {
      if (req.url === '/gz') res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Cache-Control': 'max-age=60', 'Content-Length': String(gz.length) }).end(req.method === 'HEAD' ? undefined : gz)
      else etagged(req, res)
    }, extra)
    for (const [p, ae] of [['/r', 'gzip'], ['/r', 'br'], ['/gz', 'identity']]) {
      const get = await fetchCoded(px.port, p, [`Accept-Encoding: ${ae}`])
      const head = await fetchCoded(px.port, p, [`Accept-Encoding: ${ae}`], { method: 'HEAD' })
      for (const f of ['content-encoding', 'vary', 'etag']) assert.is(head.h[f], get.h[f], `${p} ${ae} ${f} ${JSON.stringify(extra)}`)
      assert.is(head.h['content-length'], undefined)
    }
  }
})

t('Vary: Accept-Encoding on every response whose form depends on it, coded or not; none on one whose form does not', async () => {
  const gz = gzipSync(BODY)
  const px = await proxy((req, res) => {
    if (req.url === '/gz') res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) }).end(gz)
    else if (req.url === '/png') res.writeHead(200, { 'Content-Type': 'image/png', 'Content-Length': String(BODY.length) }).end(BODY)
    else res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(BODY.length) }).end(BODY)
  })
  for (const fields of [[], ['Accept-Encoding: identity'], ['Accept-Encoding: gzip']]) {
    assert.is((await fetchCoded(px.port, '/json', fields)).h.vary, 'Accept-Encoding', `json ${fields}`)
    const g = await fetchCoded(px.port, '/gz', fields)
    assert.is(g.h.vary, 'Accept-Encoding', `gz ${fields}`)
    assert.is((await fetchCoded(px.port, '/png', fields)).h.vary, undefined)
  }
})

t('the peer\'s Content-Encoding: identity is replaced, not added to', async () => {
  const px = await proxy((_req, res) => { res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'identity', 'Content-Length': String(BODY.length) }).end(BODY) })
  const r = await fetchCoded(px.port, '/i', ['Accept-Encoding: gzip'])
  assert.is(r.h['content-encoding'], 'gzip')
  assert.ok(decode(r.body, 'gzip').equals(BODY))
})

t('not touched: a 205, a request with no-transform, an empty gzip; a transfer coding is not taken for content', async () => {
  const gz = gzipSync(BODY)
  const px = await proxy((req, res) => {
    if (req.url === '/205') res.writeHead(205, { 'Content-Type': 'text/plain', 'Content-Length': '0' }).end()
    else if (req.url === '/empty') res.writeHead(404, { 'Content-Type': 'text/plain', 'Content-Encoding': 'gzip', 'Content-Length': '0' }).end()
    else res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) }).end(gz)
  })
  const r205 = await fetchCoded(px.port, '/205', ['Accept-Encoding: gzip'])
  assert.is(r205.status, 205)
  assert.is(r205.h['content-encoding'], undefined)
  assert.is(r205.body.length, 0)
  const nt = await fetchCoded(px.port, '/nt', ['Accept-Encoding: identity', 'Cache-Control: no-transform'])
  assert.is(nt.h['content-encoding'], 'gzip')
  assert.ok(nt.body.equals(gz))
  const empty = await fetchCoded(px.port, '/empty', ['Accept-Encoding: identity'])
  assert.is(empty.status, 404)
  assert.ok(empty.complete !== false && empty.body.length === 0)
  // Transfer-Encoding: gzip, chunked: the peer's transfer coding is not content to re-code.
  const raw = track(await rawUpstream((s: Socket) => {
    s.once('data', () => {
      const chunk = gzipSync(BODY)
      s.write(`HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: gzip, chunked\r\nConnection: close\r\n\r\n${chunk.length.toString(16)}\r\n`)
      s.end(Buffer.concat([chunk, Buffer.from('\r\n0\r\n\r\n')]))
    })
  }))
  const px2 = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${raw.port}`] } }, routes: [{ upstream: 'u', compress: {} }] }))
  const te = await fetchCoded(px2.port, '/te', ['Accept-Encoding: br'])
  assert.is(te.h['content-encoding'], undefined)
})

t('trailers dropped by coding are not announced; types: ["*/*"] codes every type', async () => {
  const px = await proxy((req, res) => {
    res.writeHead(200, { 'Content-Type': req.url === '/bin' ? 'application/x-thing' : 'application/json', Trailer: 'X-Sum' })
    res.write(BODY)
    res.addTrailers({ 'X-Sum': '1' })
    res.end()
  }, { compress: { types: ['*/*'] } })
  for (const p of ['/json', '/bin']) {
    const r = await fetchCoded(px.port, p, ['Accept-Encoding: gzip'])
    assert.is(r.h['content-encoding'], 'gzip', p)
    assert.is(r.h.trailer, undefined)
    assert.ok(decode(r.body, 'gzip').equals(BODY))
  }
})

t('metrics: coded, decoded and copied responses, bytes into and out of zlib, failures (rawproxy_compress_*)', async () => {
  const gz = gzipSync(BODY)
  const up = track(await httpUpstream((req, res) => {
    if (req.url === '/gz') res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': String(gz.length) }).end(gz)
    else if (req.url === '/bad') res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', 'Content-Length': '100' }).end(Buffer.alloc(100, 7))
    else res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=60', 'Content-Length': String(BODY.length) }).end(BODY)
  }))
  const px = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', compress: {}, cache: { zone: 'compress-review-metrics' } }] }))
  const before = await scrape(px.adminPort)
  const at = (text: string, name: string, op: string): number => sample(text, name, { op }) ?? 0
  await fetchCoded(px.port, '/j', ['Accept-Encoding: gzip'])
  await fetchCoded(px.port, '/j', ['Accept-Encoding: gzip'])
  await fetchCoded(px.port, '/j', ['Accept-Encoding: gzip'])
  await fetchCoded(px.port, '/gz', ['Accept-Encoding: identity'])
  await fetchCoded(px.port, '/bad', ['Accept-Encoding: identity'])
  const after = await scrape(px.adminPort)
  const d = (name: string, op: string): number => at(after, name, op) - at(before, name, op)
  // A miss coded on the stream, the first hit coded and kept, the second hit served from the copy.
  assert.is(d('rawproxy_compress_responses_total', 'gzip'), 2)
  assert.is(d('rawproxy_compress_responses_total', 'copy'), 1)
  assert.is(d('rawproxy_compress_input_bytes_total', 'gzip'), 2 * BODY.length)
  assert.ok(d('rawproxy_compress_output_bytes_total', 'gzip') > 0 && d('rawproxy_compress_output_bytes_total', 'gzip') < BODY.length)
  assert.is(d('rawproxy_compress_responses_total', 'gunzip'), 2)
  assert.is(d('rawproxy_compress_output_bytes_total', 'gunzip'), BODY.length)
  assert.is(d('rawproxy_compress_failures_total', 'gunzip'), 1)
})

t.run()
