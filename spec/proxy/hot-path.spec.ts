/**
 * Edge cases of the hot-path shortcuts (issue 5): the per-connection Host cache, the one-pass field
 * scan on heads split across reads, and response bytes read into a reused buffer while the client is
 * slow to take them.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { connect, type Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { guard, httpUpstream, proxyTo, raw, rawUpstream, RawClient, sleep, statuses, waitFor } from '../support/harness.js'

setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

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

/** `n` bytes that differ from read to read (a counter in every 4 bytes), so a slice read over shows. */
function pattern(n: number, seed: number): Buffer {
  const b = Buffer.alloc(n)
  for (let i = 0; i + 4 <= n; i += 4) b.writeUInt32BE((seed * 7919 + i) >>> 0, i)
  return b
}

const sha = (b: Buffer): string => createHash('sha256').update(b).digest('hex')

/**
 * A client that reads slowly: it pauses after every read, so the proxy's writes to it queue. Resolves
 * with everything received once `done` holds (asked only once `atLeast` bytes are in).
 */
function slowGet(port: number, request: string, atLeast: number, done: (all: Buffer) => boolean): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s: Socket = connect(port, '127.0.0.1', () => s.write(request))
    const parts: Buffer[] = []
    let size = 0
    s.on('error', reject)
    s.on('data', (d: Buffer) => {
      parts.push(d)
      size += d.length
      const all = size >= atLeast ? Buffer.concat(parts, size) : null
      if (all !== null && done(all)) { s.destroy(); resolve(all); return }
      s.pause()
      setTimeout(() => s.resume(), 2)
    })
  })
}

// Upstream sockets are read into a buffer of their own, read into again when nothing holds the last
// chunk (upstream-conn.ts). A write of a slice of it the client has not taken whole holds it.
t('a slow client gets a large response whole and in order while the peer sends it in many pieces', async () => {
  const body = pattern(16 << 20, 1)
  const up = track(await rawUpstream((sock) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n`)
    for (let i = 0; i < body.length; i += 1000) sock.write(body.subarray(i, i + 1000))
  }))
  const px = track(await proxyTo([up.port]))
  const all = await slowGet(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', body.length, (b) => b.length >= body.length && b.indexOf('\r\n\r\n') > 0 && b.length - b.indexOf('\r\n\r\n') - 4 >= body.length)
  const got = all.subarray(all.indexOf('\r\n\r\n') + 4)
  assert.is(got.length, body.length)
  assert.is(sha(got), sha(body))
})

t('a slow HTTP/1.0 client gets a chunked response de-chunked, whole and in order', async () => {
  const body = pattern(12 << 20, 2)
  const up = track(await rawUpstream((sock) => {
    sock.write('HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n')
    for (let i = 0; i < body.length; i += 3000) {
      const piece = body.subarray(i, i + 3000)
      sock.write(`${piece.length.toString(16)}\r\n`)
      sock.write(piece)
      sock.write('\r\n')
    }
    sock.end('0\r\n\r\n')
  }))
  const px = track(await proxyTo([up.port]))
  const all = await slowGet(px.port, 'GET / HTTP/1.0\r\nHost: x\r\n\r\n', body.length, (b) => b.indexOf('\r\n\r\n') > 0 && b.length - b.indexOf('\r\n\r\n') - 4 >= body.length)
  const got = all.subarray(all.indexOf('\r\n\r\n') + 4)
  assert.is(sha(got), sha(body))
})

t('many small responses on pooled sockets, to clients that read slowly, each get their own bytes', async () => {
  let n = 0
  const up = track(await rawUpstream((sock, data) => {
    // One response per request head, its body the request's path (the peer keeps the socket).
    for (const m of data.toString('latin1').matchAll(/GET \/(\d+) /g)) {
      const b = Buffer.concat([Buffer.from(`${m[1]}:`), pattern(20000, Number(m[1]))])
      sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${b.length}\r\n\r\n`)
      sock.write(b)
      n++
    }
  }))
  const px = track(await proxyTo([up.port]))
  const results = await Promise.all(Array.from({ length: 24 }, (_, i) =>
    slowGet(px.port, `GET /${i} HTTP/1.1\r\nHost: x\r\n\r\n`, 20000, (b) => b.indexOf('\r\n\r\n') > 0 && b.length - b.indexOf('\r\n\r\n') - 4 >= 20000 + `${i}:`.length)))
  results.forEach((all, i) => {
    const got = all.subarray(all.indexOf('\r\n\r\n') + 4)
    assert.is(sha(got), sha(Buffer.concat([Buffer.from(`${i}:`), pattern(20000, i)])), `response ${i}`)
  })
  assert.is(n, 24)
})

/**
 * ArrayBuffer bytes one client that never reads holds in the proxy while the peer streams `burst`
 * bytes, then `pieces` writes of `size` bytes (an event stream: mostly one read per piece).
 */
async function stalledHolds(burst: number, pieces: number, size: number): Promise<number> {
  let sent = false
  const up = track(await rawUpstream((sock) => {
    sock.write(`HTTP/1.1 200 OK\r\nContent-Length: ${burst + pieces * size}\r\n\r\n`)
    if (burst > 0) sock.write(Buffer.alloc(burst, 97))
    let i = 0
    const next = (): void => { if (i++ >= pieces) { sent = true; return } sock.write(Buffer.alloc(size, 98)); setImmediate(next) }
    next()
  }))
  const px = track(await proxyTo([up.port]))
  gc(); await sleep(20); gc()
  const before = process.memoryUsage().arrayBuffers
  const c = connect(px.port, '127.0.0.1', () => c.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'))
  c.on('error', () => {})
  c.pause()
  try {
    await waitFor(() => sent, 30000, 'the peer to send it all')
    await sleep(200)
    gc(); await sleep(20); gc()
    return process.memoryUsage().arrayBuffers - before
  } finally {
    c.destroy()
  }
}

// Found by review: each small chunk queued for a stalled client pinned a whole read buffer (16 or
// 64 KiB). Now the next read goes in the rest of the buffer after the kept chunk.
t('a client that stops reading a stream of small pieces holds about what is queued for it, not a read buffer per piece', async () => {
  // The proxy stops reading the peer once ~16 KiB are queued for the client (its write high-water mark).
  const afterBurst = await stalledHolds(200_000, 60_000, 20)
  assert.ok(afterBurst < 4 << 20, `held ${(afterBurst / 1048576).toFixed(1)} MiB of ArrayBuffers for one stalled client`)
  const small = await stalledHolds(0, 60_000, 100)
  assert.ok(small < 1 << 20, `held ${(small / 1048576).toFixed(1)} MiB of ArrayBuffers for one stalled client`)
})

t('an upgrade after a plain request to the same peer opens its own socket, and its tunnel carries both ways', async () => {
  const up = track(await rawUpstream((sock, data, all) => {
    const text = all.toString('latin1')
    if (text.includes('Upgrade: echo') && !(sock as unknown as { upgraded?: boolean }).upgraded) {
      ;(sock as unknown as { upgraded?: boolean }).upgraded = true
      sock.write('HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
      return
    }
    if ((sock as unknown as { upgraded?: boolean }).upgraded) { sock.write(data); return }
    sock.write('HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok')
  }))
  const px = track(await proxyTo([up.port]))
  const plain = await raw(px.port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { until: (s) => s.endsWith('ok') })
  assert.equal(statuses(plain.text), [200])
  const c = await RawClient.open(px.port)
  try {
    c.send('GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: echo\r\n\r\n')
    await c.until('\r\n\r\n')
    assert.ok(c.text.startsWith('HTTP/1.1 101'), c.text)
    c.clear()
    c.send('ping-1')
    await c.until('ping-1')
    c.send('ping-2')
    await c.until('ping-2')
  } finally {
    c.destroy()
  }
  assert.is(up.sockets.length, 2)
  await waitFor(() => up.sockets[1].destroyed || up.sockets[1].readableEnded, 2000, 'the tunnel to close')
  await sleep(1)
})

t.run()
