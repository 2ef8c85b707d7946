// Compression behind the cache (issue 12, docs/compression.md): the cache stores the peer's identity
// content, compression applies on the way out to misses and hits alike, and a hit is not compressed
// on every request: the first hit that needs a coding keeps its output as a copy, and later hits are
// served from it with a Content-Length and no zlib at all (counted here by zlib streams made).
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import { guard, httpUpstream, startProxy, sleep, RawClient } from '../support/harness.js'
import { decode, fetchCoded, json } from '../support/coded.js'
import { streamsMade } from '../../src/filters/compress/coder.js'

const t = suite('filters: compress behind the cache')
const track = guard(t)
const BODY = json(40_000)
const GZ = gzipSync(BODY)

async function setup(compress: Record<string, unknown> = {}) {
  const up = track(await httpUpstream((req, res) => {
    const gz = req.url!.startsWith('/gz')
    const b = gz ? GZ : BODY
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=600', ETag: '"e1"', 'Content-Length': String(b.length), ...(gz ? { 'Content-Encoding': 'gzip' } : {}) })
    res.end(b)
  }))
  const zone = `compress-${Math.random()}`
  const px = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', cache: { zone }, compress }] }))
  return { up, px }
}

t('a miss is compressed, the cache keeps identity; the first hit compresses, later hits are served from the copy', async () => {
  const { up, px } = await setup()
  const before = streamsMade()
  const miss = await fetchCoded(px.port, '/a', ['Accept-Encoding: gzip'])
  assert.is(miss.h['content-encoding'], 'gzip')
  assert.match(miss.h['cache-status'], /fwd=uri-miss.*stored/)
  assert.ok(decode(miss.body, 'gzip').equals(BODY))
  assert.is(streamsMade() - before, 1)
  // What the cache stored is the peer's identity content: a client asking no coding gets it from there.
  const identity = await fetchCoded(px.port, '/a')
  assert.match(identity.h['cache-status'], /hit/)
  assert.is(identity.h['content-encoding'], undefined)
  assert.is(identity.h['content-length'], String(BODY.length))
  assert.is(identity.h.etag, '"e1"')
  assert.ok(identity.body.equals(BODY))
  assert.is(streamsMade() - before, 1)
  for (const coding of ['gzip', 'br']) {
    const first = await fetchCoded(px.port, '/a', [`Accept-Encoding: ${coding}`])
    assert.match(first.h['cache-status'], /hit/)
    assert.is(first.h['content-encoding'], coding)
    assert.is(first.h['transfer-encoding'], 'chunked')
    assert.ok(decode(first.body, coding).equals(BODY))
    const made = streamsMade()
    for (let i = 0; i < 3; i++) {
      const again = await fetchCoded(px.port, '/a', [`Accept-Encoding: ${coding}`])
      assert.match(again.h['cache-status'], /hit/)
      assert.is(again.h['content-encoding'], coding)
      assert.is(again.h['content-length'], String(again.body.length))
      assert.is(again.h.etag, 'W/"e1"')
      assert.is(again.h.vary, 'Accept-Encoding')
      assert.ok(again.body.equals(first.body))
      assert.ok(decode(again.body, coding).equals(BODY))
    }
    assert.is(streamsMade(), made, `${coding}: later hits ran zlib`)
  }
  // An HTTP/1.0 client takes the copy as it is (its length is known).
  const old = await fetchCoded(px.port, '/a', ['Accept-Encoding: gzip'], { minor: 0 })
  assert.ok(decode(old.body, 'gzip').equals(BODY))
  assert.is(up.requests.length, 1)
})

t('a peer\'s gzip is stored as sent, and decoded once for clients that refuse it', async () => {
  const { up, px } = await setup()
  await fetchCoded(px.port, '/gz', ['Accept-Encoding: gzip'])
  const before = streamsMade()
  for (let i = 0; i < 3; i++) {
    const r = await fetchCoded(px.port, '/gz', ['Accept-Encoding: br'])
    assert.match(r.h['cache-status'], /hit/)
    assert.is(r.h['content-encoding'], undefined)
    assert.ok(r.body.equals(BODY))
  }
  assert.is(streamsMade() - before, 1)
  const asIs = await fetchCoded(px.port, '/gz', ['Accept-Encoding: gzip'])
  assert.ok(asIs.body.equals(GZ))
  assert.is(up.requests.length, 1)
})

t('copies are bounded: past copies_max_size every hit streams through zlib; a range of a hit is never coded', async () => {
  const { px } = await setup({ copies_max_size: 4096 })
  await fetchCoded(px.port, '/b', ['Accept-Encoding: gzip'])
  const before = streamsMade()
  for (let i = 0; i < 3; i++) assert.ok(decode((await fetchCoded(px.port, '/b', ['Accept-Encoding: gzip'])).body, 'gzip').equals(BODY))
  assert.is(streamsMade() - before, 3)
  const part = await fetchCoded(px.port, '/b', ['Accept-Encoding: gzip', 'Range: bytes=0-99'])
  assert.is(part.status, 206)
  assert.is(part.h['content-encoding'], undefined)
  assert.ok(part.body.equals(BODY.subarray(0, 100)))
})

t('a client that leaves mid-response while another reads the entry as it fills: the other gets it whole, coded', async () => {
  const up = track(await httpUpstream((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'max-age=600', 'Content-Length': String(BODY.length) })
    let i = 0
    const step = BODY.length / 8
    const next = (): void => {
      if (i === 8) { res.end(); return }
      res.write(BODY.subarray(i * step, ++i * step))
      setTimeout(next, 40)
    }
    next()
  }))
  const px = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', cache: { zone: `compress-leave-${Math.random()}` }, compress: {} }] }))
  const a = track(await RawClient.open(px.port))
  a.send('GET /fill HTTP/1.1\r\nHost: spec\r\nAccept-Encoding: gzip\r\n\r\n')
  await a.until('\r\n\r\n')
  const b = fetchCoded(px.port, '/fill', ['Accept-Encoding: br'])
  await sleep(80)
  a.destroy()
  const got = await b
  assert.is(got.h['content-encoding'], 'br')
  assert.ok(got.complete)
  assert.ok(decode(got.body, 'br').equals(BODY))
  const hit = await fetchCoded(px.port, '/fill', ['Accept-Encoding: gzip'])
  assert.match(hit.h['cache-status'], /hit/)
  assert.ok(decode(hit.body, 'gzip').equals(BODY))
  assert.is(up.requests.length, 1)
})

t.run()
