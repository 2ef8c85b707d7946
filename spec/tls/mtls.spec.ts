/**
 * Client certificates (mTLS): `required` refuses a client without a valid one at the handshake,
 * `optional` serves it without a subject; a verified subject reaches the exchange and the access log.
 * Also the event log line of a failed handshake, and HSTS on a TLS listener.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { readFileSync } from 'node:fs'
import { connect as tlsConnect } from 'node:tls'
import { Server } from '../../src/server/server.js'
import { validate } from '../../src/config/validate.js'
import { EventLog } from '../../src/log/events.js'
import { accessRecords, accessRecordsNow, guard, httpUpstream, tempFile, waitFor, HttpUpstream } from '../support/harness.js'
import { handshake, pair, pem, pki, request, tlsProxy } from '../support/tls.js'

const t = suite('tls-mtls')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })

const CLIENT = { cert: pem('client.pem'), key: pem('client.key') }
// Signed by the other CA: a certificate, but not one the listener trusts.
const STRANGER = { cert: pem('other.pem'), key: pem('other.key') }
const GET = 'GET /who HTTP/1.1\r\nHost: a.test\r\n\r\n'

function proxy(auth: 'required' | 'optional', log: string) {
  return tlsProxy({ certificates: [pair('rsa')], client_ca: pki('ca.pem'), client_auth: auth },
    { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: { path: log, format: 'json' } })
}

t('required: a client with a certificate of the CA is served, its subject in the access log', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy('required', log))
  const h = await handshake(px.port, { servername: 'a.test', ...CLIENT })
  assert.is(h.error, null)
  assert.match(await request(h.socket!, GET, /\r\n\r\nok$/), /^HTTP\/1\.1 200 /)
  h.socket!.end()
  await waitFor(() => accessRecordsNow(px, log).length === 1)
  assert.is((await accessRecords(px, log))[0].client_cert, 'O=rawproxy tests, CN=client-1')
})

t('required: no certificate, or one of another CA, fails the handshake (counted)', async () => {
  const px = track(await proxy('required', 'off'))
  for (const opts of [{}, STRANGER]) {
    const before = px.server.handshakeFailures
    // TLS 1.3: the server's verdict on the client certificate comes after the client's Finished.
    const h = await handshake(px.port, { servername: 'a.test', ...opts }, true)
    assert.ok(h.error !== null, 'refused')
    await waitFor(() => px.server.handshakeFailures === before + 1, 2000, 'the failure counted')
  }
  assert.is(up.requests.filter((r) => r.url === '/who').length, 1, 'only the first test\'s request got through')
})

t('optional: served with or without a certificate; only a verified one gives a subject', async () => {
  const log = tempFile('access.log')
  const px = track(await proxy('optional', log))
  for (const opts of [{}, STRANGER, CLIENT]) {
    const h = await handshake(px.port, { servername: 'a.test', ...opts })
    assert.is(h.error, null)
    assert.match(await request(h.socket!, GET, /\r\n\r\nok$/), /^HTTP\/1\.1 200 /)
    h.socket!.end()
  }
  await waitFor(() => accessRecordsNow(px, log).length === 3)
  assert.equal((await accessRecords(px, log)).map((r) => r.client_cert), [undefined, undefined, 'O=rawproxy tests, CN=client-1'])
})

t('the text access log names the verified subject too', async () => {
  const log = tempFile('access.log')
  const px = track(await tlsProxy({ certificates: [pair('rsa')], client_ca: pki('ca.pem') },
    { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: { path: log, format: 'text' } }))
  const h = await handshake(px.port, { servername: 'a.test', ...CLIENT })
  await request(h.socket!, GET, /\r\n\r\nok$/)
  h.socket!.end()
  await waitFor(() => { px.server.access.flushSync(); return readFileSync(log, 'utf8').includes('\n') })
  assert.match(readFileSync(log, 'utf8'), /"GET \/who" 200 .* -- cert="O=rawproxy tests, CN=client-1"\n$/)
})

t('client_auth without client_ca is refused with the field path', () => {
  assert.throws(() => validate({ listen: [{ address: '127.0.0.1:0', tls: { certificates: [pair('rsa')], client_auth: 'optional' } }], upstreams: { u: { peers: [] } } }),
    /^listen\[0\]\.tls\.client_auth: needs client_ca$/)
})

t('a failed handshake is an event log line with the listener, the client and the reason', async () => {
  const events = tempFile('events.log')
  const config = validate({ listen: [{ address: '127.0.0.1:0', tls: { certificates: [pair('rsa')] } }], upstreams: { u: { peers: [] } }, access_log: 'off' })
  const server = new Server(config, new EventLog({ path: events, format: 'json' }))
  await server.listen()
  track({ close: () => server.close(100) })
  const port = server.addresses()[0].port
  const h = await handshake(port, { servername: 'a.test', maxVersion: 'TLSv1.1', minVersion: 'TLSv1.1', ciphers: 'DEFAULT@SECLEVEL=0' })
  assert.ok(h.error !== null)
  await waitFor(() => server.handshakeFailures === 1)
  // A warning is flushed at once, by an asynchronous write.
  await waitFor(() => readFileSync(events, 'utf8').includes('tls handshake failed'), 2000, 'the event written')
  const line = readFileSync(events, 'utf8').split('\n').map((l) => l === '' ? null : JSON.parse(l)).find((e) => e?.event === 'tls handshake failed')
  assert.ok(line !== undefined, readFileSync(events, 'utf8'))
  assert.is(line.level, 'warn')
  assert.is(line.client, '127.0.0.1')
  assert.is(line.listener, `127.0.0.1:${port}`)
  assert.is(line.error, 'ERR_SSL_UNSUPPORTED_PROTOCOL')
  assert.is(line.reason, 'unsupported protocol')
})

t('a reload that changes the client CA: sessions of the old policy no longer resume', async () => {
  const cfg = (ca: string) => validate({
    listen: [{ address: '127.0.0.1:0', tls: { certificates: [pair('rsa')], client_ca: pki(ca), client_auth: 'required' } }],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off', event_log: 'off',
  })
  const server = new Server(cfg('ca.pem'), new EventLog({ path: 'off', format: 'text' }))
  track({ close: () => server.close(100) })
  await server.listen()
  const port = server.addresses()[0].port
  // One request over a new TLS connection; the ticket the server issues comes with it.
  const session = (opts: Record<string, unknown>): Promise<{ reused: boolean; ok: boolean; ticket: Buffer | null }> => new Promise((resolve) => {
    let ticket: Buffer | null = null
    let got = ''
    let reused = false
    const s = tlsConnect({ host: '127.0.0.1', port, ca: pem('ca.pem'), servername: 'a.test', ...CLIENT, ...opts })
    s.on('session', (b: Buffer) => { ticket = b })
    s.on('secureConnect', () => { reused = s.isSessionReused(); s.write('GET /who HTTP/1.1\r\nHost: a.test\r\nConnection: close\r\n\r\n') })
    s.on('data', (d: Buffer) => { got += d.toString('latin1') })
    s.on('error', () => {})
    s.on('close', () => resolve({ reused, ok: /^HTTP\/1\.1 200 /.test(got), ticket }))
  })
  const first = await session({})
  assert.ok(first.ok && first.ticket !== null, 'served, with a ticket')
  assert.is((await session({ session: first.ticket })).reused, true, 'same policy: the session resumes')
  await server.reload(cfg('other-ca.pem'))
  const after = await session({ session: first.ticket })
  assert.is(after.reused, false, 'a ticket of the old policy does not resume')
  assert.is(after.ok, false, 'and the full handshake refuses a certificate of the CA no longer trusted')
})

t('hsts: Strict-Transport-Security on proxied and local responses of a TLS listener', async () => {
  const px = track(await tlsProxy({ certificates: [pair('rsa')], hsts: 'max-age=600; includeSubDomains' },
    { upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ host: 'a.test', upstream: 'u' }] }))
  const h = await handshake(px.port, { servername: 'a.test' })
  const ok = await request(h.socket!, GET, /\r\n\r\nok$/)
  assert.match(ok, /^HTTP\/1\.1 200 [^]*\r\nStrict-Transport-Security: max-age=600; includeSubDomains\r\n/)
  const nf = await request(h.socket!, 'GET / HTTP/1.1\r\nHost: other.test\r\n\r\n', /404 Not Found\n$/)
  assert.match(nf, /\r\nStrict-Transport-Security: max-age=600; includeSubDomains\r\n/)
  h.socket!.end()
})

t.run()
