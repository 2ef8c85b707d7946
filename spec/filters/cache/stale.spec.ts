// Serving stale (RFC 9111 §4.2.4, RFC 5861), collapsing requests, fills that fail, the size limits,
// PURGE and the purge function, through real sockets.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { connect } from 'node:net'
import { startProxy, guard, sleep, waitFor, deadPort, ProxyHandle } from '../../support/harness.js'
import { Origin, get } from './origin.js'
import { purge } from '../../../src/filters/cache.js'

const t = suite('filters: cache, stale and collapsed')
const track = guard(t)
let origin: Origin
let px: ProxyHandle
let n = 0
const fresh = (): string => `/s${++n}`

t.before(async () => {
  origin = await Origin.start()
  px = await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${origin.port}`] } },
    routes: [
      { path: '/small', upstream: 'u', cache: { zone: 'spec-small', store: { memory: { max_size: '64k' } }, max_object_size: '8k', lock_timeout: '300ms' } },
      { upstream: 'u', cache: { zone: 'spec-stale', purge: { allow: ['127.0.0.1/32'] } } },
    ],
  })
})
t.after(async () => { await px.close(); await origin.close() })

t('RFC 5861 §3: within stale-while-revalidate the stale entry is served at once and refreshed behind', async () => {
  const p = fresh()
  // The refreshed one is fresh for a minute (max-age=1 could be stale again at once: Date has whole seconds).
  origin.on(p, (k) => ({ headers: [['Cache-Control', k === 1 ? 'max-age=1, stale-while-revalidate=60' : 'max-age=60'], ['ETag', `"v${k}"`], ['V', String(k)]] }))
  await get(px.port, p)
  await sleep(1100)
  const stale = await get(px.port, p)
  assert.is(stale.h.v, '1')
  assert.match(stale.h['cache-status'], /^rawproxy; hit; ttl=-\d+$/)
  await waitFor(() => origin.count(p) === 2, 2000, 'the background revalidation')
  assert.is(origin.last(p).headers['if-none-match'], '"v1"')
  await sleep(50)
  const after = await get(px.port, p)
  assert.is(after.h.v, '2')
  assert.match(after.h['cache-status'], /hit/)
  assert.is(origin.count(p), 2)
})

t('RFC 5861 §3: past the stale-while-revalidate window the request goes to the peer', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=1, stale-while-revalidate=1']] }))
  await get(px.port, p)
  await sleep(2100)
  await get(px.port, p)
  assert.is(origin.count(p), 2)
})

t('RFC 5861 §4: stale-if-error serves the entry in place of a 5xx, and of a dead peer; not past its window', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1, stale-if-error=60']], body: 'good' } : { status: 503, headers: [] })
  await get(px.port, p)
  await sleep(1100)
  const r = await get(px.port, p)
  assert.is(r.status, 200)
  assert.is(r.body, 'good')
  // 1.1 s after a max-age=1 answer the entry is a second past fresh; a loaded machine may make it two.
  assert.match(r.h['cache-status'], /^rawproxy; fwd=stale; fwd-status=503; ttl=-[12]$/)
  const q = fresh()
  origin.on(q, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1, stale-if-error=1']] } : { status: 500, headers: [] })
  await get(px.port, q)
  await sleep(2200)
  assert.is((await get(px.port, q)).status, 500)
})

t('§4.2.4: stale_if_down serves stale when no peer answers, except against must-revalidate', async () => {
  const dead = await deadPort()
  const up = track(await Origin.start())
  const cfg = (port: number) => ({ upstreams: { u: { peers: [`127.0.0.1:${port}`] } }, routes: [{ upstream: 'u', cache: { zone: `spec-down-${port}`, stale_if_down: '1h' } }] })
  const a = track(await startProxy(cfg(up.port)))
  up.on('/a', () => ({ headers: [['Cache-Control', 'max-age=1']], body: 'kept' }))
  up.on('/b', () => ({ headers: [['Cache-Control', 'max-age=1, must-revalidate']], body: 'strict' }))
  await get(a.port, '/a')
  await get(a.port, '/b')
  await sleep(1100)
  await up.close()
  const r = await get(a.port, '/a')
  assert.is(r.status, 200)
  assert.is(r.body, 'kept')
  assert.match(r.h['cache-status'], /fwd=stale; ttl=-\d+; detail=peer-error/)
  const s = await get(a.port, '/b')
  assert.ok(s.status === 502 || s.status === 504, String(s.status))
  // Without stale_if_down a dead peer is a 502 whatever is stored.
  const b = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${dead}`] } }, routes: [{ upstream: 'u', cache: { zone: 'spec-nodown' } }] }))
  assert.ok((await get(b.port, '/a')).status >= 502)
})

t('collapsing: concurrent misses make one request; the others read the body as it arrives', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60'], ['Content-Length', '12']], pieces: ['part1-', 'part2-'], gap: 150, delay: 50 }))
  const started = Date.now()
  const all = await Promise.all([get(px.port, p), get(px.port, p), get(px.port, p), get(px.port, p)])
  assert.is(origin.count(p), 1)
  for (const r of all) assert.is(r.body, 'part1-part2-')
  assert.ok(all.some((r) => /collapsed/.test(r.h['cache-status'])), all.map((r) => r.h['cache-status']).join(' | '))
  assert.ok(Date.now() - started < 1000)
})

t('collapsing: a body of unknown length (chunked) is shared once complete', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']], pieces: ['a', 'b', 'c'], gap: 50 }))
  const all = await Promise.all([get(px.port, p), get(px.port, p), get(px.port, p)])
  assert.is(origin.count(p), 1)
  for (const r of all) assert.is(r.body, 'abc')
})

t('collapsing: waiters go to the peer themselves after the lock timeout', async () => {
  const p = '/small/slow'
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']], delay: 700 }))
  const all = await Promise.all([get(px.port, p), get(px.port, p)])
  assert.is(origin.count(p), 2)
  assert.match(all.map((r) => r.h['cache-status']).join(' '), /detail=lock-timeout/)
})

t('a peer that dies mid-body leaves no entry, and the clients reading along are cut as a direct one is', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=60']], dieAfter: 'partial' } : { headers: [['Cache-Control', 'max-age=60']], body: 'whole' })
  const results = await Promise.allSettled([get(px.port, p), get(px.port, p)])
  for (const r of results) assert.is(r.status, 'rejected', 'a cut response is an error to the client')
  const next = await get(px.port, p)
  assert.is(next.body, 'whole')
  assert.match(next.h['cache-status'], /uri-miss/)
})

t('max_object_size: a larger response reaches its client whole and is not stored; the budget evicts the oldest', async () => {
  const big = 'x'.repeat(9000)
  origin.on('/small/big', () => ({ headers: [['Cache-Control', 'max-age=60']], body: big }))
  origin.on('/small/chunked-big', () => ({ headers: [['Cache-Control', 'max-age=60']], pieces: ['y'.repeat(5000), 'y'.repeat(5000)], gap: 10 }))
  for (let i = 0; i < 2; i++) assert.is((await get(px.port, '/small/big')).body, big)
  assert.is(origin.count('/small/big'), 2)
  for (let i = 0; i < 2; i++) assert.is((await get(px.port, '/small/chunked-big')).body.length, 10000)
  assert.is(origin.count('/small/chunked-big'), 2)
  // 64k of budget, entries of ~6k: the first of twelve is gone, the last is kept.
  for (let i = 0; i < 12; i++) {
    origin.on(`/small/e${i}`, () => ({ headers: [['Cache-Control', 'max-age=60']], body: 'z'.repeat(6000) }))
    await get(px.port, `/small/e${i}`)
  }
  await get(px.port, '/small/e11')
  await get(px.port, '/small/e0')
  assert.is(origin.count('/small/e11'), 1)
  assert.is(origin.count('/small/e0'), 2)
})

t('PURGE from an allowed client removes a URL, or every URL under a prefix; purge() does the same', async () => {
  const a = fresh()
  const b = `${a}/deeper`
  for (const p of [a, b]) { origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']] })); await get(px.port, p) }
  const one = await get(px.port, a, [], 'PURGE')
  assert.is(one.status, 200)
  assert.is(one.body, 'purged 1\n')
  assert.is((await get(px.port, a, [], 'PURGE')).status, 404)
  await get(px.port, a)
  assert.is(origin.count(a), 2)
  assert.is((await get(px.port, `${a}*`, [], 'PURGE')).body, 'purged 2\n')
  await get(px.port, b)
  assert.is(origin.count(b), 2)
  assert.is(purge(`http://127.0.0.1:${px.port}${b}`, false), 1)
  await get(px.port, b)
  assert.is(origin.count(b), 3)
  // Without `purge`, PURGE is an unsafe method like any other: forwarded, and it invalidates.
  const refused = await get(px.port, '/small/x', [], 'PURGE')
  assert.is(refused.status, 404)
  assert.is(origin.last('/small/x').method, 'PURGE')
})

t('PURGE from an address not allowed is refused with 403', async () => {
  const other = track(await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${origin.port}`] } }, routes: [{ upstream: 'u', cache: { zone: 'spec-purge-403', purge: { allow: ['10.0.0.0/8'] } } }] }))
  assert.is((await get(other.port, '/x', [], 'PURGE')).status, 403)
})

t('a stored response is served to a slow reader with backpressure, whole', async () => {
  const p = fresh()
  const body = 'q'.repeat(4 * 1024 * 1024)
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']], body }))
  await get(px.port, p)
  const got = await new Promise<number>((resolve) => {
    const s = connect(px.port, '127.0.0.1', () => s.write(`GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${px.port}\r\nConnection: close\r\n\r\n`))
    let size = 0
    s.pause()
    setTimeout(() => s.resume(), 300)
    s.on('data', (d: Buffer) => { size += d.length })
    s.on('close', () => resolve(size))
  })
  assert.ok(got > body.length)
  assert.is(origin.count(p), 1)
})

t.run()
