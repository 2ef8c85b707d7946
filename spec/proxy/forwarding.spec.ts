import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request, Agent, Client } from 'undici'
import { httpUpstream, proxyTo, raw, rawUpstream, statuses, HttpUpstream, ProxyHandle } from '../support/harness.js'

const t = suite('forwarding')
let up: HttpUpstream
let px: ProxyHandle

t.before(async () => {
  up = await httpUpstream((req, res, body) => {
    if (req.url === '/echo') { res.setHeader('x-len', String(body.length)); res.end(body) }
    else if (req.url === '/204') { res.statusCode = 204; res.end() }
    else if (req.url === '/304') { res.statusCode = 304; res.end() }
    else if (req.url === '/slow') setTimeout(() => res.end('slow done'), 150)
    else if (req.url === '/chunked') { res.write('a'.repeat(10)); res.end('b'.repeat(5)) }
    else res.end(`hello ${req.method} ${req.url}`)
  })
  px = await proxyTo([up.port])
})
t.after(async () => { await px.close(); await up.close() })
t.before.each(() => { up.requests.length = 0 })

t('GET through undici, keep-alive to the peer reuses one socket', async () => {
  const agent = new Agent({ connections: 1 })
  const before = up.connections
  for (let i = 0; i < 5; i++) {
    const r = await request(`${px.url}/x${i}`, { dispatcher: agent })
    assert.is(r.statusCode, 200)
    assert.is(await r.body.text(), `hello GET /x${i}`)
  }
  assert.is(up.connections - before, 1, 'one pooled upstream socket for five requests')
  await agent.close()
})

t('POST with Content-Length and chunked bodies stream to the peer', async () => {
  const r1 = await request(`${px.url}/echo`, { method: 'POST', body: 'x'.repeat(100_000) })
  assert.is(r1.headers['x-len'], '100000')
  assert.is((await r1.body.text()).length, 100_000)
  const chunked = await raw(px.port, 'POST /echo HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n')
  assert.match(chunked.text, /^HTTP\/1\.1 200 OK\r\n/)
  assert.match(chunked.text, /x-len: 11/)
  assert.equal(up.requests.at(-1)!.body.toString(), 'hello world')
})

t('undici pipelining 10 deep: 200 requests, each gets its own response', async () => {
  const client = new Client(px.url, { pipelining: 10 })
  const bodies = await Promise.all(Array.from({ length: 200 }, async (_, i) => {
    const r = await client.request({ path: `/u${i}`, method: 'GET' })
    return r.body.text()
  }))
  assert.equal(bodies, Array.from({ length: 200 }, (_, i) => `hello GET /u${i}`))
  await client.close()
})

t('pipelined requests are answered in order', async () => {
  const reqs = ['/p1', '/p2', '/p3'].map((p) => `GET ${p} HTTP/1.1\r\nHost: a\r\n\r\n`).join('')
  const r = await raw(px.port, reqs + 'GET /p4 HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200, 200, 200, 200])
  const bodies = [...r.text.matchAll(/hello GET (\/p\d)/g)].map((m) => m[1])
  assert.equal(bodies, ['/p1', '/p2', '/p3', '/p4'])
  assert.ok(r.closed)
})

t('many pipelined requests behind a slow one: held, then answered in order', async () => {
  const pad = 'p'.repeat(2000)
  const more = Array.from({ length: 60 }, (_, i) => `GET /q${i} HTTP/1.1\r\nHost: a\r\nX-Pad: ${pad}\r\n\r\n`).join('')
  const r = await raw(px.port, ['GET /slow HTTP/1.1\r\nHost: a\r\n\r\n', more + 'GET /end HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n'], { ms: 5000 })
  assert.is(statuses(r.text).length, 62)
  assert.match(r.text, /slow done/)
  const order = [...r.text.matchAll(/hello GET (\/(?:q\d+|end))/g)].map((m) => m[1])
  assert.equal(order, [...Array.from({ length: 60 }, (_, i) => `/q${i}`), '/end'])
  assert.ok(r.closed)
})

t('HTTP/1.0 without keep-alive is closed after the response; with keep-alive it stays', async () => {
  const a = await raw(px.port, 'GET /ten HTTP/1.0\r\n\r\n')
  assert.match(a.text, /^HTTP\/1\.1 200/)
  assert.match(a.text, /Connection: close/i)
  assert.ok(a.closed)
  assert.is(up.requests[0].headers.host, `127.0.0.1:${up.port}`, 'a Host is supplied for the HTTP/1.1 hop')
  const b = await raw(px.port, 'GET /ka HTTP/1.0\r\nConnection: keep-alive\r\n\r\n', { until: (s) => s.includes('hello GET /ka') })
  assert.match(b.text, /Connection: keep-alive/i)
  assert.not.ok(b.closed)
})

t('HEAD, 204 and 304 carry no body and the connection goes on', async () => {
  const r = await raw(px.port, 'HEAD /h HTTP/1.1\r\nHost: a\r\n\r\nGET /204 HTTP/1.1\r\nHost: a\r\n\r\nGET /304 HTTP/1.1\r\nHost: a\r\n\r\nGET /last HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200, 204, 304, 200])
  assert.match(r.text, /hello GET \/last$/)
  assert.not.match(r.text, /hello HEAD/)
})

t('chunked responses pass through; HTTP/1.0 clients get them de-chunked', async () => {
  const a = await raw(px.port, 'GET /chunked HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.match(a.text, /Transfer-Encoding: chunked/i)
  assert.match(a.text, /\r\n\r\na\r\naaaaaaaaaa\r\n5\r\nbbbbb\r\n0\r\n\r\n$/)
  const b = await raw(px.port, 'GET /chunked HTTP/1.0\r\n\r\n')
  assert.not.match(b.text, /Transfer-Encoding/i)
  assert.match(b.text, /\r\n\r\naaaaaaaaaabbbbb$/)
  assert.ok(b.closed)
})

t('a response read until close is re-chunked for a keep-alive HTTP/1.1 client', async () => {
  const peer = await rawUpstream((s) => { s.end('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\nuntil-close body') })
  const p2 = await proxyTo([peer.port])
  const r = await raw(p2.port, 'GET / HTTP/1.1\r\nHost: a\r\n\r\n', { until: (s) => s.endsWith('0\r\n\r\n') })
  assert.match(r.text, /Transfer-Encoding: chunked/i)
  assert.match(r.text, /\r\n\r\n10\r\nuntil-close body\r\n0\r\n\r\n$/)
  assert.not.ok(r.closed, 'the client connection stays open')
  const r10 = await raw(p2.port, 'GET / HTTP/1.0\r\n\r\n')
  assert.match(r10.text, /\r\n\r\nuntil-close body$/)
  assert.ok(r10.closed)
  await p2.close(); await peer.close()
})

t('Connection: close from the client is honoured, and not forwarded', async () => {
  const r = await raw(px.port, 'GET /c HTTP/1.1\r\nHost: a\r\nConnection: close, X-Secret\r\nX-Secret: 1\r\nKeep-Alive: timeout=5\r\nTE: trailers\r\nProxy-Connection: keep-alive\r\n\r\n')
  assert.ok(r.closed)
  const h = up.requests[0].headers
  assert.is(h['connection'], undefined)
  assert.is(h['x-secret'], undefined, 'a field named by Connection is hop-by-hop')
  assert.is(h['keep-alive'], undefined)
  assert.is(h['te'], undefined)
  assert.is(h['proxy-connection'], undefined)
})

t('Connection: close from the peer closes only the peer socket', async () => {
  const peer = await rawUpstream((s) => { s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok') })
  const p2 = await proxyTo([peer.port])
  const r = await raw(p2.port, 'GET /1 HTTP/1.1\r\nHost: a\r\n\r\nGET /2 HTTP/1.1\r\nHost: a\r\n\r\n', { until: (s) => statuses(s).length === 2 && s.endsWith('ok') })
  assert.equal(statuses(r.text), [200, 200])
  assert.not.match(r.text, /Connection: close/i, 'the client connection is ours to keep')
  assert.is(peer.received.length, 2, 'a new peer socket for the second request')
  await p2.close(); await peer.close()
})

t('header case and order are kept; hop-by-hop removed; forwarding headers added', async () => {
  await raw(px.port, 'GET /o HTTP/1.1\r\nHost: example.test\r\nX-First: 1\r\nx-MiXeD: 2\r\nX-Last: 3\r\nConnection: close\r\n\r\n')
  const rh = up.requests[0].rawHeaders
  assert.equal(rh.slice(0, 8), ['Host', 'example.test', 'X-First', '1', 'x-MiXeD', '2', 'X-Last', '3'])
  const h = up.requests[0].headers
  assert.is(h['x-forwarded-for'], '127.0.0.1')
  assert.is(h['x-forwarded-proto'], 'http')
  assert.is(h['x-forwarded-host'], 'example.test')
  assert.is(h['forwarded'], 'for=127.0.0.1;host=example.test;proto=http')
  assert.is(h['via'], '1.1 rawproxy')
})

t('an empty Host (RFC 9112 §3.2 allows it) still gets the forwarding fields, first request or not', async () => {
  // Found by the fuzz campaign: the per-connection cache of these lines took "" for a Host it had seen.
  const r = await raw(px.port, 'GET /e1 HTTP/1.1\r\nHost: \r\n\r\nGET /e2 HTTP/1.1\r\nHost: \r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200, 200])
  assert.is(up.requests.length, 2)
  for (const q of up.requests) {
    assert.is(q.headers['x-forwarded-for'], '127.0.0.1', JSON.stringify(q.rawHeaders))
    assert.is(q.headers['x-forwarded-proto'], 'http')
    assert.is(q.headers['x-forwarded-host'], '')
    assert.match(String(q.headers.forwarded), /^for=127\.0\.0\.1;host="";proto=http$/)
    assert.match(String(q.headers.via), /rawproxy/)
  }
})

t('forwarding headers from an untrusted client are replaced', async () => {
  await raw(px.port, 'GET /f HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 6.6.6.6\r\nX-Forwarded-Proto: https\r\nForwarded: for=6.6.6.6\r\nConnection: close\r\n\r\n')
  const h = up.requests[0].headers
  assert.is(h['x-forwarded-for'], '127.0.0.1')
  assert.is(h['x-forwarded-proto'], 'http')
  assert.is(h['forwarded'], 'for=127.0.0.1;host=a;proto=http')
})

t('forwarding headers from a trusted proxy are kept and extended', async () => {
  const p2 = await proxyTo([up.port], { trusted_proxies: ['127.0.0.0/8'] })
  await raw(p2.port, 'GET /f HTTP/1.1\r\nHost: a\r\nX-Forwarded-For: 203.0.113.7\r\nX-Forwarded-Proto: https\r\nX-Forwarded-Host: shop.test\r\nForwarded: for=203.0.113.7\r\nVia: 1.1 edge\r\nConnection: close\r\n\r\n')
  const h = up.requests[0].headers
  assert.is(h['x-forwarded-for'], '203.0.113.7, 127.0.0.1')
  assert.is(h['x-forwarded-proto'], 'https')
  assert.is(h['x-forwarded-host'], 'shop.test')
  assert.is(h['forwarded'], 'for=203.0.113.7, for=127.0.0.1;host=a;proto=http')
  assert.is(h['via'], '1.1 edge, 1.1 rawproxy')
  await p2.close()
})

t('absolute-form targets are forwarded in origin-form with the Host of the target', async () => {
  const r = await raw(px.port, 'GET http://Other.Example:81/abs?q=1 HTTP/1.1\r\nHost: ignored\r\nConnection: close\r\n\r\n')
  assert.match(r.text, /hello GET \/abs\?q=1/)
  assert.is(up.requests[0].headers.host, 'Other.Example:81')
})

t('missing or duplicate Host on HTTP/1.1 is 400 and never forwarded', async () => {
  const a = await raw(px.port, 'GET / HTTP/1.1\r\n\r\n')
  assert.match(a.text, /^HTTP\/1\.1 400 /)
  assert.ok(a.closed)
  const b = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n')
  assert.match(b.text, /^HTTP\/1\.1 400 /)
  assert.is(up.requests.length, 0)
})

t('Expect: 100-continue gets the peer\'s interim response', async () => {
  const r = await raw(px.port, ['POST /echo HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'], {
    until: (s) => s.includes('100 Continue'),
  })
  assert.match(r.text, /^HTTP\/1\.1 100 Continue\r\n\r\n/)
})

t('Expect: 100-continue to an HTTP/1.0 peer is answered by the proxy', async () => {
  let seen = ''
  const peer = await rawUpstream((s, _d, all) => {
    seen = all.toString('latin1')
    if (seen.endsWith('\r\n\r\n') && !seen.includes('body')) {
      if (!seen.includes('Expect')) s.write('') // waiting for the body
    }
    if (seen.endsWith('body')) s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
    if (seen.startsWith('GET')) s.end('HTTP/1.0 200 OK\r\nContent-Length: 2\r\n\r\nok')
  })
  const p2 = await proxyTo([peer.port])
  await raw(p2.port, 'GET /learn HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n') // learn the version
  const r = await raw(p2.port, ['POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n'], {
    until: (s) => s.includes('100 Continue'),
  })
  assert.match(r.text, /^HTTP\/1\.1 100 Continue/)
  const full = await raw(p2.port, 'POST /up HTTP/1.1\r\nHost: a\r\nContent-Length: 4\r\nExpect: 100-continue\r\nConnection: close\r\n\r\nbody')
  assert.equal(statuses(full.text), [100, 200])
  assert.not.match(seen, /Expect/i, 'Expect is not sent to an HTTP/1.0 peer')
  await p2.close(); await peer.close()
})

t('requests matching no route get 404', async () => {
  const p2 = await proxyTo([up.port], { routes: [{ host: 'only.test', upstream: 'u' }] })
  const r = await raw(p2.port, 'GET / HTTP/1.1\r\nHost: other.test\r\n\r\nGET / HTTP/1.1\r\nHost: only.test\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [404, 200])
  await p2.close()
})

t.run()
