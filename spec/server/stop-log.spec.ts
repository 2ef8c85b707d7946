/**
 * The access log at a graceful stop (Server.close): every line in the file, a write still waiting in
 * Node's thread pool or not, and never a stop held up by a pool that does not free up; the lines of
 * what the stop cut (a tunnel's); the log a reload replaced; and a reload that turns the log on while
 * an exchange is in flight. An independent review found each of these.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer, connect, type Socket } from 'node:net'
import type { AddressInfo } from 'node:net'
import { execFileSync } from 'node:child_process'
import { closeSync, mkdtempSync, open, openSync, constants, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { pbkdf2 } from 'node:crypto'
import { httpUpstream, proxyTo, raw, sleep, startProxy, waitFor, type ProxyHandle } from '../support/harness.js'
import { Sink } from '../../src/log/sink.js'
import { validate } from '../../src/config/validate.js'

const t = suite('stop-log')
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-stop-log-'))
// Run after each case, failed or not, last first: an open server or socket would keep the run alive.
const cleanup: (() => unknown)[] = []
t.after.each(async () => { for (const f of cleanup.splice(0).reverse()) await f() })

function targets(file: string): string[] {
  let text = ''
  try { text = readFileSync(file, 'utf8') } catch { return [] }
  return text.split('\n').filter((l) => l !== '').map((l) => (JSON.parse(l) as { target: string }).target)
}

const get = (px: ProxyHandle, path: string): Promise<unknown> => raw(px.port, `GET ${path} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)

/**
 * Four opens of a FIFO with no writer hold all four of Node's thread-pool threads, with no CPU, from
 * `hold()` until `release()` opens it for writing.
 */
function poolBlocker(name: string): { hold(): void; release(): void } {
  const fifo = join(dir, name)
  execFileSync('mkfifo', [fifo])
  let held = false
  return {
    hold() { held = true; for (let i = 0; i < 4; i++) open(fifo, 'r', () => {}) },
    release() { if (held) { held = false; closeSync(openSync(fifo, constants.O_WRONLY | constants.O_NONBLOCK)) } },
  }
}

/** Reloads `px` (one peer at `peerPort`) with its access log now going to `path`. */
function reloadLog(px: ProxyHandle, peerPort: number, path: string): Promise<void> {
  return px.server.reload(validate({ listen: [`127.0.0.1:${px.port}`], upstreams: { u: { peers: [`127.0.0.1:${peerPort}`] } }, access_log: { path, format: 'json' }, event_log: 'off' }))
}

/** About `iterations / 2M` seconds of work for each of the four pool threads. */
function busyPool(iterations: number): Promise<void> {
  return Promise.all(Array.from({ length: 4 }, () => new Promise<void>((r) => pbkdf2('x', 'y', iterations, 32, 'sha256', () => r())))).then(() => {})
}

t('a thread pool that does not free up holds a stop at most about a second, and no line is lost', async () => {
  const pool = poolBlocker('fifo')
  const log = join(dir, 'stuck.log')
  const up = await httpUpstream()
  const px = await proxyTo([up.port], { access_log: { path: log, format: 'json' } })
  try {
    for (let i = 0; i < 4; i++) await get(px, `/early/${i}`)
    pool.hold()
    await sleep(150) // the sink's 100 ms timer fires: its write waits for a pool thread
    for (let i = 0; i < 2; i++) await get(px, `/late/${i}`)
    const t0 = Date.now()
    const stopped = await Promise.race([px.close().then(() => true), sleep(4000).then(() => false)])
    assert.ok(stopped, 'the stop ended')
    assert.ok(Date.now() - t0 < 2500, `the stop took ${Date.now() - t0} ms`)
    assert.equal(targets(log).sort(), ['/late/0', '/late/1'], 'the lines after the stuck write are in')
    pool.release()
    await waitFor(() => targets(log).length === 6, 2000, 'the stuck write landing once the pool frees up')
    assert.equal(targets(log).sort(), ['/early/0', '/early/1', '/early/2', '/early/3', '/late/0', '/late/1'])
  } finally {
    pool.release()
    await px.close()
    await up.close()
  }
})

t('a tunnel cut by the stop still gets its line, with the cause SD', async () => {
  const log = join(dir, 'tunnel.log')
  const peerSockets: Socket[] = []
  const peer = createServer((s) => {
    peerSockets.push(s)
    s.on('error', () => {})
    s.once('data', () => s.write('HTTP/1.1 101 Switching Protocols\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n'))
  })
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r))
  cleanup.push(() => { for (const s of peerSockets) s.destroy(); return new Promise((r) => peer.close(r)) })
  const px = await proxyTo([(peer.address() as AddressInfo).port], { access_log: { path: log, format: 'json' } })
  cleanup.push(() => px.close())
  const c = connect({ host: '127.0.0.1', port: px.port })
  cleanup.push(() => c.destroy())
  c.on('error', () => {})
  let got = ''
  c.on('data', (d) => { got += d.toString() })
  c.write('GET /ws HTTP/1.1\r\nHost: a\r\nUpgrade: test\r\nConnection: Upgrade\r\n\r\n')
  await waitFor(() => got.includes('\r\n\r\n'), 2000, 'the 101')
  await px.server.close(100)
  assert.equal(targets(log), ['/ws'])
  const rec = JSON.parse(readFileSync(log, 'utf8').trim()) as { status: number; cause: string }
  assert.equal([rec.status, rec.cause], [101, 'SD'], 'cut by the stop: SD, as HAProxy would say')
})

t('the log a reload replaced, its write waiting behind a busy pool, is complete when the stop ends', async () => {
  const a = join(dir, 'before-reload.log')
  const b = join(dir, 'after-reload.log')
  const up = await httpUpstream()
  cleanup.push(() => up.close())
  const px = await proxyTo([up.port], { access_log: { path: a, format: 'json' } })
  cleanup.push(() => px.close())
  for (let i = 0; i < 3; i++) await get(px, `/a/${i}`)
  // About half a second of work for each pool thread: the timer's write waits behind it.
  const busy = busyPool(1_000_000)
  await sleep(150)
  await reloadLog(px, up.port, b)
  await px.close()
  assert.equal(targets(a), ['/a/0', '/a/1', '/a/2'])
  await busy
})

t('a reload that turns the log on mid-exchange writes no line for that exchange, and lines for the next', async () => {
  const log = join(dir, 'turned-on.log')
  const up = await httpUpstream((_req, res) => { setTimeout(() => res.end('slow'), 300) })
  cleanup.push(() => up.close())
  const px = await proxyTo([up.port])
  cleanup.push(() => px.close())
  const first = get(px, '/begun-before')
  await sleep(50)
  await reloadLog(px, up.port, log)
  await first
  await get(px, '/begun-after')
  await px.close()
  const lines = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l) as { target: string; time: string })
  assert.equal(lines.map((l) => l.target), ['/begun-after'])
  assert.ok(!lines[0].time.startsWith('1970'), lines[0].time)
})

t('with a stuck thread pool, the logs with a write in flight are drained together: the stop waits about a second, not a second per log', async () => {
  const pool = poolBlocker('fifo2')
  const a = join(dir, 'two-a.log')
  const b = join(dir, 'two-b.log')
  const up = await httpUpstream()
  const px = await proxyTo([up.port], { access_log: { path: a, format: 'json' } })
  try {
    await get(px, '/a')
    pool.hold()
    await sleep(150) // log a's write waits for a pool thread
    await reloadLog(px, up.port, b)
    await get(px, '/b')
    await sleep(150) // and so does log b's
    const t0 = Date.now()
    await px.close()
    assert.ok(Date.now() - t0 < 1900, `the stop took ${Date.now() - t0} ms`)
  } finally {
    pool.release()
    await px.close()
    await up.close()
  }
})

t('a drain that gave up waiting leaves the sink flushing as before: a later line goes out on its timer', async () => {
  const file = join(dir, 'gave-up.log')
  const s = new Sink(file)
  const busy = busyPool(600_000)
  s.line('a')
  s.flush() // queued behind the busy pool
  await s.drain(20) // gives up; 'a' is still on its way
  s.line('c')
  await busy
  await waitFor(() => readFileSync(file, 'utf8').split('\n').includes('c'), 1000, "'c' written on the sink's timer")
  s.close()
})

t('a cache fill that would read on for its collapsed readers is cut by the stop too: every exchange ends and logs', async () => {
  const log = join(dir, 'fill.log')
  const peerSockets: Socket[] = []
  // A cacheable response: half its body now, the rest in 3 s.
  const peer = createServer((s) => {
    peerSockets.push(s)
    s.on('error', () => {})
    s.once('data', () => {
      s.write('HTTP/1.1 200 OK\r\nCache-Control: max-age=3600\r\nContent-Length: 10\r\n\r\n12345')
      setTimeout(() => { if (!s.destroyed) s.write('67890') }, 3000).unref()
    })
  })
  await new Promise<void>((r) => peer.listen(0, '127.0.0.1', r))
  cleanup.push(() => { for (const s of peerSockets) s.destroy(); return new Promise((r) => peer.close(r)) })
  const px = await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${(peer.address() as AddressInfo).port}`] } }, routes: [{ upstream: 'u', cache: { zone: 'stop-fill' } }], access_log: { path: log, format: 'json' } })
  cleanup.push(() => px.close())
  for (let i = 0; i < 2; i++) {
    const c = connect({ host: '127.0.0.1', port: px.port })
    cleanup.push(() => c.destroy())
    c.on('error', () => {})
    c.write('GET /big HTTP/1.1\r\nHost: a\r\n\r\n')
  }
  await sleep(150)
  await px.server.close(100)
  assert.is(px.server.finished, px.server.requests, 'no exchange left running')
  assert.equal(targets(log), ['/big', '/big'])
})

t.run()
