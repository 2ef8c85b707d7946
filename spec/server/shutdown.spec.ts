/**
 * Graceful shutdown, in-process with `server.close(grace)`: the listeners stop at once, idle keep-alive
 * connections are closed, exchanges in flight get the grace period to finish (their responses say
 * Connection: close), and whatever is left after it is cut.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import {
  accessRecords, httpUpstream, proxyTo, RawClient, recordUncaught, sleep, statuses, tempFile, waitFor, HttpUpstream, ProxyHandle,
} from '../support/harness.js'

const t = suite('shutdown')
const LOG = tempFile('access.log')
let up: HttpUpstream
let px: ProxyHandle
let uncaught: ReturnType<typeof recordUncaught>

/** Resolves with how long `close` took. */
async function timed(p: Promise<void>): Promise<number> {
  const t0 = Date.now()
  await p
  return Date.now() - t0
}

/** Sockets open at the peer. */
function peerSockets(): Promise<number> {
  return new Promise((r) => up.server.getConnections((_e, n) => r(n)))
}

function refused(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1')
    s.on('connect', () => { s.destroy(); resolve(false) })
    s.on('error', (err: NodeJS.ErrnoException) => resolve(err.code === 'ECONNREFUSED'))
  })
}

t.before(async () => {
  uncaught = recordUncaught()
  up = await httpUpstream((req, res) => {
    const ms = Number(/^\/wait\/(\d+)/.exec(req.url ?? '')?.[1] ?? 0)
    setTimeout(() => { if (!res.destroyed) res.end(`done ${req.url}`) }, ms)
  })
})
t.before.each(async () => { px = await proxyTo([up.port], { access_log: { path: LOG, format: 'json' } }) })
t.after.each(async () => { await px.close() })
t.after(async () => {
  await up.close()
  uncaught.stop()
  assert.equal(uncaught.errors, [], 'no error reached uncaughtException')
})

t('new connections are refused as soon as shutdown starts', async () => {
  const closing = px.server.close(500)
  assert.ok(await refused(px.port))
  await closing
})

t('idle keep-alive connections are closed at once; a request in flight finishes with Connection: close', async () => {
  const idle = await RawClient.open(px.port)
  idle.send('GET /first HTTP/1.1\r\nHost: a\r\n\r\n')
  await idle.until('done /first')
  const busy = await RawClient.open(px.port)
  busy.send('GET /wait/300 HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => up.requests.some((r) => r.url === '/wait/300'), 1000, 'the request at the peer')
  const closing = timed(px.server.close(3000))
  await idle.untilClosed(200)
  assert.not.ok(busy.ended || busy.closed, 'the busy connection is still open')
  await busy.until('done /wait/300', 2000)
  assert.equal(statuses(busy.text), [200])
  assert.match(busy.text, /Connection: close/i)
  await busy.untilClosed(500)
  const ms = await closing
  assert.ok(ms < 1500, `close resolved ${ms} ms after it began, once the last exchange was done`)
  assert.is(px.server.connections, 0)
})

t('a request whose head is half in at shutdown may finish it within the grace', async () => {
  const c = await RawClient.open(px.port)
  c.send('GET /late-head HTTP/1.1\r\n')
  await sleep(20)
  const closing = px.server.close(2000)
  await sleep(50)
  c.send('Host: a\r\n\r\n')
  await c.until('done /late-head')
  assert.match(c.text, /Connection: close/i)
  await c.untilClosed(500)
  await closing
})

t('after the grace period, connections still busy are cut, logged SD', async () => {
  const c = await RawClient.open(px.port)
  c.send('GET /wait/3000 HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => up.requests.some((r) => r.url === '/wait/3000'), 1000, 'the request at the peer')
  const ms = await timed(px.server.close(300))
  assert.ok(ms >= 280 && ms < 1000, `close took ${ms} ms with a 300 ms grace`)
  await c.untilClosed(500)
  assert.is(c.text, '', 'no response: the exchange was cut')
  assert.is(px.server.connections, 0)
  const rec = (await accessRecords(px, LOG)).filter((r) => r.target === '/wait/3000').pop()
  assert.is(rec?.cause, 'SD', 'logged as cut by the shutdown, not as a client abort')
})

t('idle pooled upstream sockets are closed on shutdown', async () => {
  const c = await RawClient.open(px.port)
  c.send('GET /pooled HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  await c.untilClosed()
  const pool = px.server.rt.groups.get('u')!.peers[0].pool
  assert.is(pool.idleCount, 1)
  assert.is(await peerSockets(), 1)
  await px.server.close(500)
  assert.is(pool.idleCount, 0)
  for (let i = 0; i < 100 && await peerSockets() > 0; i++) await sleep(10)
  assert.is(await peerSockets(), 0, 'the peer saw its socket closed')
})

t.run()
