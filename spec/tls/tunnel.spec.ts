/**
 * An Upgrade tunnel (RFC 9110 §7.8) through TLS on either side: the decrypted client socket and the
 * TLS peer socket are piped like plain ones, with the bytes that came behind the heads kept.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer as createTlsServer, TLSSocket } from 'node:tls'
import { AddressInfo, Socket } from 'node:net'
import { guard, rawUpstream } from '../support/harness.js'
import { handshake, pair, pem, pki, request, tlsProxy } from '../support/tls.js'

const t = suite('tls-tunnel')
const track = guard(t)
const UPGRADE = 'GET /ws HTTP/1.1\r\nHost: a.test\r\nConnection: upgrade\r\nUpgrade: x-echo\r\n\r\n'
const SWITCH = 'HTTP/1.1 101 Switching Protocols\r\nConnection: upgrade\r\nUpgrade: x-echo\r\n\r\n'

/** After the 101, every byte is echoed back upper-cased. */
function echo(s: Socket, data: Buffer, all: Buffer): void {
  const text = all.toString('latin1')
  const end = text.indexOf('\r\n\r\n')
  if (end < 0) return
  if (end + 4 === all.length && data.length === all.length) { s.write(SWITCH); return }
  s.write(data.toString('latin1').toUpperCase())
}

async function through(port: number): Promise<void> {
  const h = await handshake(port, { servername: 'a.test' })
  const head = await request(h.socket!, UPGRADE, /\r\n\r\n/)
  assert.match(head, /^HTTP\/1\.1 101 /)
  assert.is(await request(h.socket!, 'ping', /PING/), 'PING')
  assert.is(await request(h.socket!, 'again', /AGAIN/), 'AGAIN')
  h.socket!.end()
}

t('a TLS client upgrades to a tunnel with a plain peer', async () => {
  const peer = track(await rawUpstream(echo))
  const px = track(await tlsProxy({ certificates: [pair('rsa')] }, { upstreams: { u: { peers: [`127.0.0.1:${peer.port}`] } } }))
  await through(px.port)
})

t('a TLS client upgrades to a tunnel with a TLS peer', async () => {
  const seen: Buffer[] = []
  const peer = createTlsServer({ cert: pem('upstream.pem'), key: pem('upstream.key') }, (s: TLSSocket) => {
    s.on('error', () => {})
    s.on('data', (d: Buffer) => { seen.push(d); echo(s, d, Buffer.concat(seen)) })
  })
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r))
  track({ close: () => new Promise<void>((r) => peer.close(() => r())) })
  const port = (peer.address() as AddressInfo).port
  const px = track(await tlsProxy({ certificates: [pair('rsa')] },
    { upstreams: { u: { peers: [`127.0.0.1:${port}`], tls: { ca: pki('ca.pem'), servername: 'upstream.test' } } } }))
  await through(px.port)
})

t.run()
