/**
 * The malformed-input and smuggling cases of spec/proxy/malformed.spec.ts and hardening.spec.ts, sent inside TLS: the
 * decrypted bytes go through the same parser, so each gets the same one reply and the close, and the
 * peer sees nothing.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, rawUpstream, sleep, statuses, ProxyHandle, RawUpstream } from '../support/harness.js'
import { CONNECTION_HIDES_FRAMING, HIDDEN, MALFORMED, MALFORMED_LIMITS } from '../proxy/malformed-cases.js'
import { pair, pem, tlsProxy } from '../support/tls.js'

const t = suite('tls-malformed')
let up: RawUpstream
let px: ProxyHandle
const TLS = { servername: 'a.test', ca: pem('ca.pem') }

t.before(async () => {
  up = await rawUpstream((s, _d, all) => {
    if (all.toString('latin1').endsWith('\r\n\r\n')) s.end('HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok')
  })
  px = await tlsProxy({ certificates: [pair('rsa')] }, { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, limits: MALFORMED_LIMITS })
})
t.after(async () => { await px.close(); await up.close() })

for (const [what, bytes, status] of MALFORMED) {
  t(`${status} over TLS: ${what}`, async () => {
    const conns = up.received.length
    const r = await raw(px.port, bytes, { tls: TLS })
    assert.equal(statuses(r.text), [status], `reply: ${JSON.stringify(r.text.slice(0, 80))}`)
    assert.match(r.text, /\r\nConnection: close\r\n/i)
    assert.ok(r.closed, 'the proxy closed the connection')
    await sleep(5)
    assert.is(up.received.length, conns, 'no connection to the upstream')
  })
}

t('over TLS too, a Connection field naming the framing does not strip it (no smuggling)', async () => {
  const peer = await httpUpstream((req, res, body) => res.end(`${req.url} got ${body.length}`))
  const p = await tlsProxy({ certificates: [pair('rsa')] }, { upstreams: { u: { peers: [`127.0.0.1:${peer.port}`] } } })
  try {
    for (const [path, bytes] of CONNECTION_HIDES_FRAMING) {
      const r = await raw(p.port, bytes, { tls: TLS, until: (s) => s.includes('got') })
      assert.ok(r.text.includes(`${path} got ${HIDDEN.length}`), r.text)
    }
    assert.equal(peer.requests.map((r) => r.url), ['/a', '/b'], 'the peer saw two requests, not four')
  } finally {
    await p.close()
    await peer.close()
  }
})

t('a valid request over the same TLS listener is forwarded', async () => {
  const r = await raw(px.port, 'GET /ok HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n', { tls: TLS })
  assert.equal(statuses(r.text), [200])
  assert.match(up.received.at(-1)!.toString('latin1'), /\r\nX-Forwarded-Proto: https\r\n/)
})

t.run()
