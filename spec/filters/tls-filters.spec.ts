/**
 * The filters that read the TLS side of a connection: HSTS (moved from the listener into the chain),
 * and the `{tls_sni}` / `{tls_client_subject}` placeholders of header rules.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { guard, httpUpstream, raw, startProxy, HttpUpstream } from '../support/harness.js'
import { handshake, pair, pem, pki, request, tlsProxy } from '../support/tls.js'

const t = suite('filters: hsts and TLS placeholders')
const track = guard(t)
let up: HttpUpstream

t.before(async () => {
  up = await httpUpstream((req, res) => {
    if (req.url === '/own-hsts') res.setHeader('Strict-Transport-Security', 'max-age=5')
    res.end('ok')
  })
})
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

const GET = (path: string): string => `GET ${path} HTTP/1.1\r\nHost: a.test\r\n\r\n`

t('hsts: the listener\'s value replaces the peer\'s own, once; a plain listener of the same config never sends it', async () => {
  const px = track(await startProxy({
    listen: [{ address: '127.0.0.1:0', tls: { certificates: [pair('rsa')], hsts: 'max-age=600' } }, '127.0.0.2:0'],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
  }))
  const [tlsPort, plainPort] = px.server.addresses().map((a) => a.port)
  const h = await handshake(tlsPort, { servername: 'a.test' })
  const own = await request(h.socket!, GET('/own-hsts'), /\r\n\r\nok$/)
  assert.equal([...own.matchAll(/Strict-Transport-Security: ([^\r]*)/gi)].map((m) => m[1]), ['max-age=600'])
  h.socket!.end()
  const { connect } = await import('node:net')
  const plain = await new Promise<string>((resolve) => {
    const s = connect({ port: plainPort, host: '127.0.0.2' })
    let got = ''
    s.on('data', (d) => { got += d.toString('latin1') })
    s.on('close', () => resolve(got))
    s.write('GET /own-hsts HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n')
  })
  // The peer's own value passes as it came (RFC 6797 §7.2 says a browser ignores it over HTTP).
  assert.equal([...plain.matchAll(/Strict-Transport-Security: ([^\r]*)/gi)].map((m) => m[1]), ['max-age=5'])
  const rt = px.server.rt
  assert.ok(rt.router.match('a.test', '/')!.filters.some((f) => f.name === 'hsts'))
})

t('hsts with a route\'s own Strict-Transport-Security rule: one field, the route\'s; a malformed request still gets HSTS', async () => {
  const px = track(await tlsProxy({ certificates: [pair('rsa')], hsts: 'max-age=600' }, {
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ path: '/strict', upstream: 'u', headers: { response: { set: { 'Strict-Transport-Security': 'max-age=63072000; preload' } } } }, { upstream: 'u' }],
  }))
  const h = await handshake(px.port, { servername: 'a.test' })
  const own = await request(h.socket!, GET('/strict'), /\r\n\r\nok$/)
  assert.equal([...own.matchAll(/Strict-Transport-Security: ([^\r]*)/gi)].map((m) => m[1]), ['max-age=63072000; preload'])
  const other = await request(h.socket!, GET('/x'), /\r\n\r\nok$/)
  assert.equal([...other.matchAll(/Strict-Transport-Security: ([^\r]*)/gi)].map((m) => m[1]), ['max-age=600'])
  h.socket!.end()
  const h2 = await handshake(px.port, { servername: 'a.test' })
  const bad = await request(h2.socket!, 'GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n', /400 Bad Request\n$/)
  assert.match(bad, /\r\nStrict-Transport-Security: max-age=600\r\n/)
  h2.socket!.end()
})

t('no listener with hsts: no hsts filter in any chain', async () => {
  const px = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  assert.equal(px.server.rt.router.match('a', '/')!.filters, [])
  assert.match((await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text, /^HTTP\/1\.1 200 /)
})

t('{tls_sni} and {tls_client_subject} fill header rules on a TLS listener; empty on a plain one', async () => {
  const headers = { request: { set: { 'X-SNI': 'sni={tls_sni}', 'X-Client-Cert': 'subject={tls_client_subject}' } } }
  const px = track(await tlsProxy({ certificates: [pair('rsa')], client_ca: pki('ca.pem'), client_auth: 'optional' },
    { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', headers }] }))
  const h = await handshake(px.port, { servername: 'a.test', cert: pem('client.pem'), key: pem('client.key') })
  await request(h.socket!, GET('/x'), /\r\n\r\nok$/)
  h.socket!.end()
  assert.is(up.requests[0].headers['x-sni'], 'sni=a.test')
  assert.is(up.requests[0].headers['x-client-cert'], 'subject=O=rawproxy tests, CN=client-1')
  const plain = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', headers }] }))
  await raw(plain.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.is(up.requests[1].headers['x-sni'], 'sni=')
  assert.is(up.requests[1].headers['x-client-cert'], 'subject=')
})

t.run()
