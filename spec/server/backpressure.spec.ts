/**
 * Backpressure both ways (DESIGN principle 2): 100 MB from a fast peer to a slow client, and 100 MB
 * from a fast client to a slow peer, with the proxy's memory bounded; and the stalls that backpressure
 * causes are not mistaken for idle peers or clients.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect, createServer, Socket } from 'node:net'
import { setFlagsFromString } from 'node:v8'
import { runInNewContext } from 'node:vm'
import { proxyTo, RawClient, rawUpstream, guard, sleep, statuses, waitFor, ProxyHandle } from '../support/harness.js'

const t = suite('backpressure')
const track = guard(t)
const MB = 1 << 20
const TOTAL = 100 * MB
/** The proxy runs in this process: its buffers would show in this process's RSS. */
const BOUND = 64 * MB
const block = Buffer.alloc(MB, 'b')

// A full collection before each sample, so RSS shows what is held, not garbage awaiting collection.
setFlagsFromString('--expose-gc')
const gc = runInNewContext('gc') as () => void

/**
 * RSS, and the bytes held by live Buffers (RSS alone keeps pages that malloc reuses later). V8 frees
 * Buffer memory in the background after a collection, so the count is read after a short pause.
 */
async function memory(): Promise<{ rss: number; buffers: number }> {
  gc()
  await sleep(20)
  gc()
  const m = process.memoryUsage()
  return { rss: m.rss, buffers: m.arrayBuffers }
}

/** The largest growth over a base measured first. */
class Peak {
  base = { rss: 0, buffers: 0 }
  rss = 0
  buffers = 0
  async start(): Promise<Peak> {
    this.base = await memory()
    return this
  }
  async sample(): Promise<void> {
    const m = await memory()
    this.rss = Math.max(this.rss, m.rss - this.base.rss)
    this.buffers = Math.max(this.buffers, m.buffers - this.base.buffers)
  }
  check(): void {
    assert.ok(this.rss < BOUND, `RSS grew by ${(this.rss / MB).toFixed(1)} MB`)
    assert.ok(this.buffers < 16 * MB, `live buffers grew by ${(this.buffers / MB).toFixed(1)} MB`)
  }
}


async function proxy(port: number, timeouts: Record<string, string> = {}): Promise<ProxyHandle> {
  return track(await proxyTo([port], { timeouts }))
}

/** Writes `total` bytes of `block` to `s`, honouring drain; `sent()` tells the progress. */
function pump(s: Socket, total: number): { sent(): number } {
  let sent = 0
  const more = (): void => {
    while (sent < total && !s.destroyed) {
      sent += block.length
      if (!s.write(block)) return
    }
  }
  s.on('drain', more)
  more()
  return { sent: () => sent }
}

/**
 * A raw peer that reads one request with a Content-Length body without keeping it, and answers
 * "got N" once it has all. It starts paused when `paused` is set: the test decides when it reads.
 */
async function countingPeer(paused: boolean) {
  const p = { socket: null as Socket | null, received: 0, head: 0, port: 0, close: async () => {} }
  let expected = -1
  const srv = createServer((s) => {
    p.socket = s
    if (paused) s.pause()
    s.on('error', () => {})
    s.on('data', (d: Buffer) => {
      if (p.head === 0) p.head = d.indexOf('\r\n\r\n') + 4
      p.received += d.length
      const m = /content-length: (\d+)/i.exec(d.toString('latin1', 0, Math.min(d.length, 512)))
      if (m !== null) expected = Number(m[1])
      if (p.received === p.head + expected) {
        const body = `got ${expected}`
        s.end(`HTTP/1.1 200 OK\r\nContent-Length: ${body.length}\r\n\r\n${body}`)
      }
    })
  })
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r))
  p.port = (srv.address() as { port: number }).port
  p.close = () => new Promise<void>((r) => { p.socket?.destroy(); srv.close(() => r()) })
  return track(p)
}

function openSocket(port: number): Promise<Socket> {
  return new Promise((resolve) => { const s = connect(port, '127.0.0.1', () => resolve(s)); s.on('error', () => {}) })
}


t('download: 100 MB from a fast peer to a slow client, proxy memory bounded', async () => {
  let peerPump: { sent(): number } | null = null
  const peer = track(await rawUpstream((s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${TOTAL}\r\n\r\n`)
    peerPump = pump(s, TOTAL)
  }))
  const px = await proxy(peer.port)
  const peak = await new Peak().start()
  const c = await openSocket(px.port)
  let got = 0
  let head = 0
  c.on('data', (d: Buffer) => {
    if (head === 0) head = d.indexOf('\r\n\r\n') + 4
    got += d.length
  })
  c.write('GET /download HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  await waitFor(() => got > 0, 2000, 'the response head')
  // Stop reading: a fast peer would have sent all 100 MB by now if nothing held it back.
  c.pause()
  await sleep(500)
  const stalled = peerPump!.sent()
  await peak.sample()
  assert.ok(stalled < 40 * MB, `the peer was held back while the client read nothing (sent ${stalled / MB} MB)`)
  c.resume()
  // Then read in steps, pausing every 10 MB.
  for (let step = 1; step < 10; step++) {
    await waitFor(() => got >= step * 10 * MB, 5000, `${step * 10} MB at the client`)
    c.pause()
    await sleep(60)
    await peak.sample()
    c.resume()
  }
  await waitFor(() => got === head + TOTAL, 10_000, 'the whole body')
  await peak.sample()
  peak.check()
  c.destroy()
})

t('upload: 100 MB from a fast client to a slow-reading peer, proxy memory bounded', async () => {
  const peer = await countingPeer(true)
  const px = await proxy(peer.port)
  const peak = await new Peak().start()
  const c = await RawClient.open(px.port)
  c.send(`POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: ${TOTAL}\r\nConnection: close\r\n\r\n`)
  const up = pump(c.socket, TOTAL)
  await sleep(500)
  const stalled = up.sent()
  await peak.sample()
  assert.ok(stalled < 40 * MB, `the client was held back while the peer read nothing (sent ${stalled / MB} MB)`)
  await waitFor(() => peer.socket !== null, 1000, 'the peer connection')
  const ps = peer.socket!
  // The peer reads in steps, pausing every 10 MB.
  ps.resume()
  for (let step = 1; step < 10; step++) {
    await waitFor(() => peer.received >= step * 10 * MB, 5000, `${step * 10} MB at the peer`)
    ps.pause()
    await sleep(60)
    await peak.sample()
    ps.resume()
  }
  await c.until(`got ${TOTAL}`, 10_000)
  await peak.sample()
  assert.equal(statuses(c.text), [200])
  peak.check()
  c.destroy()
})

t('a client that stalls longer than upstream_idle does not get the peer timed out', async () => {
  const SIZE = 64 * MB
  const peer = track(await rawUpstream((s) => {
    s.write(`HTTP/1.1 200 OK\r\nContent-Length: ${SIZE}\r\n\r\n`)
    pump(s, SIZE)
  }))
  const px = await proxy(peer.port, { upstream_idle: '200ms', client_idle: '5s' })
  const c = await openSocket(px.port)
  let got = 0
  c.on('data', (d: Buffer) => { got += d.length })
  c.write('GET /slow-reader HTTP/1.1\r\nHost: a\r\n\r\n')
  await waitFor(() => got > 0, 2000, 'the response head')
  c.pause()
  await sleep(600)
  c.resume()
  await waitFor(() => got >= SIZE, 10_000, 'the whole body')
  assert.not.ok(c.destroyed || c.readableEnded, 'the client connection is kept')
  c.destroy()
})

t('a peer that stalls the upload shorter than upstream_idle does not get the client timed out', async () => {
  const peer = await countingPeer(true)
  const px = await proxy(peer.port, { client_idle: '200ms', upstream_idle: '3s' })
  const c = await RawClient.open(px.port)
  const SIZE = 64 * MB
  c.send(`POST /stalled-peer HTTP/1.1\r\nHost: a\r\nContent-Length: ${SIZE}\r\n\r\n`)
  pump(c.socket, SIZE)
  await waitFor(() => peer.socket !== null, 1000, 'the peer connection')
  await sleep(600)
  peer.socket!.resume()
  await c.until(`got ${SIZE}`, 10_000)
  assert.equal(statuses(c.text), [200])
  c.destroy()
})

t('a peer that stops taking the upload past upstream_idle: 504', async () => {
  const peer = track(await rawUpstream((s) => s.pause()))
  const px = await proxy(peer.port, { upstream_idle: '300ms', client_idle: '5s' })
  const c = await RawClient.open(px.port)
  const SIZE = 64 * MB
  c.send(`POST /never-read HTTP/1.1\r\nHost: a\r\nContent-Length: ${SIZE}\r\n\r\n`)
  pump(c.socket, SIZE)
  await c.until('504', 3000)
  assert.equal(statuses(c.text), [504])
  c.destroy()
})

t.run()
