// What an independent review of the admin API reproduced, each fixed and kept fixed here: an empty
// htpasswd, a Redis password in the URL's query, a slowloris client and a connection flood on the
// admin port, event streams that never read, HEAD answers with a body, bad escapes, a missing Host,
// and DNS rebinding of a credential-less API.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { writeFileSync } from 'node:fs'
import { connect, Socket } from 'node:net'
import { guard, httpUpstream, raw, tempFile, sleep, waitFor } from '../support/harness.js'
import { BEARER, adminProxy, call } from '../support/admin.js'
import { validate } from '../../src/config/validate.js'
import { refusedBy } from '../support/config.js'
import { redact } from '../../src/filters/rate-limit/redis-store.js'
import { EventHub } from '../../src/admin/events.js'

const t = suite('admin API: review fixes')
const track = guard(t)

t('an htpasswd file without a user is refused (it would leave the API open)', () => {
  const file = tempFile('empty.htpasswd')
  writeFileSync(file, '# only a comment\n\n')
  refusedBy(() => validate({ listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } }, admin: { listen: '0.0.0.0:9901', htpasswd: file } }),
    'admin.htpasswd: has no user (an empty file would leave the API open)')
})

t("a Redis URL's password is hidden in the query too", () => {
  assert.is(redact('redis://127.0.0.1:6390/0?password=SECRET&db=1'), 'redis://127.0.0.1:6390/0?password=***&db=1')
  assert.is(redact('redis://u:SECRET@h:1/0'), 'redis://u:***@h:1/0')
})

t('a client that sends a byte now and then is answered 408 when the deadline passes, not kept for ever', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  // The deadline is 10 s from the connection on: a byte every 2 s must not push it back.
  const s = connect(ap.adminPort, '127.0.0.1', () => s.write('GET /live HTTP/1.1\r\nX-Slow: '))
  let got = ''
  s.on('data', (d) => { got += d.toString() })
  const closed = new Promise<void>((r) => s.on('close', () => r()))
  const drip = setInterval(() => { if (!s.destroyed) s.write('a') }, 2000)
  await Promise.race([closed, sleep(13_000)])
  clearInterval(drip)
  s.destroy()
  assert.match(got, /^HTTP\/1\.1 408 /)
})

t('admin connections are capped; the proxy keeps its descriptors', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const socks: Socket[] = []
  for (let i = 0; i < 80; i++) { const s = connect(ap.adminPort, '127.0.0.1'); s.on('error', () => {}); socks.push(s) }
  await waitFor(() => socks.filter((s) => s.closed).length >= 16, 2000, 'the connections over the cap (64) closed at accept')
  for (const s of socks) s.destroy()
  await sleep(50)
  assert.is((await call(ap.adminPort, 'GET', '/live')).status, 200)
})

t('an event stream whose client does not read is dropped once its backlog is large', () => {
  const hub = new EventHub()
  let destroyed = false
  const fake = { writableLength: 0, destroyed: false, write(b: string) { this.writableLength += b.length; return false }, destroy() { destroyed = true }, resume() {}, on() { return this } }
  hub.attach(fake as unknown as Socket)
  for (let i = 0; i < 20_000 && !destroyed; i++) hub.send({ time: '', level: 'warn', event: 'x', fields: { pad: 'y'.repeat(100) } } as never)
  assert.ok(destroyed)
})

t('HEAD has no body; a bad escape is 400; no Host is 400; a foreign Host on a credential-less API is 403', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } } }))
  const head = await raw(ap.adminPort, `HEAD /live HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`, { ms: 2000 })
  assert.match(head.text, /^HTTP\/1\.1 200 /)
  assert.ok(head.text.endsWith('\r\n\r\n'), JSON.stringify(head.text))
  const noHost = await raw(ap.adminPort, 'GET /live HTTP/1.1\r\n\r\n', { ms: 2000 })
  assert.match(noHost.text, /^HTTP\/1\.1 400 /)
  assert.is((await call(ap.adminPort, 'POST', '/upstreams/u/peers/%E0%A4%A/drain', BEARER)).status, 400)
  const open = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, admin: { listen: '127.0.0.1:0' } }))
  assert.is((await call(open.adminPort, 'GET', '/status', { Host: 'rebind.attacker.example' })).status, 403)
  assert.is((await call(open.adminPort, 'GET', '/status', { Host: 'localhost:1' })).status, 200)
})

t('an absolute-form target is served (RFC 9112 §3.2.2), its authority standing for Host', async () => {
  const up = track(await httpUpstream())
  const open = track(await adminProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, admin: { listen: '127.0.0.1:0' } }))
  const r = await raw(open.adminPort, `GET http://127.0.0.1:${open.adminPort}/live HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n`, { ms: 2000 })
  assert.match(r.text, /^HTTP\/1\.1 200 [^]*live\n$/)
  // The target's authority, not the Host field, is the one checked against DNS rebinding.
  const rebind = await raw(open.adminPort, 'GET http://rebind.attacker.example/status HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n', { ms: 2000 })
  assert.match(rebind.text, /^HTTP\/1\.1 403 /)
})

t('GET /config hides the values of header rules and matches on credential-like fields', async () => {
  const up = track(await httpUpstream())
  const ap = track(await adminProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', headers: { request: { set: { Authorization: 'Bearer UPSTREAM-SECRET', 'X-Api-Key': 'sk_live_SECRET', 'X-Plain': 'visible' } } },
      rules: [{ match: { headers: { 'X-Debug-Key': 'DEBUGSECRET' } }, deny: 403 }] }],
  }))
  const c = await call(ap.adminPort, 'GET', '/config', BEARER)
  assert.is(c.status, 200)
  assert.not.match(c.body, /SECRET/)
  assert.match(c.body, /visible/)
})

t.run()
