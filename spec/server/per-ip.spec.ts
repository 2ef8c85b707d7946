// max_connections_per_ip on a listener: a client holding its share has further connections closed
// at accept (before any byte is read), counted; a closed connection gives its place back.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, startProxy, HttpUpstream, RawClient, guard, waitFor } from '../support/harness.js'
import { refusedBy } from '../support/config.js'
import { validate } from '../../src/config/validate.js'

const t = suite('server: max_connections_per_ip')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })

const GET = 'GET / HTTP/1.1\r\nHost: a\r\n\r\n'

t('the third connection of one address is closed at accept and counted; a place comes back on close', async () => {
  const px = track(await startProxy({
    listen: [{ address: '127.0.0.1:0', max_connections_per_ip: 2 }],
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u' }],
  }))
  const a = track(await RawClient.open(px.port))
  const b = track(await RawClient.open(px.port))
  a.send(GET); b.send(GET)
  await a.until('ok'); await b.until('ok')
  const c = track(await RawClient.open(px.port))
  c.send(GET)
  await c.untilClosed()
  assert.is(c.text, '', 'nothing was answered')
  assert.is(px.server.denied, 1)
  a.destroy()
  await waitFor(() => px.server.connections === 1, 2000, 'the proxy to see the close')
  const d = track(await RawClient.open(px.port))
  d.send(GET)
  assert.match(await d.until('ok'), /^HTTP\/1\.1 200 /)
})

t('config: an integer from 1', () => {
  refusedBy(() => validate({ listen: [{ address: '127.0.0.1:0', max_connections_per_ip: 0 }], upstreams: { u: { peers: ['127.0.0.1:1'] } } }),
    'listen[0].max_connections_per_ip: must be an integer from 1 to 1000000')
})

t.run()
