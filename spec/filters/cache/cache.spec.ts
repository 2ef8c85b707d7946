// The cache through real sockets (RFC 9111): what is stored and served, freshness and Age, request
// directives, Vary, validation and the 304 update, HEAD, ranges, invalidation, Cache-Status. Every
// test uses its own path; the origin counts what reaches it, so a hit is a request it never saw.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { startProxy, guard, sleep, ProxyHandle } from '../../support/harness.js'
import { Origin, get } from './origin.js'

const t = suite('filters: cache (RFC 9111)')
guard(t)
let origin: Origin
let px: ProxyHandle
let n = 0
/** A path of its own for each test. */
const fresh = (): string => `/c${++n}`
/** An HTTP-date `s` seconds from now. */
const date = (s = 0): string => new Date(Date.now() + s * 1000).toUTCString()

t.before(async () => {
  origin = await Origin.start()
  px = await startProxy({ upstreams: { u: { peers: [`127.0.0.1:${origin.port}`] } }, routes: [{ upstream: 'u', cache: { zone: 'spec-main' } }] })
})
t.after(async () => { await px.close(); await origin.close() })

/** Two GETs of a path answered with `headers`: how many reached the origin, and the second response. */
async function twice(headers: [string, string][], req2: [string, string][] = [], status = 200, pause = 0) {
  const p = fresh()
  origin.on(p, () => ({ status, headers }))
  await get(px.port, p)
  if (pause > 0) await sleep(pause)
  const second = await get(px.port, p, req2)
  return { count: origin.count(p), second, path: p }
}

t('a fresh response is stored and served with Age and Cache-Status; the origin sees one request', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600'], ['X-Kept', 'a  b']] }))
  const first = await get(px.port, p)
  assert.is(first.h['cache-status'], 'rawproxy; fwd=uri-miss; fwd-status=200; ttl=3599; stored')
  assert.is(first.h.age, undefined)
  const second = await get(px.port, p)
  assert.is(origin.count(p), 1)
  assert.is(second.body, first.body)
  assert.is(second.h['x-kept'], 'a  b')
  assert.is(second.h.date, first.h.date)
  assert.is(second.h.age, '0')
  assert.match(second.h['cache-status'], /^rawproxy; hit; ttl=\d+$/)
})

t('§4.2.1: s-maxage over max-age over Expires; max-age=0, negative or invalid is stale', async () => {
  assert.is((await twice([['Cache-Control', 'max-age=3600, s-maxage=0']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=0, s-maxage=3600'], ['Expires', date(-10)]])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Expires', date(-7200)], ['Date', date()]])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=0'], ['Expires', date(3600)]])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=-1']])).count, 2)
  assert.is((await twice([['Cache-Control', "max-age='3600'"]])).count, 2)
  assert.is((await twice([['Cache-Control', 'extension="max-age=3600", max-age=1']], [], 200, 1100)).count, 2)
  assert.is((await twice([['Cache-Control', 'MaX-aGe=003600, foobar']])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=99999999999']])).count, 1)
})

t('§4.2.1, §5.3: Expires against Date; an invalid Expires or two of them mean stale', async () => {
  assert.is((await twice([['Expires', date(3600)], ['Date', date()]])).count, 1)
  assert.is((await twice([['Expires', '0'], ['Date', date()]])).count, 2)
  assert.is((await twice([['Expires', date(3600).replace('GMT', 'UTC')]])).count, 2)
  assert.is((await twice([['Expires', date(3600)], ['Expires', date(3601)]])).count, 2)
  assert.is((await twice([['Expires', date(300)], ['Date', date(400)]])).count, 2)
})

t('§4.2.3: Age from the peer and an old Date make a response older', async () => {
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Age', '7200'], ['Date', date()]])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Age', '7200, 0']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Age', 'abc']])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Date', date(-7200)]])).count, 2)
  const r = await twice([['Cache-Control', 'max-age=3600'], ['Age', '30']])
  assert.ok(Number(r.second.h.age) >= 30)
})

t('§4.2.2: heuristic freshness from Last-Modified, only for the statuses that allow it, or with public', async () => {
  const lm: [string, string][] = [['Last-Modified', date(-86400)], ['Date', date()]]
  assert.is((await twice(lm, [], 200)).count, 1)
  assert.is((await twice(lm, [], 404)).count, 1)
  assert.is((await twice(lm, [], 201)).count, 2)
  assert.is((await twice(lm, [], 403)).count, 2)
  assert.is((await twice(lm, [], 503)).count, 2)
  assert.is((await twice(lm, [], 599)).count, 2)
  assert.is((await twice([...lm, ['Cache-Control', 'public']], [], 599)).count, 1)
  assert.is((await twice([], [], 200)).count, 2, 'no freshness, no validator: not stored')
})

t('§3: no-store, private and a request with Authorization are not stored; must-understand knows 200', async () => {
  assert.is((await twice([['Cache-Control', 'max-age=3600, No-Store']])).count, 2)
  assert.is((await twice([['Cache-Control', 'private, max-age=3600']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600, no-store, must-understand']])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=3600, no-store, must-understand']], [], 599)).count, 2)
  for (const [cc, count] of [['max-age=3600', 2], ['max-age=3600, public', 1], ['s-maxage=3600', 1], ['max-age=3600, must-revalidate', 1]] as const) {
    const p = fresh()
    origin.on(p, () => ({ headers: [['Cache-Control', cc]] }))
    await get(px.port, p, [['Authorization', 'Basic Zm9vOmJhcg==']])
    await get(px.port, p)
    assert.is(origin.count(p), count, cc)
  }
})

t('§3: a no-store response neither replaces nor evicts the stored one', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1'], ['A', '1']] } : { headers: [['Cache-Control', 'no-store'], ['A', '2']] })
  await get(px.port, p)
  await sleep(1100)
  assert.is((await get(px.port, p)).h.a, '2')
  const third = await get(px.port, p, [['Cache-Control', 'max-stale']])
  assert.is(third.h.a, '1')
  assert.is(origin.count(p), 2)
})

t('§3.1: hop-by-hop fields and those Connection names are not stored; Set-Cookie is', async () => {
  const r = await twice([['Cache-Control', 'max-age=3600'], ['Connection', 'a'], ['A', '1'], ['B', '2'], ['Set-Cookie', 'x=y'], ['Proxy-Authenticate', 'Basic']])
  assert.is(r.count, 1)
  assert.is(r.second.h.a, undefined)
  assert.is(r.second.h.b, '2')
  assert.is(r.second.h['set-cookie'], 'x=y')
  assert.is(r.second.h['proxy-authenticate'], undefined)
})

t('§5.2.2.4, §5.2.2.7: fields named by no-cache="..." or private="..." are not stored', async () => {
  const r = await twice([['Cache-Control', 'no-cache="a", private="b", max-age=3600'], ['A', '1'], ['B', '2'], ['C', '3']])
  assert.is(r.count, 1)
  assert.is(r.second.h.a, undefined)
  assert.is(r.second.h.b, undefined)
  assert.is(r.second.h.c, '3')
})

t('§5.2.1: request directives no-cache, no-store, max-age, min-fresh, max-stale; Pragma only without Cache-Control', async () => {
  const cc: [string, string][] = [['Cache-Control', 'max-age=3600']]
  assert.is((await twice(cc, [['Cache-Control', 'no-cache']])).count, 2)
  assert.is((await twice(cc, [['Cache-Control', 'no-store']])).count, 2)
  assert.is((await twice(cc, [['Cache-Control', 'max-age=0']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Age', '1800']], [['Cache-Control', 'max-age=600']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=1500']], [['Cache-Control', 'min-fresh=2000']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=1500'], ['Age', '2000']], [['Cache-Control', 'max-stale=1000']])).count, 1)
  assert.is((await twice(cc, [['Pragma', 'no-cache']])).count, 2)
  assert.is((await twice(cc, [['Pragma', 'no-cache'], ['Cache-Control', 'nothing-to-see-here']])).count, 1)
})

t('§5.2.1.7: only-if-cached gets 504 when nothing fits, the entry when one does', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
  const miss = await get(px.port, p, [['Cache-Control', 'only-if-cached']])
  assert.is(miss.status, 504)
  assert.is(origin.count(p), 0)
  await get(px.port, p)
  assert.is((await get(px.port, p, [['Cache-Control', 'only-if-cached']])).status, 200)
})

t('§4.1: Vary selects among several variants; absent matches absent only; Vary: * never matches', async () => {
  const p = fresh()
  origin.on(p, (_k, req) => ({ headers: [['Cache-Control', 'max-age=3600'], ['Vary', 'Foo']], body: `foo=${req.headers.foo ?? '-'}` }))
  assert.is((await get(px.port, p, [['Foo', '1']])).body, 'foo=1')
  assert.is((await get(px.port, p, [['Foo', '2']])).body, 'foo=2')
  assert.is((await get(px.port, p)).body, 'foo=-')
  assert.is((await get(px.port, p, [['Foo', '1']])).body, 'foo=1')
  assert.is((await get(px.port, p, [['Foo', '2']])).body, 'foo=2')
  assert.is((await get(px.port, p, [['Foo', '1'], ['Other', 'x']])).body, 'foo=1')
  assert.is(origin.count(p), 3)
  const q = fresh()
  origin.on(q, () => ({ headers: [['Cache-Control', 'max-age=3600'], ['Vary', 'Accept-Language']] }))
  await get(px.port, q, [['Accept-Language', 'en, de']])
  await get(px.port, q, [['Accept-Language', ' De ,EN']])
  assert.is(origin.count(q), 1)
  for (const v of ['*', 'Foo, *', ', *']) assert.is((await twice([['Cache-Control', 'max-age=3600'], ['Vary', v]])).count, 2, v)
})

t('§4.3.1, §4.3.3: a stale entry is revalidated with its validators as received; a 304 updates it (not its Content-Length)', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1
    ? { headers: [['Cache-Control', 'max-age=1'], ['ETag', 'W/"v1"'], ['Last-Modified', 'Wed, 01 Jan 2020 00:00:00 GMT'], ['Test-Header', 'A']], body: 'stored body' }
    : { status: 304, headers: [['Cache-Control', 'max-age=3600'], ['ETag', 'W/"v1"'], ['Test-Header', 'B'], ['Content-Length', '3']] })
  await get(px.port, p)
  await sleep(1100)
  const r = await get(px.port, p)
  assert.is(origin.last(p).headers['if-none-match'], 'W/"v1"')
  assert.is(origin.last(p).headers['if-modified-since'], 'Wed, 01 Jan 2020 00:00:00 GMT')
  assert.is(r.status, 200)
  assert.is(r.body, 'stored body')
  assert.is(r.h['test-header'], 'B')
  assert.is(r.h['content-length'], '11')
  assert.is(r.h['cache-status'], 'rawproxy; fwd=stale; fwd-status=304; ttl=3599')
  const again = await get(px.port, p)
  assert.is(origin.count(p), 2)
  assert.is(again.h['test-header'], 'B')
})

t('§5.2.2.2: must-revalidate and no-cache responses are validated before use', async () => {
  const p = fresh()
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'no-cache'], ['ETag', '"x"']] } : { status: 304, headers: [['ETag', '"x"']] })
  await get(px.port, p)
  const r = await get(px.port, p)
  assert.is(origin.count(p), 2)
  assert.is(origin.last(p).headers['if-none-match'], '"x"')
  assert.is(r.status, 200)
})

t('§4.3.2: a fresh entry answers If-None-Match (weak comparison, lists) and If-Modified-Since with 304', async () => {
  const p = fresh()
  const lm = date(-3000)
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600'], ['ETag', 'W/"abc"'], ['Last-Modified', lm], ['Content-Type', 'text/x']] }))
  await get(px.port, p)
  const inm = await get(px.port, p, [['If-None-Match', '"zzz", "abc"']])
  assert.is(inm.status, 304)
  assert.is(inm.h.etag, 'W/"abc"')
  assert.is(inm.h['content-type'], undefined)
  assert.is(inm.body, '')
  assert.is((await get(px.port, p, [['If-None-Match', '"other"']])).status, 200)
  assert.is((await get(px.port, p, [['If-Modified-Since', lm]])).status, 304)
  assert.is((await get(px.port, p, [['If-Modified-Since', date(-4000)]])).status, 200)
  assert.is((await get(px.port, p, [['If-None-Match', '"other"'], ['If-Modified-Since', lm]])).status, 200, 'If-None-Match goes first')
  assert.is(origin.count(p), 1)
})

t('§4.3.2: a client conditional is answered after our revalidation (304 to the client)', async () => {
  const p = fresh()
  const lm = 'Wed, 01 Jan 2020 00:00:00 GMT'
  origin.on(p, (k) => k === 1 ? { headers: [['Cache-Control', 'max-age=1'], ['Last-Modified', lm]] } : { status: 304, headers: [['Last-Modified', lm]] })
  await get(px.port, p)
  await sleep(1100)
  const r = await get(px.port, p, [['If-Modified-Since', lm]])
  assert.is(r.status, 304)
  assert.is(origin.count(p), 2)
})

t('RFC 9110 §9.3.2: HEAD is answered from a stored GET, with its Content-Length and no body', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']], body: '0123456789' }))
  await get(px.port, p)
  const r = await get(px.port, p, [], 'HEAD')
  assert.is(r.status, 200)
  assert.is(r.h['content-length'], '10')
  assert.is(r.body, '')
  assert.is(origin.count(p), 1)
})

t('RFC 9110 §14: a byte range of a stored response is a 206 with the stored fields; past the end, 416', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600'], ['A', '1'], ['ETag', '"e"'], ['Date', date(-10)], ['Last-Modified', date(-100)]], body: '0123456789A' }))
  await get(px.port, p)
  for (const [range, body, cr] of [['bytes=0-1', '01', 'bytes 0-1/11'], ['bytes=1-', '123456789A', 'bytes 1-10/11'], ['bytes=-1', 'A', 'bytes 10-10/11'], ['bytes=6-100', '6789A', 'bytes 6-10/11']]) {
    const r = await get(px.port, p, [['Range', range]])
    assert.is(r.status, 206, range)
    assert.is(r.body, body)
    assert.is(r.h['content-range'], cr)
    assert.is(r.h.a, '1')
  }
  assert.is((await get(px.port, p, [['Range', 'bytes=11-']])).status, 416)
  assert.is((await get(px.port, p, [['Range', 'bytes=0-1, 3-4']])).status, 200)
  assert.is((await get(px.port, p, [['Range', 'bytes=0-1'], ['If-Range', '"e"']])).status, 206)
  assert.is((await get(px.port, p, [['Range', 'bytes=0-1'], ['If-Range', '"f"']])).status, 200)
  assert.is(origin.count(p), 1)
  const q = fresh()
  origin.on(q, (_k, req) => req.headers.range ? { status: 206, headers: [['Cache-Control', 'max-age=3600'], ['Content-Range', 'bytes 0-1/10']], body: '01' } : { headers: [['Cache-Control', 'max-age=3600']] })
  assert.is((await get(px.port, q, [['Range', 'bytes=0-1']])).status, 206)
  assert.is(origin.last(q).headers.range, 'bytes=0-1', 'a range with nothing stored goes on unchanged')
  assert.is((await get(px.port, q, [['Range', 'bytes=0-1']])).status, 206)
  assert.is(origin.count(q), 2, 'a 206 is not stored')
})

t('§4.4: a non-error answer to an unsafe method invalidates the URL and same-origin Location / Content-Location', async () => {
  for (const method of ['POST', 'PUT', 'DELETE', 'M-SEARCH']) {
    const p = fresh()
    origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
    await get(px.port, p)
    await get(px.port, p, [], method, 'abc')
    await get(px.port, p)
    assert.is(origin.count(p), 3, method)
  }
  const p = fresh()
  origin.on(p, () => ({ status: 500, headers: [] }))
  const kept = fresh()
  origin.on(kept, () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
  await get(px.port, kept)
  origin.on(p, () => ({ status: 500, headers: [['Location', kept]] }))
  await get(px.port, p, [], 'POST', 'x')
  await get(px.port, kept)
  assert.is(origin.count(kept), 1, 'a 500 invalidates nothing')
  const loc = fresh()
  const cl = fresh()
  const other = fresh()
  for (const q of [loc, cl, other]) { origin.on(q, () => ({ headers: [['Cache-Control', 'max-age=3600']] })); await get(px.port, q) }
  const post = fresh()
  origin.on(post, () => ({ status: 201, headers: [['Location', `http://127.0.0.1:${px.port}${loc}`], ['Content-Location', cl]] }))
  await get(px.port, post, [['Host', `127.0.0.1:${px.port}`]], 'POST', 'x')
  const foreign = fresh()
  origin.on(foreign, () => ({ status: 200, headers: [['Location', `http://elsewhere.example${other}`]] }))
  await get(px.port, foreign, [], 'POST', 'x')
  for (const q of [loc, cl, other]) await get(px.port, q)
  assert.is(origin.count(loc), 2)
  assert.is(origin.count(cl), 2)
  assert.is(origin.count(other), 1, 'another origin is left alone')
})

t('RFC 9211: an upstream Cache-Status is kept, ours after it; a method that is not cached says fwd=method', async () => {
  const r = await twice([['Cache-Control', 'max-age=3600'], ['Cache-Status', 'origin-cache; hit']])
  assert.is(r.second.h['cache-status'].split(', ')[0], 'origin-cache; hit')
  assert.match(r.second.h['cache-status'].split(', ')[1], /^rawproxy; hit; ttl=/)
  const p = fresh()
  origin.on(p, () => ({ headers: [] }))
  assert.is((await get(px.port, p, [], 'OPTIONS')).h['cache-status'], 'rawproxy; fwd=method; fwd-status=200')
  assert.is((await get(px.port, p, [['If-Match', '"x"']])).h['cache-status'], 'rawproxy; fwd=bypass; fwd-status=200')
})

t('RFC 9213: a valid CDN-Cache-Control decides alone; an invalid one is ignored; it is passed on', async () => {
  assert.is((await twice([['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=3600']])).count, 1)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['CDN-Cache-Control', 'no-store']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['CDN-Cache-Control', 'private']])).count, 2)
  assert.is((await twice([['CDN-Cache-Control', 'max-age=0'], ['Expires', date(10000)]])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=1'], ['CDN-Cache-Control', 'max-age=3600']], [], 200, 1100)).count, 1)
  assert.is((await twice([['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age="10000"']])).count, 2)
  assert.is((await twice([['Cache-Control', 'no-store'], ['CDN-Cache-Control', 'max-age=10000, &&&&&']])).count, 2)
  assert.is((await twice([['Cache-Control', 'max-age=3600'], ['CDN-Cache-Control', 'foo']])).second.h['cdn-cache-control'], 'foo')
})

t('query strings are part of the key; Cookie is not, unless the key names it', async () => {
  const p = fresh()
  origin.on(p, () => ({ headers: [['Cache-Control', 'max-age=3600']] }))
  await get(px.port, `${p}?a=1`)
  await get(px.port, `${p}?a=1`, [['Cookie', 'a=b']])
  await get(px.port, `${p}?a=2`)
  assert.is(origin.count(p), 2)
})

t.run()
