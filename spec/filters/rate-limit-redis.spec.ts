// The Redis store end to end: two rawproxy processes (the real CLI) and one real redis-server keep
// one limit; Redis killed mid-run: with on_error allow no request fails, with deny every request
// gets 503; Redis back: the limits resume. Counted on statuses, never on timings.
import { suite } from 'uvu'
import { connect } from 'node:net'
import * as assert from 'uvu/assert'
import { httpUpstream, HttpUpstream, tempFile, waitFor, sleep } from '../support/harness.js'
import { Started, CliProc } from '../support/cluster.js'
import { RedisServer } from '../support/redis.js'

const t = suite('filters: rate_limit over Redis, two processes')
let up: HttpUpstream
let redis: RedisServer
const started = new Started()

t.before(async () => {
  up = await httpUpstream()
  redis = await RedisServer.start()
})
t.after.each(() => started.stopAll())
t.after(async () => { await up.close(); await redis.close() })

function yaml(rate: string, burst: number, onError: string, prefix: string): string {
  return `listen: ["127.0.0.1:0"]\nupstreams:\n  u: { peers: ["127.0.0.1:${up.port}"] }\naccess_log: off\n` +
    `routes:\n  - upstream: u\n    rate_limit:\n      limits: [{ name: all, key: global, rate: ${rate}, burst: ${burst} }]\n` +
    `      store: { redis: { url: "${redis.url}", prefix: "${prefix}", timeout: 50ms, on_error: ${onError} } }\n`
}

async function proc(cfg: string): Promise<{ p: CliProc; port: number }> {
  const p = started.config(cfg, tempFile('rl.yaml'))
  const m = await p.line(/listening address=\S+ port=(\d+)/)
  return { p, port: Number(m[1]) }
}

/** `count` requests spread over the ports, `perTick` every 10 ms, each port on its own connection; the statuses. */
async function offer(ports: number[], count: number, perTick: number): Promise<number[]> {
  const conns = await Promise.all(ports.map((p) => started.client(p)))
  let sent = 0
  while (sent < count) {
    for (let i = 0; i < perTick && sent < count; i++, sent++) conns[sent % conns.length].send('GET / HTTP/1.1\r\nHost: a\r\n\r\n')
    await sleep(10)
  }
  const answered = (): number => conns.reduce((s, c) => s + (c.text.match(/HTTP\/1\.1 /g)?.length ?? 0), 0)
  await waitFor(() => answered() === count, 10_000, `${count} answers`)
  return conns.flatMap((c) => [...c.text.matchAll(/HTTP\/1\.1 (\d{3})/g)].map((m) => Number(m[1])))
}

t('two processes on one Redis keep one limit: 50/s with burst 5 over ~2 s admits 105 ± 5%', async () => {
  const cfg = yaml('50/s', 5, 'allow', 'two:')
  const a = await proc(cfg)
  const b = await proc(cfg)
  const t0 = performance.now()
  const codes = await offer([a.port, b.port], 1000, 5) // ~500/s offered for ~2 s, half to each process
  const secs = (performance.now() - t0) / 1000
  const ok = codes.filter((c) => c === 200).length
  const expected = 50 * secs + 6
  assert.ok(Math.abs(ok - expected) <= expected * 0.05 + 1, `admitted ${ok}, expected ${expected.toFixed(0)} over ${secs.toFixed(2)} s`)
  assert.ok(ok < 2 * 50 * secs, 'not a limit per process')
  if (process.env.RL_REPORT) console.log(`two processes on Redis: admitted ${ok} of ${codes.length}, expected ${expected.toFixed(1)} over ${secs.toFixed(3)} s`)
  assert.ok(codes.every((c) => c === 200 || c === 429), `only 200 and 429: ${[...new Set(codes)]}`)
})

t('Redis killed mid-run: allow admits every request, logged once; back, the limit resumes', async () => {
  const { p, port } = await proc(yaml('1/h', 0, 'allow', 'kill-allow:'))
  assert.equal(await offer([port], 3, 3), [200, 429, 429])
  await redis.stop()
  const down = await offer([port], 200, 10)
  assert.ok(down.every((c) => c === 200), `every request admitted while Redis is down: ${[...new Set(down)]}`)
  await p.line(/warn rate limit store down/)
  assert.is(p.err.match(/rate limit store down/g)!.length, 1, 'one line for the outage, not one per request')
  await redis.restart()
  await p.line(/info rate limit store back/, 5000)
  // A new Redis is empty: the first request is admitted, the next refused again.
  assert.equal(await offer([port], 2, 2), [200, 429])
})

t('Redis killed mid-run: deny answers 503 to every request; back, the limit resumes', async () => {
  const { p, port } = await proc(yaml('1/h', 0, 'deny', 'kill-deny:'))
  assert.equal(await offer([port], 2, 2), [200, 429])
  await redis.stop()
  const down = await offer([port], 100, 10)
  assert.ok(down.every((c) => c === 503), `every request 503 while Redis is down: ${[...new Set(down)]}`)
  await redis.restart()
  await p.line(/info rate limit store back/, 5000)
  assert.equal(await offer([port], 2, 2), [200, 429])
})

t('max_inflight with an asynchronous store: a client gone before the store answered gives its place back', async () => {
  const cfg = `listen: ["127.0.0.1:0"]\nupstreams:\n  u: { peers: ["127.0.0.1:${up.port}"] }\naccess_log: off\n` +
    `routes:\n  - upstream: u\n    rate_limit:\n      limits: [{ name: conc, key: global, max_inflight: 2 }]\n` +
    `      store: { redis: { url: "${redis.url}", prefix: "leak:", timeout: 50ms } }\n`
  const { port } = await proc(cfg)
  for (let i = 0; i < 5; i++) {
    const s = connect(port, '127.0.0.1')
    s.on('error', () => {})
    s.end('POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 10\r\n\r\n') // the head, then FIN: the body never comes
  }
  await sleep(300)
  assert.equal(await offer([port], 1, 1), [200], 'no place was kept by a client that left')
})

t('SIGTERM ends a process whose Redis store is open (its connection is closed)', async () => {
  const { p, port } = await proc(yaml('100/s', 0, 'allow', 'term:'))
  assert.equal(await offer([port], 1, 1), [200])
  p.child.kill('SIGTERM')
  const code = await Promise.race([p.exited, sleep(4000).then(() => 'hung')])
  assert.is(code, 0)
})

t.run()
