import { suite } from 'uvu'
import { availableParallelism } from 'node:os'
import * as assert from 'uvu/assert'
import { validate, ConfigError, duration, address } from '../../src/config/validate.js'
import { loadText, quick } from '../../src/config/load.js'
import { CidrList, parseCidr } from '../../src/config/cidr.js'
import { DEFAULTS } from '../../src/config/schema.js'

const t = suite('config')

const base = { upstreams: { api: { peers: ['127.0.0.1:9000'] } } }

function refused(raw: unknown, message: string): void {
  try {
    validate(raw)
  } catch (err) {
    assert.instance(err, ConfigError)
    assert.is((err as Error).message, message)
    return
  }
  assert.unreachable(`accepted; expected: ${message}`)
}

t('defaults fill every field', () => {
  const c = validate(base)
  assert.equal(c.listen, [{ host: '127.0.0.1', port: 8080 }])
  assert.equal(c.timeouts, DEFAULTS.timeouts)
  assert.equal(c.limits, DEFAULTS.limits)
  assert.is(c.upstreams.get('api')!.keepalive.idle_timeout, 4000)
  assert.equal(c.routes, [{ host: null, path: '/', upstream: 'api', ignore_case: false, features: {} }])
  assert.is(c.via, 'rawproxy')
})

t('errors name the field path and the reason', () => {
  refused({ ...base, routes: [{ upstream: 'api' }, { upstream: 'api2' }] }, 'routes[1].upstream: unknown upstream "api2"')
  refused({ ...base, listen: ['localhost'] }, 'listen[0]: "localhost" is not host:port')
  refused({ ...base, listen: ['1.2.3.4:99999'] }, 'listen[0]: must be an integer from 0 to 65535')
  refused({ ...base, timeouts: { header: '10 parsecs' } }, 'timeouts.header: must be a duration such as 500ms, 10s or 2m')
  refused({ ...base, timeouts: { hedaer: '1s' } }, 'timeouts.hedaer: unknown field (expected one of: header, keepalive, client_idle, connect, upstream_response, upstream_idle, tunnel_idle, grace)')
  refused({ ...base, limits: { max_head: 10 } }, 'limits.max_head: must be an integer from 256 to 1048576')
  refused({ upstreams: { api: { peers: 'x' } } }, 'upstreams.api.peers: must be a list')
  refused({ upstreams: { api: {} } }, 'upstreams.api.peers: is required (a list of host:port)')
  refused({ upstreams: { api: { peers: ['127.0.0.1:0'] } } }, 'upstreams.api.peers[0]: port 0 is not a peer port')
  refused({ ...base, routes: [{ path: 'api', upstream: 'api' }] }, 'routes[0].path: must start with "/"')
  refused({ ...base, routes: [{ host: 'bad host', upstream: 'api' }] }, 'routes[0].host: "bad host" must be a host name, "*.suffix" or "*"')
  refused({ ...base, trusted_proxies: ['10.0.0.0/33'] }, 'trusted_proxies[0]: "10.0.0.0/33" is not an IP address or CIDR')
  refused({ ...base, access_log: { format: 'xml' } }, 'access_log.format: must be "json" or "text"')
  refused({ ...base, via: 'two words' }, 'via: must be a token (RFC 9110 §5.6.2)')
  refused({ upstreams: { a: { peers: [] }, b: { peers: [] } } }, 'routes: is required when there is more than one upstream')
  refused({}, 'upstreams: is required (a mapping of name to peers)')
  refused({ ...base, lsiten: [] }, 'lsiten: unknown field (expected one of: listen, trusted_proxies, via, timeouts, limits, upstreams, routes, defaults, access_log, event_log, workers, admin, trace)')
  refused({ ...base, workers: 0 }, 'workers: must be "auto" or an integer from 1 to 256')
  refused({ ...base, workers: 'all' }, 'workers: must be "auto" or an integer from 1 to 256')
  refused({ ...base, listen: [] }, 'listen: needs at least one address')
})

t('upstream balancing, health and retry fields: defaults, and errors with their path', () => {
  const u = validate(base).upstreams.get('api')!
  assert.is(u.balance, 'round_robin')
  assert.is(u.health, null)
  assert.is(u.retries, 2)
  assert.is(u.retry_budget, 0.2)
  assert.equal(u.passive, DEFAULTS.passive)
  const full = validate({ upstreams: { api: {
    peers: ['127.0.0.1:9000', { address: '127.0.0.1:9001', weight: 5, backup: true }],
    balance: 'hash', hash_key: 'header:X-User', slow_start: '30s', retries: 1, retry_budget: 0.5,
    health: { type: 'http', path: '/healthz', status: '200-299', body: 'ok', interval: '5s', timeout: '1s', rise: 3, fall: 2 },
    passive: { failures: 5, errors_5xx: 10, ejection: '30s', max_ejection: '10m', max_ejected_percent: 20 },
  } } }).upstreams.get('api')!
  assert.equal(full.peers[1], { host: '127.0.0.1', port: 9001, weight: 5, backup: true })
  assert.equal(full.hash_key, { from: 'header', name: 'x-user' })
  assert.equal(full.health!.status, [200, 299])
  assert.is(full.health!.interval, 5000)
  assert.is(full.health!.method, 'GET')
  assert.is(full.slow_start, 30_000)
  assert.is(full.passive.max_ejection, 600_000)
  assert.is(validate({ upstreams: { api: { peers: [], passive: false } } }).upstreams.get('api')!.passive.failures, 0)
  const up = (o: Record<string, unknown>): unknown => ({ upstreams: { api: { peers: ['127.0.0.1:9000'], ...o } } })
  refused(up({ balance: 'fastest' }), 'upstreams.api.balance: must be one of: round_robin, least_conn, random_two, hash')
  refused(up({ hash_key: 'path' }), 'upstreams.api.hash_key: is only for balance: hash')
  refused(up({ balance: 'hash', hash_key: 'query:x' }), 'upstreams.api.hash_key: "query:x" must be client_ip, path, header:NAME or cookie:NAME')
  refused(up({ seed: 3 }), 'upstreams.api.seed: is only for balance: random_two')
  refused(up({ peers: [{ address: '127.0.0.1:9000', weight: 0 }] }), 'upstreams.api.peers[0].weight: must be an integer from 1 to 1000')
  refused(up({ peers: [{ weight: 2 }] }), 'upstreams.api.peers[0].address: is required (host:port)')
  refused(up({ peers: [{ address: '127.0.0.1:9000', backup: 'yes' }] }), 'upstreams.api.peers[0].backup: must be true or false')
  refused(up({ health: { type: 'udp' } }), 'upstreams.api.health.type: must be "http" or "tcp"')
  refused(up({ health: { status: '2xx' } }), 'upstreams.api.health.status: must be a status or a range such as 200-399')
  refused(up({ health: { status: '399-200' } }), 'upstreams.api.health.status: the range ends before it starts')
  refused(up({ health: { interval: '1s', timeout: '2s' } }), 'upstreams.api.health.timeout: must not be longer than interval')
  refused(up({ health: { path: 'healthz' } }), 'upstreams.api.health.path: must start with "/" and hold no spaces or controls')
  refused(up({ health: { method: 'get' } }), 'upstreams.api.health.method: must be an upper-case method token')
  refused(up({ health: { host: 'a b' } }), 'upstreams.api.health.host: must hold no spaces or controls')
  refused(up({ health: { rise: 0 } }), 'upstreams.api.health.rise: must be an integer from 1 to 100')
  refused(up({ health: { jitter: 0.9 } }), 'upstreams.api.health.jitter: must be a number from 0 to 0.5')
  refused(up({ health: { intervall: '1s' } }), 'upstreams.api.health.intervall: unknown field (expected one of: type, method, path, host, status, body, interval, jitter, timeout, rise, fall)')
  refused(up({ passive: { ejection: '1m', max_ejection: '10s' } }), 'upstreams.api.passive.max_ejection: must not be shorter than ejection')
  refused(up({ passive: { max_ejected_percent: 101 } }), 'upstreams.api.passive.max_ejected_percent: must be an integer from 0 to 100')
  refused(up({ retries: 11 }), 'upstreams.api.retries: must be an integer from 0 to 10')
  refused(up({ peers: ['127.0.0.1:9000', { address: '127.0.0.1:9000', weight: 2 }] }), 'upstreams.api.peers[1]: repeats peers[0]; give that one a weight instead')
  refused(up({ retry_budget: 2 }), 'upstreams.api.retry_budget: must be a number from 0 to 1')
})

t('YAML syntax errors are refused with a reason', () => {
  assert.throws(() => loadText('upstreams: [unclosed'), (e: Error) => e instanceof ConfigError && /invalid YAML/.test(e.message))
})

t('YAML file with every kind of field', () => {
  const c = loadText(`
listen: ["127.0.0.1:8080", "[::1]:8080", ":9090"]
trusted_proxies: [10.0.0.0/8, "::1"]
timeouts: { header: 5s, connect: 250ms, keepalive: 2m }
upstreams:
  api: { peers: ["10.0.0.1:80", "[fd00::1]:8080"], keepalive: { max_idle: 8, idle_timeout: 3s } }
  web: { peers: [127.0.0.1:3000] }
routes:
  - { host: "*.example.com", path: /api/, upstream: api }
  - { host: shop.example.com, upstream: web }
  - { path: /, upstream: web }
access_log: { path: stderr, format: text }
event_log: off
`)
  assert.equal(c.listen, [{ host: '127.0.0.1', port: 8080 }, { host: '::1', port: 8080 }, { host: '::', port: 9090 }])
  assert.is(c.timeouts.header, 5000)
  assert.is(c.timeouts.connect, 250)
  assert.is(c.timeouts.keepalive, 120_000)
  assert.equal(c.upstreams.get('api')!.peers[1], { host: 'fd00::1', port: 8080, weight: 1, backup: false })
  assert.equal(c.upstreams.get('api')!.keepalive, { max_idle: 8, idle_timeout: 3000 })
  // Most specific first: exact host, then wildcard, then any host.
  assert.equal(c.routes.map((r) => r.host), ['shop.example.com', '*.example.com', null])
  assert.is(c.routes[1].path, '/api', 'a trailing slash is dropped from the prefix')
  assert.is(c.event_log.path, 'off')
})

t('durations and addresses', () => {
  assert.is(duration('1.5s', 'x'), 1500)
  assert.is(duration(20, 'x'), 20)
  assert.is(duration('1h', 'x'), 3_600_000)
  assert.throws(() => duration('0s', 'x'), /from 1ms to 24h/)
  assert.equal(address(':80', 'x', '::'), { host: '::', port: 80 })
  assert.throws(() => address('[1:2:3]:80', 'x', '::'), /not an IPv6 address/)
})

t('quick mode builds one catch-all route', () => {
  const c = quick(['127.0.0.1:8081'], ['127.0.0.1:9000', '127.0.0.1:9001'])
  assert.is(c.upstreams.get('default')!.peers.length, 2)
  assert.equal(c.routes, [{ host: null, path: '/', upstream: 'default', ignore_case: false, features: {} }])
  assert.is(c.workers, 1)
})

t('workers: 1 by default, a count, or "auto" for one per core', () => {
  assert.is(validate(base).workers, 1)
  assert.is(validate({ ...base, workers: 4 }).workers, 4)
  assert.is(validate({ ...base, workers: 'auto' }).workers, availableParallelism())
  assert.is(quick([':8080'], ['127.0.0.1:9000'], [], '3').workers, 3)
  assert.is(quick([':8080'], ['127.0.0.1:9000'], [], 'auto').workers, availableParallelism())
  assert.throws(() => quick([':8080'], ['127.0.0.1:9000'], [], 'x'), /^workers: must be "auto"/)
})

t('CIDR lists match IPv4, IPv6 and IPv4-mapped addresses', () => {
  const l = new CidrList(['10.0.0.0/8', '2001:db8::/32', '192.168.1.7'])
  assert.ok(l.has('10.255.0.1'))
  assert.ok(l.has('::ffff:10.1.2.3'))
  assert.not.ok(l.has('11.0.0.1'))
  assert.ok(l.has('2001:db8:1::5'))
  assert.not.ok(l.has('2001:db9::1'))
  assert.ok(l.has('192.168.1.7'))
  assert.not.ok(l.has('192.168.1.8'))
  assert.not.ok(l.has('not an ip'))
  assert.ok(new CidrList(['::/0']).has('1.2.3.4'), '::/0 holds the IPv4-mapped range too')
  assert.is(parseCidr('1.2.3.4/x'), null)
  assert.ok(new CidrList([]).empty)
})

t.run()
