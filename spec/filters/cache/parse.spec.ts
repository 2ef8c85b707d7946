// The cache's readers, byte by byte: Cache-Control (RFC 9111 §5.2), HTTP-date (RFC 9110 §5.6.7),
// Age (§5.1), freshness lifetimes (§4.2.1, §4.2.2) and the `cache` config.
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { Directives, INVALID, ABSENT, parse } from '../../../src/filters/cache/directives.js'
import { parseDate } from '../../../src/filters/cache/dates.js'
import { ageOf, lifetime } from '../../../src/filters/cache/entry.js'
import { headOf } from '../../../src/filters/cache/stored-head.js'
import { validate, ConfigError } from '../../../src/config/validate.js'
import { refusedBy } from '../../support/config.js'

const t = suite('filters: cache parsing')
const cc = (v: string): Directives => { const d = new Directives(); parse(v, d); return d }

t('Cache-Control: names without case, arguments as token or quoted-string, the first of two, strict delta-seconds', () => {
  assert.is(cc('MaX-aGe=003600').maxAge, 3600)
  assert.is(cc('max-age="60"').maxAge, 60)
  assert.is(cc('max-age=1800, max-age=1').maxAge, 1800)
  assert.is(cc('max-age=-1').maxAge, INVALID)
  assert.is(cc("max-age='60'").maxAge, INVALID)
  assert.is(cc('max-age=60a').maxAge, INVALID)
  assert.is(cc('max-age =60').maxAge, INVALID)
  assert.is(cc('max-age= 60').maxAge, INVALID)
  assert.is(cc('max-age=99999999999').maxAge, 2147483648)
  assert.is(cc('extension="max-age=60, no-store", public').maxAge, ABSENT)
  assert.not.ok(cc('extension="max-age=60, no-store", public').noStore)
  assert.ok(cc('extension="max-age=60, no-store", public').public)
  const d = cc('no-cache="A, b", private="c", s-maxage=5, stale-while-revalidate=7, stale-if-error=9, max-stale')
  assert.equal(d.noCacheFields, ['a', 'b'])
  assert.equal(d.privateFields, ['c'])
  assert.not.ok(d.noCache)
  assert.is(d.sMaxage, 5)
  assert.is(d.staleWhileRevalidate, 7)
  assert.is(d.staleIfError, 9)
  assert.ok(d.anyStale)
  assert.ok(cc('no-cache, no-cache="a"').noCache)
})

t('HTTP-date: the three forms, names without case; anything else is invalid', () => {
  const t0 = Date.UTC(1994, 10, 6, 8, 49, 37)
  assert.is(parseDate('Sun, 06 Nov 1994 08:49:37 GMT'), t0)
  assert.is(parseDate('SUN, 06 NOV 1994 08:49:37 gmt'), t0)
  assert.is(parseDate('Sunday, 06-Nov-94 08:49:37 GMT'), t0)
  assert.is(parseDate('Sun Nov  6 08:49:37 1994'), t0)
  assert.is(parseDate('Thursday, 18-Aug-50 02:01:18 GMT'), Date.UTC(2050, 7, 18, 2, 1, 18))
  for (const bad of ['0', '2024', 'Sun, 06 Nov 1994 08:49:37 UTC', 'Sun, 06 Nov 94 08:49:37 GMT', 'Sun 06 Nov 1994 08:49:37 GMT',
    'Sun, 06  Nov 1994 08:49:37 GMT', 'Sun, 06-Nov-1994 08:49:37 GMT', 'Sun, 06 Nov 1994 08.49.37 GMT', 'Sun, 06 Nov 1994 8:49:37 GMT',
    'Sun, 31 Feb 1994 08:49:37 GMT', '']) assert.is(parseDate(bad), -1, bad)
  assert.is(parseDate(undefined), -1)
})

t('Age: the first member, digits only, capped at 2^31', () => {
  assert.is(ageOf('7200, 0'), 7200)
  assert.is(ageOf('0, 7200'), 0)
  assert.is(ageOf('7200;foo=bar'), 7200)
  assert.is(ageOf('-7200'), 0)
  assert.is(ageOf('7200.0'), 0)
  assert.is(ageOf('abc'), 0)
  assert.is(ageOf('99999999999'), 2147483648)
  assert.is(ageOf(undefined), 0)
})

t('lifetime: s-maxage, max-age, Expires - Date, then 10% of the time since Last-Modified', () => {
  const h = { percent: 10, max: 86_400_000 }
  const now = Date.UTC(2026, 0, 10)
  const head = (status: number, f: [string, string][]) => headOf(status, 'X', f)
  const life = (status: number, f: [string, string][]) => { const x = head(status, f); return lifetime(x, cc(x.get(Buffer.from('cache-control')) ?? ''), now, status, h) }
  assert.is(life(200, [['Cache-Control', 's-maxage=5, max-age=60']]), 5000)
  assert.is(life(200, [['Cache-Control', 'max-age=60'], ['Expires', new Date(now + 999_000).toUTCString()]]), 60000)
  assert.is(life(200, [['Expires', new Date(now + 30_000).toUTCString()]]), 30000)
  assert.is(life(200, [['Expires', 'soon']]), 0)
  assert.is(life(200, [['Last-Modified', new Date(now - 100_000).toUTCString()]]), 10000)
  assert.is(life(200, [['Last-Modified', new Date(now - 100 * 86_400_000).toUTCString()]]), 86_400_000)
  assert.is(life(201, [['Last-Modified', new Date(now - 100_000).toUTCString()]]), 0)
  assert.is(life(201, [['Cache-Control', 'public'], ['Last-Modified', new Date(now - 100_000).toUTCString()]]), 10000)
})

t('config: defaults, sizes and refusals with the field path', () => {
  const base = { listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  const c = validate({ ...base, routes: [{ upstream: 'u', cache: {} }] }).routes[0].features.cache!
  assert.equal(c.store, { memory: { max_size: 256 * 1024 * 1024 } })
  assert.is(c.max_object_size, 8 * 1024 * 1024)
  assert.is(c.lock_timeout, 5000)
  assert.is(c.stale_if_down, 0)
  assert.is(c.purge_allow, null)
  const d = validate({ ...base, routes: [{ upstream: 'u', cache: { store: { disk: { path: '/var/cache/x', max_size: '1g' } }, key: { headers: ['X-Tenant'], cookies: ['lang'] }, heuristic: { percent: 20, max: '2d' }, stale_if_down: '7d', lock_timeout: 0 } }] }).routes[0].features.cache!
  assert.equal(d.key_headers, ['x-tenant'])
  assert.equal(d.key_cookies, ['lang'])
  assert.is(d.heuristic_max, 2 * 86_400_000)
  assert.is(d.stale_if_down, 7 * 86_400_000)
  assert.is(d.lock_timeout, 0)
  const bad = (cache: unknown, msg: string) => refusedBy(() => validate({ ...base, routes: [{ upstream: 'u', cache }] }), msg)
  bad({ store: { memory: {}, disk: { path: '/x' } } }, 'routes[0].cache.store: must name one store: memory or disk')
  bad({ store: { disk: { path: 'relative' } } }, 'routes[0].cache.store.disk.path: must be an absolute path')
  bad({ store: { memory: { max_size: '1m' } }, max_object_size: '2m' }, "routes[0].cache.max_object_size: must not be larger than the store's max_size (1048576)")
  bad({ key: { headers: ['bad name'] } }, 'routes[0].cache.key.headers[0]: must be a field or cookie name (an RFC 9110 token)')
  bad({ purge: { allow: ['nope'] } }, 'routes[0].cache.purge.allow[0]: must be an address or CIDR such as 10.0.0.0/8')
  bad({ heuristic: { percent: 101 } }, 'routes[0].cache.heuristic.percent: must be an integer from 0 to 100')
  bad({ ttl: 5 }, 'routes[0].cache.ttl: unknown field (expected one of: zone, store, max_object_size, key, heuristic, lock_timeout, stale_if_down, purge)')
  // Written differently for one zone: refused.
  refusedBy(() => validate({ ...base, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z', max_object_size: '2m' } }, { path: '/b', upstream: 'u', cache: { zone: 'z', max_object_size: '1m' } }] }),
    'routes[1].cache.store: zone "z" is set up differently elsewhere (routes sharing a zone share its store and max_object_size)')
})

t('a route that names a zone without its store or max_object_size takes what another wrote for it (a default never makes a written setting a conflict)', () => {
  const base = { listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  // Before: the first route's default max_object_size made the second route's 1m a conflict.
  const c = validate({ ...base, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z' } }, { path: '/b', upstream: 'u', cache: { zone: 'z', max_object_size: '1m' } }] })
  for (const r of c.routes) assert.is(r.features.cache!.max_object_size, 1 << 20)
  // The store written once, on the last route or in defaults, holds for every route of the zone; other zones keep theirs.
  const big = { memory: { max_size: '512m' } }
  const d = validate({ ...base, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z', key: { headers: ['x-a'] } } }, { path: '/c', upstream: 'u', cache: true }, { path: '/b', upstream: 'u', cache: { zone: 'z', store: big } }] })
  const byPath = new Map(d.routes.map((r) => [r.path, r.features.cache!]))
  assert.equal(byPath.get('/a')!.store, { memory: { max_size: 512 << 20 } })
  assert.equal(byPath.get('/a')!.key_headers, ['x-a'], 'the route keeps its own other settings')
  assert.equal(byPath.get('/b')!.store, { memory: { max_size: 512 << 20 } })
  assert.not.equal(byPath.get('/c')!.store, { memory: { max_size: 512 << 20 } }, 'the default zone is another store')
  const e = validate({ ...base, defaults: { cache: { zone: 'z', store: { disk: { path: '/var/cache/rp' } } } }, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z', lock_timeout: 0 } }] })
  assert.ok('disk' in e.routes[0].features.cache!.store)
  assert.is(e.routes[0].features.cache!.lock_timeout, 0)
})

// Found by review: the shared settings were copied unchecked, so a bad value was refused at the
// first route it was copied to, a path the user never wrote.
t('a zone setting written badly is refused where it was written, not where it would have been copied', () => {
  const base = { listen: ['127.0.0.1:0'], upstreams: { u: { peers: ['127.0.0.1:1'] } } }
  const pathOf = (raw: unknown): string => {
    try { validate(raw) } catch (e) { if (e instanceof ConfigError) return e.path; throw e }
    return '(accepted)'
  }
  assert.is(pathOf({ ...base, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z' } }, { path: '/b', upstream: 'u', cache: { zone: 'z', store: { memory: { max_size: '12' } } } }] }),
    'routes[1].cache.store.memory.max_size')
  assert.is(pathOf({ ...base, defaults: { cache: { zone: 'z' } }, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z', store: { disk: { path: 'relative' } } } }] }),
    'routes[0].cache.store.disk.path')
  assert.is(pathOf({ ...base, routes: [{ path: '/a', upstream: 'u', cache: true }, { path: '/b', upstream: 'u', cache: true }, { path: '/c', upstream: 'u', cache: { max_object_size: 'lots' } }] }),
    'routes[2].cache.max_object_size')
  assert.is(pathOf({ ...base, routes: [{ path: '/a', upstream: 'u', cache: true }, { path: '/b', upstream: 'u', cache: { store: { mem: {} } } }] }),
    'routes[1].cache.store.mem')
  // A store on one route, an object size too large for it on another: refused at the object size.
  refusedBy(() => validate({ ...base, routes: [{ path: '/a', upstream: 'u', cache: { zone: 'z', store: { memory: { max_size: '512k' } } } }, { path: '/b', upstream: 'u', cache: { zone: 'z', max_object_size: '1m' } }] }),
    "routes[1].cache.max_object_size: must not be larger than the store's max_size (524288)")
})

t.run()
