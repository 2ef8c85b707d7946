/**
 * TLS to peers: verification on (the test CA trusted), a wrong CA or an expired certificate giving
 * 502, pooled sockets and sessions kept apart by servername, session resumption, and a client
 * certificate for peers that ask for one.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { accessRecords, accessRecordsNow, guard, httpUpstream, raw, startProxy, statuses, tempFile, waitFor } from '../support/harness.js'
import { pair, pki, tlsPeer } from '../support/tls.js'

const t = suite('tls-upstream')
const track = guard(t)

function via(port: number, tls: unknown, extra: Record<string, unknown> = {}) {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${port}`], tls, ...extra } } })
}

const GET = 'GET /x HTTP/1.1\r\nHost: site.test\r\nConnection: close\r\n\r\n'

t('verify on, the test CA trusted: the request goes over TLS with SNI and http/1.1', async () => {
  const peer = track(await tlsPeer('upstream'))
  const px = track(await via(peer.port, { ca: pki('ca.pem'), servername: 'upstream.test' }))
  const r = await raw(px.port, GET)
  assert.equal(statuses(r.text), [200])
  assert.match(r.text, /\r\n\r\ntls ok$/)
  assert.equal(peer.conns.map((c) => c.servername), ['upstream.test'])
  assert.equal(peer.requests, [{ servername: 'upstream.test', host: 'site.test' }])
})

t('verify by IP address: no SNI is sent, the IP SAN is checked', async () => {
  const peer = track(await tlsPeer('upstream'))
  const px = track(await via(peer.port, { ca: pki('ca.pem') }))
  assert.equal(statuses((await raw(px.port, GET)).text), [200])
  assert.equal(peer.conns.map((c) => c.servername), [''])
})

t('a peer certificate of another CA, an expired one, or the wrong name: 502, cause US, nothing sent', async () => {
  const log = tempFile('access.log')
  for (const [cert, servername] of [['other', 'upstream.test'], ['expired', 'upstream.test'], ['upstream', 'wrong.test']]) {
    const peer = track(await tlsPeer(cert))
    const px = track(await startProxy({
      upstreams: { u: { peers: [`127.0.0.1:${peer.port}`], tls: { ca: pki('ca.pem'), servername } } },
      access_log: { path: log, format: 'json' },
    }))
    const r = await raw(px.port, GET)
    assert.equal(statuses(r.text), [502], `${cert} as ${servername}`)
    assert.is(peer.requests.length, 0)
    await waitFor(() => accessRecordsNow(px, log).length > 0)
    assert.is((await accessRecords(px, log)).at(-1)!.cause, 'US')
  }
})

t('verify: false accepts a peer of any CA', async () => {
  const peer = track(await tlsPeer('other'))
  const px = track(await via(peer.port, { verify: false }))
  assert.equal(statuses((await raw(px.port, GET)).text), [200])
})

t('sessions resume on new connections to the same peer and name', async () => {
  const peer = track(await tlsPeer('upstream'))
  // No pooling: every request opens a connection, which should resume the last session.
  const px = track(await via(peer.port, { ca: pki('ca.pem'), servername: 'upstream.test' }, { keepalive: { max_idle: 0 } }))
  for (let i = 0; i < 3; i++) assert.equal(statuses((await raw(px.port, GET)).text), [200])
  assert.equal(peer.conns.map((c) => c.resumed), [false, true, true])
  assert.is(px.server.rt.groups.get('u')!.peers[0].tls!.resumed, 2)
})

t('two groups on one peer with different servernames never share a socket or a session', async () => {
  const peer = track(await tlsPeer('wild'))
  const tls = (servername: string) => ({ ca: pki('ca.pem'), servername })
  const px = track(await startProxy({
    upstreams: {
      one: { peers: [`127.0.0.1:${peer.port}`], tls: tls('one.b.test') },
      two: { peers: [`127.0.0.1:${peer.port}`], tls: tls('two.b.test') },
    },
    routes: [{ host: 'one.test', upstream: 'one' }, { host: 'two.test', upstream: 'two' }],
  }))
  // Keep-alive on both sides: the pools hold one socket per group.
  for (const host of ['one.test', 'two.test', 'one.test', 'two.test', 'one.test']) {
    const r = await raw(px.port, `GET / HTTP/1.1\r\nHost: ${host}\r\nConnection: close\r\n\r\n`)
    assert.equal(statuses(r.text), [200])
  }
  assert.equal(peer.requests.map((r) => `${r.host}@${r.servername}`),
    ['one.test@one.b.test', 'two.test@two.b.test', 'one.test@one.b.test', 'two.test@two.b.test', 'one.test@one.b.test'])
  assert.is(peer.conns.length, 2, 'one pooled connection per servername')
})

t('client_cert: a peer that asks for a certificate gets ours', async () => {
  const peer = track(await tlsPeer('upstream', { requestCert: true }))
  const px = track(await via(peer.port, { ca: pki('ca.pem'), servername: 'upstream.test', client_cert: pair('client') }))
  assert.equal(statuses((await raw(px.port, GET)).text), [200])
  assert.equal(peer.conns.map((c) => c.client), ['client-1'])
})

t('a handshake that fails is retried on another peer and counts against the failing one', async () => {
  const plain = track(await httpUpstream()) // speaks HTTP where TLS is expected
  const good = track(await tlsPeer('upstream'))
  const px = track(await startProxy({
    upstreams: { u: {
      peers: [`127.0.0.1:${plain.port}`, `127.0.0.1:${good.port}`],
      tls: { ca: pki('ca.pem'), servername: 'upstream.test' },
      passive: { failures: 2 },
    } },
  }))
  for (let i = 0; i < 6; i++) assert.equal(statuses((await raw(px.port, GET)).text), [200])
  assert.is(good.requests.length, 6)
  assert.is(px.server.rt.status()[0].peers[0].state, 'ejected')
})

t('health checks of a TLS group probe over TLS: a good peer stays up, one with a wrong certificate goes down', async () => {
  const good = track(await tlsPeer('upstream'))
  const bad = track(await tlsPeer('other'))
  const px = track(await startProxy({
    upstreams: { u: {
      peers: [`127.0.0.1:${good.port}`, `127.0.0.1:${bad.port}`],
      tls: { ca: pki('ca.pem'), servername: 'upstream.test' },
      health: { path: '/hc', interval: 40, timeout: 35, rise: 1, fall: 2, jitter: 0 },
    } },
  }))
  const peers = (): { state: string; last_probe: { detail: string } | null }[] => px.server.rt.status()[0].peers
  await waitFor(() => peers()[1].state === 'down', 2000, 'the peer with a wrong certificate down')
  assert.match(peers()[1].last_probe!.detail, /CERT|UNABLE|SIGNATURE|unable|certificate/i)
  await waitFor(() => good.requests.length >= 2, 2000, 'probes over TLS')
  assert.is(peers()[0].state, 'up')
  assert.equal(good.requests[0], { servername: 'upstream.test', host: `127.0.0.1:${good.port}` })
})

t.run()
