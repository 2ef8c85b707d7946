import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { mkdtempSync, readFileSync, statSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { AccessLog, IsoClock } from '../../src/log/access-log.js'
import { EventLog } from '../../src/log/events.js'
import { Sink } from '../../src/log/sink.js'
import { pbkdf2 } from 'node:crypto'
import { httpUpstream, proxyTo, raw, sleep } from '../support/harness.js'

const t = suite('log')
const dir = mkdtempSync(join(tmpdir(), 'rawproxy-log-'))

const rec = {
  start: Date.UTC(2026, 0, 2, 3, 4, 5), client: '10.0.0.1', method: 'GET', target: '/a b', status: 200,
  bytesIn: 10, bytesOut: 20, ms: 1.23456, peer: '127.0.0.1:9000', peerMs: 0.5, cause: '--',
}

t('lines are buffered: nothing is written per line, all of it on flush', async () => {
  const file = join(dir, 'buffered.log')
  const s = new Sink(file)
  for (let i = 0; i < 1000; i++) s.line(`line ${i}`)
  assert.is(statSync(file).size, 0, 'no write per line')
  await sleep(200)
  const lines = readFileSync(file, 'utf8').trim().split('\n')
  assert.is(lines.length, 1000, 'the timer flushed them all in one go')
  s.close()
})

t('lines that come while a write is in flight wait for the next timer, not for the write to end', async () => {
  const file = join(dir, 'paced.log')
  const s = new Sink(file)
  s.line('first')
  s.flush() // a write in flight now
  s.line('second') // during it: it waits for the 100 ms timer, not for the write's end
  await sleep(40)
  assert.is(readFileSync(file, 'utf8'), 'first\n', 'one write per 100 ms, not one per write completed')
  await sleep(150)
  assert.is(readFileSync(file, 'utf8'), 'first\nsecond\n')
  s.close()
})

t('JSON access lines carry every field', () => {
  const file = join(dir, 'access.json')
  const log = new AccessLog({ path: file, format: 'json' })
  log.write(rec)
  log.close()
  assert.equal(JSON.parse(readFileSync(file, 'utf8')), {
    time: '2026-01-02T03:04:05.000Z', client: '10.0.0.1', method: 'GET', target: '/a b', status: 200,
    bytes_in: 10, bytes_out: 20, ms: 1.235, peer: '127.0.0.1:9000', peer_ms: 0.5, cause: '--',
  })
})

t('a JSON access line is what JSON.stringify makes of the record, escapes and optional fields included', () => {
  const file = join(dir, 'access-escapes.json')
  const log = new AccessLog({ path: file, format: 'json' })
  const odd = ['/a"b', '/c\\d', '/e\u0001f', '/ü€😀', '/lone\ud800', 'tab\there', '\u007f']
  for (const target of odd) log.write({ ...rec, target, user: target, requestId: 'r1', filter: 'auth', limit: 'l(dry)', clientCert: 'CN="x"', delayMs: 2.5 })
  log.write({ ...rec, start: rec.start + 7, ms: 0 })
  log.close()
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  const want = (r: typeof rec & Record<string, unknown>, time: string): string => JSON.stringify({ time, client: r.client, method: r.method, target: r.target, status: r.status,
    bytes_in: r.bytesIn, bytes_out: r.bytesOut, ms: Math.round(r.ms * 1000) / 1000, peer: r.peer, peer_ms: r.peerMs, cause: r.cause,
    ...(r.user === undefined ? {} : { filter: 'auth', user: r.user, request_id: 'r1', client_cert: 'CN="x"', limit: 'l(dry)', delay_ms: 2.5 }) })
  odd.forEach((target, i) => assert.is(lines[i], want({ ...rec, target, user: target }, '2026-01-02T03:04:05.000Z'), target))
  assert.is(lines[odd.length], want({ ...rec, ms: 0 }, '2026-01-02T03:04:05.007Z'))
})


t('client, method, peer and cause kept from the line before are written as JSON.stringify writes them, repeats and changes alike', () => {
  const file = join(dir, 'access-kept.json')
  const log = new AccessLog({ path: file, format: 'json' })
  // Each field goes plain, odd (an escape, then UTF-8), odd again (kept), and plain again.
  const seq = [
    { client: '10.0.0.1', method: 'GET', peer: 'a:1', cause: '--' },
    { client: 'x"y', method: 'M\\', peer: 'é:1', cause: 'ü' },
    { client: 'x"y', method: 'M\\', peer: 'é:1', cause: 'ü' },
    { client: '10.0.0.2', method: 'GET', peer: 'a:1', cause: '--' },
    { client: '10.0.0.2', method: 'PUT', peer: 'é:1', cause: 'UR' },
  ]
  for (const s of seq) log.write({ ...rec, ...s })
  log.close()
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Record<string, unknown>)
  seq.forEach((s, i) => assert.equal({ client: lines[i].client, method: lines[i].method, peer: lines[i].peer, cause: lines[i].cause }, s, `line ${i}`))
})
t('durations are written as String(Math.round(ms * 1000) / 1000) writes them, from whole numbers', () => {
  const file = join(dir, 'access-ms.json')
  const log = new AccessLog({ path: file, format: 'json' })
  const values = [0, 0.0004, 0.0005, 0.001, 0.05, 0.0499, 0.1, 0.5, 1, 1.8, 1.811, 2.0005, 9.999, 9.9996, 10, 123.45, 999.9999, 65_536.125, 3_600_000.001, 1e9 + 0.25, 1e13, 1e16, 7e300]
  // Fewer lines than fill one buffer: close() then writes them at once (a full one would go out async).
  for (let i = 0; i < 200; i++) values.push(Math.random() * 10 ** (i % 9))
  for (const ms of values) log.write({ ...rec, ms, peerMs: ms / 3 })
  log.close()
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  values.forEach((ms, i) => {
    const m = /"ms":([^,]+),.*"peer_ms":([^,]+),/.exec(lines[i])!
    assert.is(m[1], String(Math.round(ms * 1000) / 1000), `ms ${ms}`)
    assert.is(m[2], String(Math.round((ms / 3) * 1000) / 1000), `peer_ms ${ms / 3}`)
  })
})

t('the access log clock reads as toISOString, across seconds, days and years', () => {
  const c = new IsoClock()
  const base = Date.UTC(2026, 11, 31, 23, 59, 58)
  for (const d of [0, 1, 9, 10, 99, 100, 999, 1000, 1001, 1999, 2000, 2001, 5, 86_400_000 + 12, 1.7]) {
    assert.is(c.iso(base + d), new Date(base + d).toISOString(), String(d))
  }
})

t('text access lines are readable', () => {
  const file = join(dir, 'access.txt')
  const log = new AccessLog({ path: file, format: 'text' })
  log.write({ ...rec, peer: '', cause: 'UF', status: 502 })
  log.flushSync()
  assert.is(readFileSync(file, 'utf8'), '2026-01-02T03:04:05.000Z 10.0.0.1 "GET /a b" 502 10 20 1.235ms - 0.5ms UF\n')
  log.close()
})

t('the access log can be turned off', () => {
  const log = new AccessLog({ path: 'off', format: 'json' })
  assert.not.ok(log.enabled)
  log.write(rec)
  log.close()
})

/** Keeps Node's four thread-pool threads busy for about a second: a file write queued now waits behind them. */
function busyPool(): Promise<void> {
  return Promise.all(Array.from({ length: 4 }, () => new Promise<void>((r) => pbkdf2('x', 'y', 2_000_000, 32, 'sha256', () => r())))).then(() => {})
}

t('drain(): every line so far is in the file, in order, even with the write before it still queued (flushSync cannot wait for it)', async () => {
  const file = join(dir, 'flushed.log')
  const s = new Sink(file)
  const busy = busyPool()
  for (let i = 0; i < 1000; i++) s.line(`a ${i}`)
  s.flush() // queued behind the busy pool
  for (let i = 0; i < 1000; i++) s.line(`b ${i}`)
  await s.drain(5000)
  const lines = readFileSync(file, 'utf8').trimEnd().split('\n')
  assert.is(lines.length, 2000)
  assert.is(lines[0], 'a 0')
  assert.is(lines[1000], 'b 0')
  assert.is(lines[1999], 'b 999')
  await busy
  s.close()
})

t('a graceful close leaves every access line in the file, in order, a write still queued or not', async () => {
  const log = join(dir, 'close.log')
  const up = await httpUpstream()
  const px = await proxyTo([up.port], { access_log: { path: log, format: 'json' } })
  try {
    for (let i = 0; i < 5; i++) await raw(px.port, `GET /early/${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)
    const busy = busyPool()
    await sleep(150) // the sink's 100 ms timer fires: its write waits behind the busy pool
    for (let i = 0; i < 3; i++) await raw(px.port, `GET /late/${i} HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n`)
    await px.close()
    const targets = readFileSync(log, 'utf8').trimEnd().split('\n').map((l) => (JSON.parse(l) as { target: string }).target)
    assert.equal(targets, ['/early/0', '/early/1', '/early/2', '/early/3', '/early/4', '/late/0', '/late/1', '/late/2'])
    await busy
  } finally {
    await px.close()
    await up.close()
  }
})

t('events go to their own log, as text or JSON', async () => {
  const file = join(dir, 'events.log')
  const ev = new EventLog({ path: file, format: 'text' })
  ev.log('info', 'started', { pid: 1, parser: 'llhttp wasm' })
  ev.log('warn', 'odd')
  ev.close()
  await sleep(50)
  assert.is(readFileSync(file, 'utf8').replace(/^\S+ /gm, ''), 'info started pid=1 parser="llhttp wasm"\nwarn odd\n')
  const jf = join(dir, 'events.json')
  const ej = new EventLog({ path: jf, format: 'json' })
  ej.log('error', 'reload refused', { error: 'x' })
  ej.close()
  await sleep(50)
  const e = JSON.parse(readFileSync(jf, 'utf8'))
  assert.is(e.event, 'reload refused')
  assert.is(e.level, 'error')
})

t.run()
