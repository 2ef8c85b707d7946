// What an independent review of the cache reproduced, each fixed and kept fixed here: Vary against
// the request the peer got, 304s that are the client's or arrive for an entry gone, fields a 304 may
// not bring in, background revalidation with the route's edits, stale-if-error against
// must-revalidate, upgrades, purges that must reach fills in progress and stay in their zone,
// transfer codings, empty ranges, 204s, If-None-Match: *, Date.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createHash } from 'node:crypto'
import { connect } from 'node:net'
import { startProxy, guard, sleep, waitFor, raw, ProxyHandle } from '../../support/harness.js'
import { Origin, get } from './origin.js'
import { MemoryStore, MAX_VARIANTS } from '../../../src/filters/cache/memory-store.js'
import { Entry } from '../../../src/filters/cache/entry.js'
import { headOf } from '../../../src/filters/cache/stored-head.js'

const t = suite('filters: cache, review fixes')
guard(t)
let origin: Origin
let px: ProxyHandle
let n = 0
const fresh = (): string => `/r${++n}`
const sha = (pw: string): string => `{SHA}${createHash('sha1').update(pw).digest('base64')}`
const basic = (u: string): [string, string] => ['Authorization', `Basic ${Buffer.from(`${u}:pw`).toString('base64')}`]

t.before(async () => {
  origin = await Origin.start()
  const u = { upstreams: { u: { peers: [`127.0.0.1:${origin.port}`] } } }
  px = await startProxy({
    ...u,
    routes: [
      { path: '/users', upstream: 'u', auth: { realm: 'r', users: { alice: sha('pw'), bob: sha('pw') } }, headers: { request: { set: { 'X-Via-User': '{user}' } } }, cache: { zone: 'spec-review' } },
      { path: '/edited', upstream: 'u', headers: { request: { set: { 'X-Api-Key': 'k' } } }, cache: { zone: 'spec-review' } },
      { path: '/other-zone', upstream: 'u', cache: { zone: 'spec-review-2' } },
      { upstream: 'u', cache: { zone: 'spec-review', purge: { allow: ['127.0.0.1/32'] } } },
    ],
  })
})
t.after(async () => { await px.close(); await origin.close() })

t('Vary is matched on the request the peer got: a field a filter sets from {user} keeps users apart', async () => {
  origin.on('/users/page', (_k, req) => ({ headers: [['Cache-Control', 'public, max-age=60'], ['Vary', 'X-Via-User']], body: `page of ${req.headers['x-via-user']}` }))
  assert.is((await get(px.port, '/users/page', [basic('alice')])).body, 'page of alice')
  assert.is((await get(px.port, '/users/page', [basic('bob')])).body, 'page of bob')
  assert.is((await get(px.port, '/users/page', [basic('alice'), ['X-Via-User', 'bob']])).body, 'page of alice')
  assert.is(origin.count('/users/page'), 2)
})

t('a 304 for an entry that left the store meanwhile still gives the client the whole response', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1'], ['ETag', '"a"']], body: 'whole' } : { status: 304, headers: [['ETag', '"a"']], delay: 300 })
  await get(px.port, p)
  await sleep(1100)
  const pending = get(px.port, p)
  await sleep(100)
  origin.on(p, (k) => k === 3 ? { headers: [] } : { status: 304, headers: [['ETag', '"a"']] })
  await get(px.port, p, [], 'POST', 'x')
  const r = await pending
  assert.is(r.status, 200)
  assert.is(r.body, 'whole')
})

t("a 304 to the client's own validators goes to the client and freshens nothing", async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1']], body: 'v1' } : k === 2 ? { status: 304, headers: [['ETag', '"v2"'], ['Cache-Control', 'max-age=100']] } : { headers: [['Cache-Control', 'max-age=1']], body: 'v3' })
  await get(px.port, p)
  await sleep(1100)
  const mine = await get(px.port, p, [['If-None-Match', '"v2"']])
  assert.is(mine.status, 304)
  const next = await get(px.port, p)
  assert.is(next.body, 'v3')
  assert.is(origin.count(p), 3)
})

t('a 304 cannot bring in fields that may not be stored', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1
    ? { headers: [['Cache-Control', 'max-age=1, private="set-cookie"'], ['ETag', '"e"']] }
    : { status: 304, headers: [['ETag', '"e"'], ['Cache-Control', 'max-age=60'], ['Set-Cookie', 'sess=secret'], ['Connection', 'X-Hop'], ['X-Hop', 'h'], ['Proxy-Authenticate', 'Basic'], ['X-New', 'n']] })
  await get(px.port, p)
  await sleep(1100)
  await get(px.port, p)
  const hit = await get(px.port, p)
  assert.match(hit.h['cache-status'], /hit/)
  assert.is(hit.h['x-new'], 'n')
  assert.is(hit.h['set-cookie'], undefined)
  assert.is(hit.h['x-hop'], undefined)
  assert.is(hit.h['proxy-authenticate'], undefined)
})

t("a background revalidation is the request as the route's filters made it", async () => {
  origin.on('/edited/x', (_k, req) => ({ headers: [['Cache-Control', 'max-age=1, stale-while-revalidate=60'], ['ETag', '"e"']], body: `key ${req.headers['x-api-key']}` }))
  await get(px.port, '/edited/x', [['X-Api-Key', 'forged']])
  await sleep(1100)
  await get(px.port, '/edited/x')
  await waitFor(() => origin.count('/edited/x') === 2, 2000, 'the background revalidation')
  assert.is(origin.last('/edited/x').headers['x-api-key'], 'k')
  assert.is(origin.last('/edited/x').headers['if-none-match'], '"e"')
})

t('stale-if-error gives way to must-revalidate, proxy-revalidate and no-cache', async () => {
  for (const cc of ['max-age=1, must-revalidate, stale-if-error=600', 'max-age=1, proxy-revalidate, stale-if-error=600', 'no-cache, stale-if-error=600']) {
    const p = fresh()
    origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', cc]] } : { status: 503, headers: [] })
    await get(px.port, p)
    await sleep(cc.startsWith('no-cache') ? 0 : 1100)
    assert.is((await get(px.port, p)).status, 503, cc)
    assert.is((await get(px.port, p, [['Cache-Control', 'stale-if-error=600']])).status, 503, `${cc} (request)`)
  }
})

t('an Upgrade request is never answered from the cache, and holds no lock', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']] }))
  await get(px.port, p)
  const r = await raw(px.port, `GET ${p} HTTP/1.1\r\nHost: 127.0.0.1:${px.port}\r\nConnection: upgrade\r\nUpgrade: websocket\r\n\r\n`, { until: (s) => s.includes('\r\n\r\n') })
  assert.match(r.text, /Cache-Status: rawproxy; fwd=bypass/)
  assert.is(origin.count(p), 2)
})

t('a purge or an invalidation reaches a fill of unknown length in progress', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=60']], pieces: ['old-', 'body'], gap: 300 } : { headers: [['Cache-Control', 'max-age=60']], body: 'new' })
  const filling = get(px.port, p)
  await sleep(100)
  await get(px.port, p, [], 'POST', 'x')
  await filling
  assert.is((await get(px.port, p)).body, 'new')
})

t("PURGE reaches the route's own zone only", async () => {
  origin.on('/other-zone/x', () => ({ headers: [['Cache-Control', 'max-age=60']] }))
  await get(px.port, '/other-zone/x')
  await get(px.port, '/*', [], 'PURGE')
  await get(px.port, '/other-zone/x')
  assert.is(origin.count('/other-zone/x'), 1)
})

t('a response with a transfer coding besides chunked is not stored', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60'], ['Transfer-Encoding', 'gzip, chunked']], pieces: ['x'] }))
  await get(px.port, p).catch(() => undefined)
  await get(px.port, p).catch(() => undefined)
  assert.is(origin.count(p), 2)
})

t('an empty entry has no satisfiable range; a stored 204 has no Content-Length; If-None-Match: * matches any', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']], body: '' }))
  await get(px.port, p)
  assert.is((await get(px.port, p, [['Range', 'bytes=0-1']])).status, 416)
  assert.is((await get(px.port, p, [['If-None-Match', '*']])).status, 304)
  const q = fresh()
  origin.on(q, () => ({ status: 204, headers: [['Cache-Control', 'max-age=60']] }))
  await get(px.port, q)
  const r = await raw(px.port, `GET ${q} HTTP/1.1\r\nHost: 127.0.0.1:${px.port}\r\n\r\n`, { until: (s) => s.includes('\r\n\r\n') })
  assert.match(r.text, /^HTTP\/1\.1 204 /)
  assert.match(r.text, /Cache-Status: rawproxy; hit/)
  assert.not.match(r.text, /Content-Length/i)
})

t('a response stored without Date gets one, and so does its client', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60']], noDate: true }))
  const first = await get(px.port, p)
  const second = await get(px.port, p)
  assert.ok(first.h.date !== undefined)
  assert.is(second.h.date, first.h.date)
})

t('variants of one URL are capped', () => {
  const s = new MemoryStore(1 << 24, 1 << 16)
  for (let i = 0; i < MAX_VARIANTS + 8; i++) {
    const e = new Entry('k', headOf(200, 'OK', []), ['x-v'], `v${i}\n`, Date.now(), Date.now(), { percent: 10, max: 1 }, 1, 0)
    const f = s.begin(e)!
    f.write(Buffer.from('z'))
    f.end()
  }
  assert.is(s.lookup('k').length, MAX_VARIANTS)
})

/** Reads `path` on a raw socket: paused for `pauseMs` first, or cut after `cutAt` bytes. */
function reader(port: number, path: string, opts: { cutAt?: number; pauseMs?: number }): Promise<number> {
  return new Promise((resolve) => {
    const s = connect(port, '127.0.0.1', () => s.write(`GET ${path} HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nConnection: close\r\n\r\n`))
    let size = 0
    if (opts.pauseMs !== undefined) { s.pause(); setTimeout(() => s.resume(), opts.pauseMs) }
    s.on('data', (d: Buffer) => { size += d.length; if (opts.cutAt !== undefined && size >= opts.cutAt) s.destroy() })
    s.on('close', () => resolve(size))
    s.on('error', () => undefined)
  })
}

t('clients reading along are neither cut when the first client leaves, nor held to its pace', async () => {
  const p = fresh()
  const body = 'b'.repeat(3 * 1024 * 1024)
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=60'], ['Content-Length', String(body.length)]], pieces: [body.slice(0, 65536), body.slice(65536)], gap: 200, delay: 100 }))
  const leader = reader(px.port, p, { cutAt: 1000 })
  await sleep(30)
  const follower = get(px.port, p)
  await leader
  const r = await follower
  assert.is(r.body.length, body.length)
  assert.match((await get(px.port, p)).h['cache-status'], /hit/, 'the entry was completed')
  const q = fresh()
  origin.on(q, () => ({ headers: [['Cache-Control', 'max-age=60'], ['Content-Length', String(body.length)]], pieces: [body.slice(0, 65536), body.slice(65536)], gap: 100, delay: 100 }))
  const slow = reader(px.port, q, { pauseMs: 3000 })
  await sleep(30)
  const started = Date.now()
  const fast = await get(px.port, q)
  assert.is(fast.body.length, body.length)
  assert.ok(Date.now() - started < 2500, `the reader along took ${Date.now() - started} ms`)
  await slow
})

t.run()
