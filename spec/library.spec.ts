/**
 * The library API (src/index.ts) as a program uses it: start from a config object, proxy, reload
 * (a bad config refused with its field path, the last good one kept), status, stop. In this process,
 * against real upstreams on loopback; spec/package.spec.ts runs the same from an installed tarball.
 */
import { suite } from 'uvu'
import * as assert from 'uvu/assert'
import { createServer } from 'node:net'
import { start, check, ConfigError, LoggedEvent, RawProxy } from '../src/index.js'
import { httpUpstream, raw, statuses, HttpUpstream } from './support/harness.js'

const t = suite('library')
let a: HttpUpstream
let b: HttpUpstream
let proxy: RawProxy | null = null

t.before(async () => {
  a = await httpUpstream((_req, res) => res.end('from-a'))
  b = await httpUpstream((_req, res) => res.end('from-b'))
})
t.after.each(async () => { await proxy?.stop(); proxy = null })
t.after(async () => { await a.close(); await b.close() })

const QUIET = { access_log: 'off', event_log: 'off' } as const

function to(port: number) {
  return { listen: ['127.0.0.1:0'], upstreams: { app: { peers: [`127.0.0.1:${port}`] } }, ...QUIET }
}

async function get(p: RawProxy, path = '/'): Promise<string> {
  const r = await raw(p.addresses()[0].port, `GET ${path} HTTP/1.1\r\nHost: lib.test\r\nConnection: close\r\n\r\n`)
  return r.text
}

t('start, proxy, reload, status, stop', async () => {
  const events: LoggedEvent[] = []
  proxy = await start(to(a.port), { onEvent: (e) => events.push(e) })
  const port = proxy.addresses()[0].port
  assert.ok(port > 0, 'port 0 resolved')
  assert.match(await get(proxy), /^HTTP\/1\.1 200 [^]*from-a$/)
  await proxy.reload({ ...to(b.port), timeouts: { upstream_response: '5s' } })
  assert.match(await get(proxy), /from-b$/, 'the new config is in force')
  assert.is(proxy.config.timeouts.upstream_response, 5000)
  assert.is(proxy.addresses()[0].port, port, 'the listener stayed')
  const s = await proxy.status()
  assert.is(s.pid, process.pid)
  assert.is(s.workers, null)
  assert.is(s.config.reloads_ok, 1)
  assert.equal(s.routes, [{ route: '*/', upstream: 'app' }])
  assert.is(s.upstreams[0].peers[0].peer, `127.0.0.1:${b.port}`)
  assert.is(s.requests!.total, 2)
  assert.equal(events.map((e) => e.event).filter((e) => e !== 'listening'), ['started', 'reloaded'])
  await proxy.stop()
  assert.equal(events.slice(-2).map((e) => e.event), ['stopping', 'stopped'])
  const r = await raw(port, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 500 })
  assert.is(r.text, '', 'nothing listens any more')
  await proxy.stop() // a second stop is the same stop
})

t('no reload once stop has begun: one asked after, or during, is refused and opens nothing', async () => {
  const free = async (): Promise<number> => { const s = createServer(); await new Promise<void>((r) => s.listen(0, '127.0.0.1', r)); const port = (s.address() as { port: number }).port; await new Promise((r) => s.close(r)); return port }
  const extra = await free()
  proxy = await start(to(a.port))
  const stopping = proxy.stop()
  const during = proxy.reload({ ...to(a.port), listen: ['127.0.0.1:0', `127.0.0.1:${extra}`] })
  const refused = (p: Promise<void>): Promise<string> => p.then(() => 'resolved', (e: Error) => e.message)
  const duringWhy = refused(during)
  await stopping
  assert.match(await duringWhy, /stopping/)
  assert.match(await refused(proxy.reload({ ...to(a.port), listen: [`127.0.0.1:${extra}`] })), /stopping/)
  const r = await raw(extra, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 300 })
  assert.is(r.text, '', 'nothing listens on the reload\'s port')
})

t('reloads asked at once run one after another: the last asked is in force', async () => {
  proxy = await start(to(a.port))
  const p = proxy
  await Promise.all([p.reload(to(b.port)), p.reload(to(a.port)), p.reload(to(b.port))])
  assert.match(await get(p), /from-b$/)
})

t('a bad reload is refused with the field path; the last good config serves on', async () => {
  proxy = await start(to(a.port))
  const bad = { ...to(b.port), routes: [{ upstream: 'nope' }] }
  const err = await proxy.reload(bad).then(() => null, (e: unknown) => e)
  assert.instance(err, ConfigError)
  assert.is((err as ConfigError).path, 'routes[0].upstream')
  assert.is((err as Error).message, 'routes[0].upstream: unknown upstream "nope"')
  assert.match(await get(proxy), /from-a$/)
  const s = await proxy.status()
  assert.equal([s.config.reloads_ok, s.config.reloads_failed], [0, 1])
})

t('a reload that cannot open a new listener is refused whole', async () => {
  proxy = await start(to(a.port))
  const taken = createServer()
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
  const busy = (taken.address() as { port: number }).port
  try {
    const err = await proxy.reload({ ...to(b.port), listen: ['127.0.0.1:0', `127.0.0.1:${busy}`] }).then(() => null, (e: unknown) => e)
    assert.match(String(err), /EADDRINUSE/)
    assert.match(await get(proxy), /from-a$/, 'the old config serves on')
    assert.is(proxy.addresses().length, 1)
  } finally {
    await new Promise((r) => taken.close(r))
  }
})

t('a bad config at start: ConfigError with the path, nothing started; check() validates alone', async () => {
  const err = await start({ ...to(a.port), timeouts: { header: 'soon' } }).then(() => null, (e: unknown) => e)
  assert.instance(err, ConfigError)
  assert.is((err as Error).message, 'timeouts.header: must be a duration such as 500ms, 10s or 2m')
  assert.is(check({ upstreams: { u: { peers: ['127.0.0.1:1'] } } }).listen[0].port, 8080)
  assert.throws(() => check({ upstreams: {} }), /upstreams: needs at least one upstream/)
})

t('a listener that cannot open: the error, and whatever had opened is closed', async () => {
  const taken = createServer()
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
  const busy = (taken.address() as { port: number }).port
  const free = createServer()
  await new Promise<void>((r) => free.listen(0, '127.0.0.1', r))
  const first = (free.address() as { port: number }).port
  await new Promise((r) => free.close(r))
  try {
    const err = await start({ ...to(a.port), listen: [`127.0.0.1:${first}`, `127.0.0.1:${busy}`] }).then(() => null, (e: unknown) => e)
    assert.match(String(err), /EADDRINUSE/)
    const r = await raw(first, 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 300 })
    assert.is(r.text, '', 'the first listener was closed again')
  } finally {
    await new Promise((r) => taken.close(r))
  }
  proxy = await start(to(a.port)) // and the process may start one again
  assert.match(await get(proxy), /from-a$/)
})

t('a single process does not become a cluster on reload: refused, with the reason', async () => {
  proxy = await start(to(a.port))
  const err = await proxy.reload({ ...to(b.port), workers: 2 }).then(() => null, (e: unknown) => e)
  assert.instance(err, ConfigError)
  assert.is((err as Error).message, 'workers: one process cannot become a cluster on reload: restart to serve with 2 workers')
  assert.match(await get(proxy), /from-a$/)
})

t('an admin API that cannot listen: the error, and the proxy\'s listeners are closed again', async () => {
  const taken = createServer()
  await new Promise<void>((r) => taken.listen(0, '127.0.0.1', r))
  const busy = (taken.address() as { port: number }).port
  const events: LoggedEvent[] = []
  try {
    const err = await start({ ...to(a.port), admin: { listen: `127.0.0.1:${busy}`, token: 'library-spec-token-0123' } }, { onEvent: (e) => events.push(e) })
      .then(() => null, (e: unknown) => e)
    assert.match(String(err), /EADDRINUSE/)
    const listening = events.find((e) => e.event === 'listening')!
    const r = await raw(Number(listening.port), 'GET / HTTP/1.1\r\nHost: x\r\n\r\n', { ms: 300 })
    assert.is(r.text, '', 'the proxy listener was closed')
    assert.ok(events.some((e) => e.event === 'admin listen failed'))
  } finally {
    await new Promise((r) => taken.close(r))
  }
})

t('one proxy at a time in a process', async () => {
  proxy = await start(to(a.port))
  const err = await start(to(b.port)).then(() => null, (e: unknown) => e)
  assert.match(String(err), /already running in this process/)
})

t('the admin API runs when the config has one, its POST /reload has no file to read', async () => {
  proxy = await start({ ...to(a.port), admin: { listen: '127.0.0.1:0', token: 'library-spec-token-0123' } })
  assert.ok(proxy.adminPort > 0)
  const auth = 'Authorization: Bearer library-spec-token-0123\r\n'
  const s = await raw(proxy.adminPort, `GET /status HTTP/1.1\r\nHost: a\r\n${auth}\r\n`)
  assert.equal(statuses(s.text), [200])
  assert.match(s.text, /"routes": \[/)
  const r = await raw(proxy.adminPort, `POST /reload HTTP/1.1\r\nHost: a\r\n${auth}Content-Length: 0\r\n\r\n`)
  assert.equal(statuses(r.text), [422])
  assert.match(r.text, /no --config file to reload/)
})

t('workers: 2 from the library: a cluster primary forks rawproxy workers; reload and stop reach them', async () => {
  proxy = await start({ ...to(a.port), workers: 2 })
  assert.match(await get(proxy), /from-a$/)
  const s = await proxy.status()
  assert.is(s.workers!.length, 2)
  await proxy.reload({ ...to(b.port), workers: 2 })
  assert.match(await get(proxy), /from-b$/)
  await proxy.stop()
  const pids = s.workers!.map((w) => Number(w.pid))
  for (const pid of pids) assert.throws(() => process.kill(pid, 0), /ESRCH/, `worker ${pid} is gone`)
})

t.run()
