import { suite } from 'uvu'
import { readFileSync } from 'node:fs'
import * as assert from 'uvu/assert'
import { httpUpstream, raw, startProxy, statuses, tempFile, accessRecords, HttpUpstream, RawClient, guard, sleep, waitFor } from '../support/harness.js'
import { validate, ConfigError } from '../../src/config/validate.js'
import { Runtime } from '../../src/proxy/runtime.js'
import { FILTERS } from '../../src/filters/index.js'
import { chainOf, FilterFactory } from '../../src/proxy/filter.js'

const t = suite('filters: the chain')
const track = guard(t)
let up: HttpUpstream

t.before(async () => { up = await httpUpstream() })
t.after(async () => { await up.close() })
t.before.each(() => { up.requests.length = 0 })

const ups = () => ({ u: { peers: [`127.0.0.1:${up.port}`] } })

t('a route with no feature key has no filters; defaults reach every route that does not set the key', () => {
  const rt = new Runtime(validate({
    upstreams: { u: { peers: ['127.0.0.1:1'] } },
    routes: [{ path: '/plain', upstream: 'u' }, { path: '/own', upstream: 'u', methods: ['GET'] }],
  }), null, null, false, FILTERS)
  assert.equal(rt.router.match('a', '/plain')!.filters, [])
  assert.equal(rt.unrouted, [])
  assert.equal(rt.router.match('a', '/own')!.filters.map((f) => f.name), ['limits'])

  const rt2 = new Runtime(validate({
    upstreams: { u: { peers: ['127.0.0.1:1'] } },
    defaults: { headers: { request_id: true }, access: { deny: ['10.0.0.0/8'] }, methods: ['GET'] },
    routes: [
      { path: '/inherit', upstream: 'u' },
      { path: '/replace', upstream: 'u', methods: ['POST'] },
      { path: '/off', upstream: 'u', access: false, headers: 'off' },
    ],
  }), null, null, false, FILTERS)
  assert.equal(rt2.router.match('a', '/inherit')!.filters.map((f) => f.name), ['headers', 'access', 'limits'])
  assert.is(rt2.router.match('a', '/inherit')!.filters, rt2.unrouted, 'a route without keys shares the defaults\' chain')
  assert.equal(rt2.router.match('a', '/off')!.filters.map((f) => f.name), ['limits'])
  const own = validate({ upstreams: { u: { peers: ['127.0.0.1:1'] } }, defaults: { methods: ['GET'] }, routes: [{ upstream: 'u', methods: ['POST'] }] })
  assert.equal(own.routes[0].features.methods, ['POST'], 'a route\'s key replaces the default\'s whole')
})

t('filters run by their order number, never by list order; two with one order are refused', () => {
  const f = (name: string, order: number): FilterFactory => ({ name, order, attach: () => null })
  assert.equal(chainOf([f('c', 30), null, f('a', 10), f('b', 20)]).map((x) => x.name), ['a', 'b', 'c'])
  assert.throws(() => chainOf([f('a', 10), f('b', 10)]), /share order 10/)
})

t('errors in defaults and routes name the field path', () => {
  const bad = (raw: unknown, msg: string): void => {
    try { validate(raw) } catch (err) { assert.instance(err, ConfigError); assert.is((err as Error).message, msg); return }
    assert.unreachable(msg)
  }
  bad({ upstreams: ups(), defaults: { methods: ['get one'] } }, 'defaults.methods[0]: "get one" is not a method token (RFC 9110 §9.1: case-sensitive, e.g. GET)')
  bad({ upstreams: ups(), defaults: { upstream: 'u' } }, 'defaults.upstream: unknown field (expected one of: headers, access, auth, rules, rate_limit, cache, compress, methods, max_body, max_headers)')
  bad({ upstreams: ups(), routes: [{ upstream: 'u' }, { upstream: 'u', max_body: '10 parsecs' }] }, 'routes[1].max_body: must be a size in bytes such as 1048576, 512k, 10m or 1g')
  bad({ upstreams: ups(), routes: [{ upstream: 'u', max_headers: 0 }] }, 'routes[0].max_headers: must be an integer from 1 to 10000')
  bad({ upstreams: ups(), routes: [{ upstream: 'u', access: {} }] }, 'routes[0].access: needs allow, deny, allow_file, deny_file or default')
})

t('a local answer keeps the connection when the request was read whole', async () => {
  const px = track(await startProxy({ upstreams: ups(), routes: [{ upstream: 'u', rules: [{ match: { path: '/no' }, deny: true }] }] }))
  const c = track(await RawClient.open(px.port))
  c.send('GET /no HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('403 Forbidden\n')
  assert.not.match(c.text, /Connection: close/)
  c.clear()
  c.send('GET /yes HTTP/1.1\r\nHost: a\r\n\r\n')
  await c.until('\r\n\r\nok')
  assert.ok(!c.ended && !c.closed, 'still open')
})

t('a local answer before the body is read closes the connection, and no byte reaches the peer', async () => {
  const log = tempFile('access.log')
  const px = track(await startProxy({ upstreams: ups(), access_log: { path: log, format: 'json' }, routes: [{ upstream: 'u', rules: [{ match: { methods: ['POST'] }, deny: 403 }] }] }))
  const c = track(await RawClient.open(px.port, true))
  c.send('POST /x HTTP/1.1\r\nHost: a\r\nContent-Length: 100000\r\n\r\n' + 'a'.repeat(1000))
  await c.until('403 Forbidden\n')
  assert.match(c.text, /\r\nConnection: close\r\n/)
  await c.untilClosed()
  assert.ok(c.ended && !c.closed, 'our side ended (FIN), the socket still open for the rest of the body')
  // The rest of the body is read and dropped until the client closes (lingering close): the client's
  // writes meet no reset, so the answer it got is not destroyed by one (RFC 9112 §9.6).
  let reset = false
  c.socket.on('error', () => { reset = true })
  for (let i = 0; i < 5; i++) { c.send('b'.repeat(20_000)); await sleep(10) }
  await sleep(50)
  assert.not.ok(reset, 'no reset while the client sends the rest')
  c.socket.end()
  await waitFor(() => c.closed)
  assert.is(up.requests.length, 0)
  const rec = await accessRecords(px, log)
  assert.is(rec.length, 1)
  assert.is(rec[0].status, 403)
  assert.is(rec[0].cause, 'PR')
  assert.is(rec[0].filter, 'rules')
})

t('requests no route matches go through the defaults\' chain, then get 404', async () => {
  const px = track(await startProxy({
    upstreams: ups(), trusted_proxies: ['127.0.0.1'],
    defaults: { access: { deny: ['192.0.2.0/24'] } },
    routes: [{ host: 'a.test', upstream: 'u' }],
  }))
  const r = await raw(px.port, 'GET / HTTP/1.1\r\nHost: b.test\r\nX-Forwarded-For: 192.0.2.7\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [403])
  const r2 = await raw(px.port, 'GET / HTTP/1.1\r\nHost: b.test\r\nX-Forwarded-For: 198.51.100.7\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r2.text), [404])
})

t('a HEAD answered locally has the GET answer\'s head and no body', async () => {
  const px = track(await startProxy({ upstreams: ups(), routes: [{ upstream: 'u', rules: [{ match: { path: '/hc' }, respond: 200, body: 'healthy\n' }] }] }))
  const r = await raw(px.port, 'HEAD /hc HTTP/1.1\r\nHost: a\r\n\r\nGET /hc HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')
  assert.equal(statuses(r.text), [200, 200])
  assert.match(r.text, /^HTTP\/1\.1 200 OK\r\n[^]*Content-Length: 8\r\n\r\nHTTP\/1\.1 200 OK\r\n[^]*\r\n\r\nhealthy\n$/)
})

t('a filter that throws or rejects is answered 500 (cause IE); one that settles after the client left does nothing', async () => {
  const { Server } = await import('../../src/server/server.js')
  const { EventLog } = await import('../../src/log/events.js')
  const { Reply } = await import('../../src/proxy/reply.js')
  let late: (r: InstanceType<typeof Reply> | undefined) => void = () => {}
  const kind = {
    name: 'odd',
    compile: () => ({
      name: 'odd', order: 1,
      attach: () => ({
        name: 'odd',
        requestHead: (x: { info: { path: string } }) => {
          if (x.info.path === '/throw') throw new Error('boom')
          if (x.info.path === '/reject') return Promise.reject(new Error('async boom'))
          if (x.info.path === '/late') return new Promise<InstanceType<typeof Reply> | undefined>((r) => { late = r })
          return undefined
        },
      }),
    }),
  }
  const log = tempFile('access.log')
  const config = validate({ listen: ['127.0.0.1:0'], upstreams: ups(), access_log: { path: log, format: 'json' }, event_log: 'off' })
  const server = new Server(config, new EventLog({ path: 'off', format: 'text' }), { filters: [kind as never] })
  await server.listen()
  track({ close: () => server.close(100) })
  const port = server.addresses()[0].port
  assert.equal(statuses((await raw(port, 'GET /throw HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text), [500])
  assert.equal(statuses((await raw(port, 'GET /reject HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text), [500])
  const gone = await RawClient.open(port)
  gone.send('GET /late HTTP/1.1\r\nHost: a\r\n\r\n')
  await sleep(30)
  gone.socket.resetAndDestroy()
  await sleep(30)
  late(new Reply(418))
  await sleep(30)
  assert.equal(statuses((await raw(port, 'GET /fine HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n')).text), [200])
  assert.is(up.requests.length, 1, 'only /fine reached the peer')
  await server.access.drain(2000)
  const recs = readFileSync(log, 'utf8').trim().split('\n').map((l) => JSON.parse(l))
  assert.equal(recs.map((r) => [r.target, r.status, r.cause]), [['/throw', 500, 'IE'], ['/reject', 500, 'IE'], ['/late', 0, 'UC'], ['/fine', 200, '--']])
})

t.run()
