// Compression on the stream (issue 12): output reaches the client as the peer sends it (server-sent
// events), a peer's gzip is decoded for a client that refuses it, a broken one cuts the client with a
// logged cause, and a client that stops reading holds the peer back instead of filling memory.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { gzipSync } from 'node:zlib'
import { randomBytes } from 'node:crypto'
import type { Socket } from 'node:net'
import { accessRecords, accessRecordsNow, guard, httpUpstream, rawUpstream, startProxy, tempFile, waitFor, sleep, RawClient } from '../support/harness.js'
import { decode, dechunk, fetchCoded, json } from '../support/coded.js'

const t = suite('filters: compress on the stream')
const track = guard(t)

const route = (port: number, extra: Record<string, unknown> = {}) => startProxy({ upstreams: { u: { peers: [`127.0.0.1:${port}`] } }, routes: [{ upstream: 'u', compress: {} }], ...extra })

t('server-sent events: each event reaches the client, decodable, before the peer sends the next', async () => {
  let res: import('node:http').ServerResponse | null = null
  const up = track(await httpUpstream((_req, r) => {
    r.writeHead(200, { 'Content-Type': 'text/event-stream', 'Cache-Control': 'no-cache' })
    r.write('data: first\n\n')
    res = r
  }))
  const px = track(await route(up.port))
  for (const coding of ['gzip', 'br']) {
    const c = track(await RawClient.open(px.port))
    c.send(`GET /events HTTP/1.1\r\nHost: spec\r\nAccept-Encoding: ${coding}\r\n\r\n`)
    const body = (): Buffer => dechunk(c.data.subarray(c.data.indexOf('\r\n\r\n') + 4)).body
    const text = (): string => { try { return decode(body(), coding, true).toString() } catch { return '' } }
    await waitFor(() => text() === 'data: first\n\n', 2000, `the first ${coding} event`)
    assert.match(c.text, new RegExp(`Content-Encoding: ${coding}`))
    res!.write('data: second\n\n')
    await waitFor(() => text() === 'data: first\n\ndata: second\n\n', 2000, 'the second event')
    res!.end()
    await c.until((s) => s.endsWith('\r\n0\r\n\r\n'))
    assert.is(decode(body(), coding).toString(), 'data: first\n\ndata: second\n\n')
    c.destroy()
  }
})

t('a peer\'s gzip is decoded for a client that refuses gzip, passed as it is to one that takes it, kept under no-transform', async () => {
  const plain = json(30_000)
  const coded = gzipSync(plain)
  const up = track(await httpUpstream((req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ETag: '"g1"', 'Content-Length': String(coded.length), ...(req.url === '/nt' ? { 'Cache-Control': 'no-transform' } : {}) })
    res.end(coded)
  }))
  const px = track(await route(up.port))
  for (const ae of ['Accept-Encoding: br', 'Accept-Encoding: identity', 'Accept-Encoding: gzip;q=0, br']) {
    const r = await fetchCoded(px.port, '/d', [ae])
    assert.is(r.h['content-encoding'], undefined, ae)
    assert.is(r.h.etag, 'W/"g1"')
    assert.is(r.h.vary, 'Accept-Encoding')
    assert.ok(r.complete)
    assert.ok(r.body.equals(plain), ae)
  }
  const http10 = await fetchCoded(px.port, '/d', ['Accept-Encoding: identity'], { minor: 0 })
  assert.ok(http10.closed && http10.body.equals(plain))
  for (const f of [['Accept-Encoding: gzip, br'], ['Accept-Encoding: *'], []]) {
    const r = await fetchCoded(px.port, '/d', f)
    assert.is(r.h['content-encoding'], 'gzip')
    assert.ok(r.body.equals(coded))
  }
  const nt = await fetchCoded(px.port, '/nt', ['Accept-Encoding: br'])
  assert.is(nt.h['content-encoding'], 'gzip')
  assert.ok(nt.body.equals(coded))
  const px2 = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', compress: { decode: false } }] }))
  assert.ok((await fetchCoded(px2.port, '/d', ['Accept-Encoding: br'])).body.equals(coded))
})

t('bad input: a broken gzip from the peer cuts the client that needed it decoded, with the cause logged; nothing crashes', async () => {
  const good = gzipSync(json(50_000))
  const broken = Buffer.concat([good.subarray(0, 2000), randomBytes(3000)])
  const truncated = good.subarray(0, good.length - 100)
  const up = track(await httpUpstream((req, res) => {
    // One of known length (coded whole: compress/coder.ts WholeCoder), one chunked (on the stream: Coder).
    const b = req.url === '/broken' ? broken : truncated
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Encoding': 'gzip', ...(req.url === '/broken' ? { 'Content-Length': String(b.length) } : {}) })
    res.end(b)
  }))
  const log = tempFile('access.log')
  const px = track(await route(up.port, { access_log: { path: log, format: 'json' } }))
  const events: Record<string, unknown>[] = []
  px.server.events.log = (_level, event, more = {}) => { if (event === 'compress') events.push(more) }
  for (const p of ['/broken', '/truncated']) {
    const r = await fetchCoded(px.port, p, ['Accept-Encoding: identity'])
    assert.is(r.status, 200)
    assert.ok(r.closed, p)
    assert.not.ok(r.complete, `${p}: the last chunk must not come`)
  }
  await waitFor(() => accessRecordsNow(px, log).length === 2)
  for (const rec of (await accessRecords(px, log))) assert.is(rec.cause, 'UP')
  assert.is(events.length, 2)
  assert.match(String(events[0].error), /^the peer's gzip content is broken: /)
  assert.match(String(events[1].error), /unexpected end of file/)
  // The proxy still serves.
  assert.is((await fetchCoded(px.port, '/broken', ['Accept-Encoding: gzip'])).status, 200)
})

t('a client that stops reading holds the peer back: the peer\'s writes stall far short of the body, memory stays flat', async () => {
  // 64 MiB of hex (compresses about 2:1, so zlib has real work), written as fast as the proxy takes it.
  const total = 64 * 1024 * 1024
  let sent = 0
  const piece = Buffer.from(randomBytes(32 * 1024).toString('hex'))
  const up = track(await rawUpstream((s: Socket) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${total}\r\n\r\n`)
    const pump = (): void => {
      while (sent < total) {
        const b = piece.subarray(0, Math.min(piece.length, total - sent))
        sent += b.length
        if (!s.write(b)) { s.once('drain', pump); return }
      }
    }
    pump()
  }))
  const px = track(await route(up.port))
  const c = track(await RawClient.open(px.port))
  c.socket.pause()
  const heap = process.memoryUsage().rss
  c.send('GET /big HTTP/1.1\r\nHost: spec\r\nAccept-Encoding: gzip\r\n\r\n')
  // Wait until the peer is stalled: no progress for 300 ms.
  let last = -1
  for (let i = 0; i < 40 && sent !== last; i++) { last = sent; await sleep(300) }
  assert.is(sent, last, 'the peer never stalled')
  // Socket buffers on both hops hold some MiB; zlib and our queues add no more than their bounds.
  assert.ok(sent < 24 * 1024 * 1024, `the peer wrote ${sent} bytes into a client that reads nothing`)
  assert.ok(process.memoryUsage().rss - heap < 48 * 1024 * 1024, 'memory grew')
  // Reading again, the client gets the whole body.
  let got = 0
  c.socket.removeAllListeners('data')
  let rest = Buffer.alloc(0)
  const z = (await import('node:zlib')).createGunzip()
  z.on('data', (d: Buffer) => { got += d.length })
  let headSeen = false
  c.socket.on('data', (d: Buffer) => {
    rest = Buffer.concat([rest, d])
    if (!headSeen) { const e = rest.indexOf('\r\n\r\n'); if (e < 0) return; headSeen = true; rest = rest.subarray(e + 4) }
    for (;;) {
      const eol = rest.indexOf('\r\n')
      if (eol < 0) return
      const size = parseInt(rest.subarray(0, eol).toString('latin1'), 16)
      if (size === 0) { z.end(); return }
      if (rest.length < eol + 2 + size + 2) return
      z.write(rest.subarray(eol + 2, eol + 2 + size))
      rest = rest.subarray(eol + 2 + size + 2)
    }
  })
  c.socket.resume()
  await waitFor(() => got === total, 20_000, `the whole body (got ${got})`)
})

t('a peer\'s gzip bomb of known length is decoded on the stream: a client that reads nothing holds the proxy to its bounds, not to the whole content', async () => {
  // 64 MiB of zeros is ~64 KiB of gzip, under the size coded whole (coder.ts WHOLE_MAX): decoding it
  // in one piece would hold the 64 MiB at once.
  const bomb = gzipSync(Buffer.alloc(64 * 1024 * 1024))
  const up = track(await rawUpstream((s: Socket) => {
    s.end(Buffer.concat([Buffer.from(`HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Encoding: gzip\r\nContent-Length: ${bomb.length}\r\n\r\n`), bomb]))
  }))
  const px = track(await route(up.port))
  const c = track(await RawClient.open(px.port))
  c.socket.pause()
  const before = process.memoryUsage().arrayBuffers
  c.send('GET /bomb HTTP/1.1\r\nHost: spec\r\nAccept-Encoding: identity\r\n\r\n')
  let peak = 0
  for (let i = 0; i < 10; i++) { await sleep(100); peak = Math.max(peak, process.memoryUsage().arrayBuffers - before) }
  assert.ok(peak < 24 * 1024 * 1024, `the proxy held ${peak} bytes for a client that reads nothing`)
  c.destroy()
})

t('coded whole on reused zlib contexts: many responses at once and after one another, each decodes to its own content', async () => {
  const bodies = Array.from({ length: 12 }, (_, i) => json(2_000 + i * 3_000))
  const up = track(await httpUpstream((req, res) => {
    const b = bodies[Number(req.url!.slice(1))]
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': String(b.length) })
    res.end(b)
  }))
  const px = track(await route(up.port))
  for (let round = 0; round < 3; round++) {
    const rs = await Promise.all(bodies.map((_, i) => fetchCoded(px.port, `/${i}`, ['Accept-Encoding: gzip'])))
    rs.forEach((r, i) => {
      assert.is(r.h['content-encoding'], 'gzip')
      assert.ok(decode(r.body, 'gzip').equals(bodies[i]), `response ${i}, round ${round}`)
    })
  }
})

t.run()
