/**
 * Client-side timeouts and limits: the header timeout (slowloris), the keep-alive idle timeout,
 * client_idle mid-exchange (blaming the client only when we wait on it), the connection cap; and no
 * error escapes to uncaughtException meanwhile.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import {
  accessRecords, accessRecordsNow, httpUpstream, proxyTo, RawClient, rawUpstream, guard, sleep, statuses, tempFile,
  waitFor, ProxyHandle,
} from '../support/harness.js'

const t = suite('timeouts')
const track = guard(t)
const LOG = tempFile('access.log')


async function proxy(port: number, timeouts: Record<string, string>, extra: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return track(await proxyTo([port], { timeouts, access_log: { path: LOG, format: 'json' }, ...extra }))
}

function causeOf(px: ProxyHandle, target: string): unknown {
  return accessRecordsNow(px, LOG).filter((r) => r.target === target).pop()?.cause
}


t('slowloris: one byte every 50 ms gets 408 and a close, timed from the first byte', async () => {
  const up = track(await httpUpstream())
  const px = await proxy(up.port, { header: '300ms' })
  const c = await RawClient.open(px.port)
  await sleep(200) // idle before the first byte: not part of the head's time
  const t0 = Date.now()
  const head = 'GET /slow HTTP/1.1\r\nHost: a\r\nX-Pad: ' + 'p'.repeat(100)
  let i = 0
  const drip = setInterval(() => { if (!c.closed && !c.ended) c.send(head[i++ % head.length]) }, 50)
  try {
    await c.until('408', 2000)
    const ms = Date.now() - t0
    assert.ok(ms >= 280 && ms < 700, `408 after ${ms} ms from the first byte`)
    await c.untilClosed()
  } finally {
    clearInterval(drip)
    c.destroy()
  }
  assert.match(c.text, /^HTTP\/1\.1 408 /)
  assert.match(c.text, /Connection: close/i)
  assert.is(up.requests.length, 0)
  const rec = (await accessRecords(px, LOG)).filter((r) => r.status === 408).pop()
  assert.is(rec?.cause, 'CT')
})

t('a head split across writes within the header timeout is served', async () => {
  const up = track(await httpUpstream())
  const px = await proxy(up.port, { header: '300ms' })
  const c = await RawClient.open(px.port)
  for (const piece of ['GET /pieces HT', 'TP/1.1\r\nHo', 'st: a\r\n', '\r\n']) { c.send(piece); await sleep(40) }
  await c.until('ok')
  assert.equal(statuses(c.text), [200])
  c.destroy()
})

t('the header timer starts again for each request on a keep-alive connection', async () => {
  const up = track(await httpUpstream())
  const px = await proxy(up.port, { header: '300ms', keepalive: '2s' })
  const c = await RawClient.open(px.port)
  c.send('GET /first HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('ok')
  await sleep(350) // longer than the header timeout, but idle
  for (const piece of ['GET /second HTTP/1.1\r\n', 'Host: a\r\n', '\r\n']) { c.send(piece); await sleep(80) }
  await c.until((s) => statuses(s).length === 2 && s.endsWith('ok'))
  assert.equal(statuses(c.text), [200, 200])
  c.destroy()
})

t('keep-alive idle timeout closes an idle connection, after a response or with none', async () => {
  const up = track(await httpUpstream())
  const px = await proxy(up.port, { keepalive: '200ms' })
  const a = await RawClient.open(px.port)
  a.send('GET /ka HTTP/1.1\r\nHost: a\r\n\r\n')
  await a.until('ok')
  const t0 = Date.now()
  await sleep(100)
  assert.not.ok(a.ended, 'still open before the timeout')
  await a.untilClosed(1000)
  const ms = Date.now() - t0
  assert.ok(ms >= 180 && ms < 800, `closed after ${ms} ms idle`)
  const b = await RawClient.open(px.port)
  await b.untilClosed(1000)
  assert.is(b.text, '', 'nothing is sent to a connection that sent nothing')
  a.destroy(); b.destroy()
  await waitFor(() => px.server.connections === 0, 1000, 'the connections to be gone')
})

t('limits.max_connections refuses connections past the cap', async () => {
  const up = track(await httpUpstream())
  const px = await proxy(up.port, {}, { limits: { max_connections: 2 } })
  const a = await RawClient.open(px.port)
  const b = await RawClient.open(px.port)
  await waitFor(() => px.server.connections === 2, 1000, 'two connections')
  const c = await RawClient.open(px.port)
  await c.untilClosed(1000)
  assert.is(c.text, '')
  assert.is(px.server.refused, 1)
  a.send('GET /within-cap HTTP/1.1\r\nHost: a\r\n\r\n')
  await a.until('ok')
  b.destroy()
  await waitFor(() => px.server.connections === 1, 1000, 'one connection left')
  const d = await RawClient.open(px.port)
  d.send('GET /after-one-left HTTP/1.1\r\nHost: a\r\n\r\n')
  await d.until('ok')
  for (const x of [a, c, d]) x.destroy()
})

t('client_idle: a client that stops sending its body is dropped, logged CT, the peer socket closed', async () => {
  const peer = track(await rawUpstream())
  const px = await proxy(peer.port, { client_idle: '200ms', upstream_response: '5s' })
  const c = await RawClient.open(px.port)
  c.send('POST /stuck-body HTTP/1.1\r\nHost: a\r\nContent-Length: 100\r\n\r\nten bytes!')
  await c.untilClosed(1000)
  await waitFor(() => peer.sockets[0]?.destroyed === true, 1000, 'the peer socket to close')
  await waitFor(() => causeOf(px, '/stuck-body') === 'CT', 1000, 'a CT record')
})

t('client_idle: a client that does not read the response is dropped', async () => {
  const chunk = Buffer.alloc(256 * 1024, 'z')
  const peer = track(await rawUpstream((s) => {
    s.write('HTTP/1.1 200 OK\r\nContent-Length: 1000000000\r\n\r\n')
    const pump = (): void => { while (!s.destroyed && s.write(chunk)); }
    s.on('drain', pump)
    pump()
  }))
  const px = await proxy(peer.port, { client_idle: '300ms', upstream_idle: '5s' })
  const c = await RawClient.open(px.port)
  c.socket.pause()
  c.send('GET /no-reader HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => peer.sockets[0]?.destroyed === true, 3000, 'the peer socket to close')
  await waitFor(() => causeOf(px, '/no-reader') === 'CT', 1000, 'a CT record')
  c.destroy()
})

t('client_idle does not cut a client that waits for a slow peer', async () => {
  const up = track(await httpUpstream((_q, res) => { setTimeout(() => res.end('late'), 500) }))
  const px = await proxy(up.port, { client_idle: '200ms', upstream_response: '2s' })
  const c = await RawClient.open(px.port)
  c.send('GET /slow-peer HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('late', 2000)
  assert.equal(statuses(c.text), [200])
  c.destroy()
})

t('upstream_response runs from the end of the request, not its head: a slow upload is not a 504', async () => {
  const up = track(await httpUpstream((_q, res, body) => res.end(`got ${body.length}`)))
  const px = await proxy(up.port, { upstream_response: '300ms', client_idle: '2s' })
  const c = await RawClient.open(px.port)
  c.send('POST /slow-upload HTTP/1.1\r\nHost: a\r\nContent-Length: 50\r\n\r\n')
  for (let i = 0; i < 5; i++) { await sleep(150); c.send('0123456789') }
  await c.until('got 50', 2000)
  assert.equal(statuses(c.text), [200])
  c.destroy()
})

t.run()
