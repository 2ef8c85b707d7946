import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { request } from 'undici'
import { Server } from '../../src/server/server.js'
import { validate } from '../../src/config/validate.js'
import { EventLog } from '../../src/log/events.js'
import { httpUpstream, HttpUpstream } from '../support/harness.js'

const t = suite('listen')
let up: HttpUpstream
let server: Server

t.before(async () => {
  up = await httpUpstream()
  server = new Server(validate({
    listen: ['127.0.0.1:0', '[::1]:0'],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    access_log: 'off', event_log: 'off',
  }), new EventLog({ path: 'off', format: 'text' }))
  await server.listen()
})
t.after(async () => { await server.close(100); await up.close() })

t('one server listens on IPv4 and IPv6 addresses', async () => {
  const [v4, v6] = server.addresses()
  assert.is(v4.host, '127.0.0.1')
  assert.is(v6.host, '::1')
  const a = await request(`http://127.0.0.1:${v4.port}/four`)
  assert.is(await a.body.text(), 'ok')
  const b = await request(`http://[::1]:${v6.port}/six`)
  assert.is(await b.body.text(), 'ok')
  const h = up.requests.at(-1)!.headers
  assert.is(h['x-forwarded-for'], '::1')
  assert.is(h['forwarded'], `for="[::1]";host="[::1]:${v6.port}";proto=http`, 'RFC 7239 §6: IPv6 nodes are bracketed and quoted')
})

t('a listen address already in use is refused at start', async () => {
  const [v4] = server.addresses()
  const other = new Server(validate({ listen: [`127.0.0.1:${v4.port}`], upstreams: { u: { peers: ['127.0.0.1:1'] } }, access_log: 'off', event_log: 'off' }))
  try {
    await other.listen()
    assert.unreachable('listened twice on one port')
  } catch (err) {
    assert.is((err as NodeJS.ErrnoException).code, 'EADDRINUSE')
  }
})

t('reload opens new listeners and closes removed ones; a bad new listener refuses the reload', async () => {
  const cfg = (listen: string[]) => validate({ listen, upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off', event_log: 'off' })
  const s = new Server(cfg(['127.0.0.1:0']), new EventLog({ path: 'off', format: 'text' }))
  await s.listen()
  const busy = server.addresses()[0].port
  await s.reload(cfg(['127.0.0.1:0', `127.0.0.1:${busy}`])).then(() => assert.unreachable('took a port in use'), (e) => assert.is(e.code, 'EADDRINUSE'))
  assert.is(s.addresses().length, 1, 'the refused reload left the listeners as they were')
  await s.reload(cfg(['[::1]:0']))
  assert.equal(s.addresses().map((a) => a.host), ['::1'])
  const r = await request(`http://[::1]:${s.addresses()[0].port}/`)
  assert.is(await r.body.text(), 'ok')
  await s.close(100)
})

t('a listener written with port 0, reloaded with the port it got, is kept: no EADDRINUSE, its connections go on', async () => {
  const cfg = (listen: string[]) => validate({ listen, upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, access_log: 'off', event_log: 'off' })
  const s = new Server(cfg(['127.0.0.1:0', '[::1]:0']), new EventLog({ path: 'off', format: 'text' }))
  await s.listen()
  try {
    const [v4, v6] = s.addresses()
    const before = s.endpoints()[0]
    await s.reload(cfg([`127.0.0.1:${v4.port}`, '[::1]:0']))
    assert.equal(s.addresses(), [v4, v6])
    assert.is(s.endpoints()[0], before, 'the same listener, not a new one')
    const r = await request(`http://127.0.0.1:${v4.port}/after`)
    assert.is(await r.body.text(), 'ok')
    // And back to port 0 by its new name: written as it is now, it stays too.
    await s.reload(cfg([`127.0.0.1:${v4.port}`, `[::1]:${v6.port}`]))
    assert.equal(s.addresses(), [v4, v6])
  } finally {
    await s.close(100)
  }
})

t.run()
