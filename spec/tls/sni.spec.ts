/**
 * The TLS listener seen by real clients: certificate choice by SNI (exact, wildcard, default, RSA and
 * ECDSA side by side), ALPN, protocol versions, session tickets and their rotation, handshake
 * failures, and a second, independent client (openssl s_client).
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { execFile } from 'node:child_process'
import { connect } from 'node:net'
import { guard, httpUpstream, proxyTo, raw, sleep, waitFor, HttpUpstream, ProxyHandle } from '../support/harness.js'
import { handshake, pair, pki, request, tlsProxy } from '../support/tls.js'

const t = suite('tls-sni')
const track = guard(t)
let up: HttpUpstream
let px: ProxyHandle

const CERTS = { certificates: [pair('default'), pair('rsa'), pair('ecdsa'), pair('wild')] }

t.before(async () => {
  up = await httpUpstream()
  px = await tlsProxy(CERTS, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } })
})
t.after(async () => { await px.close(); await up.close() })

/** The subject CN and key type of the certificate served for `servername` (undefined: no SNI). */
async function served(servername: string | undefined, extra = {}): Promise<{ cn: string; type: string }> {
  const h = await handshake(px.port, { servername, ...extra })
  assert.is(h.error, null, `handshake for ${servername}: ${h.error?.message}`)
  const cn = String(h.cert!.subject.CN)
  const type = h.cert!.asn1Curve !== undefined ? 'ec' : 'rsa'
  h.socket!.end()
  return { cn, type }
}

t('SNI: an exact name from the SAN list gets its certificate', async () => {
  assert.ok(['rsa', 'ecdsa'].includes((await served('a.test')).cn))
  assert.ok(['rsa', 'ecdsa'].includes((await served('www.a.test')).cn))
})

t('SNI: a wildcard serves one label below it, not the bare name nor two labels', async () => {
  assert.is((await served('x.b.test')).cn, 'wild')
  assert.is((await served('X.B.Test')).cn, 'wild', 'names compare without case')
  assert.is((await served('b.test', { checkServerIdentity: () => undefined })).cn, 'default')
  assert.is((await served('y.x.b.test', { checkServerIdentity: () => undefined })).cn, 'default')
})

t('the default name with RSA and ECDSA, another with RSA only: that name gets its own, ECDSA-capable client or not', async () => {
  // The layout of docs/config.md's HTTPS example: a.test by rsa and ecdsa, *.b.test by wild (RSA).
  const p2 = track(await tlsProxy({ certificates: [pair('rsa'), pair('ecdsa'), pair('wild')] }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const at = async (servername: string | undefined, extra = {}): Promise<string> => {
    const h = await handshake(p2.port, { servername, checkServerIdentity: () => undefined, ...extra })
    assert.is(h.error, null)
    const cn = String(h.cert!.subject.CN)
    h.socket!.end()
    return cn
  }
  assert.is(await at('x.b.test'), 'wild')
  assert.is(await at('x.b.test', { sigalgs: 'ecdsa_secp256r1_sha256:rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }), 'wild')
  assert.is(await at('a.test', { sigalgs: 'ecdsa_secp256r1_sha256' }), 'ecdsa')
  assert.is(await at('a.test', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }), 'rsa')
  // An unknown name gets the default name's certificates, each key type.
  assert.is(await at('nobody.test', { sigalgs: 'ecdsa_secp256r1_sha256' }), 'ecdsa')
  assert.is(await at('nobody.test', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' }), 'rsa')
  assert.is(await at(undefined), 'rsa', 'no SNI: the RSA one')
})

t('no SNI or an unknown name: the default (first) certificate', async () => {
  assert.is((await served(undefined, { checkServerIdentity: () => undefined })).cn, 'default')
  assert.is((await served('nobody.test', { checkServerIdentity: () => undefined })).cn, 'default')
})

t('RSA and ECDSA side by side: each client gets the one its signature algorithms allow', async () => {
  const ec = await served('a.test', { sigalgs: 'ecdsa_secp256r1_sha256' })
  assert.equal(ec, { cn: 'ecdsa', type: 'ec' })
  const rsa = await served('a.test', { sigalgs: 'rsa_pss_rsae_sha256:rsa_pkcs1_sha256' })
  assert.equal(rsa, { cn: 'rsa', type: 'rsa' })
  // TLS 1.2 picks by cipher suite too.
  assert.is((await served('a.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-ECDSA-AES128-GCM-SHA256' })).type, 'ec')
  assert.is((await served('a.test', { maxVersion: 'TLSv1.2', ciphers: 'ECDHE-RSA-AES128-GCM-SHA256' })).type, 'rsa')
})

t('ALPN: http/1.1 is chosen; a client offering only h2 is refused', async () => {
  const h = await handshake(px.port, { servername: 'a.test', ALPNProtocols: ['h2', 'http/1.1'] })
  assert.is(h.socket!.alpnProtocol, 'http/1.1')
  h.socket!.end()
  const before = px.server.handshakeFailures
  const h2 = await handshake(px.port, { servername: 'a.test', ALPNProtocols: ['h2'] })
  assert.ok(h2.error !== null, 'no handshake without a shared protocol')
  await waitFor(() => px.server.handshakeFailures > before, 2000, 'the failure counted')
})

t('TLS 1.2 is served, TLS 1.0 and 1.1 are refused and counted', async () => {
  const h = await handshake(px.port, { servername: 'a.test', maxVersion: 'TLSv1.2' })
  assert.is(h.socket!.getProtocol(), 'TLSv1.2')
  h.socket!.end()
  for (const v of ['TLSv1', 'TLSv1.1'] as const) {
    const before = px.server.handshakeFailures
    // SECLEVEL=0: so that this client does offer the old protocol (OpenSSL 3 would not by default).
    const old = await handshake(px.port, { servername: 'a.test', minVersion: v, maxVersion: v, ciphers: 'DEFAULT@SECLEVEL=0' })
    assert.ok(old.error !== null, `${v} refused`)
    await waitFor(() => px.server.handshakeFailures === before + 1, 2000, `the ${v} failure counted`)
  }
})

t('min_version TLSv1.3 refuses a TLS 1.2 client', async () => {
  const p13 = track(await tlsProxy({ ...CERTS, min_version: 'TLSv1.3' }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const h12 = await handshake(p13.port, { servername: 'a.test', maxVersion: 'TLSv1.2' })
  assert.ok(h12.error !== null)
  const h13 = await handshake(p13.port, { servername: 'a.test' })
  assert.is(h13.socket!.getProtocol(), 'TLSv1.3')
  h13.socket!.end()
})

t('plain HTTP on the TLS port: a logged, counted handshake failure; the listener goes on', async () => {
  const before = px.server.handshakeFailures
  const s = connect(px.port, '127.0.0.1')
  s.on('error', () => {})
  s.write('GET / HTTP/1.1\r\nHost: a.test\r\n\r\n')
  await new Promise((r) => s.on('close', r))
  await waitFor(() => px.server.handshakeFailures === before + 1, 2000, 'the failure counted')
  const h = await handshake(px.port, { servername: 'a.test' })
  assert.is(h.error, null)
  h.socket!.end()
})

t('a client that starts no handshake is cut after timeouts.header (slowloris)', async () => {
  const p = track(await tlsProxy(CERTS, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, timeouts: { header: '200ms' } }))
  const s = connect(p.port, '127.0.0.1')
  s.on('error', () => {})
  let closed = false
  s.on('close', () => { closed = true })
  await sleep(100)
  assert.not.ok(closed, 'not before its time')
  await waitFor(() => closed, 3000, 'the silent client cut')
  await waitFor(() => p.server.handshakeFailures === 1, 1000, 'counted as a failed handshake')
})

t('a request over TLS reaches the peer with X-Forwarded-Proto: https and Forwarded proto=https', async () => {
  const h = await handshake(px.port, { servername: 'a.test' })
  const r = await request(h.socket!, 'GET /p HTTP/1.1\r\nHost: a.test\r\n\r\n', /\r\n\r\nok$/)
  assert.match(r, /^HTTP\/1\.1 200 /)
  assert.not.match(r, /Strict-Transport-Security/i, 'no hsts unless configured')
  h.socket!.end()
  const seen = up.requests.at(-1)!
  assert.is(seen.headers['x-forwarded-proto'], 'https')
  assert.match(String(seen.headers.forwarded), /;proto=https$/)
})

t('session tickets: a second connection resumes; after a key rotation it does not', async () => {
  const first = await handshake(px.port, { servername: 'a.test' })
  // TLS 1.3 tickets arrive after the handshake: one exchange makes sure we hold one.
  await request(first.socket!, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', /ok$/)
  const session = first.socket!.getSession()
  first.socket!.end()
  assert.ok(session !== undefined)
  const again = await handshake(px.port, { servername: 'a.test', session })
  assert.ok(again.socket!.isSessionReused(), 'resumed with the ticket')
  again.socket!.end()
  px.server.rotateTicketKeys()
  const after = await handshake(px.port, { servername: 'a.test', session })
  assert.not.ok(after.socket!.isSessionReused(), 'a ticket of the old key does not resume')
  after.socket!.end()
})

t('ticket_rotation: the key is replaced on its own schedule', async () => {
  const p = track(await tlsProxy({ ...CERTS, ticket_rotation: '150ms' }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const first = await handshake(p.port, { servername: 'a.test' })
  await request(first.socket!, 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n', /ok$/)
  const session = first.socket!.getSession()
  first.socket!.end()
  await sleep(400)
  const after = await handshake(p.port, { servername: 'a.test', session })
  assert.not.ok(after.socket!.isSessionReused(), 'the ticket outlived its key')
  after.socket!.end()
})

t('limits.max_connections on a TLS listener: the next client is closed at accept, before any handshake', async () => {
  const p = track(await tlsProxy(CERTS, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, limits: { max_connections: 1 } }))
  const one = await handshake(p.port, { servername: 'a.test' })
  assert.is(one.error, null)
  const two = await handshake(p.port, { servername: 'a.test' })
  assert.ok(two.error !== null, 'refused')
  assert.is(p.server.refused, 1)
  assert.is(p.server.handshakeFailures, 0, 'no handshake was started for it')
  one.socket!.end()
})

t('openssl s_client: handshake, certificate chain verified, http/1.1 by ALPN', async () => {
  const out = await new Promise<string>((resolve, reject) => {
    const child = execFile('openssl', ['s_client', '-connect', `127.0.0.1:${px.port}`, '-servername', 'x.b.test',
      '-CAfile', pki('ca.pem'), '-alpn', 'h2,http/1.1', '-verify_return_error', '-ign_eof'], { timeout: 5000 },
    (e, stdout, stderr) => e !== null && stdout + stderr === '' ? reject(e) : resolve(stdout + stderr))
    child.stdin!.end('GET / HTTP/1.1\r\nHost: x.b.test\r\nConnection: close\r\n\r\n')
  })
  assert.match(out, /Verify return code: 0 \(ok\)/, out)
  assert.match(out, /ALPN protocol: http\/1\.1/)
  assert.match(out, /subject=CN = wild/)
  assert.match(out, /HTTP\/1\.1 200 [^]*\r\n\r\nok/)
})

t('a plain listener with redirect_https answers 308 to the same host and path', async () => {
  const plain = track(await proxyTo([up.port], { listen: [{ address: '127.0.0.1:0', redirect_https: 8443 }] }))
  const r = await raw(plain.port, 'GET /a/b?c=1 HTTP/1.1\r\nHost: Site.test:8080\r\n\r\n')
  assert.match(r.text, /^HTTP\/1\.1 308 Permanent Redirect\r\n/)
  assert.match(r.text, /\r\nLocation: https:\/\/site\.test:8443\/a\/b\?c=1\r\n/)
  const d = track(await proxyTo([up.port], { listen: [{ address: '127.0.0.1:0', redirect_https: true }] }))
  const r2 = await raw(d.port, 'HEAD / HTTP/1.1\r\nHost: site.test\r\n\r\n')
  assert.match(r2.text, /\r\nLocation: https:\/\/site\.test\/\r\n/)
  assert.ok(r2.text.endsWith('\r\n\r\n'), 'no body to HEAD')
})

t.run()
