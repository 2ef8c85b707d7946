// The rate_limit filter through real sockets: refusals with Retry-After and the RateLimit fields,
// keys, missing keys, delay mode, dry runs, inflight limits, an upstream's own fields, and accuracy
// counted on admitted requests (never on timings). The memory store is one per process: each test
// names its limits apart.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, startProxy, statuses, HttpUpstream, RawClient, guard, tempFile, accessRecords, waitFor, ProxyHandle } from '../support/harness.js'
import { refusedBy } from '../support/config.js'
import { validate } from '../../src/config/validate.js'

const t = suite('filters: rate_limit')
const track = guard(t)
let up: HttpUpstream
/** Responses the peer holds until the spec lets them go (for inflight limits). */
let held: (() => void)[] = []
let hold = false
let n = 0
const unique = (): string => `l${++n}`

t.before(async () => {
  up = await httpUpstream((req, res) => {
    if (req.url === '/own') { res.setHeader('RateLimit-Policy', '"origin";q=10;w=1'); res.setHeader('RateLimit', '"origin";r=3;t=1') }
    if (hold) held.push(() => res.end('ok'))
    else res.end('ok')
  })
})
t.after(async () => { await up.close() })

function proxy(rl: Record<string, unknown>, extra: Record<string, unknown> = {}): Promise<ProxyHandle> {
  return startProxy({ upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } }, routes: [{ upstream: 'u', rate_limit: rl }], ...extra })
}

const get = (path = '/', fields = ''): string => `GET ${path} HTTP/1.1\r\nHost: a\r\n${fields}\r\n`
const field = (text: string, name: string): string | undefined => new RegExp(`\\r\\n${name}: ([^\\r]*)\\r\\n`, 'i').exec(text)?.[1]

/** Sends `count` requests on one keep-alive connection, one after the other; the statuses. */
async function series(port: number, count: number, fields = '', path = '/'): Promise<{ codes: number[]; texts: string[] }> {
  const c = await RawClient.open(port)
  const codes: number[] = []
  const texts: string[] = []
  try {
    for (let i = 0; i < count; i++) {
      c.clear()
      c.send(get(path, fields))
      const text = await c.until((s) => /\r\n\r\n/.test(s) && (/\r\n\r\n(ok|\d{3} [^\n]*\n)$/.test(s)))
      codes.push(Number(text.slice(9, 12)))
      texts.push(text)
    }
  } finally { c.destroy() }
  return { codes, texts }
}

t('reject: burst + 1 pass, then 429 with Retry-After (rounded up) and the RateLimit fields', async () => {
  const name = unique()
  const px = track(await proxy({ limits: [{ name, key: 'client_ip', rate: '1/m', burst: 2 }] }))
  const { codes, texts } = await series(px.port, 4)
  assert.equal(codes, [200, 200, 200, 429])
  const no = texts[3]
  assert.is(field(no, 'Retry-After'), '60', '1/m with burst 2: after 3 at once the next conforms 60 s later (59.99... rounds up)')
  assert.is(field(no, 'RateLimit-Policy'), `"${name}";q=1;w=60`)
  assert.is(field(no, "RateLimit"), `"${name}";r=0;t=180`, "t: until the whole burst is back")
  assert.is(field(texts[0], 'RateLimit'), undefined, 'headers: false: only refusals carry the fields')
})

t('headers: true puts the fields on every response, r counting down', async () => {
  const name = unique()
  const px = track(await proxy({ headers: true, limits: [{ name, key: 'global', rate: '10/h', burst: 4 }] }))
  const { texts } = await series(px.port, 3)
  assert.equal(texts.map((x) => field(x, 'RateLimit')), [`"${name}";r=4;t=360`, `"${name}";r=3;t=720`, `"${name}";r=2;t=1080`])
  assert.is(field(texts[0], 'RateLimit-Policy'), `"${name}";q=10;w=3600`)
})

t('an upstream\'s own RateLimit fields are kept; ours are further members', async () => {
  const name = unique()
  const px = track(await proxy({ headers: true, limits: [{ name, key: 'global', rate: '5/s', burst: 9 }] }))
  const r = await raw(px.port, get('/own', 'Connection: close\r\n'))
  assert.match(r.text, /\r\nRateLimit-Policy: "origin";q=10;w=1\r\n/)
  assert.match(r.text, /\r\nRateLimit: "origin";r=3;t=1\r\n/)
  assert.match(r.text, new RegExp(`\\r\\nRateLimit: "${name}";r=9;t=1\\r\\n`))
})

t('keys: a header keeps its own count; without it the client address, or no limit with missing: skip', async () => {
  const a = unique()
  const px = track(await proxy({ limits: [{ name: a, key: 'header:X-Api-Key', rate: '1/h' }] }))
  assert.equal((await series(px.port, 2, 'X-Api-Key: one\r\n')).codes, [200, 429])
  assert.equal((await series(px.port, 2, 'X-Api-Key: two\r\n')).codes, [200, 429], 'another key, its own count')
  assert.equal((await series(px.port, 2)).codes, [200, 429], 'no key: counted under the client address')
  assert.equal((await series(px.port, 1, 'X-Api-Key: three\r\nX-Api-Key: one\r\n')).codes, [429], 'two lines: counted under each, and "one" is spent')
  assert.equal((await series(px.port, 1, 'X-Api-Key: four\r\n')).codes, [200])
  assert.equal((await series(px.port, 1, 'X-Api-Key: five\r\nX-Api-Key: four\r\n')).codes, [429], 'a fresh first line does not hide a spent key')
  assert.equal((await series(px.port, 1, 'X-Api-Key: four\r\nX-Api-Key: six\r\n')).codes, [429], 'nor a fresh last line')
  const b = unique()
  const skip = track(await proxy({ limits: [{ name: b, key: 'header:X-Api-Key', rate: '1/h', missing: 'skip' }] }))
  assert.equal((await series(skip.port, 3)).codes, [200, 200, 200])
  assert.equal((await series(skip.port, 2, 'X-Api-Key: k\r\n')).codes, [200, 429])
})

t('keys: a cookie, and a list of parts joined', async () => {
  const a = unique()
  const px = track(await proxy({ limits: [{ name: a, key: ['cookie:sid', 'header:X-Tenant'], rate: '1/h' }] }))
  assert.equal((await series(px.port, 2, 'Cookie: x=1; sid=abc\r\nX-Tenant: t1\r\n')).codes, [200, 429])
  assert.equal((await series(px.port, 1, 'Cookie: sid=abc\r\nX-Tenant: t2\r\n')).codes, [200])
  assert.equal((await series(px.port, 1, 'Cookie: sid=abd\r\nX-Tenant: t1\r\n')).codes, [200])
  // Spellings a peer reads as the same session are the same key: quoted, percent-encoded, named twice.
  for (const c of ['sid="abc"', 'sid=%61bc', 'sid=a%62c', 'sid=zzz; sid=abc', 'sid=abc; sid=zzz']) {
    assert.equal((await series(px.port, 1, `Cookie: ${c}\r\nX-Tenant: t1\r\n`)).codes, [429], c)
  }
})

t('a comma-joined value is its members (RFC 9110 §5.3), as two lines are', async () => {
  const a = unique()
  const px = track(await proxy({ limits: [{ name: a, key: 'header:X-Api-Key', rate: '1/h' }] }))
  assert.equal((await series(px.port, 1, 'X-Api-Key: K\r\n')).codes, [200])
  for (const v of ['K, junk1', 'junk2, K', 'K,K']) assert.equal((await series(px.port, 1, `X-Api-Key: ${v}\r\n`)).codes, [429], v)
})

t('a decoded cookie cannot forge the key of a request without one (%01, %00 stay as sent)', async () => {
  const a = unique()
  const px = track(await proxy({ limits: [{ name: a, key: 'cookie:sid', rate: '1/h' }] }))
  assert.equal((await series(px.port, 1, 'Cookie: sid=%01127.0.0.1\r\n')).codes, [200])
  assert.equal((await series(px.port, 1)).codes, [200], 'no cookie: this address\'s own key, not the one the cookie spelled')
  assert.equal((await series(px.port, 1, 'Cookie: sid=%01127.0.0.1\r\n')).codes, [429])
})

t('an empty header value is no key (not one key shared by everyone who sends it empty)', async () => {
  const a = unique()
  const px = track(await proxy({ limits: [{ name: a, key: 'header:X-Api-Key', rate: '1/h', missing: 'skip' }] }))
  assert.equal((await series(px.port, 3, 'X-Api-Key: \r\n')).codes, [200, 200, 200])
})

t('keys: route counts each route apart under one limit from defaults; user comes from basic auth', async () => {
  const a = unique()
  const px = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    defaults: { rate_limit: { limits: [{ name: a, key: ['route'], rate: '1/h' }] } },
    routes: [{ path: '/one', upstream: 'u' }, { path: '/two', upstream: 'u' }],
  }))
  assert.equal((await series(px.port, 2, '', '/one')).codes, [200, 429])
  assert.equal((await series(px.port, 2, '', '/two')).codes, [200, 429])
  const b = unique()
  const sha = '{SHA}' + (await import('node:crypto')).createHash('sha1').update('pw').digest('base64')
  const au = track(await startProxy({
    upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', auth: { users: { ann: sha, bob: sha } }, rate_limit: { limits: [{ name: b, key: 'user', rate: '1/h' }] } }],
  }))
  const basic = (u: string): string => `Authorization: Basic ${Buffer.from(`${u}:pw`).toString('base64')}\r\n`
  assert.equal((await series(au.port, 2, basic('ann'))).codes, [200, 429])
  assert.equal((await series(au.port, 1, basic('bob'))).codes, [200])
})

t('delay: a request over the rate waits its turn; past the burst it is refused', async () => {
  const name = unique()
  const log = tempFile('access.json')
  const px = track(await proxy({ limits: [{ name, key: 'global', rate: '10/s', burst: 2, mode: 'delay' }] }, { access_log: { path: log, format: 'json' } }))
  // Connected first, then the four requests sent in one go: their arrivals may not spread (a loaded
  // machine spread the connects of one request each by up to 100 ms, and one fewer had to wait).
  const clients = await Promise.all([0, 1, 2, 3].map(() => RawClient.open(px.port)))
  for (const c of clients) track(c)
  for (const c of clients) c.send(get('/', 'Connection: close\r\n'))
  await Promise.all(clients.map((c) => c.untilClosed(3000)))
  const codes = clients.map((c) => statuses(c.text)[0]).sort()
  assert.equal(codes, [200, 200, 200, 429], 'one at once, two wait, the fourth is refused')
  const delays = (await accessRecords(px, log)).map((r) => r.delay_ms as number | undefined).filter((d) => d !== undefined).sort((x, y) => x - y)
  assert.is(delays.length, 2)
  assert.ok(delays[0] >= 60 && delays[0] <= 100 && delays[1] >= 160 && delays[1] <= 200, `waited their turns (100 ms apart, less the time between arrivals): ${delays}`)
})

t('dry_run: nothing refused; the fields are sent and the access log names the limit', async () => {
  const name = unique()
  const log = tempFile('access.json')
  const px = track(await proxy({ headers: true, limits: [{ name, key: 'global', rate: '1/h', dry_run: true }] }, { access_log: { path: log, format: 'json' } }))
  const { codes, texts } = await series(px.port, 3)
  assert.equal(codes, [200, 200, 200])
  assert.is(field(texts[2], 'RateLimit'), `"${name}";r=0;t=3600`)
  assert.equal((await accessRecords(px, log)).map((r) => r.limit), [undefined, `${name}(dry)`, `${name}(dry)`])
})

t('max_inflight: requests in progress per key; a place comes back when its response ends', async () => {
  const name = unique()
  const px = track(await proxy({ headers: true, limits: [{ name, key: 'global', max_inflight: 2 }] }))
  hold = true
  try {
    const c1 = await RawClient.open(px.port); const c2 = await RawClient.open(px.port)
    c1.send(get()); c2.send(get())
    await waitFor(() => held.length === 2, 2000, 'two requests at the peer')
    const third = await raw(px.port, get('/', 'Connection: close\r\n'))
    assert.equal(statuses(third.text), [429])
    assert.is(field(third.text, 'RateLimit-Policy'), `"${name}";q=2;qu="concurrent-requests"`)
    assert.is(field(third.text, 'Retry-After'), '1')
    held.shift()!()
    await c1.until('ok')
    hold = false
    const fourth = await raw(px.port, get('/', 'Connection: close\r\n'))
    assert.equal(statuses(fourth.text), [200])
    assert.is(field(fourth.text, 'RateLimit'), `"${name}";r=0`, 'one still held, this one in progress')
    c1.destroy(); c2.destroy()
  } finally { hold = false; for (const f of held) f(); held = [] }
})

t('a reload keeps the counters, and the debt a client ran up under the old rate', async () => {
  const name = unique()
  const cfg = (r: string) => validate({ listen: ['127.0.0.1:0'], access_log: 'off', event_log: 'off', upstreams: { u: { peers: [`127.0.0.1:${up.port}`] } },
    routes: [{ upstream: 'u', rate_limit: { limits: [{ name, key: 'global', rate: r }] } }] })
  const px = track(await proxy({ limits: [{ name, key: 'global', rate: '1/h' }] }))
  assert.equal((await series(px.port, 2)).codes, [200, 429])
  await px.server.reload(cfg('1/h'))
  assert.equal((await series(px.port, 1)).codes, [429], 'the same limit after the reload: still spent')
  await px.server.reload(cfg('1000/s'))
  assert.equal((await series(px.port, 1)).codes, [429], 'the TAT an hour ahead stays: the debt is kept')
})

t('status: a refusal may be 503 as nginx does', async () => {
  const name = unique()
  const px = track(await proxy({ status: 503, limits: [{ name, key: 'global', rate: '1/h' }] }))
  assert.equal((await series(px.port, 2)).codes, [200, 503])
})

t('accuracy: 200/s with burst 10, offered 2000/s for 2 s, admits 411 ± 5% (counted, not timed)', async () => {
  const name = unique()
  // A burst absorbs the sender's timer jitter: with burst 0 a batch that comes 5.9 ms after the last
  // admits one request, and the 0.9 ms are lost (GCRA keeps no credit for a late arrival).
  const px = track(await proxy({ limits: [{ name, key: 'global', rate: '200/s', burst: 10 }] }))
  const codes = await offer(px.port, 2000, 2000)
  const ok = codes.filter((c) => c === 200).length
  assert.ok(Math.abs(ok - 411) <= 20, `admitted ${ok} of ${codes.length}`)
  if (process.env.RL_REPORT) console.log(`single process: admitted ${ok} of ${codes.length}, expected 411`)
  assert.ok(codes.length > 3000, `offered ${codes.length}`)
})

/** Offers about `rps` requests a second for `ms` over 8 keep-alive connections; every status. */
async function offer(port: number, rps: number, ms: number): Promise<number[]> {
  const conns = await Promise.all(Array.from({ length: 8 }, () => RawClient.open(port)))
  const codes: number[] = []
  const start = performance.now()
  const total = Math.round(rps * ms / 1000)
  let sent = 0
  while (sent < total) {
    const due = Math.min(total, Math.floor((performance.now() - start) * rps / 1000))
    for (; sent < due; sent++) conns[sent % 8].send(get())
    await new Promise((r) => setTimeout(r, 5))
  }
  await waitFor(() => conns.reduce((s, c) => s + (c.text.match(/HTTP\/1\.1 /g)?.length ?? 0), 0) === total, 10_000, 'every answer')
  for (const c of conns) { for (const m of c.text.matchAll(/HTTP\/1\.1 (\d{3})/g)) codes.push(Number(m[1])); c.destroy() }
  return codes
}

t('config: refused with the field path and the reason', () => {
  const base = { listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  const rx = (text: string): RegExp => new RegExp(text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
  const route = (rl: unknown) => () => validate({ ...base, routes: [{ upstream: 'u', rate_limit: rl }] })
  refusedBy(route({ limits: [{ name: 'a', key: 'client_ip', rate: '100/x' }] }), rx('routes[0].rate_limit.limits[0].rate: must be a rate such as 100/s'))
  refusedBy(route({ limits: [{ name: 'a', key: 'ip', rate: '1/s' }] }), rx('routes[0].rate_limit.limits[0].key: must be client_ip'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global' }] }), rx('routes[0].rate_limit.limits[0]: needs exactly one of rate'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', max_inflight: 2, burst: 3 }] }), rx('routes[0].rate_limit.limits[0].burst: applies to a rate'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', rate: '1/s' }, { name: 'a', key: 'user', rate: '1/s' }] }), rx('a second limit named "a"'))
  refusedBy(route({ limits: [{ name: 'a"b', key: 'global', rate: '1/s' }] }), rx('routes[0].rate_limit.limits[0].name'))
  refusedBy(route({ limits: [] }), rx('routes[0].rate_limit.limits: needs at least one limit'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', rate: '1/s' }], store: { redis: { url: 'http://x' } } }), rx('routes[0].rate_limit.store.redis.url: must start with redis://'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', rate: '1/s' }], store: { redis: { url: 'redis://x', on_error: 'maybe' } } }), rx('routes[0].rate_limit.store.redis.on_error'))
  refusedBy(route({ limits: [{ name: 'a', key: 'header:bad key', rate: '1/s' }] }), rx('is not a field name'))
  refusedBy(route({ limits: [{ name: 'a', key: 'cookie:a;b', rate: '1/s' }] }), rx('is not a cookie name'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', rate: '1/s' }], status: 401 }), rx('routes[0].rate_limit.status: cannot be 401 or 407'))
  refusedBy(route({ limits: [{ name: 'a', key: 'global', rate: '1/s' }], store: { redis: { url: 'redis://h:6379/abc' } } }), rx('is not a database number'))
})

t.run()
