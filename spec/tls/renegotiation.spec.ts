/**
 * No TLS renegotiation (CVE-2011-1473: each client-initiated one costs the server a full handshake for
 * a few bytes of the client's). A real `openssl s_client -tls1_2` asks for one with its `R` command:
 * it is refused on the default certificate, on one chosen by SNI and after a reload, while the
 * process and its other connections go on. Upstream, a peer asking us to renegotiate is refused too.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { spawn } from 'node:child_process'
import type { TLSSocket } from 'node:tls'
import { validate } from '../../src/config/validate.js'
import { guard, httpUpstream, proxyTo, raw, statuses, waitFor, HttpUpstream, ProxyHandle } from '../support/harness.js'
import { handshake, pair, pem, pki, request, tlsPeer, tlsProxy } from '../support/tls.js'

const t = suite('tls-renegotiation')
const track = guard(t)
let up: HttpUpstream

const CERTS = [pair('rsa'), pair('wild')]
const GET = 'GET / HTTP/1.1\r\nHost: a.test\r\n\r\n'

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })

function config(): Record<string, unknown> {
  return { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }
}

/**
 * `openssl s_client -tls1_2`: the handshake, then `R` (renegotiate), then a request. Resolves with
 * everything it printed once it exits or the request is answered (the child is always stopped).
 */
function renegotiate(port: number, servername: string | null): Promise<string> {
  return new Promise((resolve) => {
    const args = ['s_client', '-tls1_2', '-connect', `127.0.0.1:${port}`, '-CAfile', pki('ca.pem')]
    if (servername !== null) args.push('-servername', servername)
    const child = spawn('openssl', args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let step = 0
    const finish = (): void => {
      clearTimeout(timer)
      if (child.exitCode === null && child.signalCode === null) child.kill()
      resolve(out)
    }
    const timer = setTimeout(finish, 5000)
    const onOut = (d: Buffer): void => {
      out += d.toString('latin1')
      // The session summary is printed once the handshake is done: ask for a renegotiation.
      if (step === 0 && /Verify return code/.test(out)) { step = 1; child.stdin.write('R\n') }
      // It went through (or was ignored): the next request decides.
      else if (step === 1 && /RENEGOTIATING[^]*\n/.test(out)) { step = 2; setTimeout(() => { if (child.exitCode === null) child.stdin.write(GET) }, 200) }
      if (/HTTP\/1\.1 \d{3} [^]*ok/.test(out)) finish()
    }
    child.stdout.on('data', onOut)
    child.stderr.on('data', onOut)
    child.stdin.on('error', () => {})
    child.on('exit', finish)
  })
}

/** The renegotiation was refused by the server: no_renegotiation alert, and no request went through after it. */
function refused(out: string): void {
  assert.match(out, /RENEGOTIATING/, `s_client asked for it:\n${out}`)
  assert.match(out, /no renegotiation/i, `the server refused it:\n${out}`)
  assert.not.match(out, /HTTP\/1\.1 200/, 'nothing was served on the renegotiated session')
}

/** The proxy serves on: a connection opened before still answers, and a new one does too. */
async function servesOn(px: ProxyHandle, before: TLSSocket): Promise<void> {
  assert.match(await request(before, GET, /ok$/), /^HTTP\/1\.1 200 /, 'the connection opened before still serves')
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n', { tls: { servername: 'a.test', ca: pem('ca.pem') } })
  assert.equal(statuses(r.text), [200], 'a new connection is served')
}

t('a client-initiated renegotiation is refused on the default certificate; the rest goes on', async () => {
  const px = track(await tlsProxy({ certificates: CERTS }, config()))
  const before = await handshake(px.port, { servername: 'a.test' })
  assert.is(before.error, null)
  refused(await renegotiate(px.port, null))
  await servesOn(px, before.socket!)
  before.socket!.end()
})

t('refused on a certificate chosen by SNI too (its own context)', async () => {
  const px = track(await tlsProxy({ certificates: CERTS }, config()))
  const before = await handshake(px.port, { servername: 'x.b.test' })
  assert.is(String(before.cert!.subject.CN), 'wild')
  const out = await renegotiate(px.port, 'x.b.test')
  assert.match(out, /subject=CN = wild/, 'the SNI certificate was served')
  refused(out)
  await servesOn(px, before.socket!)
  before.socket!.end()
})

t('refused after a reload that brought new certificates', async () => {
  const px = track(await tlsProxy({ certificates: [pair('ecdsa')] }, config()))
  await px.server.reload(validate({ listen: [{ address: '127.0.0.1:0', tls: { certificates: CERTS } }], ...config(), access_log: 'off', event_log: 'off' }))
  const before = await handshake(px.port, { servername: 'x.b.test' })
  assert.is(String(before.cert!.subject.CN), 'wild', 'the reloaded certificates are in force')
  refused(await renegotiate(px.port, 'x.b.test'))
  refused(await renegotiate(px.port, null))
  await servesOn(px, before.socket!)
  before.socket!.end()
})

t('a plain request still works through the same proxy process afterwards', async () => {
  const px = track(await proxyTo([up.port]))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200])
})

t('upstream: a TLS peer asking the proxy to renegotiate is refused; the request was answered first', async () => {
  const peer = await tlsPeer('upstream', { maxVersion: 'TLSv1.2' })
  const outcomes: (Error | null)[] = []
  peer.server.prependListener('request', (req) => {
    // Server-initiated (a HelloRequest): the proxy's client side must not take it. Refused, the peer's
    // OpenSSL ends the connection with an error (the callback is called only on success).
    const s = req.socket as TLSSocket
    s.once('error', (err) => outcomes.push(err))
    s.renegotiate({ rejectUnauthorized: false }, (err) => { outcomes.push(err ?? null) })
  })
  try {
    const px = track(await proxyTo([peer.port], { upstream: { tls: { ca: pki('ca.pem'), servername: 'upstream.test' } } }))
    const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { until: (s) => s.includes('tls ok') })
    assert.equal(statuses(r.text), [200])
    await waitFor(() => outcomes.length > 0, 3000, 'the renegotiation outcome')
    assert.match(String(outcomes[0]), /no renegotiation/i, 'the renegotiation failed')
  } finally {
    await peer.close()
  }
})

t.run()
